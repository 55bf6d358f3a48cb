"""Local labels: `ccbrowser label`, the query fields, and labels surviving sync, re-import and migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from test_search_corpus import build
from test_sync import KEY, NOW, emu, emulator, settings_for, sync

from ccbrowser import search
from ccbrowser.cli import main
from ccbrowser.emulator.server import RunningEmulator
from ccbrowser.store import labels, open_db
from ccbrowser.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, version

assert KEY and NOW and emulator  # the emulator fixture of test_sync (and what it uses)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    build(path).close()
    return path


def _ids(db: Path, query: str = "") -> list[str]:
    conn = open_db(db)
    try:
        return labels.ids_of(conn, search.matching_pks(conn, query, sort="oldest"))
    finally:
        conn.close()


def _label(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["label", "--db", str(db), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_label_star_tag_note_then_query(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _ids(db)
    b = next(i for i in ids if sum(j.startswith(i[:-2]) for j in ids) == 1)
    a, c = (i for i in ids if i != b).__next__(), ids[-1]
    rc, out, _ = _label(db, capsys, a, b[:-2], "--star", "--tag", "good", "--note", "keep: exact answer")
    assert rc == 0
    assert out == ("2 completions: starred 2; tag good added to 2; note set on 2\n"), (
        out
    )  # `b[:-2]` is a unique prefix
    rc, out, _ = _label(db, capsys, a, c, "--star", "--tag", "good", "--tag", "bad")
    assert out == (
        "2 completions: starred 1 (1 already starred); tag good added to 1 (1 already had it); tag bad added to 2\n"
    )
    rc, out, _ = _label(db, capsys, a, "--untag", "bad", "--unstar", "--note", "")
    assert out == "1 completion: unstarred 1; tag bad removed from 1; note cleared on 1\n"
    conn = open_db(db)
    try:
        assert set(labels.ids_of(conn, search.matching_pks(conn, "is:starred"))) == {b, c}
        assert set(labels.ids_of(conn, search.matching_pks(conn, "tag:good"))) == {a, b, c}
        assert set(labels.ids_of(conn, search.matching_pks(conn, "tag:good -tag:bad"))) == {a, b}
        assert set(labels.ids_of(conn, search.matching_pks(conn, "has:note"))) == {b}
        assert set(labels.ids_of(conn, search.matching_pks(conn, "tag:ba*"))) == {c}
        assert search.count(conn, "-tag:good") == len(ids) - 3
        assert labels.label_of(conn, b) == labels.Label(True, ("good",), "keep: exact answer")
        assert labels.label_of(conn, a) == labels.Label(False, ("good",), None)
        # a label row with nothing left is dropped; tags live in their own table
        rows = conn.execute("SELECT id FROM labels ORDER BY id").fetchall()
        assert {r[0] for r in rows} == {b, c}
    finally:
        conn.close()
    rc, out, _ = _label(db, capsys, b)  # no change: show
    assert rc == 0 and out.startswith(b) and "starred" in out and "tags: good" in out and "note: keep" in out


def test_label_by_query_and_idempotence(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tools = _ids(db, "has:tools")
    assert tools
    rc, out, _ = _label(db, capsys, "--query", "has:tools", "--tag", "agentic")
    assert (
        rc == 0
        and out
        == f"{len(tools)} completion{'s' if len(tools) > 1 else ''}: tag agentic added to {len(tools)}\n"
    )
    rc, out, _ = _label(db, capsys, "--query", "has:tools", "--tag", "agentic")
    assert f"tag agentic added to 0 ({len(tools)} already had it)" in out
    assert sorted(_ids(db, "tag:agentic")) == sorted(tools)
    rc, _, err = _label(db, capsys, "--query", "model:no-such-model", "--star")
    assert rc == 0 and "nothing labelled" in err


@pytest.mark.parametrize(
    ("args", "needle", "code"),
    [
        (["chatcmpl-nope-nope", "--star"], "no completion", 1),
        (["--star"], "give completion ids", 2),
        (["ID", "--query", "x", "--star"], "not both", 2),
        (["ID", "--tag", "two words"], "one word", 2),
        (["ID", "--tag", "a,b"], "one word", 2),
        (["ID", "--tag=-x"], "cannot start with '-'", 2),
        (["ID", "--tag", "x" * 65], "at most 64", 2),
        (["ID", "--tag", "x", "--untag", "x"], "same tag", 2),
        (["ID", "--star", "--unstar"], "not allowed with", 2),
        (["ID", "--star", "--yes"], "--yes only confirms --push", 2),
        (["--query", "tokens:abc", "--star"], "tokens:", 2),
    ],
)
def test_label_errors_are_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str, code: int
) -> None:
    real = _ids(db)[0]
    args = [real if a == "ID" else a for a in args]
    with pytest.raises(SystemExit) if "not allowed with" in needle else _nothing():
        rc, out, err = _label(db, capsys, *args)
        assert rc == code, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ccbrowser: ") and needle in lines[0], err
        assert out == ""
    if "not allowed with" in needle:
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err
    conn = open_db(db)
    try:
        assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0  # nothing half-done
        assert conn.execute("SELECT count(*) FROM label_tags").fetchone()[0] == 0
    finally:
        conn.close()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_planner_reads_the_label_indexes(db: Path) -> None:
    conn = open_db(db)
    try:
        for text, index in (
            ("is:starred", "labels_starred"),
            ("has:note", "labels_noted"),
            ("tag:good", "label_tags"),
        ):
            plan = search.plan.build(search.parse(text), conn)  # type: ignore[attr-defined]
            where, params = plan.full_where()
            rows = conn.execute(
                f"EXPLAIN QUERY PLAN SELECT c.pk FROM completions c WHERE {where}", params
            ).fetchall()
            detail = " ".join(r[3] for r in rows)
            assert index in detail and "SCAN c" not in detail and "SCAN labels\n" not in detail, (
                text,
                detail,
            )
    finally:
        conn.close()


def _labelled(db: Path) -> dict[str, labels.Label]:
    conn = open_db(db)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM completions")]
        return labels.labels_of(conn, ids)
    finally:
        conn.close()


@emu(count=120, seed=11)
def test_labels_survive_sync_full_sync_updates_and_removal(emulator: RunningEmulator, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    settings = settings_for(emulator)
    sync(db, settings)
    ids = emulator.state.snapshot_ids()
    chosen = ids[:5]
    conn = open_db(db)
    try:
        labels.apply(conn, chosen, star=True, add_tags=["good"], note="golden")
        labels.apply(conn, chosen[:2], add_tags=["bad"])
    finally:
        conn.close()
    before = _labelled(db)
    assert len(before) == 5
    # the server changes some of them: a metadata update rewrites the row on the next sync
    emulator.state.update_metadata(chosen[0], {"env": "changed"})
    emulator.state.delete(chosen[1])
    sync(db, settings)
    sync(db, settings, full=True)  # reconcile: marks chosen[1] removed, rewrites chosen[0]
    after = _labelled(db)
    assert after == before
    conn = open_db(db)
    try:
        assert conn.execute("SELECT metadata FROM completions WHERE id = ?", (chosen[0],)).fetchone()[0] == (
            '{"env":"changed"}'
        )
        assert set(labels.ids_of(conn, search.matching_pks(conn, "is:starred"))) == set(chosen)
        assert set(labels.ids_of(conn, search.matching_pks(conn, "tag:good -tag:bad"))) == set(chosen[2:])
        assert labels.ids_of(conn, search.matching_pks(conn, "is:removed tag:bad")) == [chosen[1]]
    finally:
        conn.close()
    sync(db, settings, full=True)
    assert _labelled(db) == before


def test_labels_survive_reimport_even_of_deleted_rows(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _ids(db)
    _label(db, capsys, ids[0], ids[3], "--star", "--tag", "keep", "--note", "n")
    before = _labelled(db)
    dump = tmp_path / "all.jsonl"
    assert main(["export", "--db", str(db), "--output", str(dump)]) == 0
    assert main(["import", "--db", str(db), str(dump)]) == 0  # over the same rows
    assert _labelled(db) == before
    # rows deleted (by another tool) and imported again get new primary keys: labels follow the id
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA foreign_keys = ON")
        raw.execute("DELETE FROM completions WHERE id IN (?, ?)", (ids[0], ids[3]))
    assert ids[0] not in _labelled(db)
    assert main(["import", "--db", str(db), str(dump)]) == 0
    capsys.readouterr()
    assert _labelled(db) == before
    assert sorted(_ids(db, "is:starred tag:keep has:note")) == sorted([ids[0], ids[3]])


def _labels_migration() -> int:
    """The index in MIGRATIONS of the one that creates the labels tables."""
    for i in range(len(MIGRATIONS)):
        conn = sqlite3.connect(":memory:", isolation_level=None)
        migrate(conn, target=i + 1)
        if "labels" in sqlite_utils.Database(conn).table_names():
            return i
    raise AssertionError("no migration creates the labels table")


def test_migration_adds_labels_to_an_old_database_and_later_rewrites_keep_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    index = _labels_migration()
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=index)  # the version before labels, with data
    conn.execute(
        "INSERT INTO completions (pk, id, created, model, raw) VALUES (1, 'c-1', 5, 'gpt-4o', '{\"id\":\"c-1\"}')"
    )
    conn.execute(
        "INSERT INTO completions (pk, id, created, model, raw) VALUES (2, 'c-2', 6, 'gpt-4o', '{\"id\":\"c-2\"}')"
    )
    conn.close()
    conn = open_db(path)
    assert version(conn) == SCHEMA_VERSION
    assert search.count(conn, "is:starred") == 0 and search.count(conn, "-tag:x") == 2
    labels.apply(conn, ["c-1"], star=True, add_tags=["good"], note="first")
    # a later migration rebuilding `completions` (sqlite-utils' transform re-creates the table)
    sqlite_utils.Database(conn).table("completions").transform(types={"model": str})
    conn.execute("UPDATE completions SET pk = pk + 100")  # even new primary keys
    assert labels.label_of(conn, "c-1") == labels.Label(True, ("good",), "first")
    assert search.matching_pks(conn, "is:starred tag:good has:note") == [101]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_label_and_view_as_a_user_runs_them(db: Path, tmp_path: Path) -> None:
    from test_sync_cli import run_cli

    cid = _ids(db)[0]
    done = run_cli("label", "--db", str(db), cid, "--star", "--tag", "good")
    assert done.returncode == 0 and done.stdout == "1 completion: starred 1; tag good added to 1\n", (
        done.stderr
    )
    shown = run_cli("search", "--db", str(db), "--json", "is:starred", "tag:good")
    assert shown.returncode == 0 and cid in shown.stdout and shown.stdout.count("\n") == 1
    bad = run_cli("label", "--db", str(db), "no-such-id-at-all", "--star")
    assert (
        bad.returncode == 1
        and bad.stderr == "ccbrowser: no completion 'no-such-id-at-all' in the local database\n"
    )
