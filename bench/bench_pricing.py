"""Pricing speed: cost estimates per second, against json.loads of the same raw objects.

    python bench/bench_pricing.py [--count 20000] [--seed 1] [--runs 3]

Pricing runs for every completion at write time and in a backfill of a whole database, where each
stored object is decoded first: `json.loads` of the raw API object is the baseline that any
backfill pays anyway. Rows: json.loads; `ccbrowser.pricing.estimate` on the decoded objects (a
fresh PriceBook per run, so the first resolution of every (model, day, tier) is included);
both together (the backfill); and genai-prices' own extract_usage + calc_price per object (what
pricing costs without ccbrowser's caches, on a sample). Three runs; the table gives the range.
Also the one-off cost of loading the price data in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table, timer  # noqa: E402


def make_corpus(count: int, seed: int) -> list[str]:
    from ccbrowser.emulator.corpus import Corpus

    corpus = Corpus(count, seed=seed, now=1_790_000_000)
    return [json.dumps(corpus.completion(i), ensure_ascii=False) for i in range(count)]


def run_loads(raw: list[str]) -> float:
    loads = json.loads
    with timer() as t:
        for line in raw:
            loads(line)
    return t()


def run_estimate(objs: list[dict[str, Any]]) -> tuple[float, dict[str, int]]:
    from ccbrowser.pricing import PriceBook, estimate

    book = PriceBook.bundled()  # cold caches: rate resolution is part of what is measured
    statuses: dict[str, int] = {}
    with timer() as t:
        for obj in objs:
            e = estimate(obj, book=book)
            statuses[e.status] = statuses.get(e.status, 0) + 1
    return t(), statuses


def run_backfill(raw: list[str]) -> float:
    from ccbrowser.pricing import PriceBook, estimate

    book = PriceBook.bundled()
    loads = json.loads
    with timer() as t:
        for line in raw:
            estimate(loads(line), book=book)
    return t()


def run_package(objs: list[dict[str, Any]]) -> float:
    from genai_prices import extract_usage

    with timer() as t:
        for obj in objs:
            extracted = extract_usage(obj, provider_id="openai", api_flavor="chat")
            extracted.calc_price(genai_request_timestamp=datetime.fromtimestamp(obj["created"], UTC))
    return t()


def cold_start() -> float:
    """Seconds for a fresh interpreter to import ccbrowser.pricing and price one completion."""
    code = (
        "import time; t = time.perf_counter(); from ccbrowser.pricing import estimate; "
        "estimate({'model': 'gpt-4o', 'created': 1790000000, 'usage': {'prompt_tokens': 10, "
        "'completion_tokens': 5}}); print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--package-sample", type=int, default=2_000, help="objects priced by genai-prices directly"
    )
    args = ap.parse_args()

    with timer() as t:
        raw = make_corpus(args.count, args.seed)
    objs = [json.loads(line) for line in raw]
    models = sorted({o["model"] for o in objs})
    print(
        f"corpus: {args.count:,} completions, {len(models)} models, {sum(map(len, raw)) / 1e6:,.1f} MB ({t():.1f} s)"
    )

    sample = objs[: args.package_sample]
    runs: dict[str, list[float]] = {
        "json.loads": [],
        "estimate": [],
        "json.loads + estimate": [],
        "genai-prices": [],
    }
    statuses: dict[str, int] = {}
    for _ in range(args.runs):
        runs["json.loads"].append(args.count / run_loads(raw))
        secs, statuses = run_estimate(objs)
        runs["estimate"].append(args.count / secs)
        runs["json.loads + estimate"].append(args.count / run_backfill(raw))
        runs["genai-prices"].append(len(sample) / run_package(sample))
    cold = [cold_start() for _ in range(args.runs)]

    base = runs["json.loads"]
    rows = []
    results: dict[str, dict[str, Any]] = {}
    for name, rates in runs.items():
        ratios = [r / b for r, b in zip(rates, base, strict=True)]
        rows.append(
            [
                name,
                f"{min(rates):,.0f}-{max(rates):,.0f}",
                f"{1e6 / max(rates):.1f}-{1e6 / min(rates):.1f}",
                f"{min(ratios):.2f}-{max(ratios):.2f}",
            ]
        )
        results[name] = {"per_s": rates, "us_each": [1e6 / r for r in rates], "vs_json_loads": ratios}
    print(table(["per completion", "per second (3 runs)", "µs each", "rate / json.loads"], rows))
    million = [1e6 / r for r in runs["json.loads + estimate"]]
    print(
        f"backfill of 1M rows (decode + price): {min(million):,.0f}-{max(million):,.0f} s; "
        f"loading the price data in a fresh process: {min(cold):.2f}-{max(cold):.2f} s; statuses: {statuses}"
    )
    path = save(
        "pricing",
        {
            "count": args.count,
            "seed": args.seed,
            "runs": args.runs,
            "models": models,
            "statuses": statuses,
            "package_sample": len(sample),
            "results": results,
            "backfill_1m_seconds": million,
            "cold_start_seconds": cold,
        },
    )
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name}")


if __name__ == "__main__":
    main()
