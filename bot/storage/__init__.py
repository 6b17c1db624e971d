"""The bot's SQLite database: connection, migrations, query log, saved searches, subscriptions,
uploaded quote cards."""

from bot.storage.backup import Summary as BackupSummary
from bot.storage.backup import backup as backup_database
from bot.storage.backup import inspect as inspect_backup
from bot.storage.backup import restore as restore_database
from bot.storage.cardfiles import CardFileStore
from bot.storage.chats import ChatConversations
from bot.storage.database import Database, NestedTransactionError
from bot.storage.health import probe as probe_database
from bot.storage.migrations import MIGRATIONS
from bot.storage.opening import StorageError, hold
from bot.storage.privacy import Forgotten
from bot.storage.querylog import QueryRecord, Stats
from bot.storage.searches import SavedSearch, search_key
from bot.storage.store import Store
from bot.storage.subscriptions import Subscription, SubscriptionStore, passage_number

__all__ = [
    "MIGRATIONS",
    "BackupSummary",
    "CardFileStore",
    "ChatConversations",
    "Database",
    "Forgotten",
    "NestedTransactionError",
    "QueryRecord",
    "SavedSearch",
    "Stats",
    "StorageError",
    "Store",
    "Subscription",
    "SubscriptionStore",
    "backup_database",
    "hold",
    "inspect_backup",
    "passage_number",
    "probe_database",
    "restore_database",
    "search_key",
]
