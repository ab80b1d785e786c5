"""Loopback fakes of vendor APIs for tests and UAT: real sockets, real timeouts.

``FakeZuora`` (:mod:`billbridge.testing.fake_zuora`) and ``FakeSalesforce``
(:mod:`billbridge.testing.fake_salesforce`) are stateful HTTP servers on 127.0.0.1 built on
:class:`LoopbackServer`. Each counts calls per endpoint, exposes its state for assertions
and takes a scripted fault schedule (``fail_next``).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from connectors.common import wire


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Sleep this long before answering (used for "timeout after commit").
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        self.headers.setdefault("Content-Type", "application/json")
        # Vendors send amounts as JSON numbers: written exactly from Decimal, never via float
        return wire.dumps(self.body).encode()


@dataclass
class Fault:
    kind: str
    remaining: int
    method: str | None = None
    path_prefix: str | None = None

    def matches(self, request: Request) -> bool:
        return (self.method is None or self.method == request.method) and (
            self.path_prefix is None or request.path.startswith(self.path_prefix)
        )


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 whose routing is :meth:`handle`."""

    scheme = "http"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.lock = threading.RLock()
        self.calls: Counter[str] = Counter()
        self.requests: list[Request] = []
        self._faults: list[Fault] = []
        self._random: random.Random | None = None
        self._random_rate = 0.0
        self._random_kinds: tuple[str, ...] = ()
        self._random_path: str | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small replies: avoid 40 ms delayed-ACK stalls

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                )
                reply = owner.dispatch(req)
                payload = reply.encoded()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timed out) before we answered

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean

        self._server = self.make_server(Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def make_server(self, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        return ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    # -- faults and dispatch ----------------------------------------------------------

    def fail_next(
        self, kind: str, n: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Answer the next ``n`` matching requests with fault ``kind`` (vendor-specific)."""
        with self.lock:
            self._faults.append(Fault(kind, n, method, path))

    def random_faults(
        self, seed: int, rate: float, kinds: tuple[str, ...], *, path: str | None = None
    ) -> None:
        """Besides the scripted faults, fail a seeded random ``rate`` of matching requests
        with one of ``kinds`` (deterministic for a deterministic request sequence)."""
        with self.lock:
            self._random = random.Random(seed)  # noqa: S311 - fault injection, not crypto
            self._random_rate, self._random_kinds, self._random_path = rate, kinds, path

    def take_fault(self, request: Request) -> str | None:
        with self.lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(request):
                    fault.remaining -= 1
                    return fault.kind
            in_scope = self._random_path is None or request.path.startswith(self._random_path)
            draw = self._random is not None and in_scope
            if draw and self._random and self._random.random() < self._random_rate:
                return self._random.choice(self._random_kinds)
        return None

    @property
    def pending_faults(self) -> int:
        return sum(f.remaining for f in self._faults)

    def dispatch(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
        return self.handle(request)

    def handle(self, request: Request) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError
