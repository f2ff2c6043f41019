"""Pure rules: no database, no bot, no network."""
