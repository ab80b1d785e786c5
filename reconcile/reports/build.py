"""Build a report from the exception store: what is open per reconciliation, what is new,
what the data resolved since the last run, and dead-lettered sync writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from billbridge import logs
from reconcile.exceptions import ACTIVE, ExceptionStore, ExceptionView, RunState
from reconcile.exceptions.display import (
    UNKNOWN,
    FieldKinds,
    flat_fields,
    known_kinds,
    side_value,
)
from reconcile.reports.model import ReconSection, Report, ReportItem

DEAD_LETTER_CATEGORY = "SYNC_DEAD_LETTER"
#: words a section title writes upper-case, as AR staff write them
ACRONYMS = frozenset({"ap", "ar", "acv", "crm", "erp", "gl", "je", "mrr", "sku", "vat"})


def section_title(recon: str) -> str:
    """A report section's title from the recon's recorded name: "CRM vs billing", "AR
    subledger GL", "Billing vs ERP invoices" (definitions carry no title of their own)."""
    if recon.startswith("sync:"):
        # rejected and dead-lettered writes, and changes that need a person (SYNC_MANUAL_ACTION)
        return f"Sync job {recon.removeprefix('sync:')}: writes not made"
    words = [w for w in recon.replace("-", "_").split("_") if w]
    shown = [w.upper() if w.lower() in ACRONYMS else w.lower() for w in words]
    if shown and shown[0].islower():
        shown[0] = shown[0].capitalize()
    return " ".join(shown) or recon


def describe(view: ExceptionView, kinds: FieldKinds = UNKNOWN) -> str:
    """One readable line: which fields differ and how, why the item is open, or a suite
    finding's recorded values. ``kinds``:
    the recon's amount and currency fields (amounts keep their minor units, currency codes
    are upper-case)."""
    details: dict[str, Any] = view.details or {}
    diff = details.get("diff_columns") or []
    sides = [details.get("a") or {}, details.get("b") or {}]
    if "c" in details:  # a three-sided reconciliation
        sides.append(details["c"] or {})
    if diff:
        return "; ".join(
            f"{col}: "
            + " vs ".join(side_value(col, s.get(col), s, view.currency, kinds) for s in sides)
            for col in diff
        )
    for key in ("reason", "message", "error"):
        if details.get(key):
            return str(details[key])
    # an AR-suite finding: its flat key/value details ("expected 1200.00 · actual 0")
    flat = [f"{name} {value}" for name, value in flat_fields(details, view.currency) if value]
    if flat:
        return " · ".join(flat)
    return view.category.replace("_", " ").lower()


def to_item(view: ExceptionView, kinds: FieldKinds = UNKNOWN) -> ReportItem:
    """A report row. Its text is partly from outside (a vendor's rejection reason, a
    record's values), and the report is mailed: what it shows is scrubbed of secrets and of
    credentials in the shapes vendors echo them, whatever the store holds."""
    return ReportItem(
        exception_id=view.id,
        recon=view.recon,
        category=view.category,
        keys=logs.scrub_value(dict(view.keys)),
        description=logs.scrub_vendor_text(describe(view, kinds)),
        amount=view.amount,
        currency=view.currency,
        severity=view.severity,
        run_state=view.run_state,
        status=view.status,
        age_days=view.age_days,
        first_seen=view.first_seen,
        last_seen=view.last_seen,
        resolved_at=view.resolved_at,
        owner=view.owner,
        # a sync row's details hold the vendor's reason; other recons' details are compared
        # values, shown only through the (scrubbed) description
        details=(
            logs.scrub_value(dict(view.details or {}))
            if view.recon.startswith("sync:")
            else dict(view.details or {})
        ),
    )


def report_from_store(
    exceptions: ExceptionStore,
    sections: Sequence[tuple[str, str]],
    *,
    title: str,
    now: datetime,
    run_id: str | None = None,
    run_ids: Mapping[str, str | None] | None = None,
    summaries: dict[str, dict[str, Any]] | None = None,
    kinds: Mapping[str, FieldKinds] | None = None,
) -> Report:
    """``sections``: (recon name, title) pairs in the order the report shows them.

    "Resolved since last run" lists what the data resolved in one run per recon: its entry
    in ``run_ids`` (None: it never ran, so nothing), else ``run_id``; with neither, every
    exception the data ever resolved.

    ``kinds``: each recon's amount and currency fields (default: as its latest run
    recorded them, else the built-ins')."""
    kinds = {**known_kinds(), **exceptions.recorded_kinds()} if kinds is None else kinds
    last_runs = exceptions.latest_run_times(name for name, _ in sections)
    built = []
    for name, section_title in sections:
        views = exceptions.list(recon=name, now=now)
        own = kinds.get(name, UNKNOWN)
        open_items = [
            to_item(v, own)
            for v in views
            if v.status in ACTIVE and v.category != DEAD_LETTER_CATEGORY
        ]
        latest = run_ids[name] if run_ids is not None and name in run_ids else run_id
        every = latest is None and (run_ids is None or name not in run_ids)
        resolved = [
            to_item(v, own)
            for v in views
            if v.run_state == RunState.RESOLVED_BY_DATA and (every or v.last_run_id == latest)
        ]
        built.append(
            ReconSection(
                name=name,
                title=section_title,
                items=open_items,
                resolved=resolved,
                summary=(summaries or {}).get(name, {}),
                last_run_at=last_runs.get(name),
            )
        )
    dead = [
        to_item(v, kinds.get(v.recon, UNKNOWN))
        for v in exceptions.list(categories=[DEAD_LETTER_CATEGORY], now=now)
        if v.status in ACTIVE
    ]
    return Report(title=title, generated_at=now, run_id=run_id, sections=built, dead_letters=dead)
