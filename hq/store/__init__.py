"""HQ's storage: one schema and one set of migrations on SQLite (embedded) and PostgreSQL."""
