"""The shared connector contract, NetSuite REST transport against the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import responses

from billbridge.testing.fake_netsuite import FakeNetSuite
from canonical import WriteIntent, WriteOp
from connectors.netsuite import connect
from connectors.netsuite.soap import SoapTransport
from tests.connectors.contract import ConnectorContract, Harness
from tests.connectors.netsuite_fixtures.fake_setup import seed
from tests.connectors.netsuite_fixtures.helpers import (
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    fixture_text,
    m2m_settings,
    tba_settings,
)
from tests.connectors.netsuite_fixtures.soap_wire import (
    ENDPOINT,
    operation_of,
    remember_client,
    shared_client,
)


@pytest.fixture
def fake() -> Iterator[FakeNetSuite]:
    server = FakeNetSuite().start()
    seed(server, invoices=3, customers=2)
    yield server
    server.stop()


def _intents() -> list[WriteIntent]:
    return [
        WriteIntent.build(
            target_system="netsuite",
            entity="customer",
            op=WriteOp.UPSERT,
            external_id=f"SF-00200{n}",
            payload={"companyName": f"New {n}"},
            source_system="salesforce",
            source_id=f"00200{n}",
            source_version="1",
            mapping_version="m1",
        )
        for n in (1, 2)
    ]


class TestNetSuiteRestContract(ConnectorContract):
    @pytest.fixture
    def harness(self, fake: FakeNetSuite) -> Harness:
        settings = m2m_settings(base_url=fake.url, read_timeout_s=5.0)
        return Harness(
            connector=connect(settings, sleep=NoSleep()),
            entity="invoice",
            expected_count=3,
            known_external_id="ZUORA-INV00000002",
            lookup_entity="invoice",
            make_intents=_intents,
        )


class _SoapDispatcher:
    """Answers by operation (the contract tests call different subsets)."""

    FILES: ClassVar[dict[str, str]] = {
        "search": "soap_search_page1.xml",
        "searchMoreWithId": "soap_searchMore_page2.xml",
        "upsertList": "soap_upsertList_ok2.xml",
        "getServerTime": "soap_getServerTime.xml",
    }

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        op = operation_of(body)
        if op == "get":
            known = 'externalId="SF-0010002"' in body
            name = "soap_get_found.xml" if known else "soap_get_missing.xml"
        else:
            name = self.FILES[op]  # an unexpected operation fails the test here
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, fixture_text(name)


class TestNetSuiteSoapContract(ConnectorContract):
    @pytest.fixture
    def harness(self, shared_dir: Path) -> Iterator[Harness]:
        wsdl = shared_dir / "netsuite-wsdl/v2023_2/netsuite.wsdl"
        if not wsdl.is_file():
            pytest.skip(f"SuiteTalk WSDL bundle not present at {wsdl}")
        settings = tba_settings(transport="soap", wsdl_url=str(wsdl), wsdl_version="2023_2")
        soap = SoapTransport(settings, sleep=NoSleep(), client=shared_client())
        remember_client(soap.client)
        # Not every contract test calls the wire (describe reads the schema), so unfired
        # registrations are allowed here; unexpected operations still fail in the dispatcher.
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.add_callback(responses.POST, ENDPOINT, callback=_SoapDispatcher())
            yield Harness(
                connector=connect(settings, soap=soap, sleep=NoSleep()),
                entity="customer",
                expected_count=3,
                known_external_id="SF-0010002",
                lookup_entity="customer",
                make_intents=_intents,
            )
