"""Refreshing price data from a real HTTP server on loopback; a failed refresh changes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage
from genai_prices.data_snapshot import DataSnapshot
from genai_prices.types import _providers_from_raw

from ccbrowser.pricing import estimate
from ccbrowser.pricing.update import PriceUpdateError, load_price_book, update_price_file

# genai-prices' published format, cut down to one provider whose gpt-4o changed price in 2025
PAYLOAD: list[dict[str, Any]] = [
    {
        "id": "openai",
        "name": "OpenAI",
        "api_pattern": "https://api\\.openai\\.com",
        "model_match": {"starts_with": "gpt-"},
        "extractors": [
            {
                "root": "usage",
                "api_flavor": "chat",
                "model_path": "model",
                "mappings": [
                    {"path": "prompt_tokens", "dest": "input_tokens", "required": True},
                    {
                        "path": ["prompt_tokens_details", "cached_tokens"],
                        "dest": "cache_read_tokens",
                        "required": False,
                    },
                    {"path": "completion_tokens", "dest": "output_tokens", "required": True},
                ],
            }
        ],
        "models": [
            {
                "id": "gpt-4o",
                "match": {"or": [{"equals": "gpt-4o"}, {"starts_with": "gpt-4o-20"}]},
                "prices": [
                    {"prices": {"input_mtok": 100, "output_mtok": 200, "cache_read_mtok": 50}},
                    {
                        "constraint": {"start_date": "2025-01-01"},
                        "prices": {"input_mtok": 10, "output_mtok": 20},
                    },
                ],
            }
        ],
    }
]


class _Server:
    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def _completion(created: datetime) -> dict[str, Any]:
    return {
        "model": "gpt-4o-2024-08-06",
        "created": int(created.timestamp()),
        "usage": {
            "prompt_tokens": 3_000,
            "completion_tokens": 400,
            "prompt_tokens_details": {"cached_tokens": 1_024},
        },
    }


def test_an_update_is_saved_and_prices_what_the_new_data_says(server: _Server, tmp_path: Path) -> None:
    server.body = json.dumps(PAYLOAD).encode()
    path = tmp_path / "data" / "prices.json"
    book = update_price_file(path, server.url)
    assert path.read_bytes() == server.body
    reference = DataSnapshot(_providers_from_raw(PAYLOAD), from_auto_update=True)
    loaded = load_price_book(path)
    assert loaded.source == book.source and "updated" in loaded.source
    for when in (datetime(2024, 6, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)):
        usage = Usage(input_tokens=3_000, cache_read_tokens=1_024, output_tokens=400)
        expected = reference.calc(usage, "gpt-4o-2024-08-06", "openai", None, when).total_price
        for b in (book, loaded):
            assert estimate(_completion(when), book=b).usd == expected
    # the model this small file does not list is unknown with it, known with the bundled data
    o3 = {"model": "o3", "created": 1_750_000_000, "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    assert estimate(o3, book=loaded).status == "unknown"
    assert estimate(o3).status == "estimate"


def test_without_a_saved_file_the_bundled_data_is_used(tmp_path: Path) -> None:
    book = load_price_book(tmp_path / "missing.json")
    assert "bundled" in book.source
    assert "bundled" in load_price_book(None).source


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"<html>rate limited</html>", 200, "not JSON"),
        (b'{"providers": []}', 200, "not a list"),
        (b'[{"id": 3}]', 200, "does not validate"),
        (json.dumps([{**PAYLOAD[0], "id": "acme"}]).encode(), 200, "no OpenAI chat prices"),
        (b"[]" + b" " * 3_000, 200, "larger than"),
        (json.dumps(PAYLOAD).encode(), 503, "HTTP 503"),
        (b"[" * 100_000 + b"]" * 100_000, 200, "not JSON"),
    ],
)
def test_a_failed_update_leaves_the_saved_data_alone(
    server: _Server, tmp_path: Path, body: bytes, status: int, message: str
) -> None:
    path = tmp_path / "prices.json"
    server.body = json.dumps(PAYLOAD).encode()
    update_price_file(path, server.url)
    before = path.read_bytes()
    server.body, server.status = body, status
    with pytest.raises(PriceUpdateError, match=message):
        update_price_file(path, server.url, max_bytes=2_000 if message == "larger than" else 20_000_000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["prices.json"]  # no temporary file left


def test_prices_are_never_fetched_over_plain_http_to_another_host(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(PriceUpdateError, match="https"):
        update_price_file(tmp_path / "p.json", "http://prices.example/data.json")
    with pytest.raises(PriceUpdateError, match="https"):
        update_price_file(tmp_path / "p.json", "file:///etc/passwd")
    assert not (tmp_path / "p.json").exists()


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PriceUpdateError, match="download failed: ConnectError") as exc:
        update_price_file(tmp_path / "p.json", "http://127.0.0.1:9/data.json", timeout=2)
    assert str(exc.value).endswith("(127.0.0.1)") and ": ConnectError: " in str(exc.value)  # why, and where


def test_a_damaged_saved_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_bytes(b'[{"id": "openai"')
    with pytest.raises(PriceUpdateError, match="not JSON"):
        load_price_book(path)
