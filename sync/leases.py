"""Job leases in the state store: at most one holder per job across processes and hosts.

APScheduler 3.x cannot share a job store between processes and its ``max_instances`` is an
in-process counter, so a second ``serve``, a manual run or a UAT invocation is kept out by a
lease row taken with one conditional UPDATE (only when free, expired or already ours) or,
when no row exists yet, an INSERT that loses cleanly to a concurrent one. The holder renews
it while running; a crashed holder's lease simply expires.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType

import structlog
from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError

from billbridge.errors import BillbridgeError
from billbridge.state import Store
from billbridge.state.schema import JobLeaseRow

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class LeaseBusy(BillbridgeError):
    """Another process holds the job's lease: this run does nothing."""


class LeaseLost(BillbridgeError):
    """The lease could not be renewed (expired and taken over): stop before the next batch."""


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def acquire(store: Store, job: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take (or re-take) the lease; True only when this holder has it afterwards."""
    with store.session() as s:
        res = s.execute(
            update(JobLeaseRow)
            .where(
                JobLeaseRow.job == job,
                or_(
                    JobLeaseRow.holder.is_(None),
                    JobLeaseRow.expires_at.is_(None),
                    JobLeaseRow.expires_at < now,
                    JobLeaseRow.holder == holder,
                ),
            )
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(res, CursorResult)
        if res.rowcount == 1:
            return True
        if s.get(JobLeaseRow, job) is not None:
            return False
    try:
        with store.session() as s:
            s.add(JobLeaseRow(job=job, holder=holder, acquired_at=now, expires_at=now + ttl))
    except IntegrityError:
        return False  # a concurrent holder inserted the row first
    return True


def renew(store: Store, job: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    with store.session() as s:
        res = s.execute(
            update(JobLeaseRow)
            .where(JobLeaseRow.job == job, JobLeaseRow.holder == holder)
            .values(expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(res, CursorResult)
        return res.rowcount == 1


def release(store: Store, job: str, holder: str) -> None:
    with store.session() as s:
        s.execute(
            update(JobLeaseRow)
            .where(JobLeaseRow.job == job, JobLeaseRow.holder == holder)
            .values(holder=None, expires_at=None)
            .execution_options(synchronize_session=False)
        )


def current(store: Store, job: str) -> JobLeaseRow | None:
    with store.session() as s:
        return s.get(JobLeaseRow, job)


class Lease:
    """``with Lease(store, job, ttl=...):`` holds the lease, renewing it in a thread.

    ``lost`` is set when a renewal fails; the runner checks it between batches.
    """

    def __init__(
        self,
        store: Store,
        job: str,
        *,
        ttl: timedelta,
        holder: str | None = None,
        clock: Clock = _utcnow,
        renew_every: float | None = None,
    ) -> None:
        self.store, self.job, self.ttl, self.clock = store, job, ttl, clock
        self.holder = holder or new_holder()
        self.renew_every = renew_every or max(ttl.total_seconds() / 3, 0.05)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        if not acquire(self.store, self.job, self.holder, self.ttl, self.clock()):
            row = current(self.store, self.job)
            until = row.expires_at.isoformat() if row and row.expires_at else "?"
            who = row.holder if row else "?"
            raise LeaseBusy(f"job {self.job} is already running ({who}, lease until {until})")
        self._thread = threading.Thread(target=self._keep, name=f"lease-{self.job}", daemon=True)
        self._thread.start()
        return self

    def _keep(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                ok = renew(self.store, self.job, self.holder, self.ttl, self.clock())
            except Exception as exc:  # noqa: BLE001 - store briefly unreachable; next tick
                log.warning("lease.renew_error", job=self.job, error=type(exc).__name__)
                continue
            if not ok:
                log.error("lease.lost", job=self.job, holder=self.holder)
                self.lost.set()
                return

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self.lost.is_set():
            release(self.store, self.job, self.holder)
