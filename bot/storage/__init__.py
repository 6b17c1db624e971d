"""The bot's SQLite database: connection, migrations, query log, saved searches, subscriptions,
uploaded quote cards."""

from bot.storage.cardfiles import CardFileStore
from bot.storage.chats import ChatConversations
from bot.storage.database import Database, NestedTransactionError
from bot.storage.migrations import MIGRATIONS
from bot.storage.opening import StorageError, hold
from bot.storage.privacy import Forgotten
from bot.storage.querylog import QueryRecord, Stats
from bot.storage.searches import SavedSearch, search_key
from bot.storage.store import Store
from bot.storage.subscriptions import Subscription, SubscriptionStore

__all__ = [
    "MIGRATIONS",
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
    "hold",
    "search_key",
]
