"""A local emulator of the stored chat completions API (demo, tests, benchmarks).

Light to import: the corpus and fault options load eagerly; the server pieces (Starlette, uvicorn)
load on first use of ``EmulatorOptions``, ``EmulatorState``, ``create_app`` or ``run_in_thread``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ccbrowser.emulator.corpus import Corpus, write_jsonl
from ccbrowser.emulator.faults import FaultOptions

_LAZY = {
    "EmulatorOptions": "ccbrowser.emulator.app",
    "EmulatorState": "ccbrowser.emulator.app",
    "create_app": "ccbrowser.emulator.app",
    "run_in_thread": "ccbrowser.emulator.server",
    "RunningEmulator": "ccbrowser.emulator.server",
}

__all__ = ["Corpus", "FaultOptions", "write_jsonl", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
