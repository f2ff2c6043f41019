"""The local Bot API server, its client, its HTML parser and its schema check."""
