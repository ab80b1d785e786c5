"""Append-only run log rows (table ``run_log``).

A row's message is often an exception's text (a vendor's error body, a config problem): it
is scrubbed of every known secret and token here, where every sync, cash, scheduler and
nightly row is written, since an append-only row cannot be cleaned later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from billbridge import logs
from billbridge.state import Store
from billbridge.state.schema import RunLogRow


def append(
    store: Store,
    *,
    run_id: str,
    job: str,
    event: str,
    at: datetime,
    kind: str = "sync",
    counts: dict[str, Any] | None = None,
    mapping_versions: dict[str, Any] | None = None,
    message: str | None = None,
    holder: str | None = None,
) -> None:
    with store.session() as s:
        s.add(
            RunLogRow(
                run_id=run_id,
                job=job,
                kind=kind,
                event=event,
                at=at,
                counts=counts or {},
                mapping_versions=mapping_versions or {},
                message=logs.scrub_text(message) if message is not None else None,
                holder=holder,
            )
        )


def rows(store: Store, *, job: str | None = None, run_id: str | None = None) -> list[RunLogRow]:
    stmt = select(RunLogRow).order_by(RunLogRow.id)
    if job is not None:
        stmt = stmt.where(RunLogRow.job == job)
    if run_id is not None:
        stmt = stmt.where(RunLogRow.run_id == run_id)
    with store.session() as s:
        return list(s.scalars(stmt))
