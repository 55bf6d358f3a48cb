"""`ccbrowser emulator`: serve a local emulator of the stored completions API.

The key to require comes from an environment variable named by ``--api-key-env`` (a flag value
would be visible to every user through ``ps``); it is never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from ccbrowser.argtypes import number
from ccbrowser.errors import CCBrowserError, UsageError
from ccbrowser.words import plural

DEFAULT_PORT = 8765


_rate = number(float, low=0.0, high=1.0)
_non_negative = number(float, low=0.0)
_positive = number(float, above=0.0)
_count = number(int, low=0)


def _timestamp(text: str) -> int:
    """Unix seconds, or an ISO 8601 date/time (UTC when no zone is given)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected unix seconds or an ISO date, got {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free port)"
    )
    parser.add_argument("--public", action="store_true", help="allow binding a non-loopback address")
    parser.add_argument(
        "--count", type=_count, default=1000, help="stored completions to serve (default: 1000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed: same seed, same data (default: 1)")
    parser.add_argument(
        "--now",
        type=_timestamp,
        default=None,
        help="end of the 30-day window, unix seconds or ISO date (default: this hour)",
    )
    parser.add_argument(
        "--flavor",
        choices=["openai", "azure", "router", "llama-stack"],
        default="openai",
        help="which server to behave like (default: openai)",
    )
    parser.add_argument(
        "--burst",
        metavar="N",
        type=number(float, low=1.0),
        default=None,
        help="mean run of completions sharing one created second (default: 4 for llama-stack, else 1)",
    )
    parser.add_argument(
        "--chats",
        action="store_true",
        help="add scripted conversations (multi-turn, branches, tool loops) to the corpus",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        default=None,
        help="require the API key held in environment variable VAR (default: no key needed)",
    )
    faults = parser.add_argument_group("faults (all off by default; rates are per request, 0..1)")
    faults.add_argument("--latency", metavar="MS", type=_non_negative, default=0.0, help="added latency")
    faults.add_argument(
        "--jitter", metavar="MS", type=_non_negative, default=0.0, help="random extra latency, 0..MS"
    )
    faults.add_argument(
        "--spike-rate", type=_rate, default=0.0, help="share of requests with a latency spike"
    )
    faults.add_argument(
        "--spike-ms", type=_non_negative, default=1000.0, help="size of a spike (default: 1000)"
    )
    faults.add_argument("--error-rate", type=_rate, default=0.0, help="share answered 500/502/503")
    faults.add_argument(
        "--error-retry-after-ms",
        type=_non_negative,
        default=None,
        help="send retry-after(-ms) with injected 5xx too",
    )
    faults.add_argument("--rate-limit-rate", type=_rate, default=0.0, help="share answered 429")
    faults.add_argument(
        "--rate-limit-rps",
        type=_positive,
        default=None,
        help="token bucket: requests per second above this get 429",
    )
    faults.add_argument(
        "--retry-after-ms",
        type=_non_negative,
        default=200.0,
        help="wait advertised by random 429s (default: 200)",
    )
    faults.add_argument("--reset-rate", type=_rate, default=0.0, help="share of GETs cut mid-body")
    faults.add_argument(
        "--truncate-rate", type=_rate, default=0.0, help="share of GETs sent as truncated JSON"
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault decisions")
    faults.add_argument(
        "--drift-every",
        metavar="S",
        type=_positive,
        default=None,
        help="every S seconds: new completions, late arrivals, deletions, metadata changes",
    )
    parser.add_argument(
        "--dump-jsonl",
        metavar="FILE",
        default=None,
        help="write the corpus as import-format JSON Lines to FILE and exit",
    )


def run(args: argparse.Namespace) -> int:
    from ccbrowser.emulator.app import AZURE_API_VERSION, EmulatorOptions
    from ccbrowser.emulator.corpus import write_jsonl
    from ccbrowser.emulator.faults import FaultOptions

    if args.dump_jsonl:
        try:
            n = write_jsonl(args.dump_jsonl, args.count, seed=args.seed, now=args.now)
        except OSError as exc:
            raise CCBrowserError(f"cannot write {args.dump_jsonl}: {exc.strerror or exc}") from None
        sys.stderr.write(f"ccbrowser: wrote {plural(n, 'completion')} to {args.dump_jsonl}\n")
        return 0

    from ccbrowser.emulator.server import bind_socket, is_loopback, serve_forever

    if not is_loopback(args.host) and not args.public:
        raise UsageError(f"refusing to serve on non-loopback address {args.host} without --public")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"invalid port {args.port}")
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise UsageError(f"environment variable {args.api_key_env} is not set or empty")
    options = EmulatorOptions(
        count=args.count,
        seed=args.seed,
        now=args.now,
        flavor=args.flavor,
        api_key=api_key,
        drift_every=args.drift_every,
        chats=args.chats,
        burst=args.burst if args.burst is not None else (4.0 if args.flavor == "llama-stack" else 1.0),
        host=args.host,
        port=args.port,
        faults=FaultOptions(
            latency_ms=args.latency,
            jitter_ms=args.jitter,
            spike_rate=args.spike_rate,
            spike_ms=args.spike_ms,
            error_rate=args.error_rate,
            error_retry_after_ms=args.error_retry_after_ms,
            rate_limit_rate=args.rate_limit_rate,
            rate_limit_rps=args.rate_limit_rps,
            retry_after_ms=args.retry_after_ms,
            reset_rate=args.reset_rate,
            truncate_rate=args.truncate_rate,
            seed=args.fault_seed,
        ),
    )
    try:
        options.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        raise CCBrowserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    host, port = sock.getsockname()[:2]
    root = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    key_hint = f'"${args.api_key_env}"' if args.api_key_env else "any"
    if args.flavor == "azure":
        hint = (
            f"OPENAI_BASE_URL={root}/openai/v1 OPENAI_API_KEY={key_hint} "
            f"(or AZURE_OPENAI_ENDPOINT={root} OPENAI_API_VERSION={AZURE_API_VERSION})"
        )
        base = f"{root}/openai/v1"
    else:
        base = f"{root}/v1"
        hint = f"OPENAI_BASE_URL={base} OPENAI_API_KEY={key_hint}"
    print(
        f"ccbrowser emulator ({args.flavor}, {plural(args.count, 'completion')}, seed {args.seed}) at {base} "
        f"-- use: {hint} -- Ctrl-C to stop",
        flush=True,
    )
    try:
        serve_forever(options, sock)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
