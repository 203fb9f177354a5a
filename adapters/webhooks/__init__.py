"""A generic signed-webhook source (Standard Webhooks v1.0.0): any system without its own
connector posts its records, signed, to ``syncledger serve`` (docs/sources/webhooks.md)."""
