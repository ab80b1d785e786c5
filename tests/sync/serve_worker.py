"""A ``serve`` process for the subprocess tests (run as ``python -m tests.sync.serve_worker``).

mode ``tick``: a per-second job that records its work in run_log (two of these share one
PostgreSQL store). mode ``sync``: a scheduled sync run against a slow fake target, to be
stopped with SIGTERM mid-run.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from billbridge.state import Store
from sync import runlog
from sync.runner import run_job
from sync.scheduler import ScheduledEntry, serve_entries
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    schema = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    store = Store(url, schema=schema)
    stop = threading.Event()
    holder = f"worker-{mode}-{time.monotonic_ns()}"
    if mode == "tick":

        def work(run_id: str) -> None:
            runlog.append(
                store,
                run_id=run_id,
                job="tick",
                kind="test",
                event="work",
                at=datetime.now(UTC),
                holder=holder,
            )
            time.sleep(0.3)

        entry = ScheduledEntry(
            "tick", CronTrigger(second="*", timezone=UTC), work, lease_ttl=timedelta(seconds=10)
        )
    else:
        src, tgt = FakeSource(), FakeTarget(latency=0.15)
        src.put("customer", customer("001A"))
        for n in range(40):
            src.put("contract", contract(f"8{n:03d}", "001A", [line("L1")]))
        job = JOB.model_copy(update={"batch_size": 1, "concurrency": 1})

        def sync(run_id: str) -> None:
            run_job(
                job,
                source=src,
                target=tgt,
                store=store,
                mode="apply",
                run_id=run_id,
                stop_event=stop,
            )

        entry = ScheduledEntry("sync:sf_to_zuora", CronTrigger(second="*", timezone=UTC), sync)
    print("ready", flush=True)
    serve_entries([entry], store=store, stop=stop, holder=holder)


if __name__ == "__main__":
    main()
