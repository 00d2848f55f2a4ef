"""Persistence shared by every service: JSON values in named collections.

SQLite (a file per service) by default, PostgreSQL when several replicas share state.
See :func:`open_store` for the URLs and :class:`Store` for the guarantees.
"""

from ._base import JSON, MAX_KEY_LENGTH, StorageError, Store
from ._open import open_store
from ._replay import REPLAY_COLLECTION, StoreReplayRegistry

__all__ = [
    "JSON",
    "MAX_KEY_LENGTH",
    "REPLAY_COLLECTION",
    "StorageError",
    "Store",
    "StoreReplayRegistry",
    "open_store",
]
