"""Fixtures shared by the connector tests: the Zuora connector of ``zuora_helpers`` with
the back-off sleeps it asked for recorded instead of slept."""

from __future__ import annotations

import pytest

from connectors.zuora import ZuoraConnector
from tests.connectors.zuora_helpers import zuora_connector


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def zuora(sleeps: list[float]) -> ZuoraConnector:
    return zuora_connector(sleeps.append)
