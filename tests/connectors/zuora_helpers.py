"""Shared setup for the Zuora connector tests against strict ``responses`` mocks: the
sandbox base URL and client secret, the recorded fixtures, the OAuth token and lookup
answers Zuora gives, the connector under test and the write intents sent to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import responses
from responses import matchers

from canonical import WriteIntent, WriteOp
from connectors.zuora import ZuoraConnector, ZuoraSettings

FIX = Path(__file__).parent / "zuora_fixtures"
BASE = "https://rest.apisandbox.zuora.com"
SECRET = "zuora-client-secret-value-1234"
ACCOUNT_URL = f"{BASE}/v1/accounts/A00000001"
ORDERS_OF_SUB = f"{BASE}/v1/orders/subscription/A-S00000004"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIX / name).read_text())


def zuora_connector(sleep: Callable[[float], None], backoff_seconds: float = 1.0) -> ZuoraConnector:
    """The connector on the sandbox tenant, at a fixed clock, tracked as run ``run-42``."""
    settings = ZuoraSettings(
        tenant="us_api_sandbox",
        client_id="cid-1",
        client_secret=SECRET,
        backoff_seconds=backoff_seconds,
    )
    return ZuoraConnector(
        settings,
        sleep=sleep,
        now=lambda: datetime(2024, 6, 14, 12, 0, tzinfo=UTC),
        correlation_id="run-42",
    )


def token(rsps: responses.RequestsMock, value: str = "tok-1", expires: int = 3600) -> None:
    rsps.post(
        f"{BASE}/oauth/token",
        json={
            "access_token": value,
            "token_type": "bearer",
            "expires_in": expires,
            "scope": "entity.1",
            "jti": "j1",
        },
        match=[
            matchers.urlencoded_params_matcher(
                {"client_id": "cid-1", "client_secret": SECRET, "grant_type": "client_credentials"}
            )
        ],
    )


def same_key(intent: WriteIntent) -> list[Any]:
    """Matches a request sent under ``intent``'s idempotency key."""
    return [matchers.header_matcher({"Idempotency-Key": intent.idempotency_key})]


def order_intent(
    action: str = "AddProduct",
    *,
    version: str = "1",
    sub: str | None = "A-S00000004",
    account: str = "A00000001",
) -> WriteIntent:
    payload: dict[str, Any] = {
        "accountNumber": account,
        "orderDate": "2024-07-01",
        "body": {"addProduct": {"productRatePlanId": "PRP-1"}},
    }
    if sub:
        payload["subscriptionNumber"] = sub
    return WriteIntent.build(
        target_system="zuora",
        entity="subscription",
        op=WriteOp.ACTION,
        action=action,
        external_id="SF-801",
        payload=payload,
        source_system="salesforce",
        source_id=f"801-{sub}",
        source_version=version,
        mapping_version="m1",
    )


def account_intent(op: WriteOp, payload: dict[str, Any], version: str) -> WriteIntent:
    """A write of account ``A00000001`` (Salesforce account ``001X``)."""
    return WriteIntent.build(
        target_system="zuora",
        entity="customer",
        op=op,
        external_id="A00000001",
        payload=payload,
        source_system="salesforce",
        source_id="001X",
        source_version=version,
        mapping_version="m1",
    )


def account_create_intent() -> WriteIntent:
    return account_intent(
        WriteOp.CREATE, {"name": "Acme Corp", "currency": "USD", "billCycleDay": 1}, "1"
    )


def account_not_found(rsps: responses.RequestsMock) -> None:
    """GET of account ``A00000001`` answers Zuora's 404."""
    rsps.get(
        ACCOUNT_URL,
        status=404,
        json={"success": False, "reasons": [{"code": 50000040, "message": "not found"}]},
    )


def orders_holding(key: str | None) -> dict[str, Any]:
    """GET /v1/orders/subscription/{number}: one order whose action carries ``key``."""
    actions = [{"type": "AddProduct", "customFields": {"BillBridgeKey__c": key}}] if key else []
    return {
        "success": True,
        "orders": [
            {
                "orderNumber": "O-00000009",
                "status": "Completed",
                "subscriptions": [{"subscriptionNumber": "A-S00000004", "orderActions": actions}],
            }
        ],
    }
