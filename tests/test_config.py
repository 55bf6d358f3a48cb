"""Profiles, environment variables and the key check the TUI uses before a background sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ccbrowser.config import AZURE_API_VERSION, OPENAI_BASE_URL, has_key, infer_flavor, load_config, resolve
from ccbrowser.errors import ConfigError, UsageError


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CCBROWSER_CONFIG", str(path))
    return path


def test_default_profile_follows_the_sdk_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    s = resolve()
    assert (s.profile, s.base_url, s.flavor, s.has_key) == ("default", OPENAI_BASE_URL, "openai", False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-123456")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.example.com/v1/")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-a")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_b")
    s = resolve()
    assert (
        s.base_url == "https://proxy.example.com/v1" and s.organization == "org-a" and s.project == "proj_b"
    )
    assert s.api_key is not None and s.api_key.reveal() == "sk-env-key-123456"
    assert "sk-env-key-123456" not in repr(s)
    assert resolve(base_url="http://127.0.0.1:9/v1", flavor="llama-stack").flavor == "llama-stack"


def test_named_profiles_from_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(
        tmp_path,
        monkeypatch,
        """
default_profile = "az"

[profiles.az]
base_url = "https://res.openai.azure.com/openai"
api_key_env = "AZ_KEY"

[profiles.router]
base_url = "https://router.example.com/api/v1"
flavor = "router"
api_key_env = "ROUTER_KEY"
project = "p1"
""",
    )
    monkeypatch.setenv("AZ_KEY", "az-secret-value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")
    az = resolve()
    assert az.profile == "az" and az.flavor == "azure" and az.api_version == AZURE_API_VERSION
    assert az.api_key is not None and az.api_key.reveal() == "az-secret-value"
    router = resolve("router")
    assert router.flavor == "router" and router.project == "p1" and not router.has_key
    assert router.api_key_env == "ROUTER_KEY"
    assert has_key("az") and not has_key("router")
    assert resolve("default").base_url == OPENAI_BASE_URL
    with pytest.raises(UsageError, match="no profile 'nope'"):
        resolve("nope")


def test_config_errors_are_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, monkeypatch, '[profiles.x]\napi_key = "sk-in-a-file"\n')
    with pytest.raises(UsageError, match="api_key_env") as info:
        load_config()
    assert "sk-in-a-file" not in str(info.value)
    write_config(tmp_path, monkeypatch, "[profiles.x\n")
    with pytest.raises(UsageError):
        resolve()
    assert has_key() is False  # never raises: a broken config means "do not sync"
    write_config(tmp_path, monkeypatch, '[profiles.x]\nbase_url = "http://10.1.2.3/v1"\n')
    with pytest.raises(UsageError, match="insecure"):
        resolve("x")
    assert resolve("x", insecure=True).insecure


def test_has_key_for_llama_stack_without_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(
        tmp_path,
        monkeypatch,
        '[profiles.local]\nbase_url = "http://localhost:8321/v1"\nflavor = "llama-stack"\n',
    )
    assert has_key("local")
    assert not has_key()


def test_flavour_guess() -> None:
    assert infer_flavor("https://x.openai.azure.com/openai/v1") == "azure"
    assert infer_flavor("https://gateway.corp/openai") == "azure"
    assert infer_flavor("https://api.openai.com/v1") == "openai"


def test_azure_sdk_variables_sync_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY` (what `openai.AzureOpenAI()` reads) just work."""
    from ccbrowser.cli import main
    from ccbrowser.emulator.app import EmulatorOptions
    from ccbrowser.emulator.server import run_in_thread
    from ccbrowser.store import open_db, reader

    key = "azure-key-0123456789"
    with run_in_thread(EmulatorOptions(count=120, seed=4, flavor="azure", api_key=key)) as emu:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.root_url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_API_VERSION", AZURE_API_VERSION)
        s = resolve()
        assert s.flavor == "azure" and s.base_url == emu.root_url.rstrip("/") + "/openai"
        db = tmp_path / "az.db"
        assert main(["--db", str(db), "sync"]) == 0
        assert reader.count(open_db(db)) == 120


KEY = "sk-proj-Zq81vLx0aPq2Ww9eRt5yUi3oPa7sDf6g"


@pytest.mark.parametrize(
    "text,words",
    [
        ('[profiles.x]\ninsecure = "false"\n', "profiles.x.insecure must be true or false, not a string"),
        ("colour = 1\n", "unknown setting colour"),
        ('[profiles.x]\nbase_urls = "https://a.example/v1"\n', "unknown setting profiles.x.base_urls"),
        ('[profiles.x]\nbase_url = "http://[::1"\n', "profiles.x.base_url is not a valid URL"),
        (
            '[profiles.x]\nbase_url = "https://h.example:99999/v1"\n',
            "profiles.x.base_url is not a valid URL (Port",
        ),
        ('[profiles.x]\nbase_url = "ftp://h.example/v1"\n', "profiles.x.base_url must be an http(s) URL"),
        ('[profiles.x]\nflavor = "bedrock"\n', "profiles.x.flavor must be one of 'openai', 'azure'"),
        ("profiles = 3\n", "profiles must be a table, not an integer"),
        ('default_profile = ["a"]\n', "default_profile must be a string, not a list"),
        ("[limits]\nmax_pages = 0\n", "limits.max_pages must be greater than 0"),
        ('[limits]\nrequest_deadline = "60"\n', "limits.request_deadline must be a number, not a string"),
        ("[limits]\nmax_json_depth = 1.5\n", "limits.max_json_depth must be an integer, not a number"),
        ("[limits]\nmax_total_wait = inf\n", "limits.max_total_wait must be a finite number"),
        ("[limits]\nmax_bytes = 10\n", "unknown setting limits.max_bytes"),
        ('[keys]\n"list.down" = 3\n', "keys.list.down must be a string, not an integer"),
        ("[profiles.x\n", "is not valid TOML"),
        (f'[profiles.x]\napi_key_env = "{KEY}"\n', "api_key_env must be the NAME of an environment variable"),
        (f'[profiles.x]\napi_key = "{KEY}"\n', "keys are never stored in files"),
        (f'[profiles.x]\nbase_url = "https://u:{KEY}@h.example/v1"\n', "must not contain credentials"),
    ],
)
def test_config_mistakes_are_one_line_naming_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    from ccbrowser.cli import main

    path = write_config(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=re.escape(words)):
        load_config()
    # Through the CLI: exit 2, one line naming the file, and never the pasted key.
    assert main(["--db", str(tmp_path / "x.db"), "sync", "--profile", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"config file {path}" in err and words in err, err
    assert KEY not in err and "zq81vlx0" not in err.lower()


def test_invalid_utf8_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'default_profile = "a"\n[profiles.a]\nproject = "\xff\xfe"\n')
    monkeypatch.setenv("CCBROWSER_CONFIG", str(path))
    with pytest.raises(ConfigError, match=f"config file {re.escape(str(path))}: line 3 is not valid UTF-8"):
        load_config()


def test_insecure_must_be_a_real_boolean_before_a_key_goes_over_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, monkeypatch, '[profiles.x]\nbase_url = "http://10.1.2.3/v1"\ninsecure = false\n')
    with pytest.raises(UsageError, match="refusing to send the API key over plain http"):
        resolve("x")
    write_config(tmp_path, monkeypatch, '[profiles.x]\nbase_url = "http://10.1.2.3/v1"\ninsecure = true\n')
    assert resolve("x").insecure


def test_limits_table_becomes_the_sync_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ccbrowser.api.limits import Limits

    assert load_config().limits == Limits()  # no file: the defaults
    write_config(tmp_path, monkeypatch, "[limits]\nmax_response_bytes = 1048576\nrequest_deadline = 5\n")
    limits = load_config().limits
    assert isinstance(limits, Limits)
    assert limits.max_response_bytes == 1048576 and limits.request_deadline == 5.0
    assert limits.max_pages == Limits().max_pages


def test_config_is_one_object_passed_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(
        tmp_path,
        monkeypatch,
        'default_profile = "w"\n[profiles.w]\nbase_url = "https://w.example/v1"\napi_key_env = "W_KEY"\n'
        '[keys]\n"list.down" = ["j", "down"]\n',
    )
    config = load_config()
    assert config.path == path and config.default_profile == "w"
    assert config.profile_names == ["default", "w"] and config.keys == {"list.down": "j,down"}
    path.write_text("broken = [\n")  # what was loaded is what is used: the file is not read again
    monkeypatch.setenv("W_KEY", "w-secret")
    s = resolve(config=config)
    assert s.base_url == "https://w.example/v1" and s.api_key is not None and s.api_key.reveal() == "w-secret"
    assert has_key(config=config)
