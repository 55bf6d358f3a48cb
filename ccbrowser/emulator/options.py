"""What an emulator serves: flavour, corpus size and seed, key, faults, drift."""

from __future__ import annotations

from dataclasses import dataclass, field

from ccbrowser.emulator.faults import FaultOptions

FLAVORS = ("openai", "azure", "router", "llama-stack")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
LLAMA_MAX_LIMIT = 1 << 62  # Llama Stack caps nothing: any positive limit is served whole
AZURE_API_VERSION = "2025-04-01-preview"


@dataclass
class EmulatorOptions:
    """Everything that shapes one emulator. ``api_key`` is never printed or logged (repr=False)."""

    count: int = 1000
    seed: int = 1
    now: int | None = None
    flavor: str = "openai"
    api_key: str | None = field(default=None, repr=False)
    faults: FaultOptions = field(default_factory=FaultOptions)
    drift_every: float | None = None  # seconds between random drift batches (None: no drift)
    # Mean run of consecutive completions sharing one `created` second (1: as generated). Agents
    # and batch jobs store many completions a second; that is what breaks a `created`-only cursor.
    burst: float = 1.0
    # Add the scripted conversations of `corpus.chats` (multi-turn, branches, tool loops, ...),
    # created in the two days before `now`, beside the generated completions.
    chats: bool = False
    host: str = "127.0.0.1"
    port: int = 0

    def validate(self) -> None:
        if self.flavor not in FLAVORS:
            raise ValueError(f"unknown flavor {self.flavor!r} (choose from {', '.join(FLAVORS)})")
        if self.count < 0:
            raise ValueError("count must be >= 0")
        if self.drift_every is not None and self.drift_every <= 0:
            raise ValueError("drift-every must be > 0")
        if not self.burst >= 1.0:
            raise ValueError("burst must be >= 1")
        self.faults.validate()
