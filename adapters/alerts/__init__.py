"""Finance alert channels (the ``AlertChannel`` port of ``core/alert_ports.py``).

One module per technology: ``slack`` (incoming webhooks, Block Kit), ``teams`` (Teams
Workflows webhooks, Adaptive Cards), ``webhook`` (HTTPS signed with Standard Webhooks),
``email`` (SMTP). ``outcome`` turns an answer into success or ``AlertNotDelivered``;
``registry.open_channel`` builds a channel from its ``[[alert_channels]]`` table.
"""
