"""`ccbrowser stats [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_search_corpus import SHARED_COUNT, build

from ccbrowser.cli import main


def test_stats_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.db"
    build(db).close()
    assert main(["stats", "--db", str(db), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["completions"] == 12 + SHARED_COUNT and s["removed_upstream"] == 1
    models = {m["model"]: m["completions"] for m in s["models"]}
    assert models["gpt-4o-mini"] == 1 + SHARED_COUNT and models["gpt-4.1"] == 2
    assert {f["finish_reason"]: f["completions"] for f in s["finish_reasons"]}["length"] == 1
    assert {t["name"]: t["calls"] for t in s["tools"]} == {"refund_order": 1, "notify_customer": 1}
    assert [t["invalid_json"] for t in s["tools"] if t["name"] == "notify_customer"] == [1]
    assert sum(d["completions"] for d in s["days"]) == s["completions"]
    assert s["tokens"]["total"] == sum(r["total_tokens"] for r in s["models"])
    assert main(["stats", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "by model" in out and "refund_order" in out and "gpt-4o-mini" in out


def test_stats_without_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", str(tmp_path / "none.db")]) == 1
    assert "no database" in capsys.readouterr().err
