"""Mirroring the API into the store. Importable without Textual; see `engine` for the API."""

from ccbrowser.sync.engine import (
    SyncEvent,
    SyncOptions,
    SyncProgress,
    SyncSummary,
    run_sync,
    sync_blocking,
    watch,
)

__all__ = ["SyncEvent", "SyncOptions", "SyncProgress", "SyncSummary", "run_sync", "sync_blocking", "watch"]
