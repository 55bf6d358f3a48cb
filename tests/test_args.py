"""`ccbrowser args ID [--call N|NAME]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_search_corpus import build

from ccbrowser.cli import main


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    build(path).close()
    return path


def test_first_call_pretty_and_others_listed(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["args", "--db", str(db), "chatcmpl-tool"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"order_id": "A-8812", "reason": "damaged parcel"}
    assert out.startswith('{\n  "order_id"')
    assert "2 tool calls" in err and "2 notify_customer" in err


def test_call_by_number_and_name_invalid_json_verbatim(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["args", "--db", str(db), "chatcmpl-tool", "--call", "2"]) == 0
    out, err = capsys.readouterr()
    assert out == "{not json\n" and "not valid JSON" in err
    assert main(["args", "--db", str(db), "chatcmpl-tool", "--call", "notify_customer"]) == 0
    assert capsys.readouterr().out == "{not json\n"
    assert main(["args", "--db", str(db), "chatcmpl-too", "--call", "refund_order"]) == 0  # unique id prefix
    assert json.loads(capsys.readouterr().out)["order_id"] == "A-8812"


def test_errors(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["args", "--db", str(db), "chatcmpl-tool", "--call", "3"]) == 2
    assert "has 2 tool calls" in capsys.readouterr().err
    assert main(["args", "--db", str(db), "chatcmpl-tool", "--call", "nope"]) == 2
    assert "notify_customer, refund_order" in capsys.readouterr().err
    assert main(["args", "--db", str(db), "chatcmpl-creme"]) == 1
    assert "has no tool calls" in capsys.readouterr().err
    assert main(["args", "--db", str(db), "chatcmpl-missing"]) == 1
    assert "no completion" in capsys.readouterr().err
