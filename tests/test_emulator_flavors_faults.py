"""Flavours (Azure, router, Llama Stack), injected faults, drift between syncs, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from emulator_fixtures import KEY, NOW, Capture, openai_client

from ccbrowser.emulator.app import AZURE_API_VERSION, EmulatorOptions
from ccbrowser.emulator.faults import FaultOptions
from ccbrowser.emulator.server import run_in_thread

REPO = Path(__file__).resolve().parent.parent


# ---- flavours --------------------------------------------------------------------------------


def test_azure_flavour() -> None:
    capture = Capture()
    with run_in_thread(EmulatorOptions(count=250, seed=2, now=NOW, flavor="azure", api_key=KEY)) as emu:
        assert emu.base_url.endswith("/openai/v1")
        client = openai.AzureOpenAI(
            azure_endpoint=emu.root_url,
            api_key=KEY,
            api_version=AZURE_API_VERSION,
            http_client=capture.client(),
        )
        ids = [c.id for c in client.chat.completions.list(limit=100)]
        assert ids == emu.state.snapshot_ids()
        assert client.chat.completions.retrieve(ids[3]).id == ids[3]
        assert len(list(client.chat.completions.messages.list(ids[3]))) == len(emu.state.corpus.record(3)[1])
        made = client.chat.completions.create(
            model="my-gpt-4o-deployment", store=True, messages=[{"role": "user", "content": "hello"}]
        )
        assert emu.state.get(made.id) is not None

        http = httpx.Client(base_url=emu.root_url, headers={"api-key": KEY})
        page = http.get(
            "/openai/chat/completions", params={"api-version": AZURE_API_VERSION, "limit": 100}
        ).json()
        assert page["total"] == 251
        assert any(item["object"] is None for item in page["data"])
        assert any(c["finish_reason"] is None for item in page["data"] for c in item["choices"])
        missing = http.get("/openai/chat/completions")
        assert missing.status_code == 400 and missing.json()["error"]["param"] == "api-version"
        assert http.get("/openai/v1/chat/completions").status_code == 200  # the v1 route needs no version
        denied = httpx.get(emu.root_url + "/openai/v1/chat/completions", headers={"api-key": "nope"})
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "401"
    # Azure's own quirks (object: null...) are outside the spec; the SDK parsed them all the same.
    assert all(status == 200 for _, _, status, _ in capture.seen)


def test_azure_takes_the_key_in_api_key_only() -> None:
    with run_in_thread(EmulatorOptions(count=5, seed=2, now=NOW, flavor="azure", api_key=KEY)) as emu:
        url = emu.base_url + "/chat/completions"
        assert httpx.get(url, headers={"api-key": KEY}).status_code == 200
        bearer = httpx.get(url, headers={"Authorization": f"Bearer {KEY}"})  # an Entra token slot, not a key
        assert bearer.status_code == 401 and bearer.json()["error"]["code"] == "401"


def test_llama_stack_lists_desc_with_embedded_messages_and_null_metadata_and_usage() -> None:
    with run_in_thread(EmulatorOptions(count=120, seed=3, now=NOW, flavor="llama-stack")) as emu:
        http = httpx.Client(base_url=emu.base_url)
        page = http.get("/chat/completions", params={"limit": 10}).json()
        corpus = emu.state.corpus
        assert [item["id"] for item in page["data"]] == [corpus.id_of(i) for i in range(119, 109, -1)]  # desc
        assert page["data"][0]["input_messages"] == corpus.record(119)[1]
        assert all(item["metadata"] is None and item["usage"] is None for item in page["data"])
        one = http.get(f"/chat/completions/{corpus.id_of(5)}").json()
        assert one["input_messages"] == corpus.record(5)[1] and one["metadata"] is None
        assert len(http.get("/chat/completions", params={"limit": 500}).json()["data"]) == 120  # no cap
        assert http.get("/chat/completions").json()["data"].__len__() == 20
        filtered = http.get("/chat/completions", params={"limit": 500, "metadata[env]": "nope"}).json()
        assert len(filtered["data"]) == 120  # no metadata filter: the parameter is ignored
        capture = Capture()
        client = openai_client(emu.base_url, capture)
        assert len(list(client.chat.completions.list(limit=50))) == 120  # no equal seconds: nothing skipped


def test_llama_stack_has_no_messages_update_or_delete_routes_and_400s_a_missing_id() -> None:
    with run_in_thread(EmulatorOptions(count=10, seed=3, now=NOW, flavor="llama-stack")) as emu:
        http = httpx.Client(base_url=emu.base_url)
        cid = emu.state.corpus.id_of(2)
        messages = http.get(f"/chat/completions/{cid}/messages")
        assert (messages.status_code, messages.json()) == (404, {"detail": "Not Found"})
        for method in ("POST", "DELETE"):
            r = http.request(method, f"/chat/completions/{cid}", json={"metadata": {}})
            assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})
        assert emu.state.exists(cid)
        missing = http.get("/chat/completions/chatcmpl-nope")
        assert missing.status_code == 400
        assert missing.json() == {"error": {"message": "Chat completion with id 'chatcmpl-nope' not found"}}
        bad_after = http.get("/chat/completions", params={"after": "chatcmpl-nope"})
        assert bad_after.status_code == 400 and "not found" in bad_after.json()["error"]["message"]
        client = openai_client(emu.base_url, Capture())
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.messages.list(cid)


def test_llama_stack_cursor_skips_completions_sharing_the_last_second() -> None:
    with run_in_thread(EmulatorOptions(count=300, seed=5, now=NOW, flavor="llama-stack", burst=4)) as emu:
        state = emu.state
        seconds = [state.created(i) for i in range(300)]
        assert seconds == sorted(seconds) and len(set(seconds)) < 300 * 0.4  # many completions a second
        http = httpx.Client(base_url=emu.base_url)
        seen: list[dict] = []
        after = None
        while True:
            params: dict = {"limit": 7, **({"after": after} if after else {})}
            page = http.get("/chat/completions", params=params).json()
            if after is not None:
                cut = next(c for c in seen if c["id"] == after)["created"]
                assert all(item["created"] < cut for item in page["data"])  # created < created(after)
            seen += page["data"]
            if not page["has_more"]:
                break
            after = page["last_id"]
        assert len({c["id"] for c in seen}) == len(seen) < 300  # a normal client loses completions
        assert len(http.get("/chat/completions", params={"limit": 1000}).json()["data"]) == 300
        asc = http.get("/chat/completions", params={"order": "asc", "limit": 5}).json()
        last = asc["data"][-1]
        nxt = http.get("/chat/completions", params={"order": "asc", "limit": 5, "after": last["id"]}).json()
        assert all(item["created"] > last["created"] for item in nxt["data"])
        sdk = openai_client(emu.base_url, Capture())
        assert len(list(sdk.chat.completions.list(limit=7))) < 300  # the official SDK loses them too


def test_router_types_fields_loosely_and_lacks_update_and_delete() -> None:
    with run_in_thread(EmulatorOptions(count=30, seed=6, now=NOW, flavor="router", api_key=KEY)) as emu:
        http = httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {KEY}"})
        page = http.get("/chat/completions", params={"limit": 30}).json()
        choices = [c for item in page["data"] for c in item["choices"]]
        assert any(c["logprobs"] == "unknown" for c in choices)
        assert all("annotations" in c["message"] and c["message"]["annotations"] != [] for c in choices)
        cid = page["data"][0]["id"]
        assert http.get(f"/chat/completions/{cid}").json() == page["data"][0]
        assert http.get(f"/chat/completions/{cid}/messages").status_code == 200
        assert http.post(f"/chat/completions/{cid}", json={"metadata": {}}).status_code == 404
        assert http.delete(f"/chat/completions/{cid}").status_code == 404
        assert emu.state.exists(cid)
        sdk = openai_client(emu.base_url, Capture())
        assert len(list(sdk.chat.completions.list(limit=10))) == 30  # the SDK still reads it


# ---- faults ----------------------------------------------------------------------------------


def test_sdk_with_retries_reads_everything_through_30_percent_errors() -> None:
    faults = FaultOptions(error_rate=0.3, error_retry_after_ms=1, seed=11)
    with run_in_thread(EmulatorOptions(count=1000, seed=1, now=NOW, faults=faults)) as emu:
        capture = Capture()
        client = openai_client(emu.base_url, capture, max_retries=25)
        ids = [c.id for c in client.chat.completions.list(limit=100)]
        assert ids == emu.state.snapshot_ids()
        i = next(k for k in range(1000) if len(emu.state.corpus.record(k)[1]) > 40)
        msgs = list(client.chat.completions.messages.list(emu.state.corpus.id_of(i)))
        assert len(msgs) == len(emu.state.corpus.record(i)[1])
        errors = sum(v for k, v in emu.state.counters.items() if k.startswith("fault:error_"))
        assert errors > 0
        assert {s for _, _, s, _ in capture.seen} <= {200, 500, 502, 503}


def test_rate_limits_send_retry_after_headers() -> None:
    with run_in_thread(
        EmulatorOptions(count=10, now=NOW, faults=FaultOptions(rate_limit_rate=1.0, retry_after_ms=1500))
    ) as emu:
        r = httpx.get(emu.base_url + "/chat/completions")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2" and r.headers["retry-after-ms"] == "1500"
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
        with pytest.raises(openai.RateLimitError):
            openai.OpenAI(base_url=emu.base_url, api_key="x", max_retries=0).chat.completions.list()
    # A burst of one second's worth passes, then the bucket refuses: a low rate, so that even a slow,
    # loaded machine sends faster than the bucket refills.
    with run_in_thread(EmulatorOptions(count=10, now=NOW, faults=FaultOptions(rate_limit_rps=3))) as emu:
        with httpx.Client(base_url=emu.base_url) as http:
            statuses = [http.get("/chat/completions").status_code for _ in range(30)]
        assert statuses[:3] == [200] * 3 and 429 in statuses


def _get_with_retries(http: httpx.Client, path: str, params: dict, seen: dict[str, int]) -> dict:
    """A minimal careful client: retry on connection errors and on bodies that are not valid JSON."""
    for _ in range(50):
        try:
            r = http.get(path, params=params)
            return r.json()
        except httpx.RemoteProtocolError:
            seen["reset"] += 1
        except json.JSONDecodeError:
            seen["truncated"] += 1
    raise AssertionError("too many faults in a row")


def test_resets_and_truncated_bodies_never_corrupt_the_answer() -> None:
    faults = FaultOptions(reset_rate=0.25, truncate_rate=0.25, seed=5)
    with run_in_thread(EmulatorOptions(count=400, seed=1, now=NOW, faults=faults)) as emu:
        seen = {"reset": 0, "truncated": 0}
        got: list[str] = []
        after = None
        with httpx.Client(base_url=emu.base_url) as http:
            while True:
                params = {"limit": 20, **({"after": after} if after else {})}
                page = _get_with_retries(http, "/chat/completions", params, seen)
                got += [c["id"] for c in page["data"]]
                if not page["has_more"]:
                    break
                after = page["last_id"]
            one = _get_with_retries(http, f"/chat/completions/{got[7]}", {}, seen)
        assert got == emu.state.snapshot_ids()
        assert one == emu.state.corpus.completion(7)
        assert seen["reset"] > 0 and seen["truncated"] > 0


def test_writes_are_never_half_applied_under_faults() -> None:
    faults = FaultOptions(error_rate=0.5, reset_rate=0.5, truncate_rate=0.5, error_retry_after_ms=1, seed=3)
    with run_in_thread(EmulatorOptions(count=50, seed=1, now=NOW, faults=faults)) as emu:
        client = openai.OpenAI(base_url=emu.base_url, api_key="x", max_retries=30)
        target = emu.state.corpus.id_of(10)
        client.chat.completions.delete(target)
        assert emu.state.total() == 49 and not emu.state.exists(target)
        updated = client.chat.completions.update(emu.state.corpus.id_of(11), metadata={"k": "v"})
        assert updated.metadata == {"k": "v"}


def test_latency_is_added() -> None:
    with run_in_thread(EmulatorOptions(count=10, now=NOW, faults=FaultOptions(latency_ms=80))) as emu:
        with httpx.Client(base_url=emu.base_url) as http:
            http.get("/chat/completions")
            start = time.perf_counter()
            http.get("/chat/completions")
            assert time.perf_counter() - start >= 0.075


# ---- drift between syncs -----------------------------------------------------------------------


def test_drift_late_arrivals_deletions_and_updates() -> None:
    with run_in_thread(EmulatorOptions(count=200, seed=4, now=NOW)) as emu:
        state = emu.state
        client = openai.OpenAI(base_url=emu.base_url, api_key="x")
        before = [c.id for c in client.chat.completions.list(limit=100)]
        newest = state.newest_created()
        changes = state.drift(new=2, late=1, deleted=3, updated=2, late_age_s=900)
        after = [c.id for c in client.chat.completions.list(limit=100)]
        assert len(after) == 200 + 2 + 1 - 3
        assert not set(changes["deleted"]) & set(after)
        late = changes["late"][0]
        late_created = client.chat.completions.retrieve(late).created
        assert newest - 900 <= late_created < newest  # older than the newest, yet new
        assert after.index(late) < len(after) - 2  # listed among older ones, not at the end
        assert after[-2:] == changes["new"]
        for cid in changes["updated"]:
            assert client.chat.completions.retrieve(cid).metadata["reviewed"] in ("yes", "no")  # type: ignore[index]
        assert [c for c in before if c not in changes["deleted"]] == [c for c in after if c in before]

        # What an incremental sync with nothing new costs: one request.
        state.reset_counters()
        page = client.chat.completions.list(order="desc", limit=100)
        assert page.data[0].id == changes["new"][-1] and state.requests() == 1


# ---- CLI ---------------------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ccbrowser", "emulator", *args],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def test_cli_serves_until_ctrl_c() -> None:
    proc = _cli(
        "--port",
        "0",
        "--count",
        "30",
        "--seed",
        "2",
        "--now",
        "2026-01-01",
        "--api-key-env",
        "EMU_TEST_KEY",
        env={"EMU_TEST_KEY": KEY},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base = line.split(" at ")[1].split()[0]
        assert "OPENAI_BASE_URL=" + base in line and KEY not in line
        client = openai.OpenAI(base_url=base, api_key=KEY)
        assert len(list(client.chat.completions.list(limit=100))) == 30
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base, api_key="wrong").chat.completions.list()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err and KEY not in err


@pytest.mark.parametrize(
    "args,env,message",
    [
        (["--host", "0.0.0.0"], {}, "non-loopback"),
        (["--api-key-env", "EMU_UNSET_VAR"], {}, "EMU_UNSET_VAR"),
        (["--error-rate", "1.5"], {}, "between 0 and 1"),
        (["--burst", "0.5"], {}, "--burst"),
        (["--flavor", "vllm"], {}, "invalid choice"),
    ],
)
def test_cli_usage_errors(args: list[str], env: dict[str, str], message: str) -> None:
    proc = _cli(*args, env=env)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and message in err and "Traceback" not in err


def test_cli_dump_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    proc = _cli("--count", "20", "--now", str(NOW), "--dump-jsonl", str(path))
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert len(path.read_text(encoding="utf-8").splitlines()) == 20
