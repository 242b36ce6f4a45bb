"""HQ's application services: each use case in one transaction over the store, deciding with the domain."""
