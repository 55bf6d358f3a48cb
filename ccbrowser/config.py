"""Profiles and connection settings: a TOML file plus the OpenAI SDK's environment variables.

The config file (``paths.config_path()``, ``$CCBROWSER_CONFIG`` overrides it) names profiles::

    default_profile = "work"          # optional; otherwise "default"

    [profiles.work]
    base_url = "https://api.openai.com/v1"
    flavor = "openai"                 # openai | azure | router | llama-stack
    api_key_env = "WORK_OPENAI_KEY"   # the NAME of the variable holding the key, never the key
    organization = "org-..."
    project = "proj_..."

    [profiles.azure]
    base_url = "https://myres.openai.azure.com/openai"
    flavor = "azure"
    api_key_env = "AZURE_OPENAI_API_KEY"
    api_version = "2025-02-01-preview"

The profile ``default`` needs no file: it is what the SDK would use (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``; or, as ``openai.AzureOpenAI``
reads them, ``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY`` and ``OPENAI_API_VERSION``). A ``[profiles.default]`` table, when
present, fills in what the environment leaves unset. The key is read from the environment at
the last moment and held in a :class:`Secret` whose ``repr``/``str`` never show it: a key must not
reach a log, an error, a traceback or the database.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ccbrowser.errors import CCBrowserError, UsageError

DEFAULT_PROFILE = "default"
OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_API_VERSION = "2025-02-01-preview"
FLAVORS = ("openai", "azure", "router", "llama-stack")
_PROFILE_KEYS = {"base_url", "flavor", "api_key_env", "organization", "project", "api_version", "insecure"}


class Secret:
    """A value that never prints: ``repr``, ``str`` and f-strings show ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:  # never pickled into a file or a queue by accident
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Settings:
    """Everything the client needs to talk to one account. Safe to print: the key is a Secret."""

    profile: str = DEFAULT_PROFILE
    base_url: str = OPENAI_BASE_URL
    flavor: str = "openai"
    api_key: Secret | None = field(default=None, compare=False)
    api_key_env: str | None = "OPENAI_API_KEY"  # where the key came from, for error messages
    organization: str | None = None
    project: str | None = None
    api_version: str | None = None
    insecure: bool = False

    @property
    def has_key(self) -> bool:
        return self.api_key is not None

    def with_key(self, key: str | None) -> Settings:
        return replace(self, api_key=Secret(key) if key else None)


def infer_flavor(base_url: str) -> str:
    """Azure endpoints are recognisable; everything else speaks the OpenAI dialect."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    if host.endswith((".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")):
        return "azure"
    if path.endswith("/openai"):
        return "azure"
    return "openai"


def is_loopback(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, insecure: bool = False) -> str:
    """A usable base URL, or a UsageError. Plain http to another machine sends the key in clear."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"base URL {base_url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise UsageError("the base URL must not contain credentials; put the key in an environment variable")
    if parts.scheme == "http" and not insecure and not is_loopback(base_url):
        raise UsageError(
            f"refusing to send the API key over plain http to {parts.hostname}: use https, "
            "or pass --insecure if you really mean it"
        )
    return base_url.rstrip("/")


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The parsed config file, or {} when there is none. A broken file is a UsageError, not a crash."""
    from ccbrowser.paths import config_path

    path = path or config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path}: {exc}") from None
    except OSError as exc:
        raise CCBrowserError(f"cannot read config file {path}: {exc.strerror}") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise UsageError(f"config file {path}: [profiles] must be a table")
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise UsageError(f"config file {path}: profiles.{name} must be a table")
        unknown = set(table) - _PROFILE_KEYS
        if "api_key" in unknown:
            raise UsageError(
                f"config file {path}: profiles.{name} holds an api_key; keys are never stored in files: "
                "set api_key_env to the name of an environment variable instead"
            )
        if unknown:
            raise UsageError(
                f"config file {path}: profiles.{name}: unknown setting(s) {', '.join(sorted(unknown))}"
            )
    return data


def profile_names(config: Mapping[str, Any] | None = None) -> list[str]:
    config = load_config() if config is None else config
    names = list(config.get("profiles", {}))
    return names if DEFAULT_PROFILE in names else [DEFAULT_PROFILE, *names]


def default_profile_name(config: Mapping[str, Any] | None = None) -> str:
    config = load_config() if config is None else config
    name = config.get("default_profile", DEFAULT_PROFILE)
    return name if isinstance(name, str) and name else DEFAULT_PROFILE


def resolve(
    profile: str | None = None,
    *,
    base_url: str | None = None,
    flavor: str | None = None,
    insecure: bool | None = None,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Settings:
    """The effective settings of a profile: explicit arguments > profile table > environment > defaults.

    For the ``default`` profile the SDK's variables win over the file (that is what a user who sets
    ``OPENAI_BASE_URL`` expects); a named profile is taken from the file, and only its key comes
    from the environment (the variable named by ``api_key_env``).
    """
    env = os.environ if env is None else env
    config = load_config() if config is None else config
    name = profile or default_profile_name(config)
    table: Mapping[str, Any] = config.get("profiles", {}).get(name, {})
    if name != DEFAULT_PROFILE and not table:
        known = ", ".join(profile_names(config))
        raise UsageError(f"no profile {name!r} in the config file (known: {known})")

    def pick(key: str, env_var: str | None = None) -> Any:
        from_env = env.get(env_var) if env_var else None
        if name == DEFAULT_PROFILE and from_env:
            return from_env
        return table.get(key) or from_env or None

    url = base_url or pick("base_url", "OPENAI_BASE_URL")
    if not url and name == DEFAULT_PROFILE and env.get("AZURE_OPENAI_ENDPOINT"):
        # What `openai.AzureOpenAI()` reads: the resource endpoint, `{endpoint}/openai` is the API.
        url = env["AZURE_OPENAI_ENDPOINT"].rstrip("/") + "/openai"
        flavor = flavor or "azure"
    url = url or OPENAI_BASE_URL
    fl = flavor or table.get("flavor") or infer_flavor(url)
    if fl not in FLAVORS:
        raise UsageError(f"unknown flavor {fl!r} (one of: {', '.join(FLAVORS)})")
    key_env = table.get("api_key_env")
    if not key_env:
        key_env = (
            "AZURE_OPENAI_API_KEY" if fl == "azure" and env.get("AZURE_OPENAI_API_KEY") else "OPENAI_API_KEY"
        )
    if not isinstance(key_env, str):
        raise UsageError(f"profiles.{name}.api_key_env must be the name of an environment variable")
    key = env.get(key_env) or None
    api_version = table.get("api_version") or env.get("OPENAI_API_VERSION") or None
    if fl == "azure" and api_version is None and not urlsplit(url).path.rstrip("/").endswith("/v1"):
        api_version = AZURE_API_VERSION
    ins = bool(table.get("insecure", False)) if insecure is None else insecure
    url = check_base_url(url, insecure=ins)
    return Settings(
        profile=name,
        base_url=url,
        flavor=fl,
        api_key=Secret(key) if key else None,
        api_key_env=key_env,
        organization=pick("organization", "OPENAI_ORG_ID"),
        project=pick("project", "OPENAI_PROJECT_ID"),
        api_version=api_version,
        insecure=ins,
    )


def has_key(profile: str | None = None, *, env: Mapping[str, str] | None = None) -> bool:
    """Whether a background sync can start for this profile (the TUI asks before syncing).

    True when the key's variable is set, or for a Llama Stack profile (which may run without auth)
    with an explicit base URL. Never raises: a broken config means "no".
    """
    try:
        settings = resolve(profile, env=env)
    except CCBrowserError:
        return False
    if settings.has_key:
        return True
    return settings.flavor == "llama-stack" and settings.base_url != OPENAI_BASE_URL
