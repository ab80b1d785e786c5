"""Settings builders, a throwaway signing key, fixture loading and state resets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.common import throttle
from connectors.netsuite import auth_m2m
from connectors.netsuite.errors import LOAD
from connectors.netsuite.settings import M2MAuth, NetSuiteSettings, TBAAuth

HERE = Path(__file__).parent
BASE = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/"
SUITEQL = BASE + "query/v1/suiteql"
TOKEN_URL = BASE + "auth/oauth2/v1/token"
CONSUMER_SECRET = "cs-secret-do-not-log-7f3a"
TOKEN_SECRET = "ts-secret-do-not-log-91bc"


@lru_cache(maxsize=1)
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key() -> Any:
    return serialization.load_pem_private_key(private_key_pem().encode(), None).public_key()


def m2m_settings(**overrides: Any) -> NetSuiteSettings:
    fields: dict[str, Any] = {
        "account": "1234567_SB1",
        "auth": M2MAuth(
            client_id="client-abc", certificate_id="cert-kid-1", private_key=private_key_pem()
        ),
        "retry_wait_s": 0.0,
    }
    fields.update(overrides)
    return NetSuiteSettings(**fields)


def tba_settings(**overrides: Any) -> NetSuiteSettings:
    fields: dict[str, Any] = {
        "account": "1234567_SB1",
        "auth": TBAAuth(
            consumer_key="ck-0001",
            consumer_secret=CONSUMER_SECRET,
            token_id="tk-0001",
            token_secret=TOKEN_SECRET,
        ),
        "retry_wait_s": 0.0,
    }
    fields.update(overrides)
    return NetSuiteSettings(**fields)


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text(), parse_float=Decimal)
    return data


def fixture_text(name: str) -> str:
    return (HERE / name).read_text()


def token_response(token: str = "access-token-1", expires_in: int = 3600) -> dict[str, Any]:
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


def page(items: list[dict[str, Any]], *, offset: int, total: int, has_more: bool) -> dict[str, Any]:
    return {
        "links": [],
        "count": len(items),
        "hasMore": has_more,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }


@pytest.fixture(autouse=True)
def _fresh_netsuite_state() -> Iterator[None]:
    """Throttle slots, token caches and the load tracker are process-wide: reset them."""
    throttle.reset_for_tests()
    auth_m2m.reset_for_tests()
    LOAD._last.clear()
    yield
    throttle.reset_for_tests()
    auth_m2m.reset_for_tests()
    LOAD._last.clear()


class NoSleep:
    """Injected instead of time.sleep: records the waits, never sleeps."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
