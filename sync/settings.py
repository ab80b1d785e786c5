"""Settings of sync jobs, their schedules and the nightly chain (embedded in the config file)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TargetKind = Literal["zuora", "netsuite"]
#: ``records``: CRM records read from a source connection; ``cash_application``: approved
#: cash applications of saved cash runs, written as payments.
JobKind = Literal["records", "cash_application"]

#: Canonical entities a sync job can read from its source, in the order they are applied:
#: customers first so that accounts exist before their subscriptions.
SYNCABLE_ENTITIES = ("customer", "contract", "opportunity", "order", "payment")
#: What a cash-application job writes.
CASH_ENTITIES = ("payment",)


class ScheduleSettings(BaseModel):
    """When a job runs. ``cron`` is a five-field crontab expression in ``timezone``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: str
    timezone: str = "UTC"
    #: APScheduler's default is 1 second, which silently skips late runs; use hours.
    misfire_grace_hours: float = Field(default=6.0, gt=0)
    coalesce: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _valid_cron(self) -> ScheduleSettings:
        fields = self.cron.split()
        # APScheduler 3.x counts weekdays from Monday=0, crontab from Sunday=0: a numeric
        # day-of-week would silently run on the wrong day, so only names are accepted.
        if len(fields) == 5 and any(ch.isdigit() for ch in fields[4]):
            raise ValueError(f"cron {self.cron!r}: write the day of week as names (mon-fri)")
        self.trigger()
        return self

    def trigger(self) -> CronTrigger:
        try:
            return CronTrigger.from_crontab(self.cron, timezone=ZoneInfo(self.timezone))
        except ValueError as exc:
            raise ValueError(f"cron {self.cron!r}: {exc}") from None


class CashJobSettings(BaseModel):
    """Where a cash-application job finds its saved runs, and target payment details."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: folder of saved cash runs (the ``--out`` directories of ``reconcile cash``), or one
    runs: str
    #: Zuora: the external payment's ``paymentMethodType`` (enabled in the tenant)
    payment_method_type: str = "Other"
    #: NetSuite: internal id of the account payments are deposited to (else its default)
    deposit_account: str | None = None


class SyncJobSettings(BaseModel):
    """One sync job: read entities from ``source``, write them to ``target``.

    A ``cash_application`` job has no source connection: it writes the approved
    applications of the saved cash runs in ``cash.runs`` as payments.
    Its schedule lives in the config file's ``schedules`` section under the job's name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,120}$")
    kind: JobKind = "records"
    source: str = ""  # connection name in the config file (records jobs)
    target: str
    target_kind: TargetKind
    entities: tuple[str, ...] = ("customer", "contract")
    #: canonical entity -> mapping spec name or path (its version is stamped on every write)
    mappings: dict[str, str] = Field(default_factory=dict)
    #: Zuora: SKU -> (productRatePlanId, productRatePlanChargeId or null); default: the SKU
    catalog: dict[str, tuple[str, str | None]] = Field(default_factory=dict)
    #: re-read this far behind the cursor: rows that commit late with older timestamps
    lookback: timedelta = timedelta(minutes=15)
    #: intents per target call (Zuora: at most 50 actions per synchronous order call)
    batch_size: int = Field(default=50, ge=1, le=300)
    concurrency: int = Field(default=4, ge=1, le=32)
    #: failed attempts (across runs) before an intent is dead-lettered
    max_attempts: int = Field(default=8, ge=1)
    #: retry rounds inside one run for transient failures (the rest wait for the next run)
    retry_rounds: int = Field(default=3, ge=0)
    #: maximum target calls per run; None means unlimited
    budget: int | None = Field(default=None, ge=1)
    #: lease time to live; longer than the worst-case run, renewed while running
    lease_ttl: timedelta = timedelta(hours=2)
    #: cash_application jobs: the saved runs and payment details
    cash: CashJobSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _cash_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "cash_application":
            data = {"entities": list(CASH_ENTITIES), **data}
        return data

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in value if e not in SYNCABLE_ENTITIES]
        if unknown:
            raise ValueError(f"cannot sync {unknown}; choose from {list(SYNCABLE_ENTITIES)}")
        if not value:
            raise ValueError("a sync job needs at least one entity")
        return tuple(sorted(set(value), key=SYNCABLE_ENTITIES.index))

    @model_validator(mode="after")
    def _kind_fits(self) -> SyncJobSettings:
        if self.kind == "cash_application":
            if self.cash is None:
                raise ValueError("a cash_application job needs 'cash: {runs: FOLDER}'")
            if self.entities != CASH_ENTITIES:
                raise ValueError("a cash_application job writes payments only")
            return self
        if not self.source:
            raise ValueError("a records job needs a source connection")
        if self.cash is not None:
            raise ValueError("'cash' settings belong to a job of kind cash_application")
        if set(self.entities) & set(CASH_ENTITIES):
            raise ValueError("payments are written by a job of kind cash_application")
        return self

    @model_validator(mode="after")
    def _zuora_batch_limit(self) -> SyncJobSettings:
        if self.target_kind == "zuora" and self.batch_size > 50:
            raise ValueError("Zuora accepts at most 50 order actions per synchronous call")
        return self


class NightlySettings(BaseModel):
    """The nightly chain: these sync jobs, then these reconciliations, then the report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sync_jobs: tuple[str, ...] = ()
    reconciliations: tuple[str, ...] = ()
    report: bool = True
    #: go on with reconciliation when a sync job fails (its failure is on the report anyway)
    continue_on_error: bool = True
    schedule: ScheduleSettings = ScheduleSettings(cron="0 2 * * *")
