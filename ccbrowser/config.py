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

``[views]`` names queries (``ccbrowser view save NAME QUERY`` writes it, keeping the file's
comments; ``@NAME`` in a query stands for the view)::

    [views]
    golden = "tag:good -tag:bad model:gpt-4o*"

Other tables: ``[keys]`` remaps the TUI's keys (``"list.down" = "j,down"``) and ``[limits]`` sets
the sync's bounds, its keys the fields of :class:`ccbrowser.api.limits.Limits`::

    [limits]
    max_response_bytes = 67108864
    request_deadline = 300.0

``[threads]`` sets how completions are grouped into conversations (``ccbrowser.threads``)::

    [threads]
    id_keys = ["conversation_id", "session_id", "thread_id"]  # metadata keys naming a conversation
    system = "mask"                   # mask | ignore | exact: how system prompts are compared

A completion whose metadata holds one of ``id_keys`` (the first one present wins) belongs to the
conversation of that value, before any inference; ``id_keys = []`` infers every thread from the
messages. ``system = "mask"`` compares system prompts with their dates, numbers, paths and ids
masked, ``"ignore"`` leaves them out of matching, ``"exact"`` compares them as sent. A change
takes effect at the next sync or import, which threads every stored completion again.

The whole file is validated by one pydantic model (:class:`ConfigFile`): a wrong type (``insecure =
"false"``), an unknown key, a bad URL or port is one :class:`~ccbrowser.errors.ConfigError` naming
the file, the key and what was expected, never the value (it may be a pasted key). It is loaded
once (:func:`load_config`) into a :class:`Config` that the commands and the TUI are given.

The profile ``default`` needs no file: it is what the SDK would use (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``; or, as ``openai.AzureOpenAI``
reads them, ``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY`` and ``OPENAI_API_VERSION``). A ``[profiles.default]`` table, when
present, fills in what the environment leaves unset. The key is read from the environment at
the last moment and held in a :class:`Secret` whose ``repr``/``str`` never show it: a key must not
reach a log, an error, a traceback or the database.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from ccbrowser.api.limits import Limits
from ccbrowser.errors import CCBrowserError, ConfigError, UsageError
from ccbrowser.hosts import is_loopback_url

DEFAULT_PROFILE = "default"
OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_API_VERSION = "2025-02-01-preview"
FLAVORS = ("openai", "azure", "router", "llama-stack")
Flavor = Literal["openai", "azure", "router", "llama-stack"]
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
VIEW_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
MAX_VIEW_QUERY = 4096
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


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
    return is_loopback_url(base_url)


def url_problem(base_url: str) -> str | None:
    """Why a base URL is unusable (never echoing it: a pasted URL can carry a token), or None."""
    try:
        parts = urlsplit(base_url)
        port = parts.port  # raises on a port out of 0..65535 or not a number
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL such as https://api.openai.com/v1"
    if port == 0:
        return "has port 0, which no server listens on"
    if parts.username or parts.password:
        return "must not contain credentials; put the key in an environment variable"
    return None


def check_base_url(base_url: str, *, insecure: bool = False) -> str:
    """A usable base URL, or a UsageError. Plain http to another machine sends the key in clear."""
    problem = url_problem(base_url)
    if problem is not None:
        raise UsageError(f"the base URL {problem}")
    parts = urlsplit(base_url)
    if parts.scheme == "http" and not insecure and not is_loopback(base_url):
        raise UsageError(
            f"refusing to send the API key over plain http to {parts.hostname}: use https, "
            "or pass --insecure if you really mean it"
        )
    return base_url.rstrip("/")


def looks_like_key(value: str) -> bool:
    """A value that may be a secret rather than a name: never repeat it."""
    if value.startswith(("sk-", "sk_", "Bearer ")):
        return True
    return len(value) >= 20 and any(c.isdigit() for c in value) and any(c.islower() for c in value)


# -- the file's schema ---------------------------------------------------------------------------


class Profile(BaseModel):
    """One ``[profiles.NAME]`` table. Unset fields fall back to the environment (see :func:`resolve`)."""

    model_config = _STRICT

    base_url: str | None = None
    flavor: Flavor | None = None
    api_key_env: str | None = None
    organization: str | None = None
    project: str | None = None
    api_version: str | None = None
    insecure: bool = False

    @field_validator("base_url")
    @classmethod
    def _usable_url(cls, value: str | None) -> str | None:
        problem = None if value is None else url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("api_key_env")
    @classmethod
    def _a_name(cls, value: str | None) -> str | None:
        if value is not None and (looks_like_key(value) or not _ENV_NAME.fullmatch(value)):
            raise ValueError("must be the NAME of an environment variable (letters, digits and _), not a key")
        return value


def _limits_table() -> type[BaseModel]:
    """``[limits]``: the fields of :class:`Limits`, each optional, typed as there, and > 0."""
    hints = typing.get_type_hints(Limits)
    fields: dict[str, Any] = {
        f.name: (hints[f.name] | None, Field(default=None, gt=0)) for f in dataclasses.fields(Limits)
    }
    return create_model("LimitsTable", __config__=_STRICT, **fields)


LimitsTable = _limits_table()


class PricesTable(BaseModel):
    """``[prices]``: ``tier_factors`` overrides how a served tier scales the standard price
    (``flex = 0.5``, ``"priority:gpt-4o" = 1.7``; see ``ccbrowser.pricing.tiers``)."""

    model_config = _STRICT

    tier_factors: dict[str, float] = {}

    @field_validator("tier_factors")
    @classmethod
    def _factors(cls, value: dict[str, float]) -> dict[str, float]:
        from ccbrowser.pricing.tiers import parse_factors

        parse_factors(value)  # ValueError names the bad entry
        return {k.strip().lower(): v for k, v in value.items()}


THREAD_SYSTEM_MODES = ("mask", "ignore", "exact")  # `threads.SystemMode`'s values
DEFAULT_THREAD_ID_KEYS = ("conversation_id", "session_id", "thread_id")  # `threads.DEFAULT_ID_KEYS`
MAX_THREAD_ID_KEYS = 16


class ThreadsTable(BaseModel):
    """``[threads]``: the metadata keys that name a conversation, and how system prompts match."""

    model_config = _STRICT

    id_keys: list[str] = list(DEFAULT_THREAD_ID_KEYS)
    system: Literal["mask", "ignore", "exact"] = "mask"

    @field_validator("id_keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_THREAD_ID_KEYS:
            raise ValueError(f"must name at most {MAX_THREAD_ID_KEYS} metadata keys")
        for key in value:
            if not key.strip() or len(key) > 64 or key != key.strip():
                raise ValueError("must name keys of 1 to 64 characters, without surrounding spaces")
        if len(set(value)) != len(value):
            raise ValueError("names a metadata key twice")
        return value


def view_name_problem(name: str) -> str | None:
    """Why `name` cannot name a view (it is typed as `@NAME` in a query), or None."""
    if not VIEW_NAME.fullmatch(name):
        return "a view name is a letter then letters, digits, - or _ (at most 64)"
    return None


class ConfigFile(BaseModel):
    """The whole TOML file. New tables (views, prices, ...) are added here, so a typo is never ignored."""

    model_config = _STRICT

    default_profile: str | None = None
    profiles: dict[str, Profile] = {}
    keys: dict[str, str | list[str]] = {}
    limits: LimitsTable = LimitsTable()  # type: ignore[valid-type]
    prices: PricesTable = PricesTable()
    threads: ThreadsTable = ThreadsTable()
    views: dict[str, str] = {}

    @field_validator("views")
    @classmethod
    def _view_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, query in value.items():
            if problem := view_name_problem(name):
                raise ValueError(f"{name!r}: {problem}")
            if len(query) > MAX_VIEW_QUERY:
                raise ValueError(f"{name!r}: a view's query has at most {MAX_VIEW_QUERY} characters")
        return value


@dataclass(frozen=True)
class Config:
    """The config loaded once: what every command and the TUI are given (no module reads the file again)."""

    path: Path | None = None
    file: ConfigFile = field(default_factory=ConfigFile)

    @property
    def profiles(self) -> dict[str, Profile]:
        return self.file.profiles

    @property
    def default_profile(self) -> str:
        return self.file.default_profile or DEFAULT_PROFILE

    @property
    def profile_names(self) -> list[str]:
        names = list(self.file.profiles)
        return names if DEFAULT_PROFILE in names else [DEFAULT_PROFILE, *names]

    @property
    def keys(self) -> dict[str, str]:
        """The ``[keys]`` table, a list of keys joined as ``"j,down"`` (the TUI checks the ids)."""
        return {k: ",".join(v) if isinstance(v, list) else v for k, v in self.file.keys.items()}

    @property
    def views(self) -> dict[str, str]:
        """The ``[views]`` table: name -> query text."""
        return dict(self.file.views)

    @property
    def limits(self) -> Limits:
        """The sync's bounds: the defaults, with what ``[limits]`` sets."""
        return Limits(**self.file.limits.model_dump(exclude_none=True))  # type: ignore[attr-defined]

    @property
    def tier_factors(self) -> dict[str, float]:
        """``[prices] tier_factors``: the user's overrides of the default tier factors."""
        return dict(self.file.prices.tier_factors)

    @property
    def threads(self) -> ThreadsTable:
        """``[threads]`` (``threads.Options.of`` turns it into what threading takes)."""
        return self.file.threads

    def flavors(self, env: typing.Mapping[str, str] | None = None) -> dict[str, str]:
        """Each profile's flavour (it decides which price list applies); a broken profile is left out."""
        out = {}
        for name in self.profile_names:
            try:
                out[name] = resolve(name, env=env, config=self).flavor
            except CCBrowserError:
                continue
        return out


_EXPECTED = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "a list",
    "finite_number": "a finite number (not inf or nan)",
}
_TOML_TYPE = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    dict: "a table",
    list: "a list",
}


def _key_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The part of a pydantic location that names keys of the file (not union members such as `str`)."""
    out = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            break
        out.append(part)
    return tuple(out)


def _describe(path: Path, error: Any) -> str:
    """One pydantic error as one line: file, key, what was expected. The value itself is never shown."""
    loc = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    got = _TOML_TYPE.get(type(error.get("input")), "something else")
    if kind == "extra_forbidden":
        if error["loc"][-1] == "api_key":
            return (
                f"config file {path}: {loc}: keys are never stored in files; "
                "set api_key_env to the NAME of an environment variable instead"
            )
        return f"config file {path}: unknown setting {loc}"
    if kind in _EXPECTED:
        if kind == "finite_number":
            return f"config file {path}: {loc} must be {_EXPECTED[kind]}"
        return f"config file {path}: {loc} must be {_EXPECTED[kind]}, not {got}"
    if kind == "literal_error":
        return f"config file {path}: {loc} must be one of {error['ctx']['expected']}"
    if kind == "greater_than":
        return f"config file {path}: {loc} must be greater than {error['ctx']['gt']}"
    if kind == "union_type" or kind.endswith("_type"):
        return f"config file {path}: {loc} has the wrong type ({got})"
    if kind == "value_error":
        return f"config file {path}: {loc} {error['ctx']['error']}"
    return f"config file {path}: {loc}: {error['msg']}"


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate a decoded TOML document; the first problem becomes a ConfigError."""
    try:
        return Config(path, ConfigFile.model_validate(data))
    except ValidationError as exc:
        errors = []
        seen: set[tuple[Any, ...]] = set()
        for error in exc.errors(include_url=False, include_input=True):
            loc = _key_path(data, error["loc"])
            if loc not in seen:  # a value matching no member of a union: one error, not one per member
                seen.add(loc)
                errors.append({**error, "loc": loc})
        line = _describe(path, errors[0])
        if len(errors) > 1:
            line += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise ConfigError(line) from None


def load_config(path: Path | None = None) -> Config:
    """The config file, validated; an empty Config when there is none. Problems are ConfigErrors."""
    from ccbrowser.paths import config_path

    path = path or config_path()
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return Config(path)
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except OSError as exc:
        raise CCBrowserError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"config file {path}: line {line} is not valid UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(data, path)


def _as_config(config: Config | typing.Mapping[str, Any] | None) -> Config:
    """The given Config; a plain mapping (a decoded TOML document) is validated first; None loads the file."""
    if config is None:
        return load_config()
    if isinstance(config, Config):
        return config
    return parse_config(dict(config), Path("<config>"))


def profile_names(config: Config | typing.Mapping[str, Any] | None = None) -> list[str]:
    return _as_config(config).profile_names


def default_profile_name(config: Config | typing.Mapping[str, Any] | None = None) -> str:
    return _as_config(config).default_profile


def resolve(
    profile: str | None = None,
    *,
    base_url: str | None = None,
    flavor: str | None = None,
    insecure: bool | None = None,
    env: typing.Mapping[str, str] | None = None,
    config: Config | typing.Mapping[str, Any] | None = None,
) -> Settings:
    """The effective settings of a profile: explicit arguments > profile table > environment > defaults.

    For the ``default`` profile the SDK's variables win over the file (that is what a user who sets
    ``OPENAI_BASE_URL`` expects); a named profile is taken from the file, and only its key comes
    from the environment (the variable named by ``api_key_env``).
    """
    env = os.environ if env is None else env
    config = _as_config(config)
    name = profile or config.default_profile
    table = config.profiles.get(name)
    if table is None:
        if name != DEFAULT_PROFILE:
            known = ", ".join(config.profile_names)
            raise UsageError(f"no profile {name!r} in the config file (known: {known})")
        table = Profile()

    def pick(value: str | None, env_var: str) -> str | None:
        from_env = env.get(env_var)
        if name == DEFAULT_PROFILE and from_env:
            return from_env
        return value or from_env or None

    url = base_url or pick(table.base_url, "OPENAI_BASE_URL")
    if not url and name == DEFAULT_PROFILE and env.get("AZURE_OPENAI_ENDPOINT"):
        # What `openai.AzureOpenAI()` reads: the resource endpoint, `{endpoint}/openai` is the API.
        url = env["AZURE_OPENAI_ENDPOINT"].rstrip("/") + "/openai"
        flavor = flavor or "azure"
    url = url or OPENAI_BASE_URL
    fl = flavor or table.flavor or infer_flavor(url)
    if fl not in FLAVORS:
        raise UsageError(f"unknown flavor {fl!r} (one of: {', '.join(FLAVORS)})")
    key_env = table.api_key_env
    if not key_env:
        key_env = (
            "AZURE_OPENAI_API_KEY" if fl == "azure" and env.get("AZURE_OPENAI_API_KEY") else "OPENAI_API_KEY"
        )
    key = env.get(key_env) or None
    api_version = table.api_version or env.get("OPENAI_API_VERSION") or None
    if fl == "azure" and api_version is None and not urlsplit(url).path.rstrip("/").endswith("/v1"):
        api_version = AZURE_API_VERSION
    ins = table.insecure if insecure is None else insecure
    url = check_base_url(url, insecure=ins)
    return Settings(
        profile=name,
        base_url=url,
        flavor=fl,
        api_key=Secret(key) if key else None,
        api_key_env=key_env,
        organization=pick(table.organization, "OPENAI_ORG_ID"),
        project=pick(table.project, "OPENAI_PROJECT_ID"),
        api_version=api_version,
        insecure=ins,
    )


def has_key(
    profile: str | None = None,
    *,
    env: typing.Mapping[str, str] | None = None,
    config: Config | typing.Mapping[str, Any] | None = None,
) -> bool:
    """Whether a background sync can start for this profile (the TUI asks before syncing).

    True when the key's variable is set, or for a Llama Stack profile (which may run without auth)
    with an explicit base URL. A broken config means "no" here: the caller shows that error itself
    when it loads the config.
    """
    try:
        settings = resolve(profile, env=env, config=config)
    except CCBrowserError:
        return False
    if settings.has_key:
        return True
    return settings.flavor == "llama-stack" and settings.base_url != OPENAI_BASE_URL
