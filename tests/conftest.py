"""Shared fixtures: every test runs with its own data, config and database paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Never read or write the user's real config, data dir, key or clipboard."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("HOME", str(home))
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "CCBROWSER_DB",
        "CCBROWSER_CONFIG",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "OPENAI_API_VERSION",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    yield home


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ccbrowser.db"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the TUI tests keep the sample database they copy (built once per worker)."""
    return tmp_path_factory.mktemp("tui-sample-cache")


@pytest.fixture
def sample(db_path: Path, cache_dir: Path) -> Path:
    """A copy of the TUI tests' sample database (`test_tui_support.sample_db`)."""
    from test_tui_support import sample_db

    return sample_db(db_path, cache_dir)
