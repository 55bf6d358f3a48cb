"""The config's `[threads]` table: validated like the rest of the file, and what the writer, the
backfill and `ccbrowser import` thread with (a changed key changes the grouping)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ccbrowser.config import load_config
from ccbrowser.errors import ConfigError
from ccbrowser.store import open_db, threads
from ccbrowser.store.writer import Record, Writer
from ccbrowser.threads import Options, SystemMode

T0 = 1_760_000_000


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CCBROWSER_CONFIG", str(path))
    return path


def completion(cid: str, created: int, reply: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": "gpt-4o-mini",
        "metadata": metadata or {},
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
        ],
    }


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def thread_of(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT id, thread FROM thread_nodes").fetchall())


def test_threads_table_is_read_with_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Options.of(load_config().threads) == Options()  # no file: the threading defaults
    write_config(tmp_path, monkeypatch, '[threads]\nid_keys = ["chat", "ticket"]\nsystem = "ignore"\n')
    assert Options.of(load_config().threads) == Options(("chat", "ticket"), SystemMode.IGNORE)
    write_config(tmp_path, monkeypatch, "[threads]\nid_keys = []\n")
    assert Options.of(load_config().threads) == Options((), SystemMode.MASK)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[threads]\nsystem = "normalise"\n', "threads.system must be one of 'mask', 'ignore' or 'exact'"),
        ('[threads]\nid_keys = "chat"\n', "threads.id_keys must be a list, not a string"),
        ("[threads]\nid_keys = [1]\n", "threads.id_keys.0 must be a string, not an integer"),
        ('[threads]\nid_keys = ["chat", "chat"]\n', "threads.id_keys names a metadata key twice"),
        ('[threads]\nid_keys = [" "]\n', "threads.id_keys must name keys of 1 to 64 characters"),
        ('[threads]\nsession = "x"\n', "unknown setting threads.session"),
    ],
)
def test_threads_table_mistakes_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    from ccbrowser.cli import main

    path = write_config(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=re.escape(words)):
        load_config()
    assert main(["--db", str(tmp_path / "x.db"), "sync"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"config file {path}" in err and words in err, err


def test_a_changed_id_key_regroups_what_is_stored(db_path: Path) -> None:
    """Two unrelated openings that share a `chat` metadata value: one thread when `chat` names
    conversations, two otherwise. A writer given other options threads everything again; a
    writer given none keeps the database's."""
    meta = {"chat": "c-1"}
    records = [
        Record(completion("a", T0, "Paris.", meta), [user("capital of France?")]),
        Record(completion("b", T0 + 5, "Rome.", meta), [user("and the capital of Italy?")]),
    ]
    conn = open_db(db_path)
    Writer(conn).write(records)
    assert thread_of(conn) == {"a": "a", "b": "b"}  # the defaults do not know `chat`
    assert threads.stored_options(conn) == Options()

    keyed = Options(id_keys=("chat",))
    writer = Writer(conn, thread_options=keyed)
    assert writer.rethreaded == 2
    assert thread_of(conn) == {"a": "chat:c-1", "b": "chat:c-1"}
    assert threads.stored_options(conn) == keyed
    assert conn.execute("SELECT completions FROM threads WHERE thread = 'chat:c-1'").fetchone() == (2,)

    # a writer without options (a push, the demo) keeps the database's: a third one joins
    later = Writer(conn)
    assert later.rethreaded is None and later.thread_options == keyed
    later.write([Record(completion("c", T0 + 9, "Madrid.", meta), [user("Spain?")])])
    assert set(thread_of(conn).values()) == {"chat:c-1"}
    assert Writer(conn, thread_options=keyed).rethreaded is None  # the same options: no work

    # and back: the key no longer groups
    assert Writer(conn, thread_options=Options()).rethreaded == 3
    assert thread_of(conn) == {"a": "a", "b": "b", "c": "c"}
    conn.close()


def test_system_mode_ignore_links_across_a_reworded_system_prompt(db_path: Path) -> None:
    first = [{"role": "system", "content": "Be friendly."}, user("Suggest a name for a cat.")]
    second = [
        {"role": "system", "content": "Be friendly and brief, you are a helpful pet expert."},
        user("Suggest a name for a cat."),
        {"role": "assistant", "content": "Ash."},
        user("Another one?"),
    ]
    records = [Record(completion("a", T0, "Ash."), first), Record(completion("b", T0 + 5, "Fog."), second)]
    conn = open_db(db_path)
    Writer(conn).write(records)
    parent = "SELECT parent FROM thread_nodes WHERE id = 'b'"
    assert conn.execute(parent).fetchone() == (None,)  # masked: the prompts differ in words
    Writer(conn, thread_options=Options(system=SystemMode.IGNORE))
    assert conn.execute(parent).fetchone() == ("a",)
    # new writes under `ignore` link too (the keys of the write path, not only the backfill's)
    third = [*second, {"role": "assistant", "content": "Fog."}, user("And a third?")]
    third[0] = {"role": "system", "content": "Totally different instructions."}
    Writer(conn).write([Record(completion("c", T0 + 9, "Moss."), third)])
    assert conn.execute("SELECT parent FROM thread_nodes WHERE id = 'c'").fetchone() == ("b",)
    conn.close()


def test_import_threads_with_the_config_keys(tmp_path: Path, db_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        {"completion": completion("a", T0, "Paris.", {"ticket": "T-9"}), "input_messages": [user("France?")]},
        {
            "completion": completion("b", T0 + 5, "Rome.", {"ticket": "T-9"}),
            "input_messages": [user("Italy?")],
        },
    ]
    src.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text('[threads]\nid_keys = ["ticket"]\n', encoding="utf-8")

    def cli(*args: str, env_config: bool = True) -> subprocess.CompletedProcess[str]:
        import os

        env = {k: v for k, v in os.environ.items() if k != "CCBROWSER_CONFIG"}
        if env_config:
            env["CCBROWSER_CONFIG"] = str(config)
        return subprocess.run(
            [sys.executable, "-m", "ccbrowser", "--db", str(db_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    out = cli("import", str(src))
    assert out.returncode == 0, out.stderr
    assert "threaded again" not in out.stderr  # a new database: nothing to redo
    got = cli("thread", "a", "--json")
    assert [json.loads(line)["id"] for line in got.stdout.splitlines()] == ["a", "b"]
    # without the key the next import threads the two apart again, and says so
    out = cli("import", str(src), env_config=False)
    assert out.returncode == 0 and "2 stored completions threaded again" in out.stderr, out.stderr
    got = cli("thread", "a", "--json")
    assert [json.loads(line)["id"] for line in got.stdout.splitlines()] == ["a"]


def test_readme_documents_the_threads_table_as_the_code_has_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's `[threads]` example is the defaults, and its list of `system` modes is the
    code's, default first."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(\[threads\]\n.*?)```", readme, re.DOTALL)
    assert block is not None, "README: no [threads] example"
    write_config(tmp_path, monkeypatch, block.group(1))
    assert Options.of(load_config().threads) == Options()
    section = readme[block.end() :].split("\n\n![", 1)[0].split("\n## ", 1)[0]
    modes = re.findall(r"^- `(\w+)`( \(default\))?:", section, re.MULTILINE)
    assert [m for m, _ in modes] == [str(m) for m in SystemMode]
    assert [m for m, default in modes if default] == [str(Options().system)]
    assert "id_keys = []" in section
    # what the README says a change does: the next writer threads everything again, and import says so
    conn = open_db(tmp_path / "t.db")
    Writer(conn).write([Record(completion("c1", T0, "hi"), [user("hello")])])
    assert Writer(conn, thread_options=Options(system=SystemMode.EXACT)).rethreaded == 1
    assert threads.stored_options(conn) == Options(system=SystemMode.EXACT)
    conn.close()
