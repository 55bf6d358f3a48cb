"""Serving the emulator with uvicorn: in a background thread (tests, demo, benchmarks) or in the foreground.

``run_in_thread`` binds the socket itself before starting uvicorn, so the port (0 = any free port)
is known and taken by the time the context manager yields, and startup failures surface as
exceptions in the caller instead of a dead thread.

Example::

    with run_in_thread(EmulatorOptions(count=5000, seed=1)) as emu:
        client = openai.OpenAI(base_url=emu.base_url, api_key="any")
        ids = [c.id for c in client.chat.completions.list(limit=100)]
        emu.state.add_late_arrival()          # change the upstream between two syncs
        assert emu.state.requests("list") == 50
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from ccbrowser.emulator.app import EmulatorOptions, EmulatorState, base_path, create_app, make_state
from ccbrowser.emulator.faults import RESET_LOG_MESSAGE
from ccbrowser.hosts import is_loopback_host


class _DropResetNoise(logging.Filter):
    """Hide uvicorn's complaint about the responses we cut on purpose (the 'reset' fault)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return RESET_LOG_MESSAGE not in str(record.msg)


_filter_installed = False


def _install_log_filter() -> None:
    global _filter_installed
    if not _filter_installed:
        logging.getLogger("uvicorn.error").addFilter(_DropResetNoise())
        _filter_installed = True


def is_loopback(host: str) -> bool:
    return is_loopback_host(host)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); OSError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: Any, **kwargs: Any) -> Any:
    """uvicorn settings for speed and quiet: uvloop + httptools when installed, no access log."""
    import uvicorn

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    return uvicorn.Config(
        app,
        loop=loop,
        http=http,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        backlog=2048,
        **kwargs,
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class RunningEmulator:
    """A live emulator: ``base_url`` for clients, ``state`` to inspect or change the upstream."""

    def __init__(
        self,
        server: Any,
        thread: threading.Thread | None,
        sock: socket.socket,
        state: EmulatorState,
        options: EmulatorOptions,
    ):
        self._server = server
        self._thread = thread
        self._sock = sock
        self.state = state
        self.options = options
        self.host, self.port = sock.getsockname()[:2]

    @property
    def root_url(self) -> str:
        """Scheme, host and port, no path: what ``AzureOpenAI(azure_endpoint=...)`` wants."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``OPENAI_BASE_URL`` should be: ``.../v1`` (or ``.../openai/v1`` for Azure)."""
        return self.root_url + base_path(self.options.flavor)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the thread; idempotent."""
        self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._sock.close()


@contextlib.contextmanager
def run_in_thread(
    options: EmulatorOptions | None = None, state: EmulatorState | None = None, startup_timeout: float = 10.0
) -> Iterator[RunningEmulator]:
    """Serve an emulator from a daemon thread for the duration of the ``with`` block.

    ``state`` lets several servers (or a restarted one) share one upstream; by default a fresh
    state is made from ``options``. Binds ``options.host:options.port`` (port 0: a free port).
    """
    import uvicorn

    options = options or EmulatorOptions()
    options.validate()
    state = state or make_state(options)
    _install_log_filter()
    sock = bind_socket(options.host, options.port)
    server = uvicorn.Server(uvicorn_config(create_app(state, options)))
    errors: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"ccbrowser-emulator-{sock.getsockname()[1]}", daemon=True)
    running = RunningEmulator(server, thread, sock, state, options)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if errors or not thread.is_alive():
            running.stop()
            raise RuntimeError(f"emulator failed to start: {errors[0] if errors else 'server exited'}")
        if time.monotonic() > deadline:
            running.stop()
            raise RuntimeError("emulator did not start in time")
        time.sleep(0.005)
    try:
        yield running
    finally:
        running.stop()


def serve_forever(options: EmulatorOptions, sock: socket.socket, state: EmulatorState | None = None) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn handles the signals)."""
    import uvicorn

    options.validate()
    state = state or make_state(options)
    _install_log_filter()
    server = uvicorn.Server(uvicorn_config(create_app(state, options)))
    server.run(sockets=[sock])
