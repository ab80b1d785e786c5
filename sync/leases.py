"""Job leases in the state store: at most one holder per job across processes and hosts.

APScheduler 3.x cannot share a job store between processes and its ``max_instances`` is an
in-process counter, so a second ``serve``, a manual run or a UAT invocation is kept out by a
lease row taken with one conditional UPDATE (only when free, expired or already ours) or,
when no row exists yet, an INSERT that loses cleanly to a concurrent one. The holder renews
it while running; a crashed holder's lease expires, or is taken over at once when the holder
ran on this host and its process is gone (holders are ``host:pid:token``). Elsewhere an
operator releases it with ``billbridge sync release-lease`` (audited).
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


def dead_local_holder(holder: str | None) -> bool:
    """True only when ``holder`` ran on this host and its process no longer exists.

    A reused pid looks alive and a foreign host is never judged: both wait for the ttl (or
    an operator), so two live runs are still kept apart."""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or not token:
        return False
    pid = int(pid_text)
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by someone else
    return False


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
        row = s.get(JobLeaseRow, job)
        if row is not None:
            dead = row.holder
            if not dead_local_holder(dead):
                return False
            # A crashed run on this host (kill -9, OOM) left its lease: resume at once instead
            # of waiting out the ttl. Conditional on the dead holder, so one taker wins.
            res = s.execute(
                update(JobLeaseRow)
                .where(JobLeaseRow.job == job, JobLeaseRow.holder == dead)
                .values(holder=holder, acquired_at=now, expires_at=now + ttl)
                .execution_options(synchronize_session=False)
            )
            assert isinstance(res, CursorResult)
            if res.rowcount == 1:
                log.warning("lease.taken_over", job=job, holder=holder, dead_holder=dead)
                return True
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


def force_release(store: Store, job: str) -> str | None:
    """Free the lease whoever holds it; returns the holder it had (None: it was free).

    A live holder notices at its next renewal (``LeaseLost``) and stops before its next
    batch; the operator command that calls this says so."""
    with store.session() as s:
        row = s.get(JobLeaseRow, job)
        if row is None or row.holder is None:
            return None
        was = row.holder
        row.holder, row.expires_at = None, None
        return was


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
            raise LeaseBusy(
                f"job {self.job} is already running ({who}, lease until {until}); if that "
                f"process is dead, free it with 'billbridge sync release-lease {self.job}'"
            )
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
