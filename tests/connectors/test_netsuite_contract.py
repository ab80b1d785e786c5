"""The shared connector contract, NetSuite REST transport against the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billbridge.testing.fake_netsuite import FakeNetSuite
from canonical import WriteIntent, WriteOp
from connectors.netsuite import connect
from tests.connectors.contract import ConnectorContract, Harness
from tests.connectors.netsuite_fixtures.fake_setup import seed
from tests.connectors.netsuite_fixtures.helpers import (
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    m2m_settings,
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
