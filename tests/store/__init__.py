"""The store: models, units of work, migrations, on SQLite and PostgreSQL."""
