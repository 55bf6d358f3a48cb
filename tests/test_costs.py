"""Stored costs: a purpose-built corpus priced with genai-prices directly, compared with the cost
column, `search --json`, `stats --json`, the `cost:` filter and sort, the upgrade backfill, and
the recompute when the prices in effect change."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from ccbrowser import search
from ccbrowser.cli import main
from ccbrowser.store import open_db
from ccbrowser.store.costs import Pricer, ensure_priced, stored_stamp
from ccbrowser.store.schema import SCHEMA_VERSION, migrate
from ccbrowser.store.writer import Writer

D2024 = int(datetime(2024, 10, 1, 12, tzinfo=UTC).timestamp())
D2025 = int(datetime(2025, 6, 2, 12, tzinfo=UTC).timestamp())
FLEX, PRIORITY_GPT_4O = Decimal("0.5"), Decimal("1.7")  # the documented defaults (pricing/tiers.py)


def completion(
    n: int,
    model: str,
    created: int,
    prompt: int,
    out: int,
    *,
    cached: int = 0,
    reasoning: int = 0,
    audio_in: int = 0,
    audio_out: int = 0,
    tier: str | None = None,
    cost: float | None = None,
    tool: str | None = None,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": out,
        "total_tokens": prompt + out,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio_in},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": audio_out},
    }
    if cost is not None:
        usage["cost"] = cost
    obj: dict[str, Any] = {
        "id": f"chatcmpl-cost-{n:02d}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": f"answer {n}"}, "finish_reason": "stop"}
        ],
        "usage": usage,
    }
    if tier is not None:
        obj["service_tier"] = tier
    if tool is not None:
        call = {"id": f"call_{n}", "type": "function", "function": {"name": tool, "arguments": "{}"}}
        obj["choices"][0]["message"]["tool_calls"] = [call, {**call, "id": f"call_{n}b"}]
    return obj


CORPUS = [
    completion(1, "gpt-4o-2024-05-13", D2024, 3_000, 400),  # a dated snapshot with its own price
    completion(2, "gpt-4o-2024-08-06", D2024, 3_000, 400),
    completion(3, "gpt-4o-mini", D2025, 12_000, 300, cached=8_192, tool="refund_order"),
    completion(4, "o3-mini", D2025, 2_000, 6_000, reasoning=5_000),
    completion(5, "gpt-4o-audio-preview", D2025, 1_500, 900, audio_in=1_000, audio_out=700),
    completion(6, "o4-mini", D2025, 4_000, 2_000, reasoning=1_500, tier="flex"),
    completion(7, "gpt-4o", D2025, 5_000, 1_000, tier="priority", tool="refund_order"),
    completion(8, "house-model-7b", D2025, 100, 100),  # unknown: never 0
    completion(9, "openai/gpt-4o", D2025, 2_000, 500, cost=0.0123),  # a router reports its cost
    completion(10, "gpt-4o-mini", D2025, 10, 5, tier="default"),
]
UNKNOWN, REPORTED = "chatcmpl-cost-08", "chatcmpl-cost-09"


def expected(obj: dict[str, Any], flex: Decimal = FLEX) -> float | None:
    """What genai-prices itself says, from the usage as OpenAI documents it, times the tier factor."""
    u = obj["usage"]
    if "cost" in u:
        return float(Decimal(repr(u["cost"])))
    usage = Usage(
        input_tokens=u["prompt_tokens"],
        cache_read_tokens=u["prompt_tokens_details"]["cached_tokens"],
        input_audio_tokens=u["prompt_tokens_details"]["audio_tokens"],
        output_tokens=u["completion_tokens"],
        output_audio_tokens=u["completion_tokens_details"]["audio_tokens"],
    )
    when = datetime.fromtimestamp(obj["created"], UTC)
    try:
        price = calc_price(usage, obj["model"], provider_id="openai", genai_request_timestamp=when)
    except LookupError:
        return None
    factor = {"flex": flex, "priority": PRIORITY_GPT_4O}.get(obj.get("service_tier") or "", Decimal(1))
    return float(price.total_price * factor)


EXPECTED = {o["id"]: expected(o) for o in CORPUS}


def _write_file(path: Path, objs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return path


def _columns(db: Path) -> dict[str, tuple[float | None, str, str | None]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT id, cost_usd, cost_source, cost_note FROM completions").fetchall()
    finally:
        conn.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _assert_costs(got: dict[str, float | None], want: dict[str, float | None]) -> None:
    assert set(got) == set(want)
    for cid, value in want.items():
        if value is None:
            assert got[cid] is None, cid
        else:
            assert got[cid] == pytest.approx(value, rel=1e-9), cid


@pytest.fixture
def imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "c.db"
    assert main(["import", "--db", str(db), str(_write_file(tmp_path / "in.jsonl", CORPUS))]) == 0
    capsys.readouterr()
    return db


def test_the_corpus_is_what_it_claims() -> None:
    assert EXPECTED[UNKNOWN] is None and all(v is not None for k, v in EXPECTED.items() if k != UNKNOWN)
    # the snapshot priced apart really costs otherwise than the other, and tiers change the figure
    assert EXPECTED["chatcmpl-cost-01"] != EXPECTED["chatcmpl-cost-02"]
    assert len({round(v, 12) for v in EXPECTED.values() if v is not None}) == len(CORPUS) - 1


def test_import_prices_each_completion_as_genai_prices_does(imported: Path) -> None:
    cols = _columns(imported)
    _assert_costs({k: v[0] for k, v in cols.items()}, EXPECTED)
    assert cols[UNKNOWN][1:] == ("unknown", "model not in the price data")
    assert cols[REPORTED][1] == "reported"
    assert {v[1] for k, v in cols.items() if k not in (UNKNOWN, REPORTED)} == {"estimate"}


def test_search_json_carries_the_cost(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(imported), "--json", "--limit", "0", "id:chatcmpl-cost"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    _assert_costs({h["id"]: h["cost_usd"] for h in hits}, EXPECTED)
    assert {h["id"]: h["cost_source"] for h in hits}[UNKNOWN] == "unknown"
    assert main(["search", "--db", str(imported), "--json", "--sort", "cost", "id:chatcmpl-cost"]) == 0
    order = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    known = sorted((v, k) for k, v in EXPECTED.items() if v is not None)
    assert order == [k for _, k in reversed(known)] + [UNKNOWN]  # most expensive first, unknown last


def test_stats_json_sums_the_estimates(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", str(imported), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    known = [v for v in EXPECTED.values() if v is not None]
    assert s["cost"]["cost_usd"] == pytest.approx(sum(known), rel=1e-9)
    assert (s["cost"]["unknown"], s["cost"]["reported"], s["cost"]["label"]) == (1, 1, "estimate")
    assert s["cost"]["estimated"] == len(CORPUS) - 2
    by_model = {m["model"]: m for m in s["models"]}
    mini = [v for o in CORPUS if o["model"] == "gpt-4o-mini" for v in [EXPECTED[o["id"]]]]
    assert by_model["gpt-4o-mini"]["cost_usd"] == pytest.approx(sum(v for v in mini if v), rel=1e-9)
    assert by_model["house-model-7b"]["cost_usd"] is None and by_model["house-model-7b"]["unknown_price"] == 1
    tiers = {t["tier"]: t for t in s["tiers"]}
    assert tiers["flex"]["cost_usd"] == pytest.approx(EXPECTED["chatcmpl-cost-06"], rel=1e-9)
    assert tiers["priority"]["cost_usd"] == pytest.approx(EXPECTED["chatcmpl-cost-07"], rel=1e-9)
    prompt = sum(o["usage"]["prompt_tokens"] for o in CORPUS)
    cached = sum(o["usage"]["prompt_tokens_details"]["cached_tokens"] for o in CORPUS)
    assert s["cache_hit_rate"] == pytest.approx(cached / prompt, abs=1e-4)
    assert sum(d["cost_usd"] for d in s["days"]) == pytest.approx(sum(known), rel=1e-9)
    tool = {t["name"]: t for t in s["tools"]}["refund_order"]
    assert tool["calls"] == 4 and tool["completions"] == 2  # two calls each, each completion once:
    assert tool["cost_usd"] == pytest.approx(EXPECTED["chatcmpl-cost-03"] + EXPECTED["chatcmpl-cost-07"])
    assert main(["stats", "--db", str(imported)]) == 0
    text = capsys.readouterr().out
    assert "estimate" in text and "by service tier" in text and "1 with an unknown price" in text


def test_cost_filters_match_the_expected_rows(imported: Path) -> None:
    conn = open_db(imported)
    ids = dict(conn.execute("SELECT pk, id FROM completions"))

    def matches(q: str) -> set[str]:
        return {ids[pk] for pk in search.matching_pks(conn, q)}

    known = {k: v for k, v in EXPECTED.items() if v is not None}
    assert matches("cost:>0.01") == {k for k, v in known.items() if v > 0.01}
    assert matches("cost:<0.001") == {k for k, v in known.items() if v < 0.001}
    assert matches("cost:0.001..0.01") == {k for k, v in known.items() if 0.001 <= v <= 0.01}
    assert matches("cost:unknown") == {UNKNOWN}
    assert matches("cost:>=$0.0123") >= {REPORTED}
    assert search.count(conn, "cost:>0.01") == len(matches("cost:>0.01"))


def test_cost_filter_and_sort_use_the_cost_index(imported: Path) -> None:
    from ccbrowser.search import plan

    conn = open_db(imported)
    for q in ("cost:>0.05", "cost:<0.001", "cost:0.01..0.1", "cost:unknown"):
        where, params = plan.build(search.parse(q), conn).probe_where()
        count = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + plan.count_sql(where), params))
        assert "completions_cost" in count, (q, count)
    sql, page = plan.pks_sql("1", "cost", 50)
    steps = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, page))
    assert "completions_cost" in steps and "TEMP B-TREE" not in steps
    for q in ("model:gpt-4o", "has:tools", "cost:>0.01 since:30d"):  # filters: the cost index, walked
        where, params = plan.build(search.parse(q), conn).probe_where()
        sql, page = plan.pks_sql(where, "cost", 50, walk=True)
        steps = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, [*params, *page]))
        assert "SCAN c USING INDEX completions_cost" in steps and "TEMP B-TREE" not in steps, (q, steps)


def test_the_sync_write_path_prices_with_the_profile_flavour(db_path: Path) -> None:
    """`write_page` (what a sync calls) prices each row; a Llama Stack profile's models have no price,
    where the same name without that hint is priced at a router's listed rate."""
    llama = completion(20, "meta-llama/llama-3.1-8b-instruct", D2025, 1_000, 200)
    conn = open_db(db_path)
    hinted = Pricer.build(Pricer.default().book, {"local": "llama-stack"})
    Writer(conn, profile="local", pricer=hinted).write_page([llama], None)
    Writer(conn, profile="default", pricer=hinted).write_page([{**llama, "id": "chatcmpl-cost-21"}], None)
    rows = dict(conn.execute("SELECT id, cost_source FROM completions"))
    assert rows == {"chatcmpl-cost-20": "unknown", "chatcmpl-cost-21": "estimate"}


def _version_adding_costs() -> int:
    """The schema version whose migration adds the cost columns (looked up by what it creates)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for target in range(1, SCHEMA_VERSION + 1):
        migrate(conn, target=target)
        if "cost_usd" in {r[1] for r in conn.execute("PRAGMA table_info(completions)")}:
            return target
    raise AssertionError("no migration adds cost_usd")


def test_a_database_of_the_previous_version_is_backfilled(db_path: Path) -> None:
    conn = open_db(db_path, migrate_schema=False)
    migrate(conn, target=_version_adding_costs() - 1)
    assert "cost_usd" not in {r[1] for r in conn.execute("PRAGMA table_info(completions)")}
    Writer(conn, profile="default").write(CORPUS)
    conn.close()
    conn = open_db(db_path)
    got = dict(conn.execute("SELECT id, cost_usd FROM completions"))
    _assert_costs(got, EXPECTED)
    assert stored_stamp(conn) == Pricer.default().stamp
    assert ensure_priced(conn, Pricer.default()) == 0  # nothing to recompute


def test_a_tier_factor_override_in_the_config_recomputes_the_costs(
    imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[prices.tier_factors]\nflex = 0.25\n")
    monkeypatch.setenv("CCBROWSER_CONFIG", str(config))
    assert main(["search", "--db", str(imported), "--json", "id:chatcmpl-cost-06"]) == 0
    hit = json.loads(capsys.readouterr().out)
    assert hit["cost_usd"] == pytest.approx(expected(CORPUS[5], flex=Decimal("0.25")), rel=1e-9)
    _assert_costs(
        {k: v[0] for k, v in _columns(imported).items() if k != "chatcmpl-cost-06"},
        {k: v for k, v in EXPECTED.items() if k != "chatcmpl-cost-06"},
    )
    assert main(["prices", "--db", str(imported), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["tier_factors"]["flex"] == "0.25" and shown["tier_factor_overrides"] == ["flex"]
    assert shown["completions"] == {"estimate": 8, "reported": 1, "unknown": 1}
    assert "bundled" in shown["price_data"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[prices.tier_factors]\nflex = "half"\n', "prices.tier_factors.flex must be a number"),
        ("[prices.tier_factors]\nflex = -1\n", "prices.tier_factors"),
        ("[prices]\nfactors = 1\n", "unknown setting prices.factors"),
    ],
)
def test_bad_prices_config_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    toml: str,
    message: str,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml)
    monkeypatch.setenv("CCBROWSER_CONFIG", str(config))
    assert main(["prices", "--db", str(tmp_path / "c.db")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_prices_update_saves_the_data_and_recomputes_every_cost(
    imported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import _providers_from_raw
    from test_pricing_update import PAYLOAD, _Server

    server = _Server()
    try:
        server.status = 500
        assert main(["prices", "--update", "--url", server.url, "--db", str(imported)]) == 1
        assert "HTTP 500" in capsys.readouterr().err
        _assert_costs({k: v[0] for k, v in _columns(imported).items()}, EXPECTED)  # unchanged
        server.status, server.body = 200, json.dumps(PAYLOAD).encode()
        assert main(["prices", "--update", "--url", server.url, "--db", str(imported)]) == 0
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    captured = capsys.readouterr()
    assert f"{len(CORPUS)} costs recomputed" in captured.err
    assert "updated" in captured.out and "estimate" in captured.out
    reference = DataSnapshot(_providers_from_raw(PAYLOAD), from_auto_update=True)
    obj = CORPUS[1]  # gpt-4o-2024-08-06, which the small file prices at its 2024 rate
    u = obj["usage"]
    usage = Usage(input_tokens=u["prompt_tokens"], output_tokens=u["completion_tokens"])
    when = datetime.fromtimestamp(obj["created"], UTC)
    want = reference.calc(usage, obj["model"], "openai", None, when).total_price
    cols = _columns(imported)
    assert cols[obj["id"]][0] == pytest.approx(float(want), rel=1e-9)
    assert cols["chatcmpl-cost-04"][:2] == (None, "unknown")  # o3-mini: not in the small file
    assert cols[REPORTED][:2] == (0.0123, "reported")
    # later commands use the saved data without recomputing again
    conn = open_db(imported)
    stamp = stored_stamp(conn)
    conn.close()
    assert main(["stats", "--db", str(imported), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"]["unknown"] > 1
    conn = open_db(imported)
    assert stored_stamp(conn) == stamp


def test_export_carries_the_cost_beside_the_verbatim_object(
    imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    assert main(["export", "--db", str(imported), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    _assert_costs({r["completion"]["id"]: r["cost_usd"] for r in lines}, EXPECTED)
    by_id = {o["id"]: o for o in CORPUS}
    assert all(r["completion"] == by_id[r["completion"]["id"]] for r in lines)  # the object as sent
    assert main(["show", "--db", str(imported), "--json", REPORTED]) == 0
    assert json.loads(capsys.readouterr().out) == by_id[REPORTED]  # no cost field added to it
    out = tmp_path / "c.csv"
    assert main(["export", "--db", str(imported), "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    _assert_costs({r["id"]: float(r["cost_usd"]) if r["cost_usd"] else None for r in rows}, EXPECTED)
    assert {r["id"]: r["cost_source"] for r in rows}[UNKNOWN] == "unknown"
    # re-importing the export keeps every cost
    again = tmp_path / "again.db"
    export = _write_file(tmp_path / "export.jsonl", lines)
    assert main(["import", "--db", str(again), str(export)]) == 0
    _assert_costs({k: v[0] for k, v in _columns(again).items()}, EXPECTED)
