"""QuickBooks Desktop: its validation rules so far; the Web Connector adapter and its
sandbox come with their own issue and join this folder."""
