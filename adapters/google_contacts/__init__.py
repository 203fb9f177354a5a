"""Google Contacts as a source of customers: a CSV export (``csv_export``: Google CSV, or
Outlook CSV through ``outlook_csv``) or the People API (``people``), chosen by
``platform.GoogleContactsPlatform.connect``.

Google sends no webhooks for contacts and a contact has no place for payment status, so
this source is a delta reader only (no ``WebhookReceiver``, no ``StatusWriter``).
"""
