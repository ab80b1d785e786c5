"""Show a plan like ``terraform plan`` (rich text), and save it as JSON and XLSX for UAT sign-off.

Per record: what happened at the source (events, fields before -> after) and what will be
written (action, external id, short idempotency key). A cash-application payment shows its
invoices and amounts, deductions and the unapplied remainder instead of events. The JSON
file is what ``billbridge sync apply --plan`` reads back; the XLSX is for the business to
review and sign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from billbridge.errors import ConfigError
from sync.events import EventKind, LifecycleEvent
from sync.planner import Plan, PlannedChange

_ADD = {EventKind.NEW_SUBSCRIPTION, EventKind.NEW_CUSTOMER, EventKind.ADD_PRODUCT}
_REMOVE = {EventKind.REMOVE_PRODUCT, EventKind.CANCELLATION}


def symbol(kind: EventKind) -> tuple[str, str]:
    """Terraform's signs and colours: + create (green), ~ change (yellow), - remove (red)."""
    if kind in _ADD:
        return "+", "green"
    if kind in _REMOVE:
        return "-", "red"
    return "~", "yellow"


def summary(plan: Plan) -> Counter[str]:
    counts: Counter[str] = Counter()
    for change in plan.changes:
        if change.entity == "payment" and not change.events:
            counts["add"] += 1  # a payment is always a new record in the target
        if change.manual:
            counts["manual"] += 1  # written nowhere: not an add, change or remove
            continue
        for ev in change.events:
            sign, _ = symbol(ev.kind)
            counts[{"+": "add", "-": "remove", "~": "change"}[sign]] += 1
    counts["writes"] = len(plan.intents())
    counts["resumed"] = len(plan.resumed)
    return counts


def _event_line(ev: LifecycleEvent) -> Text:
    sign, colour = symbol(ev.kind)
    text = Text(f"    {sign} {ev.kind.value.replace('_', ' ')}", style=colour)
    if ev.line_id:
        text.append(f"  line {ev.line_id}")
    if ev.effective_date:
        text.append(f"  effective {ev.effective_date.isoformat()}", style="dim")
    return text


def render(plan: Plan, console: Console) -> None:
    """Print the plan to ``console`` (colours when it is a terminal)."""
    versions = ", ".join(f"{k}={v[:12]}" for k, v in sorted(plan.mapping_versions.items()))
    console.print(
        Text(f"Sync plan for job {plan.job} -> {plan.target_kind}", style="bold"),
        Text(
            f"  created {plan.created_at.isoformat()}  fingerprint {plan.fingerprint()[:12]}",
            style="dim",
        ),
    )
    if versions:
        console.print(Text(f"  mapping versions: {versions}", style="dim"))
    if plan.resumed:
        console.print(
            Text(
                f"  {len(plan.resumed)} unfinished write(s) from earlier runs go first",
                style="yellow",
            )
        )
    held = (
        "held back" if "payment" in plan.mapping_versions else "not mapped, left for the next run"
    )
    for error in plan.errors:
        console.print(Text(f"! {held}: {error}", style="bold red"))
    if not plan.changes:
        console.print(Text("No changes. The target is up to date.", style="green"))
        return
    for change in plan.changes:
        _render_change(change, console)
    c = summary(plan)
    console.print(
        Text(
            f"Plan: {c['add']} to add, {c['change']} to change, {c['remove']} to remove "
            f"({c['writes']} writes)."
            + (f" {c['manual']} need manual handling (not written)." if c["manual"] else ""),
            style="bold",
        )
    )


def payment_lines(change: PlannedChange) -> Iterator[tuple[str, str, str, str]]:
    """(sign, what, invoice, amount) of a planned payment: applications, deductions and
    the remainder left unapplied (on account)."""
    for intent in change.intents:
        payload: dict[str, Any] = intent.payload
        ccy = str(payload.get("currency", ""))
        for app in payload.get("applications") or []:
            yield "+", "apply", str(app["invoice_number"]), f"{app['amount']['amount']} {ccy}"
        extra = payload.get("extra") or {}
        for d in extra.get("deductions") or []:
            why = f"deduction ({d.get('reason') or 'DEDUCTION'}), left open"
            yield "~", why, str(d["invoice_number"]), f"{d['amount']} {ccy}"
        rest = str(extra.get("unapplied") or "0")
        if Decimal(rest) != 0:
            yield "~", "unapplied (on account)", "", f"{rest} {ccy}"


def _render_change(change: PlannedChange, console: Console) -> None:
    if change.entity == "payment" and not change.events:
        _render_payment(change, console)
        return
    sign, colour = symbol(change.events[0].kind) if change.events else ("~", "yellow")
    head = Text(f"{sign} {change.entity} {change.source_id}", style=f"bold {colour}")
    head.append(f"  {change.label}  (version {change.source_version})", style="default")
    console.print(head)
    for ev in change.events:
        console.print(_event_line(ev))
        for fc in ev.changes:
            line = Text(f"        {fc.field}: ")
            line.append(fc.before if fc.before is not None else "(none)", style="red")
            line.append(" -> ")
            line.append(fc.after if fc.after is not None else "(none)", style="green")
            console.print(line)
    for why in change.manual:
        console.print(Text(f"    ! needs manual handling, not written: {why}", style="bold red"))
    _render_writes(change, console)


def _render_payment(change: PlannedChange, console: Console) -> None:
    head = Text(f"+ payment {change.source_id}", style="bold green")
    head.append(f"  {change.label}", style="default")
    console.print(head)
    for sign, what, invoice, amount in payment_lines(change):
        line = Text(f"    {sign} {what}", style="green" if sign == "+" else "yellow")
        line.append(f"  {invoice}  {amount}" if invoice else f"  {amount}")
        console.print(line)
    _render_writes(change, console)


def _render_writes(change: PlannedChange, console: Console) -> None:
    for intent in change.intents:
        what = intent.action or intent.op.value
        console.print(
            Text(
                f"      write {intent.target_system} {intent.entity} {what} "
                f"{intent.external_id}  key {intent.idempotency_key[:12]}",
                style="cyan",
            )
        )


# -- files ------------------------------------------------------------------------------
def save(plan: Plan, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    elif suffix == ".xlsx":
        to_xlsx(plan, path)
    else:
        raise ConfigError(f"{path}: save a plan as .json (for apply) or .xlsx (for sign-off)")


def load(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the plan ({exc.strerror})") from None
    try:
        return Plan.model_validate_json(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not a saved sync plan ({exc.__class__.__name__})") from None


_COLUMNS = (
    "Record",
    "Source id",
    "Label",
    "Version",
    "Change",
    "Line",
    "Effective",
    "Field",
    "Before",
    "After",
    "Writes",
)


def to_xlsx(plan: Plan, path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    try:
        bold = book.add_format({"bold": True})
        fills = {
            s: book.add_format({"font_color": c})
            for s, c in (("+", "#1a7f37"), ("-", "#cf222e"), ("~", "#9a6700"))
        }
        sheet = book.add_worksheet("Plan")
        sheet.write_row(0, 0, _COLUMNS, bold)
        sheet.freeze_panes(1, 0)
        row = 1
        for change in plan.changes:
            writes = ", ".join(f"{i.action or i.op.value} {i.external_id}" for i in change.intents)
            if change.entity == "payment" and not change.events:
                day = str(change.intents[0].payload.get("received_date", ""))
                for sign, what, invoice, amount in payment_lines(change):
                    sheet.write_row(
                        row,
                        0,
                        (
                            change.entity,
                            change.source_id,
                            change.label,
                            change.source_version,
                            f"{sign} {what}",
                            invoice,
                            day,
                            "amount",
                            "",
                            amount,
                            writes,
                        ),
                        fills[sign],
                    )
                    row += 1
            for ev in change.events:
                sign, _ = symbol(ev.kind)
                for fc in ev.changes or (None,):
                    sheet.write_row(
                        row,
                        0,
                        (
                            change.entity,
                            change.source_id,
                            change.label,
                            change.source_version,
                            f"{sign} {ev.kind.value}",
                            ev.line_id or "",
                            ev.effective_date.isoformat() if ev.effective_date else "",
                            fc.field if fc else "",
                            (fc.before or "") if fc else "",
                            (fc.after or "") if fc else "",
                            writes,
                        ),
                        fills[sign],
                    )
                    row += 1
        sheet.autofilter(0, 0, max(row - 1, 1), len(_COLUMNS) - 1)
        sheet.set_column(0, len(_COLUMNS) - 1, 18)
        sign_off = book.add_worksheet("Sign-off")
        c = summary(plan)
        for r, (label, value) in enumerate(
            (
                ("Job", plan.job),
                ("Target", plan.target_kind),
                ("Planned at", plan.created_at.isoformat()),
                ("Plan fingerprint", plan.fingerprint()),
                ("Writes", str(c["writes"])),
                ("Unfinished from earlier runs", str(c["resumed"])),
                ("Approved by", ""),
                ("Approval date", ""),
                ("Ticket", ""),
            )
        ):
            sign_off.write(r, 0, label, bold)
            sign_off.write(r, 1, value)
        sign_off.set_column(0, 1, 40)
    finally:
        book.close()
