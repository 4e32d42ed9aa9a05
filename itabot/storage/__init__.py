"""The database: engine and sessions, the tables, chats and their bindings (Alembic migrations in migrations/)."""
