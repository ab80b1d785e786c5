"""Zuora connection settings: tenant, OAuth client, versions, limits and time zone.

The lead's config loader resolves secret references and builds this model; connectors
never read environment variables themselves.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class ZuoraTenant(StrEnum):
    """The documented tenants; the host is derived, never probed."""

    US_PRODUCTION = "us_production"
    US_CLOUD_PRODUCTION = "us_cloud_production"
    EU_PRODUCTION = "eu_production"
    PERFORMANCE_TEST = "performance_test"
    US_API_SANDBOX = "us_api_sandbox"
    US_CLOUD_API_SANDBOX = "us_cloud_api_sandbox"
    US_CENTRAL_SANDBOX = "us_central_sandbox"
    EU_API_SANDBOX = "eu_api_sandbox"
    EU_CENTRAL_SANDBOX = "eu_central_sandbox"

    @property
    def host(self) -> str:
        return _HOSTS[self]


_HOSTS = {
    ZuoraTenant.US_PRODUCTION: "rest.zuora.com",
    ZuoraTenant.US_CLOUD_PRODUCTION: "rest.na.zuora.com",
    ZuoraTenant.EU_PRODUCTION: "rest.eu.zuora.com",
    ZuoraTenant.PERFORMANCE_TEST: "rest.pt1.zuora.com",
    ZuoraTenant.US_API_SANDBOX: "rest.apisandbox.zuora.com",
    ZuoraTenant.US_CLOUD_API_SANDBOX: "rest.sandbox.na.zuora.com",
    ZuoraTenant.US_CENTRAL_SANDBOX: "rest.test.zuora.com",
    ZuoraTenant.EU_API_SANDBOX: "rest.sandbox.eu.zuora.com",
    ZuoraTenant.EU_CENTRAL_SANDBOX: "rest.test.eu.zuora.com",
}


class ZuoraSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system: Literal["zuora"] = "zuora"
    tenant: ZuoraTenant
    #: Explicit override (tests, proxies); otherwise ``https://<tenant host>``.
    base_url: str | None = None
    client_id: str
    client_secret: SecretStr
    #: Zuora v1 datetimes carry no offset: they are in this zone.
    tenant_timezone: str = "America/Los_Angeles"
    zuora_version: str = "2024-05-20"
    #: Zuora-Entity-Ids header, only when multi-entity is on.
    entity_ids: str | None = None
    #: Concurrent calls per tenant (shared by every job through the throttle).
    concurrency: int = Field(default=4, ge=1, le=50)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    #: Exponential back-off base when the server names no wait (Zuora peers use 30 s).
    backoff_seconds: float = Field(default=30.0, ge=0)
    max_backoff_seconds: float = Field(default=300.0, ge=0)
    #: How long to wait before replaying an idempotent request that got 409 (in flight).
    in_flight_wait_seconds: float = Field(default=5.0, ge=0)
    page_size: int = Field(default=40, ge=1, le=50)
    #: Re-read this far behind the watermark: rows commit behind the saved cursor.
    lookback_seconds: int = Field(default=600, ge=0)
    #: Custom fields carrying our ids (on Account, Subscription and order actions).
    account_external_id_field: str = "BillBridgeId__c"
    subscription_external_id_field: str = "BillBridgeId__c"
    order_action_key_field: str = "BillBridgeKey__c"

    @field_validator("tenant_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def url(self) -> str:
        return self.base_url or f"https://{self.tenant.host}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tenant_timezone)

    @property
    def account_key(self) -> str:
        """Throttle key: one concurrency limit per tenant (and client)."""
        return f"zuora:{self.url}"
