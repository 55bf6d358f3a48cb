"""`ccbrowser thread`, the `thread:` / `is:root` / `turns:` filters and `export --format md` of a
conversation, on a database holding the emulator's scripted chats (their truth is known)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_store_threads import truth

from ccbrowser import search
from ccbrowser.demo_corpus import FROZEN_NOW, build
from ccbrowser.emulator.corpus.chats import Call, chats
from ccbrowser.store import open_db

SEED = 5


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("thread") / "chats.db", 60, seed=SEED, chats=True)


@pytest.fixture(scope="module")
def calls() -> list[Call]:
    return chats(FROZEN_NOW, SEED)


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccbrowser", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def of(calls: list[Call], chat: str) -> list[Call]:
    return [c for c in calls if c.chat == chat]


def test_thread_json_lines_give_every_link_in_conversation_order(db: Path, calls: list[Call]) -> None:
    want = truth(calls)
    haiku = of(calls, "haiku")
    out = cli(db, "thread", haiku[-1].id[:14], "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["id"] for r in lines} == {c.id for c in haiku}
    for r in lines:
        a = want[r["id"]]
        assert (r["parent"], r["turn"], r["branch"], r["thread"]) == (a.parent, a.turn, a.branch, a.thread)
        assert r["model"] == "gpt-4o" and isinstance(r["created"], int)
    assert lines[0]["parent"] is None
    seen: set[str] = set()
    for r in lines:  # depth first: a parent before its children, siblings in branch order
        assert r["parent"] is None or r["parent"] in seen
        seen.add(r["id"])
    siblings = [r["branch"] for r in lines if r["parent"] == lines[0]["id"]]
    assert siblings == [0, 1, 2]  # the original, the regeneration, the edit
    # the line that goes on (first answer -> snow -> fog) is read first, then the other branches
    assert [r["turn"] for r in lines] == [0, 1, 2, 1, 1]


def test_thread_transcript_shows_each_new_message_once(db: Path, calls: list[Call]) -> None:
    trip = of(calls, "trip")
    out = cli(db, "thread", trip[1].id)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for c in trip:
        question = c.messages[-1]["content"]
        assert text.count(question) == 1, question  # the repeated history is left out
        answer = c.completion["choices"][0]["message"]["content"]
        assert text.count(answer) == 1
    assert text.index("four days in Lisbon") < text.index("not miss") < text.index("Sintra worth")
    assert "4 turns · 4 completions" in text
    assert text.count("Today is") == 1  # the system prompt is shown at the root only


def test_thread_marks_branches_tool_steps_and_continuations(db: Path, calls: list[Call]) -> None:
    out = cli(db, "thread", of(calls, "haiku")[0].id).stdout
    assert "branch 1 of 3" in out and "branch 3 of 3" in out
    desk = of(calls, "support")
    out = cli(db, "thread", desk[0].id).stdout
    assert out.count("tool step") == 2 and "refund_order" in out
    cut = [c for c in of(calls, "tutor") if c.continues]
    out = cli(db, "thread", cut[0].id).stdout
    assert f"continues {cut[0].continues}" in out
    names = of(calls, "names")
    out = cli(db, "thread", names[0].id).stdout
    assert "choice 2 of 3" in out and "Ash: short" in out and "Smoke:" not in out


def test_thread_of_an_unknown_id_is_one_line(db: Path) -> None:
    out = cli(db, "thread", "chatcmpl-nothing-like-it")
    assert out.returncode == 1 and out.stderr.startswith("ccbrowser: ") and out.stderr.count("\n") == 1


def test_thread_is_root_and_turns_filters(db: Path, calls: list[Call]) -> None:
    want = truth(calls)
    conn = open_db(db)

    def ids(q: str) -> set[str]:
        pks = search.matching_pks(conn, search.parse(q, now=FROZEN_NOW))
        marks = ",".join("?" * len(pks))
        return {r[0] for r in conn.execute(f"SELECT id FROM completions WHERE pk IN ({marks})", pks)}

    haiku = of(calls, "haiku")
    assert ids(f"thread:{haiku[3].id[:15]}") == {c.id for c in haiku}
    assert ids(f"thread:{haiku[3].id[:15]} snow") == {
        c.id for c in haiku if "snow" in json.dumps(c.messages)
    } | {c.id for c in haiku if "snow" in json.dumps(c.completion["choices"]).lower()}
    every = {r[0] for r in conn.execute("SELECT id FROM completions")}
    roots = ids("is:root")
    assert {c.id for c in calls if want[c.id].parent is None} <= roots
    assert not roots & {c.id for c in calls if want[c.id].parent}
    assert ids("-is:root") == every - roots
    turns: dict[str, int] = {}
    for a in want.values():
        turns[a.thread] = max(turns.get(a.thread, 0), a.turn + 1)
    four = {cid for cid, a in want.items() if turns[a.thread] > 3}
    assert ids("turns:>3") == four == {c.id for c in of(calls, "trip")}
    assert ids("turns:3") == {cid for cid, a in want.items() if turns[a.thread] == 3}
    assert ids("turns:2..3") == {cid for cid, a in want.items() if 2 <= turns[a.thread] <= 3}
    assert ids("turns:<=1") == every - {cid for cid, a in want.items() if turns[a.thread] > 1}
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM completions c WHERE "
        "c.id IN (SELECT id FROM thread_nodes WHERE parent IS NULL)"
    ).fetchall()
    assert "thread_nodes_is_root" in " ".join(r[3] for r in plan)
    conn.close()


def test_export_md_of_a_thread_is_one_transcript_in_conversation_order(
    db: Path, calls: list[Call], tmp_path: Path
) -> None:
    desk = of(calls, "support")
    target = tmp_path / "chat.md"
    out = cli(db, "export", f"thread:{desk[2].id}", "--format", "md", "--output", str(target))
    assert out.returncode == 0, out.stderr
    text = target.read_text()
    assert text.count("# Conversation ") == 1
    assert [line.split(" · ")[1] for line in text.splitlines() if line.startswith("## ")][:1] == [desk[0].id]
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert len(headings) == len(desk)
    turns = text[text.index("\n## ") :]
    assert turns.count("My order A-8812 never arrived") == 1  # (the title quotes it too)
    assert text.index("lookup_order") < text.index("refund_order") < text.index("Great, thank you")
    assert "```text" in text


def test_thread_totals_count_an_unknown_cost_as_unknown(db: Path, calls: list[Call], tmp_path: Path) -> None:
    import shutil

    from ccbrowser.render import usd

    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    trip = [c.id for c in of(calls, "trip")]
    conn = open_db(copy)
    costs = [conn.execute("SELECT cost_usd FROM completions WHERE id = ?", (i,)).fetchone()[0] for i in trip]
    tokens = sum(
        conn.execute("SELECT total_tokens FROM completions WHERE id = ?", (i,)).fetchone()[0] for i in trip
    )
    conn.execute("UPDATE completions SET cost_usd = NULL WHERE id = ?", (trip[2],))
    conn.commit()
    conn.close()
    known = sum(costs) - costs[2]
    # JSON Lines stay one completion a line, each with its own cost (null: unknown)
    lines = [json.loads(line) for line in cli(copy, "thread", trip[0], "--json").stdout.splitlines()]
    assert [r["id"] for r in lines] == trip
    assert [r["cost_usd"] is None for r in lines] == [i == trip[2] for i in trip]
    # the totals: an explicit flag, one JSON object
    out = cli(copy, "thread", trip[0], "--json", "--totals")
    assert out.returncode == 0 and out.stdout.count("\n") == 1, out.stderr
    t = json.loads(out.stdout)
    assert (t["completions"], t["turns"], t["total_tokens"], t["cost_unknown"]) == (4, 4, tokens, 1)
    assert t["cost_usd"] == pytest.approx(known)
    # human: the transcript ends with them, `--totals` alone is that line
    footer = f"total: 4 completions · {tokens:,} tokens · {usd(known)} (1 unknown)"
    assert cli(copy, "thread", trip[1]).stdout.rstrip().endswith(footer)
    assert cli(copy, "thread", trip[1], "--totals").stdout == f"{trip[0]}: {footer.removeprefix('total: ')}\n"
    # nothing known: unknown, never $0
    conn = open_db(copy)
    conn.execute(f"UPDATE completions SET cost_usd = NULL WHERE id IN ({','.join('?' * len(trip))})", trip)
    conn.commit()
    conn.close()
    t = json.loads(cli(copy, "thread", trip[0], "--json", "--totals").stdout)
    assert t["cost_usd"] is None and t["cost_unknown"] == 4
    assert "cost unknown" in cli(copy, "thread", trip[0], "--totals").stdout
