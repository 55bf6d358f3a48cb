"""Changing the config file in place: the `[views]` table, written by `ccbrowser view` and the TUI.

The file is the user's: hand-written, commented, kept in dotfiles. `tomllib` only reads, and a
dump of the parsed data would drop every comment and reorder the tables, so edits go through
`tomlkit`, which parses to a document that keeps comments, order and formatting and changes only
the key it is told to. The edited text is validated by the same model the loader uses before it
replaces the file (a rename: a crash leaves the old file or the new one, never half of one), so a
change never produces a file that the next start rejects.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from ccbrowser.config import MAX_VIEW_QUERY, Config, parse_config, view_name_problem
from ccbrowser.errors import CCBrowserError, ConfigError, NotFound, UsageError


def _read(path: Path) -> tomlkit.TOMLDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not valid UTF-8: fix it before saving views") from None
    except OSError as exc:
        raise CCBrowserError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _write(path: Path, doc: tomlkit.TOMLDocument) -> Config:
    text = tomlkit.dumps(doc)
    if text and not text.endswith("\n"):
        text += "\n"
    config = parse_config(tomllib.loads(text), path)  # what the loader would say of the new file
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CCBrowserError(f"cannot write config file {path}: {exc.strerror}") from None
    return config


def _views(doc: tomlkit.TOMLDocument, create: bool) -> Any:
    table = doc.get("views")
    if table is None and create:
        table = tomlkit.table()
        doc["views"] = table
    if table is not None and not isinstance(table, dict):
        raise ConfigError("the config file's `views` is not a table")
    return table


def save_view(path: Path, name: str, query: str) -> tuple[Config, str | None]:
    """Save (or replace) a view; returns the new config and the query it replaced, if any."""
    if problem := view_name_problem(name):
        raise UsageError(problem)
    if not query.strip():
        raise UsageError("a view needs a query")
    if len(query) > MAX_VIEW_QUERY:
        raise UsageError(f"a view's query has at most {MAX_VIEW_QUERY} characters")
    doc = _read(path)
    table = _views(doc, create=True)
    old = table.get(name)
    table[name] = query
    return _write(path, doc), None if old is None else str(old)


def delete_view(path: Path, name: str) -> Config:
    doc = _read(path)
    table = _views(doc, create=False)
    if table is None or name not in table:
        raise NotFound(f"no saved view {name!r}")
    del table[name]
    return _write(path, doc)
