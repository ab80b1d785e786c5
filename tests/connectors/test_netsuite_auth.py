from __future__ import annotations

import re
import time
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
import structlog

from billbridge.errors import FatalError
from connectors.netsuite import auth_m2m, auth_tba
from connectors.netsuite.settings import M2MAuth
from tests.connectors.netsuite_fixtures.helpers import (
    CONSUMER_SECRET,
    TOKEN_SECRET,
    TOKEN_URL,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    m2m_settings,
    private_key_pem,
    public_key,
    tba_settings,
    token_response,
)


def test_jwt_assertion_header_and_claims() -> None:
    s = m2m_settings()
    assert isinstance(s.auth, M2MAuth)
    token = auth_m2m.build_assertion(s.auth, s.token_url, now=1_700_000_000)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "PS256", "kid": "cert-kid-1", "typ": "JWT"}
    claims = jwt.decode(
        token,
        public_key(),
        algorithms=["PS256"],
        audience=s.token_url,
        options={"verify_exp": False},
    )
    assert claims["iss"] == "client-abc"
    assert claims["scope"] == "rest_webservices"
    assert claims["aud"] == TOKEN_URL
    assert claims["iat"] == 1_700_000_000
    assert 0 < claims["exp"] - claims["iat"] <= 3600


def test_assertion_lifetime_cannot_exceed_an_hour_and_scopes_are_comma_joined() -> None:
    with pytest.raises(ValueError, match="less than or equal to 3600"):
        M2MAuth(client_id="c", certificate_id="k", private_key="x", assertion_lifetime_s=7200)
    auth = M2MAuth(
        client_id="c",
        certificate_id="k",
        private_key=private_key_pem(),
        assertion_lifetime_s=3600,
        scopes=("rest_webservices", "suite_analytics"),
    )
    claims = jwt.decode(
        auth_m2m.build_assertion(auth, TOKEN_URL, now=100),
        public_key(),
        algorithms=["PS256"],
        audience=TOKEN_URL,
        options={"verify_exp": False},
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["scope"] == "rest_webservices,suite_analytics"


def test_token_request_is_form_encoded_client_credentials() -> None:
    s = m2m_settings()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response("tok-1", 3500))
        token, lifetime = auth_m2m.fetch_token(requests.Session(), s)
        form = parse_qs(rsps.calls[0].request.body)
    assert (token, lifetime) == ("tok-1", 3500.0)
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assert jwt.get_unverified_header(form["client_assertion"][0])["kid"] == "cert-kid-1"


def test_refused_token_request_is_fatal_and_names_no_secret() -> None:
    s = m2m_settings()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
        with pytest.raises(FatalError, match="invalid_grant") as info:
            auth_m2m.fetch_token(requests.Session(), s)
    assert "PRIVATE KEY" not in str(info.value)


def test_bad_private_key_does_not_leak_the_key() -> None:
    secret_pem = "-----BEGIN PRIVATE KEY-----\nTOTALLYSECRETMATERIAL\n-----END PRIVATE KEY-----"
    auth = M2MAuth(client_id="c", certificate_id="k", private_key=secret_pem)
    with pytest.raises(FatalError) as info:
        auth_m2m.build_assertion(auth, TOKEN_URL)
    assert "TOTALLYSECRETMATERIAL" not in str(info.value)
    assert "TOTALLYSECRETMATERIAL" not in repr(info.value.__dict__)


def test_tba_passport_golden_base_string_and_signature() -> None:
    base = auth_tba.passport_base_string(
        "1234567_SB1", "ck-0001", "tk-0001", "12345678901234567890", 1700000000
    )
    assert base == "1234567_SB1&ck-0001&tk-0001&12345678901234567890&1700000000"
    # computed independently: printf base | openssl dgst -sha256 -hmac 'cs-secret&ts-secret'
    assert auth_tba.sign_passport(base, "cs-secret", "ts-secret") == (
        "BP6GEB1OwV7CZjr4Z/97kr0RbP4v7cmCKurJWcj91L4="
    )


def test_tba_passport_uses_realm_form_and_fresh_nonce() -> None:
    s = tba_settings(account="1234567-sb1")
    first = auth_tba.build_passport(s)
    second = auth_tba.build_passport(s)
    assert first.account == "1234567_SB1"
    assert re.fullmatch(r"\d{20}", first.nonce)
    assert first.nonce != second.nonce
    assert abs(first.timestamp - time.time()) < 5
    expected = auth_tba.sign_passport(
        auth_tba.passport_base_string(
            "1234567_SB1", "ck-0001", "tk-0001", first.nonce, first.timestamp
        ),
        CONSUMER_SECRET,
        TOKEN_SECRET,
    )
    assert first.signature == expected


def test_tba_rest_header_is_hmac_sha256_with_upper_case_realm() -> None:
    s = tba_settings(account="1234567_sb1")
    req = requests.Request("GET", s.rest_base_url + "record/v1/customer/1").prepare()
    signed = auth_tba.rest_auth(s)(req)
    header = signed.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert header.startswith('OAuth realm="1234567_SB1"')
    assert 'oauth_signature_method="HMAC-SHA256"' in header
    assert 'oauth_token="tk-0001"' in header
    assert 'oauth_version="1.0"' in header
    assert CONSUMER_SECRET not in header and TOKEN_SECRET not in header


def test_token_is_cached_per_account_and_never_logged() -> None:
    s = m2m_settings()
    session = requests.Session()
    with (
        structlog.testing.capture_logs() as logs,
        responses.RequestsMock(assert_all_requests_are_fired=True) as rsps,
    ):
        rsps.post(TOKEN_URL, json=token_response("secret-access-token-xyz"))
        cache = auth_m2m.token_cache(s, session)
        assert auth_m2m.token_cache(s, session) is cache
        assert cache.get().get_secret_value() == "secret-access-token-xyz"
        assert cache.get().get_secret_value() == "secret-access-token-xyz"
        assert len(rsps.calls) == 1
    dumped = repr(logs)
    assert "secret-access-token-xyz" not in dumped
    assert "PRIVATE KEY" not in dumped
