"""The local mirror: SQLite schema, writes and reads. Never imports Textual or HTTP."""

from ccbrowser.store.db import Store, open_db, open_existing

__all__ = ["Store", "open_db", "open_existing"]
