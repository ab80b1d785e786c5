"""OAuth 1.0a token-based auth: REST header via requests-oauthlib, SOAP tokenPassport.

SOAP: base string ``account&consumerKey&tokenId&nonce&timestamp``, key
``consumerSecret&tokenSecret``, signature base64(HMAC-SHA256). Built fresh per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from requests_oauthlib import OAuth1

from connectors.netsuite.settings import NetSuiteSettings, TBAAuth

SIGNATURE_ALGORITHM = "HMAC-SHA256"


@dataclass(frozen=True)
class Passport:
    account: str
    consumer_key: str
    token: str
    nonce: str
    timestamp: int
    signature: str
    algorithm: str = SIGNATURE_ALGORITHM


def passport_base_string(
    account: str, consumer_key: str, token_id: str, nonce: str, timestamp: int
) -> str:
    return "&".join([account, consumer_key, token_id, nonce, str(timestamp)])


def sign_passport(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{consumer_secret}&{token_secret}".encode()
    digest = hmac.new(key, base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def new_nonce() -> str:
    """20 random digits, as NetSuite's own samples use."""
    return "".join(str(secrets.randbelow(10)) for _ in range(20))


def build_passport(
    settings: NetSuiteSettings, *, nonce: str | None = None, timestamp: int | None = None
) -> Passport:
    auth = settings.auth
    assert isinstance(auth, TBAAuth)
    nonce = nonce or new_nonce()
    ts = int(time.time()) if timestamp is None else timestamp
    base = passport_base_string(settings.account, auth.consumer_key, auth.token_id, nonce, ts)
    signature = sign_passport(
        base, auth.consumer_secret.get_secret_value(), auth.token_secret.get_secret_value()
    )
    return Passport(settings.account, auth.consumer_key, auth.token_id, nonce, ts, signature)


def rest_auth(settings: NetSuiteSettings) -> OAuth1:
    """Signs each REST request: realm in upper case with ``_`` (``1234567_SB1``)."""
    auth = settings.auth
    assert isinstance(auth, TBAAuth)
    return OAuth1(
        auth.consumer_key,
        client_secret=auth.consumer_secret.get_secret_value(),
        resource_owner_key=auth.token_id,
        resource_owner_secret=auth.token_secret.get_secret_value(),
        realm=settings.account_id.realm,
        signature_method=SIGNATURE_ALGORITHM,  # oauthlib's SIGNATURE_HMAC_SHA256,
    )
