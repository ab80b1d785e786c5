"""Salesforce OAuth: JWT bearer and client credentials against the My Domain token endpoint.

simple-salesforce builds its token URL as ``https://{domain}.salesforce.com`` and cannot
refresh a session it did not create, so tokens come from here (one cached token per org,
renewed on 401) and the library runs in session-id mode. The retiring SOAP password login
goes through the library's own ``SalesforceLogin``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlparse

import jwt
import requests
import structlog
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from billbridge import logs
from billbridge.errors import FatalError, RetryableError
from connectors.salesforce.settings import SalesforceAuthMode, SalesforceSettings

log = structlog.get_logger(__name__)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class SalesforceAuth:
    def __init__(
        self,
        settings: SalesforceSettings,
        session: requests.Session,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.session = session
        self.wall_clock = wall_clock

    def fetch(self) -> tuple[str, float]:
        """(access token, assumed lifetime) for :class:`TokenCache`."""
        mode = self.settings.auth_mode
        if mode is SalesforceAuthMode.PASSWORD:
            return self._soap_login(), float(self.settings.session_seconds)
        if mode is SalesforceAuthMode.JWT:
            data = {"grant_type": JWT_GRANT, "assertion": self._assertion()}
        else:
            assert self.settings.consumer_secret is not None
            data = {
                "grant_type": "client_credentials",
                "client_id": self.settings.consumer_key or "",
                "client_secret": self.settings.consumer_secret.get_secret_value(),
            }
        try:
            resp = self.session.post(
                self.settings.token_url,
                data=data,
                timeout=(self.settings.connect_timeout, self.settings.request_timeout),
            )
        except requests.RequestException as exc:
            raise RetryableError(
                f"Salesforce token endpoint unreachable ({exc.__class__.__name__})"
            ) from None
        if resp.status_code >= 500:
            raise RetryableError(f"Salesforce token endpoint answered {resp.status_code}")
        body = resp.json() if resp.content else {}
        if resp.status_code != 200 or "access_token" not in body:
            # error/error_description name the cause (invalid_grant, invalid_client_id, ...)
            # both are the vendor's text: one may echo the secret sent (some proxies do)
            reason = body.get("error", resp.status_code)
            description = body.get("error_description", "no description")
            raise FatalError(
                logs.scrub_text(
                    f"Salesforce refused the {mode.value} login ({reason}): {description}; "
                    "check the connected app, the user's pre-authorisation and the "
                    "certificate or secret",
                    also=(self.settings.consumer_secret, self.settings.private_key),
                )
            )
        returned = urlparse(str(body.get("instance_url", ""))).netloc
        if returned and returned != self.settings.host:
            log.warning(
                "salesforce.instance_mismatch", configured=self.settings.host, returned=returned
            )
        log.info("salesforce.token", mode=mode.value)
        return str(body["access_token"]), float(self.settings.session_seconds)

    def _assertion(self) -> str:
        assert self.settings.private_key is not None
        claims = {
            "iss": self.settings.consumer_key,
            "sub": self.settings.username,
            "aud": self.settings.audience,
            "exp": int(self.wall_clock()) + 180,
        }
        try:
            return jwt.encode(
                claims, self.settings.private_key.get_secret_value(), algorithm="RS256"
            )
        except (ValueError, TypeError, jwt.PyJWTError):
            raise FatalError(
                "Salesforce private_key is not a usable RSA PEM key (JWT signing failed)"
            ) from None

    def _soap_login(self) -> str:
        settings = self.settings
        assert settings.password is not None
        assert settings.security_token is not None
        domain = settings.host.removesuffix(".salesforce.com")
        try:
            session_id, _instance = SalesforceLogin(
                username=settings.username,
                password=settings.password.get_secret_value(),
                security_token=settings.security_token.get_secret_value(),
                domain=domain,
                sf_version=settings.api_version,
                session=self.session,
            )
        except SalesforceAuthenticationFailed as exc:
            raise FatalError(
                f"Salesforce SOAP login failed ({exc.code}); password login is retiring, "
                "switch auth_mode to jwt or client_credentials"
            ) from None
        return str(session_id)
