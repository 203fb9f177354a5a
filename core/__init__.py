"""syncledger core: domain model, events, event store, sync process, reconciler, CLI."""
