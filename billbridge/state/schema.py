"""State store tables. Append-only logs (run_log, outbox_events, exception_history,
audit_events) only ever get INSERTs; a status change is a new row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from billbridge.state.types import DecimalText, UTCDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: UTCDateTime,
        Decimal: DecimalText,
    }


# -- runs and cursors ---------------------------------------------------------------
class RunLogRow(Base):
    """One row per run event (started, finished, failed, missed, ...)."""

    __tablename__ = "run_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    job: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mapping_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    holder: Mapped[str | None] = mapped_column(String(200))
    #: a reconciliation run's severity rules (its definition's), recorded with the run so
    #: the exception list and reports size its exceptions by them, not by the defaults
    severity_rules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: which compared fields of a reconciliation run are amounts and which hold the
    #: currency, so its exceptions show minor units even when no config names its
    #: definition (a ``--definitions`` file, a UAT entity)
    field_kinds: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CursorRow(Base):
    __tablename__ = "cursors"
    job: Mapped[str] = mapped_column(String(200), primary_key=True)
    stream: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobLeaseRow(Base):
    __tablename__ = "job_leases"
    job: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    acquired_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()


# -- sync: last synced versions and the outbox --------------------------------------------
class SyncSnapshotRow(Base):
    """The last version of a source record that was synced, for change detection."""

    __tablename__ = "sync_snapshots"
    job: Mapped[str] = mapped_column(String(200), primary_key=True)
    entity: Mapped[str] = mapped_column(String(80), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source_version: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]] = mapped_column()
    run_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxIntentRow(Base):
    __tablename__ = "outbox_intents"
    idempotency_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    job: Mapped[str] = mapped_column(String(200), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    target_system: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(80))
    op: Mapped[str] = mapped_column(String(20))
    action: Mapped[str | None] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(200))
    business_number: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column()
    payload_hash: Mapped[str] = mapped_column(String(64))
    source_system: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(200))
    source_version: Mapped[str] = mapped_column(String(200))
    mapping_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: current state, denormalised from outbox_events for cheap queries
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    target_id: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxEventRow(Base):
    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(
        ForeignKey("outbox_intents.idempotency_key"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    target_id: Mapped[str | None] = mapped_column(String(200))
    error_code: Mapped[str | None] = mapped_column(String(80))
    message: Mapped[str | None] = mapped_column(Text)
    failure_type: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(120))
    ticket: Mapped[str | None] = mapped_column(String(120))


# -- reconciliation exceptions ------------------------------------------------------------
class ExceptionRow(Base):
    __tablename__ = "exceptions"
    #: one index serves "a recon's exceptions" and "its open ones": a run inserting 20k
    #: exceptions maintained two before (recon; status) for no query that needed both
    __table_args__ = (Index("ix_exceptions_recon_status", "recon", "status"),)
    exception_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recon: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(60))
    keys: Mapped[dict[str, Any]] = mapped_column()
    key_text: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column()
    severity: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column()
    #: as the source had it (revision 0006): ``EURO`` in a file is reported, not refused
    currency: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    run_state: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(120))
    last_run_id: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column()
    #: the run that first found it: with ``first_seen``, its NEW event (not a history row;
    #: NULL on rows recorded before revision 0005, whose NEW event is in the history)
    first_run_id: Mapped[str | None] = mapped_column(String(64))


class ExceptionHistoryRow(Base):
    __tablename__ = "exception_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exception_id: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(30))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)


class SuppressionRow(Base):
    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recon: Mapped[str | None] = mapped_column(String(120))
    exception_id: Mapped[str | None] = mapped_column(String(64), index=True)
    pattern: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))


class MatchDecisionRow(Base):
    """Accepted or rejected match suggestions (a rejection must not come back)."""

    __tablename__ = "match_decisions"
    proposal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recon: Mapped[str] = mapped_column(String(120))
    decision: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column()
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(default=utcnow)


# -- audit ----------------------------------------------------------------------------
class AuditEventRow(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(200))
    ticket: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# -- bank and EDI feeds ---------------------------------------------------------------
class FeedFileRow(Base):
    __tablename__ = "feed_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(40))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[str | None] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FeedStatementRow(Base):
    __tablename__ = "feed_statements"
    __table_args__ = (UniqueConstraint("account_id", "statement_key", name="uq_feed_statement"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_sha256: Mapped[str] = mapped_column(ForeignKey("feed_files.sha256"), index=True)
    account_id: Mapped[str] = mapped_column(String(80), index=True)
    statement_key: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(3))
    period_start: Mapped[str | None] = mapped_column(String(10))
    period_end: Mapped[str | None] = mapped_column(String(10))
    opening: Mapped[Decimal | None] = mapped_column()
    closing: Mapped[Decimal | None] = mapped_column()
    intraday: Mapped[bool] = mapped_column(default=False)


class FeedRecordRow(Base):
    __tablename__ = "feed_records"
    __table_args__ = (Index("ix_feed_records_kind_key", "kind", "record_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_sha256: Mapped[str] = mapped_column(ForeignKey("feed_files.sha256"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    record_key: Mapped[str] = mapped_column(String(200))
    record: Mapped[dict[str, Any]] = mapped_column()
