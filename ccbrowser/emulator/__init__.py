"""A local emulator of the stored chat completions API (demo, tests, benchmarks).

Light to import: the corpus and options only; the ASGI app and server import Starlette/uvicorn.
"""

from __future__ import annotations

from ccbrowser.emulator.corpus import Corpus, write_jsonl
from ccbrowser.emulator.faults import FaultOptions

__all__ = ["Corpus", "FaultOptions", "write_jsonl"]
