"""NetSuite connector settings: one account field, both transports, both auth modes.

Secrets are ``SecretStr`` and are resolved by the config loader; nothing here reads the
environment. The account is stored once (realm form) and the host form is derived.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.netsuite.accounts import AccountId, parse_account

_WSDL_VERSION = re.compile(r"^\d{4}_\d$")


class M2MAuth(BaseModel):
    """OAuth 2.0 client credentials with a signed JWT assertion (no refresh token)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["m2m"] = "m2m"
    client_id: str
    #: Certificate ID of the mapping (entity + role + application); the JWT ``kid``.
    certificate_id: str
    private_key: SecretStr  # PEM
    algorithm: Literal["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"] = "PS256"
    scopes: tuple[str, ...] = ("rest_webservices",)
    #: Assertion lifetime; NetSuite refuses ``exp`` more than 60 minutes after ``iat``.
    assertion_lifetime_s: int = Field(default=300, gt=0, le=3600)


class TBAAuth(BaseModel):
    """OAuth 1.0a token-based auth, HMAC-SHA256 (SHA1 is refused since 2023.1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["tba"] = "tba"
    consumer_key: str
    consumer_secret: SecretStr
    token_id: str
    token_secret: SecretStr


class NetSuiteSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system: Literal["netsuite"] = "netsuite"
    #: ``1234567`` or ``1234567_SB1`` (``1234567-sb1`` accepted); stored in realm form.
    account: str
    transport: Literal["rest", "soap"] = "rest"
    auth: Annotated[M2MAuth | TBAAuth, Field(discriminator="mode")]
    #: Timezone SuiteQL renders and compares timestamps in (the account's preference).
    account_timezone: str = "America/Los_Angeles"
    wsdl_version: str = "2025_2"
    #: Local path or URL of ``netsuite.wsdl``; None means the account's own WSDL URL.
    wsdl_url: str | None = None
    #: Directory for zeep's WSDL cache; None disables caching (the library default
    #: writes into the installed package, which fails on read-only images).
    wsdl_cache_dir: str | None = None
    #: Size of the account's concurrency pool, shared by REST and SOAP.
    concurrency: int = Field(default=5, ge=1)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=120.0, gt=0)
    #: How long a call may wait for a free concurrency slot.
    slot_timeout_s: float = Field(default=300.0, gt=0)
    #: source system -> external-id prefix, e.g. ``{"salesforce": "SF-"}``.
    external_id_prefixes: dict[str, str] = Field(
        default_factory=lambda: {"salesforce": "SF-", "zuora": "ZUORA-"}
    )
    #: Override of ``https://<host>/services/rest/`` (tests, proxies).
    base_url: str | None = None
    #: Override of the SOAP endpoint ``https://<host>/services/NetSuitePort_<v>``.
    soap_url: str | None = None
    page_size: int = Field(default=1000, ge=5, le=1000)
    soap_page_size: int = Field(default=100, ge=5, le=1000)
    #: SuiteQL stops at 100,000 rows per query; configurable so tests stay small.
    suiteql_ceiling: int = Field(default=100_000, gt=0)
    #: Incremental reads start this far before the stored watermark (late commits, skew).
    overlap_s: int = Field(default=600, ge=0)
    retry_attempts: int = Field(default=15, ge=1)
    retry_wait_s: float = Field(default=2.0, ge=0)
    #: Tries for USER_ERROR (often a workflow lock) before the record is rejected.
    user_error_attempts: int = Field(default=3, ge=1)
    #: Currency internal id -> ISO 4217 code, for accounts whose currency names are not codes.
    currencies: dict[str, str] = Field(default_factory=dict)
    #: Record type used for canonical products (items come in several record types).
    item_record_type: str = "serviceSaleItem"

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        return parse_account(value).realm

    @field_validator("account_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("wsdl_version")
    @classmethod
    def _wsdl_version(cls, value: str) -> str:
        if not _WSDL_VERSION.match(value):
            raise ValueError(f"wsdl_version {value!r} must look like 2025_2")
        return value

    @field_validator("external_id_prefixes")
    @classmethod
    def _prefixes(cls, value: dict[str, str]) -> dict[str, str]:
        for system, prefix in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
                raise ValueError(
                    f"external-id prefix {prefix!r} for {system} has characters "
                    "other than letters, digits, '_' and '-'"
                )
        return value

    @model_validator(mode="after")
    def _soap_needs_tba(self) -> NetSuiteSettings:
        if self.transport == "soap" and self.auth.mode != "tba":
            raise ValueError(
                "the SOAP transport needs TBA credentials: OAuth 2.0 does not work with SOAP"
            )
        return self

    @property
    def account_id(self) -> AccountId:
        return parse_account(self.account)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.account_timezone)

    @property
    def rest_base_url(self) -> str:
        url = self.base_url or self.account_id.rest_base_url
        return url if url.endswith("/") else url + "/"

    @property
    def token_url(self) -> str:
        return self.rest_base_url + "auth/oauth2/v1/token"

    @property
    def soap_endpoint(self) -> str:
        return self.soap_url or (
            f"https://{self.account_id.rest_host}/services/NetSuitePort_{self.wsdl_version}"
        )

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout_s, self.read_timeout_s)
