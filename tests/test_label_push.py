"""`ccbrowser label --push` against the emulator over loopback HTTP: what it shows, asks, writes,
and what it refuses (the server's 16 keys and 512 characters) before any request."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from test_sync import KEY, NOW, emu, emulator, settings_for, sync

from ccbrowser import search
from ccbrowser.cli import main
from ccbrowser.emulator.server import RunningEmulator
from ccbrowser.store import labels, open_db

assert NOW and emulator  # the emulator fixture of test_sync


@pytest.fixture
def synced(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[RunningEmulator, Path]:
    db = tmp_path / "p.db"
    sync(db, settings_for(emulator))
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return emulator, db


def _label(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["label", "--db", str(db), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def _server_md(emu_: RunningEmulator, cid: str) -> dict[str, str]:
    rec = emu_.state.get(cid)
    assert rec is not None
    return dict(rec[0].get("metadata") or {})


def _local_md(db: Path, cid: str) -> str | None:
    conn = open_db(db)
    try:
        return conn.execute("SELECT metadata FROM completions WHERE id = ?", (cid,)).fetchone()[0]
    finally:
        conn.close()


@emu(count=40, seed=3)
def test_push_shows_writes_and_mirrors_the_tags(
    synced: tuple[RunningEmulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu_, db = synced
    ids = emu_.state.snapshot_ids()[:3]
    before = {cid: _server_md(emu_, cid) for cid in ids}
    _label(db, capsys, ids[0], "--tag", "good")  # a local label, pushed later with the rest
    emu_.state.reset_counters()
    rc, out, err = _label(db, capsys, *ids, "--tag", "reviewed", "--push", "--yes")
    assert rc == 0, err
    assert out == "3 completions: tag reviewed added to 3\n"
    assert "will set metadata `tags` of 3 completions on" in err
    assert f"{ids[0]}  (none) -> 'good,reviewed'" in err and f"{ids[1]}  (none) -> 'reviewed'" in err
    assert "pushed `tags` of 3 completions" in err
    assert emu_.state.requests("update") == 3
    assert _server_md(emu_, ids[0]) == {**before[ids[0]], "tags": "good,reviewed"}  # other keys kept
    assert _server_md(emu_, ids[1]) == {**before[ids[1]], "tags": "reviewed"}
    conn = open_db(db)
    try:  # the answer is stored: the mirror shows the pushed metadata at once
        assert set(labels.ids_of(conn, search.matching_pks(conn, "meta:tags=reviewed"))) == set(ids[1:])
        assert labels.ids_of(conn, search.matching_pks(conn, "meta:tags=good,reviewed")) == [ids[0]]
    finally:
        conn.close()
    # untagging everything removes the key; unchanged ones cost no request
    emu_.state.reset_counters()
    rc, out, err = _label(db, capsys, *ids, "--untag", "reviewed", "--untag", "good", "--push", "--yes")
    assert rc == 0 and "'reviewed' -> (removed)" in err
    assert all(_server_md(emu_, cid) == before[cid] for cid in ids)
    rc, _, err = _label(db, capsys, *ids, "--push", "--yes")
    assert rc == 0 and "already match; nothing to push" in err
    assert emu_.state.requests("update") == 3


@emu(count=30, seed=4)
def test_sixteen_keys_and_512_characters_are_refused_before_any_request(
    synced: tuple[RunningEmulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu_, db = synced
    full, other = emu_.state.snapshot_ids()[:2]
    emu_.state.update_metadata(full, {f"k{i}": "v" for i in range(16)})
    sync(db, settings_for(emu_), full=True)  # the mirror knows it has 16 keys
    emu_.state.reset_counters()
    rc, out, err = _label(db, capsys, full, other, "--tag", "good", "--star", "--push", "--yes")
    assert rc == 2 and out == ""
    assert (
        err
        == f"ccbrowser: cannot push: {full} would have 17 metadata keys (the server allows 16); nothing was changed\n"
    )
    assert emu_.state.requests("update") == 0
    conn = open_db(db)
    try:
        assert labels.labels_of(conn, [full, other]) == {}  # not even the local labels
    finally:
        conn.close()
    many = [f"--tag=tag-number-{i:02d}-{'x' * 40}" for i in range(12)]  # 12 * 54 characters and 11 commas
    rc, _, err = _label(db, capsys, other, *many, "--push", "--yes")
    assert rc == 2 and f"{other} would have metadata 'tags' of 659 characters (the server allows 512)" in err
    assert emu_.state.requests("update") == 0
    # the same tags without --push: local tags have no such limit
    rc, out, _ = _label(db, capsys, other, *many)
    assert rc == 0 and "tag-number-11" in out


@emu(count=30, seed=5)
def test_what_the_server_refuses_is_reported_per_completion(
    synced: tuple[RunningEmulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu_, db = synced
    stale, gone, fine = emu_.state.snapshot_ids()[:3]
    # the server changed after the last sync: 16 keys there, the mirror does not know yet
    emu_.state.update_metadata(stale, {f"k{i}": "v" for i in range(16)})
    emu_.state.delete(gone)
    rc, out, err = _label(db, capsys, stale, gone, fine, "--tag", "good", "--push", "--yes")
    assert rc == 1
    assert out == "3 completions: tag good added to 3\n"  # the local labels are kept
    # merged with what the server holds now (not the mirror's older copy): 17 keys, refused
    assert (
        f"ccbrowser: {stale}: refused: the server holds other metadata now; it would have 17 metadata keys"
        in err
    )
    assert f"ccbrowser: {gone}: not on the server" in err
    assert "pushed `tags` of 1 completion; 2 failed" in err
    assert _server_md(emu_, fine)["tags"] == "good"
    assert _server_md(emu_, stale) == {f"k{i}": "v" for i in range(16)}  # nothing overwritten
    assert "Traceback" not in err and KEY not in err


@emu(count=20, seed=6)
def test_push_asks_first_and_a_no_changes_nothing_on_the_server(
    synced: tuple[RunningEmulator, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu_, db = synced
    cid = emu_.state.snapshot_ids()[0]
    before = _server_md(emu_, cid)
    emu_.state.reset_counters()
    # no terminal and no --yes: refused before anything changes
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    rc, out, err = _label(db, capsys, cid, "--tag", "good", "--push")
    assert rc == 2 and out == "" and "run it on a terminal, or add --yes" in err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    rc, out, err = _label(db, capsys, cid, "--tag", "good", "--push")
    assert rc == 1 and "push? [y/N]" in err and "not pushed (the local labels are kept)" in err
    assert emu_.state.requests("update") == 0 and _server_md(emu_, cid) == before
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    rc, out, err = _label(db, capsys, cid, "--push")
    assert rc == 0 and _server_md(emu_, cid) == {**before, "tags": "good"}


@emu(count=5, seed=7)
def test_the_checked_limit_is_the_servers(emulator: RunningEmulator) -> None:
    import asyncio

    from ccbrowser.api.client import Client
    from ccbrowser.errors import APIError
    from ccbrowser.sync.push import MAX_KEYS, metadata_problem

    cid = emulator.state.snapshot_ids()[0]
    sixteen = {f"k{i}": "v" for i in range(MAX_KEYS)}
    seventeen = {**sixteen, "one-more": "v"}
    assert (
        metadata_problem(sixteen) is None
        and metadata_problem(seventeen) == "17 metadata keys (the server allows 16)"
    )

    async def update(md: dict[str, str]) -> object:
        async with Client(settings_for(emulator)) as client:
            return await client.update(cid, md)

    assert asyncio.run(update(sixteen))
    with pytest.raises(APIError, match="at most 16"):
        asyncio.run(update(seventeen))
    assert _server_md(emulator, cid) == sixteen


def test_the_plan_says_what_each_completion_gains_and_what_is_refused() -> None:
    """The plan the CLI checks and the TUI shows: keys added, changed, removed; refusals."""
    from ccbrowser.sync.push import plan

    stored = {
        "new": {"env": "prod"},
        "changed": {"tags": "old", "n": 3},  # a non-string value is compared as text
        "dropped": {"tags": "x", "env": "dev"},
        "same": {"tags": "a,b"},
        "full": {f"k{i}": "v" for i in range(16)},
    }
    long_tags = [f"t{i:03d}-{'y' * 40}" for i in range(12)]
    tags = {
        "new": ["good"],
        "changed": ["good", "better"],
        "dropped": [],
        "same": ["b", "a"],
        "full": ["good"],
        "long": long_tags,
        "unsynced": ["good"],  # not in the mirror: no metadata known
    }
    out = plan(stored, tags)
    by_id = {c.id: c for c in out.changes}
    assert out.unchanged == 1 and "same" not in by_id
    assert by_id["new"].added == {"tags": "good"} and not by_id["new"].changed
    assert by_id["changed"].changed == {"tags": ("old", "better,good")} and by_id["changed"].before == "old"
    assert by_id["dropped"].removed == ("tags",) and by_id["dropped"].metadata == {"env": "dev"}
    assert by_id["full"].refused == "17 metadata keys (the server allows 16)"
    assert by_id["long"].refused is not None and "(the server allows 512)" in by_id["long"].refused
    assert by_id["unsynced"].added == {"tags": "good"}
    assert [c.id for c in out.refused] == ["full", "long"]
    assert set(out.tags()) == {"new", "changed", "dropped", "unsynced"}  # only what may be sent
