"""Profiles, environment variables and the key check the TUI uses before a background sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccbrowser.config import AZURE_API_VERSION, OPENAI_BASE_URL, has_key, infer_flavor, load_config, resolve
from ccbrowser.errors import UsageError


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
