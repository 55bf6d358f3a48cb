"""Saved views: `ccbrowser view`, `@NAME` in queries, and a config file edited without losing a comment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_search_corpus import build

from ccbrowser.cli import main
from ccbrowser.config import load_config
from ccbrowser.search import QueryError
from ccbrowser.search.views import expand

CONFIG = """\
# ccbrowser settings, by hand
default_profile = "work"   # the one I use

[profiles.work]
base_url = "https://api.openai.com/v1"
api_key_env = "WORK_KEY"  # never the key itself

# views I keep
[views]
old = "model:gpt-4o"  # the first one
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("CCBROWSER_CONFIG", str(path))
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    build(path).close()
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_save_list_delete_keep_every_comment(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "view", "save", "golden", "tag:good", "-tag:bad", "has:tools")
    assert rc == 0 and out == "saved @golden: tag:good -tag:bad has:tools\n"
    text = config.read_text(encoding="utf-8")
    assert text == CONFIG + 'golden = "tag:good -tag:bad has:tools"\n'  # only the new line is new
    assert load_config().views == {"old": "model:gpt-4o", "golden": "tag:good -tag:bad has:tools"}
    rc, out, _ = _run(capsys, "view", "save", "old", "model:gpt-4o-mini")
    assert out == "replaced @old: model:gpt-4o -> model:gpt-4o-mini\n"
    assert "# the first one" in config.read_text(encoding="utf-8")  # the comment on the line stays
    rc, out, _ = _run(capsys, "view", "list")
    assert out.splitlines() == ["@old     model:gpt-4o-mini", "@golden  tag:good -tag:bad has:tools"]
    rc, out, _ = _run(capsys, "view", "delete", "old")
    assert rc == 0 and out == "deleted @old\n"
    text = config.read_text(encoding="utf-8")
    for comment in (
        "# ccbrowser settings, by hand",
        "# the one I use",
        "# never the key itself",
        "# views I keep",
    ):
        assert comment in text
    assert "old =" not in text and load_config().views == {"golden": "tag:good -tag:bad has:tools"}


def test_first_view_creates_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new" / "config.toml"
    monkeypatch.setenv("CCBROWSER_CONFIG", str(path))
    rc, _, err = _run(capsys, "view", "list")
    assert rc == 0 and "no saved views" in err
    assert _run(capsys, "view", "save", "mine", 'meta:note="a b"')[0] == 0
    assert path.read_text(encoding="utf-8") == '[views]\nmine = "meta:note=\\"a b\\""\n'
    assert load_config().views == {"mine": 'meta:note="a b"'}


@pytest.mark.parametrize(
    ("args", "needle", "code"),
    [
        (["view", "save", "9lives", "x"], "a view name is a letter", 2),
        (["view", "save", "bad", "tokens:abc"], "`tokens:` needs a number", 2),
        (["view", "save", "self", "@self", "x"], "refers to itself", 2),
        (["view", "save", "other", "@nope"], "no saved view @nope", 2),
        (["view", "delete", "nope"], "no saved view 'nope'", 1),
    ],
)
def test_view_errors_are_one_line_and_leave_the_file(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str, code: int
) -> None:
    rc, out, err = _run(capsys, *args)
    assert rc == code and out == ""
    assert err.count("\n") == 1 and err.startswith("ccbrowser: ") and needle in err, err
    assert config.read_text(encoding="utf-8") == CONFIG


def test_a_broken_views_table_is_one_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    monkeypatch.setenv("CCBROWSER_CONFIG", str(path))
    for text, needle in (
        ('[views]\n"two words" = "x"\n', "a view name"),
        ("[views]\nx = 3\n", "views.x must be a string"),
    ):
        path.write_text(text, encoding="utf-8")
        rc, _, err = _run(capsys, "view", "list")
        assert rc == 2 and err.count("\n") == 1 and needle in err, err


def test_at_name_in_search_export_and_label(
    config: Path, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "view", "save", "tools", "has:tools")[0] == 0
    rc, direct, _ = _run(capsys, "search", "--db", str(db), "--json", "--limit", "0", "has:tools", "refund")
    rc, via, _ = _run(capsys, "search", "--db", str(db), "--json", "--limit", "0", "@tools", "refund")
    assert rc == 0 and via == direct and direct
    out = tmp_path / "e.jsonl"
    assert main(["export", "--db", str(db), "-o", str(out), "@tools"]) == 0
    ids = [json.loads(line)["completion"]["id"] for line in out.read_text(encoding="utf-8").splitlines()]
    rc, listing, _ = _run(
        capsys, "search", "--db", str(db), "--json", "--limit", "0", "--sort", "oldest", "has:tools"
    )
    assert ids == [json.loads(line)["id"] for line in listing.splitlines()]
    rc, said, _ = _run(capsys, "label", "--db", str(db), "--query", "@tools", "--tag", "agentic")
    assert rc == 0 and f"tag agentic added to {len(ids)}" in said
    rc, tagged, _ = _run(
        capsys, "search", "--db", str(db), "--json", "--limit", "0", "--sort", "oldest", "tag:agentic"
    )
    assert tagged == listing
    rc, _, err = _run(capsys, "search", "--db", str(db), "@missing")
    assert rc == 2 and "no saved view @missing (views: @old, @tools)" in err


def test_expansion_rules() -> None:
    views = {"good": "tag:good -tag:bad", "recent": "@good since:7d", "one": "tag:a", "a": "@b", "b": "@a"}
    assert expand("@good refund", views) == "tag:good -tag:bad refund"
    assert expand("x @recent", views) == "x tag:good -tag:bad since:7d"
    assert expand('"@good" meta:owner=@good me@good', views) == '"@good" meta:owner=@good me@good'
    assert expand("x OR @one", views) == "x OR tag:a"
    for text, needle in (
        ("-@good", "cannot be negated"),
        ("@a", "refers to itself"),
        ("x OR @good", "cannot be one side of an OR"),
        ("@zzz", "no saved view @zzz"),
    ):
        with pytest.raises(QueryError, match=needle):
            expand(text, views)
