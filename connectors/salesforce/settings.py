"""Salesforce connection settings: org host, pinned API version, auth mode, budget.

The lead's config loader resolves secret references and builds this model; connectors
never read environment variables themselves.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from canonical.currencies import normalize_currency


class SalesforceEnvironment(StrEnum):
    PRODUCTION = "production"
    SANDBOX = "sandbox"


class SalesforceAuthMode(StrEnum):
    JWT = "jwt"
    CLIENT_CREDENTIALS = "client_credentials"
    #: username + password + security token through SOAP login(): retiring (Summer '27).
    PASSWORD = "password"  # noqa: S105 - the name of an auth mode, not a credential


class SalesforceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system: Literal["salesforce"] = "salesforce"
    environment: SalesforceEnvironment = SalesforceEnvironment.PRODUCTION
    #: Always the My Domain host, e.g. ``https://acme--uat.sandbox.my.salesforce.com``.
    instance_url: str
    api_version: str = "62.0"
    auth_mode: SalesforceAuthMode = SalesforceAuthMode.JWT
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    username: str | None = None
    #: PEM private key for the JWT bearer flow.
    private_key: SecretStr | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    #: JWT ``aud``; defaults to login/test.salesforce.com by environment.
    jwt_audience: str | None = None
    #: Lifetime we assume for a token (Salesforce does not say); a 401 renews it earlier.
    session_seconds: int = Field(default=3600, ge=60)
    #: Our external-id field per sObject; ``default_external_id_field`` elsewhere.
    external_id_fields: dict[str, str] = Field(default_factory=dict)
    default_external_id_field: str = "BillBridge_Id__c"
    #: Account fields holding other systems' ids, e.g. {"zuora": "Zuora_Account_Number__c"}.
    crosswalk_fields: dict[str, str] = Field(default_factory=dict)
    #: Field written back on source records with the sync outcome (None: no write-back).
    sync_status_field: str | None = "BillBridge_Sync_Status__c"
    sync_message_field: str | None = "BillBridge_Sync_Message__c"
    #: Share of the daily API allotment one run may use, and the overall ceiling.
    max_daily_api_share: Decimal = Decimal("0.25")
    stop_at_overall_share: Decimal = Decimal("0.80")
    lookback_seconds: int = Field(default=600, ge=0)
    #: Reads expected to return at least this many rows go through Bulk 2.0 (None: never).
    bulk_threshold: int | None = Field(default=50_000, ge=1)
    bulk_poll_seconds: float = Field(default=5.0, ge=0)
    #: How long a Bulk 2.0 query job may take before the read gives up (the library's own
    #: wait is 24 h).
    bulk_job_timeout_seconds: float = Field(default=3600.0, gt=0)
    query_batch_size: int = Field(default=2000, ge=200, le=2000)
    #: The currency of records without their own CurrencyIsoCode (single-currency orgs);
    #: multi-currency records keep their own. None: the org's DefaultCurrencyIsoCode, read
    #: once per connection (USD, with a warning, when the integration user cannot read it).
    currency: str | None = None
    request_timeout: float = Field(default=120.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=2.0, ge=0)
    max_backoff_seconds: float = Field(default=120.0, ge=0)
    concurrency: int = Field(default=4, ge=1, le=25)
    #: CA bundle for TLS verification (private CAs, loopback fakes); None: system store.
    ca_bundle: str | None = None

    @field_validator("instance_url")
    @classmethod
    def _https_host(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme != "https" or not parsed.hostname:
            raise ValueError("instance_url must be https://<my domain host>")
        return value.rstrip("/")

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_currency(value)
        except ValueError:  # UnknownCurrencyError included
            raise ValueError(f"currency {value!r} is not an ISO 4217 code") from None

    @field_validator("api_version")
    @classmethod
    def _plain_version(cls, value: str) -> str:
        if value.startswith("v") or not value.replace(".", "").isdigit():
            raise ValueError("api_version looks like '62.0' (no leading 'v')")
        return value

    @model_validator(mode="after")
    def _auth_fields_present(self) -> SalesforceSettings:
        needed = {
            SalesforceAuthMode.JWT: ("consumer_key", "username", "private_key"),
            SalesforceAuthMode.CLIENT_CREDENTIALS: ("consumer_key", "consumer_secret"),
            SalesforceAuthMode.PASSWORD: ("username", "password", "security_token"),
        }[self.auth_mode]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth_mode {self.auth_mode.value} needs {', '.join(missing)}")
        if self.auth_mode is SalesforceAuthMode.PASSWORD:
            warnings.warn(
                "Salesforce password + security token login is retiring (Summer '27); "
                "switch auth_mode to jwt or client_credentials",
                DeprecationWarning,
                stacklevel=2,
            )
        if not Decimal(0) < self.max_daily_api_share <= self.stop_at_overall_share <= 1:
            raise ValueError("need 0 < max_daily_api_share <= stop_at_overall_share <= 1")
        return self

    @property
    def host(self) -> str:
        return urlparse(self.instance_url).netloc

    @property
    def audience(self) -> str:
        if self.jwt_audience:
            return self.jwt_audience
        if self.environment is SalesforceEnvironment.SANDBOX:
            return "https://test.salesforce.com"
        return "https://login.salesforce.com"

    @property
    def token_url(self) -> str:
        return f"{self.instance_url}/services/oauth2/token"

    @property
    def account_key(self) -> str:
        return f"salesforce:{self.host}"

    def external_id_field(self, sobject: str) -> str:
        return self.external_id_fields.get(sobject, self.default_external_id_field)
