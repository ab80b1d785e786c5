"""A strict SOAP wire for ``responses``: scripted envelopes per operation, in order."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import responses

from tests.connectors.netsuite_fixtures.helpers import fixture_text

ENDPOINT = "https://1234567-sb1.suitetalk.api.netsuite.com/services/NetSuitePort_2023_2"


class SoapWire:
    """Answers each SOAP request with the next scripted (operation, status, file)."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.script: deque[tuple[str, int, str]] = deque()
        self.operations: list[str] = []
        self.bodies: list[str] = []
        rsps.add_callback(responses.POST, ENDPOINT, callback=self._answer)

    def then(self, operation: str, fixture: str, status: int = 200) -> SoapWire:
        self.script.append((operation, status, fixture))
        return self

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        operation = operation_of(body)
        self.operations.append(operation)
        self.bodies.append(body)
        assert self.script, f"unexpected SOAP call {operation}"
        expected, status, fixture = self.script.popleft()
        assert operation == expected, f"expected {expected}, got {operation}"
        return status, {"Content-Type": "text/xml; charset=utf-8"}, fixture_text(fixture)

    def assert_done(self) -> None:
        assert not self.script, f"scripted calls never made: {list(self.script)}"


def operation_of(body: str) -> str:
    match = re.search(r"<soap-env:Body><ns\d+:(\w+)", body)
    assert match, "no operation in SOAP body"
    return match.group(1)


#: one WSDL load for the whole test session (zeep parses ~46 XSDs, ~0.5-2 s)
_CLIENT: dict[str, object] = {}


def shared_client() -> object | None:
    return _CLIENT.get("client")


def remember_client(client: object) -> None:
    _CLIENT["client"] = client
