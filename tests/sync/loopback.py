"""The fault-injecting fake target served over HTTP on 127.0.0.1, and a client connector.

The target's state lives in the serving process, so a runner process that is SIGKILLed
mid-call leaves the target exactly as a real vendor would: the write may or may not have
happened. Delays longer than the client's timeout model "timeout after commit".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from canonical import Customer, Record, Subscription, WriteIntent, WriteResult
from connectors.base import CheckReport, Connector, Cursor, FieldInfo, ReadStream
from tests.sync.fakes import FakeTarget


class TargetServer:
    def __init__(self, target: FakeTarget) -> None:
        self.target = target
        fake = target

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/write":
                    intents = [WriteIntent.model_validate(i) for i in body]
                    try:
                        out: Any = [r.model_dump(mode="json") for r in fake.write(intents)]
                        status = 200
                    except Exception as exc:  # noqa: BLE001 - faults become HTTP errors
                        out, status = {"error": type(exc).__name__, "message": str(exc)}, 503
                elif self.path == "/lookup":
                    found = fake.lookup(body["entity"], body["ids"])
                    out = {
                        k: {"type": type(v).__name__, "data": v.model_dump(mode="json")}
                        for k, v in found.items()
                    }
                    status = 200
                else:  # /find_applied
                    out = fake.find_applied([WriteIntent.model_validate(i) for i in body])
                    status = 200
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a killed client leaves broken pipes; that is the test, not an error

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TargetServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class HttpTarget(Connector):
    system = "zuora"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url, self.timeout = url, timeout
        self.session = requests.Session()

    def _post(self, path: str, body: Any) -> Any:
        resp = self.session.post(self.url + path, json=body, timeout=self.timeout)
        if resp.status_code >= 500:
            from billbridge.errors import RetryableError

            raise RetryableError(f"HTTP {resp.status_code}")
        return resp.json()

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        out = self._post("/write", [i.model_dump(mode="json") for i in intents])
        return [WriteResult.model_validate(r) for r in out]

    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        out = self._post("/lookup", {"entity": entity, "ids": list(external_ids)})
        models: dict[str, type[Record]] = {"Customer": Customer, "Subscription": Subscription}
        return {k: models[v["type"]].model_validate(v["data"]) for k, v in out.items()}

    def find_applied(self, intents: Sequence[WriteIntent]) -> dict[str, str]:
        return dict(self._post("/find_applied", [i.model_dump(mode="json") for i in intents]))

    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        raise NotImplementedError

    def check(self) -> CheckReport:
        return CheckReport(ok=True, system=self.system)

    def describe(self, entity: str) -> list[FieldInfo]:
        return []
