"""Scheduling: APScheduler settings, slot de-duplication, leases, listeners, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, text

from billbridge.state import Store
from billbridge.state.schema import JobLeaseRow, OutboxIntentRow, RunLogRow
from sync import leases, runlog
from sync.scheduler import ScheduledEntry, _listener, build_scheduler, fire, last_fire_time
from sync.settings import ScheduleSettings

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2025, 3, 3, 10, 0, 30, tzinfo=UTC)


def test_last_fire_time_is_the_slot_a_run_stands_for() -> None:
    quarter = ScheduleSettings(cron="*/15 * * * *").trigger()
    assert last_fire_time(quarter, T) == datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    assert last_fire_time(quarter, T + timedelta(minutes=29)) == T.replace(minute=15, second=0)
    nightly = ScheduleSettings(cron="0 2 * * *", timezone="Europe/Berlin").trigger()
    assert last_fire_time(nightly, T).astimezone(UTC) == datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def test_scheduler_uses_safe_defaults_and_stable_ids(sqlite_store: Store) -> None:
    sched_entry = ScheduledEntry.from_schedule(
        "sync:a", ScheduleSettings(cron="*/15 * * * *", misfire_grace_hours=3), lambda r: None
    )
    sched = build_scheduler(
        [sched_entry, sched_entry], store=sqlite_store, scheduler_cls=BackgroundScheduler
    )
    sched.start(paused=True)
    try:
        jobs = sched.get_jobs()
    finally:
        sched.shutdown(wait=False)
    assert [j.id for j in jobs] == ["sync:a"]  # replace_existing: no second copy
    job = jobs[0]
    assert job.misfire_grace_time == 3 * 3600 and job.coalesce is True and job.max_instances == 1
    assert sched._job_defaults == {
        "coalesce": True,
        "misfire_grace_time": 3 * 3600,
        "max_instances": 1,
    }


def test_fire_runs_each_slot_once_and_skips_while_leased(sqlite_store: Store) -> None:
    ran: list[str] = []
    entry = ScheduledEntry("sync:a", ScheduleSettings(cron="*/15 * * * *").trigger(), ran.append)
    first = fire(entry, store=sqlite_store, holder="h1", clock=lambda: T)
    again = fire(entry, store=sqlite_store, holder="h2", clock=lambda: T + timedelta(seconds=5))
    assert first is not None and again is None and ran == [first]
    assert leases.acquire(sqlite_store, "sync:a", "manual", timedelta(hours=1), T)
    busy = fire(entry, store=sqlite_store, holder="h2", clock=lambda: T + timedelta(minutes=15))
    assert busy is None
    events = [r.event for r in runlog.rows(sqlite_store, job="sync:a")]
    assert events == ["fired", "skipped_busy"]


def test_listener_writes_errors_to_the_run_log(sqlite_store: Store) -> None:
    record = _listener(sqlite_store, "h", lambda: T)
    record(
        JobExecutionEvent(EVENT_JOB_ERROR, "sync:a", "default", T, exception=RuntimeError("boom"))
    )
    rows = runlog.rows(sqlite_store, job="sync:a")
    assert [(r.kind, r.event, r.message) for r in rows] == [
        ("scheduler", "error", "RuntimeError: boom")
    ]


def test_lease_is_exclusive_until_it_expires(store: Store) -> None:
    ttl = timedelta(minutes=5)
    assert leases.acquire(store, "j", "a", ttl, T)
    assert not leases.acquire(store, "j", "b", ttl, T + timedelta(minutes=1))
    assert leases.acquire(store, "j", "a", ttl, T + timedelta(minutes=1))  # re-entrant
    assert leases.renew(store, "j", "a", ttl, T + timedelta(minutes=2))
    assert not leases.acquire(store, "j", "b", ttl, T + timedelta(minutes=6))
    # the holder crashed: nobody renews, the lease expires and another holder takes it
    assert leases.acquire(store, "j", "b", ttl, T + timedelta(minutes=8))
    assert not leases.renew(store, "j", "a", ttl, T + timedelta(minutes=8))
    leases.release(store, "j", "b")
    assert leases.acquire(store, "j", "c", ttl, T + timedelta(minutes=9))


def test_concurrent_acquirers_get_one_winner(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        wins = list(
            pool.map(
                lambda h: leases.acquire(store, "race", f"h{h}", timedelta(minutes=5), T), range(8)
            )
        )
    assert wins.count(True) == 1


#: longer than the lease's ttl (30 s)
TTL_GAP = timedelta(minutes=1)


def test_lease_context_renews_and_flags_a_lost_lease(sqlite_store: Store) -> None:
    now = [T]
    lease = leases.Lease(
        sqlite_store,
        "j",
        ttl=timedelta(seconds=30),
        holder="me",
        clock=lambda: now[0],
        renew_every=0.02,
    )
    with lease:
        time.sleep(0.08)
        row = leases.current(sqlite_store, "j")
        assert row is not None and row.holder == "me"
        with pytest.raises(leases.LeaseBusy):
            leases.Lease(
                sqlite_store, "j", ttl=timedelta(seconds=30), holder="other", clock=lambda: now[0]
            ).__enter__()
        # someone takes over after expiry: our renewal fails and we notice. The thief comes
        # later than any renewal our clock jump allows (the renewer may run at the new time
        # first, extending the lease by its ttl)
        now[0] = T + timedelta(minutes=5)
        assert leases.acquire(sqlite_store, "j", "thief", timedelta(minutes=5), now[0] + TTL_GAP)
        deadline = time.monotonic() + 2
        while not lease.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert lease.lost.is_set()
    row = leases.current(sqlite_store, "j")
    assert row is not None and row.holder == "thief"  # a lost lease is not released


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.serve_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


@pytest.mark.slow
def test_two_serve_processes_run_each_slot_once(pg_url: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    store = Store(pg_url, schema=schema)
    try:
        procs = [_spawn("tick", pg_url, schema) for _ in range(2)]
        time.sleep(2.5)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=15)
        with store.session() as s:
            rows = list(s.scalars(select(RunLogRow).where(RunLogRow.job == "tick")))
        fired = Counter(r.run_id for r in rows if r.event == "fired")
        worked = Counter(r.run_id for r in rows if r.event == "work")
        assert len(fired) >= 2, f"too few slots ran: {fired}"
        assert all(n == 1 for n in fired.values()), f"a slot ran twice: {fired}"
        assert worked == fired
        assert all(p.returncode == 0 for p in procs), [p.stderr.read() for p in procs if p.stderr]
    finally:
        store.close()
        from billbridge.state.db import make_engine

        eng = make_engine(pg_url)
        with eng.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


@pytest.mark.slow
def test_sigterm_finishes_the_batch_and_releases_the_lease(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store(url)
    proc = _spawn("sync", url, "-")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until the run is sending
        with store.session() as s:
            if s.scalar(
                select(OutboxIntentRow.idempotency_key)
                .where(OutboxIntentRow.status == "applied")
                .limit(1)
            ):
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    with store.session() as s:
        statuses = Counter(r.status for r in s.scalars(select(OutboxIntentRow)))
        leases_held = [r.holder for r in s.scalars(select(JobLeaseRow)) if r.holder]
        finished = [r for r in s.scalars(select(RunLogRow)) if r.event == "finished"]
    assert leases_held == []
    assert statuses["sent"] == 0, "a batch was abandoned mid-flight"
    assert statuses["applied"] >= 1 and statuses["pending"] >= 1  # stopped early, not lost
    assert finished and finished[0].message == "stop_requested"


def _dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_over_at_once(
    store: Store,
) -> None:
    import socket

    ttl = timedelta(hours=2)
    dead = f"{socket.gethostname()}:{_dead_pid()}:deadbeef"
    assert leases.acquire(store, "j", dead, ttl, T)
    # kill -9 mid-run: nobody released it, yet the next run need not wait two hours
    assert leases.acquire(store, "j", "me", ttl, T + timedelta(minutes=1))
    row = leases.current(store, "j")
    assert row is not None and row.holder == "me"
    assert not leases.renew(store, "j", dead, ttl, T + timedelta(minutes=2))


def test_a_live_or_foreign_holder_is_not_taken_over(store: Store) -> None:
    import socket

    ttl = timedelta(hours=2)
    host = socket.gethostname()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert leases.acquire(store, "live", f"{host}:{live.pid}:aa", ttl, T)
        assert not leases.acquire(store, "live", "me", ttl, T + timedelta(minutes=1))
    finally:
        live.kill()
        live.wait()
    # another host's pid means nothing here; an unparsable holder is never judged dead
    assert leases.acquire(store, "far", f"other-host:{_dead_pid()}:bb", ttl, T)
    assert not leases.acquire(store, "far", "me", ttl, T + timedelta(minutes=1))
    assert leases.acquire(store, "odd", "scheduler-1", ttl, T)
    assert not leases.acquire(store, "odd", "me", ttl, T + timedelta(minutes=1))
