"""The bot's SQLite database: connection, migrations, query log, saved searches, subscriptions."""
