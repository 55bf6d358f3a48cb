"""Where ccbrowser keeps its files: platformdirs defaults, overridable by flag and environment."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "ccbrowser"


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    env = os.environ.get("CCBROWSER_DB")
    if env:
        return Path(env).expanduser()
    return data_dir() / "ccbrowser.db"


def resolve_db_path(value: str | None) -> Path:
    """The database chosen by --db (VALUE), else $CCBROWSER_DB, else the platform default."""
    return Path(value).expanduser() if value else default_db_path()


def prices_path() -> Path:
    """The price data saved by `ccbrowser prices --update` (absent: the data genai-prices ships)."""
    return data_dir() / "prices.json"


def config_path() -> Path:
    env = os.environ.get("CCBROWSER_CONFIG")
    if env:
        return Path(env).expanduser()
    return config_dir() / "config.toml"
