"""The local mirror: SQLite schema, writes and reads. Never imports Textual, HTTP, sync or search.

Two ways to talk to SQLite, each where it pays:

- sqlite-utils for the schema's cold paths: migrations and introspection (`schema.py`: dropping and
  re-declaring the FTS index, `rebuild_fts`, views, `table_names`), where its checks and quoting
  are worth more than its overhead; the cold-path tables (`rejects`, `sync_state`, written inside
  the page's transaction: sqlite-utils nests a savepoint) and the `stats` reads (`stats.py`).
- Raw `sqlite3` on the measured hot paths: the writer (import and sync), the reader behind the TUI
  and the search executor. With the FTS triggers, one row per statement loads ~12k rows/s and
  multi-row statements ~60k rows/s; sqlite-utils caps a batch at 999 bound variables and builds
  every statement through Python-level introspection, while the writer sizes its statements to
  the connection's own limit (`bench/bench_import.py` compares it with a sqlite-utils import).
  Search answers in milliseconds (`bench/bench_search.py`), where every layer shows.
"""

from ccbrowser.store.db import open_db, open_existing

__all__ = ["open_db", "open_existing"]
