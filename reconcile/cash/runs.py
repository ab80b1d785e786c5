"""Saved cash runs: ``cash_run.json`` in a run's output directory.

The ad-hoc command writes every line's result there (the proposal with its rule,
confidence, status and applications, the exceptions) next to ``applications.csv``, so a
person can accept or reject suggestions later by proposal id and a cash sync job can turn
the approved applications into payment writes without matching again. A job points at a
folder of such directories; when one bank line appears in several runs, the newest run
wins (a re-run after fixing the invoice file supersedes the earlier proposal).

The file is JSON with amounts as decimal text (never floats); a file that does not parse
is refused with its path and the field that is wrong.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from billbridge.errors import ConfigError, ParseError
from canonical import Money
from reconcile.cash.model import (
    Application,
    CashException,
    CashLine,
    Category,
    Flags,
    LineResult,
    PartyRule,
    Proposal,
    Rule,
    Status,
)
from reconcile.cash.results import CashResult

RUN_FILE = "cash_run.json"
FORMAT = "billbridge.cash_run/1"


@dataclass(frozen=True)
class SavedRun:
    run_id: str
    created_at: datetime
    rule_version: str
    path: Path
    lines: tuple[LineResult, ...]
    #: input name -> {"file": name, "sha256": digest}
    inputs: Mapping[str, Mapping[str, str]]

    def proposals(self) -> list[Proposal]:
        return [r.proposal for r in self.lines if r.proposal is not None]


# -- writing ------------------------------------------------------------------------------
def save_run(
    result: CashResult,
    out: Path,
    *,
    inputs: Mapping[str, Path] | None = None,
    created_at: datetime | None = None,
    run_id: str | None = None,
) -> SavedRun:
    """Write ``out/cash_run.json`` (atomically: a half-written run is never read)."""
    out.mkdir(parents=True, exist_ok=True)
    created = (created_at or datetime.now(UTC)).astimezone(UTC)
    ident = run_id or uuid.uuid4().hex
    files = {name: {"file": p.name, "sha256": _sha256(p)} for name, p in (inputs or {}).items()}
    doc = {
        "format": FORMAT,
        "run_id": ident,
        "created_at": created.isoformat(),
        "rule_version": result.rule_version,
        "inputs": files,
        "lines": [_line_result(r) for r in result.lines],
    }
    path = out / RUN_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    tmp.replace(path)
    return SavedRun(ident, created, result.rule_version, path, result.lines, files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _money(m: Money | None) -> dict[str, str] | None:
    return None if m is None else {"amount": str(m.amount), "currency": m.currency}


def _line_result(r: LineResult) -> dict[str, Any]:
    ln = r.line
    prop = r.proposal
    return {
        "line": {
            "line_id": ln.line_id,
            "date": ln.date.isoformat(),
            "amount": _money(ln.amount),
            "payer_name": ln.payer_name,
            "payer_account": ln.payer_account,
            "text": ln.text,
            "doc_refs": list(ln.doc_refs),
            "deduction_reason": ln.deduction_reason,
            "doc_amounts": [[doc, str(amount)] for doc, amount in ln.doc_amounts],
            "doc_discounts": [[doc, str(amount)] for doc, amount in ln.doc_discounts],
            "returned_by": ln.returned_by,
        },
        "customer_id": r.customer_id,
        "party_rule": r.party_rule.value if r.party_rule else None,
        "proposal": None
        if prop is None
        else {
            "proposal_id": prop.proposal_id,
            "customer_id": prop.customer_id,
            "status": prop.status.value,
            "rule": prop.rule.value,
            "confidence": str(prop.confidence),
            "flags": {
                "reference_match": prop.flags.reference_match,
                "party_match": prop.flags.party_match,
                "amount_match": prop.flags.amount_match,
            },
            "on_account": _money(prop.on_account),
            "deduction_reason": prop.deduction_reason,
            "applications": [
                {
                    "invoice_number": a.invoice_number,
                    "customer_id": a.customer_id,
                    "amount": _money(a.amount),
                    "deduction": _money(a.deduction),
                }
                for a in prop.applications
            ],
        },
        "exceptions": [
            {
                "category": e.category.value,
                "amount": _money(e.amount),
                "reason": e.reason,
                "customer_id": e.customer_id,
                "invoice_numbers": list(e.invoice_numbers),
                "details": dict(e.details),
            }
            for e in r.exceptions
        ],
    }


# -- reading ------------------------------------------------------------------------------
class _Reader:
    """Field access that names the file and the JSON path of whatever is wrong."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ParseError:
        return ParseError(f"{where}: {problem}", file=str(self.path))

    def obj(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, "must be an object")
        return value

    def get(self, obj: Mapping[str, Any], key: str, where: str) -> Any:
        if not isinstance(obj, Mapping) or key not in obj:
            raise self.fail(f"{where}.{key}", "is missing")
        return obj[key]

    def money(self, obj: Any, where: str) -> Money:
        try:
            return Money(str(self.get(obj, "amount", where)), str(self.get(obj, "currency", where)))
        except (TypeError, ValueError) as exc:
            raise self.fail(where, f"not an amount ({exc})") from None

    def maybe_money(self, obj: Any, where: str) -> Money | None:
        return None if obj is None else self.money(obj, where)


def load_run(path: Path) -> SavedRun:
    """A saved run from its directory or its ``cash_run.json``."""
    file = path / RUN_FILE if path.is_dir() else path
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the cash run ({exc.strerror})") from None
    except ValueError as exc:
        raise ParseError(f"not JSON ({exc})", file=str(file)) from None
    rd = _Reader(file)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise rd.fail("format", f"not a saved cash run (expected {FORMAT!r})")
    try:
        created = datetime.fromisoformat(str(rd.get(doc, "created_at", "$")))
    except ValueError:
        raise rd.fail("$.created_at", "not an ISO timestamp") from None
    raw_lines = rd.get(doc, "lines", "$")
    if not isinstance(raw_lines, list):
        raise rd.fail("$.lines", "must be a list")
    lines = tuple(_read_line(rd, raw, f"$.lines[{i}]") for i, raw in enumerate(raw_lines))
    return SavedRun(
        run_id=str(rd.get(doc, "run_id", "$")),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        rule_version=str(doc.get("rule_version") or ""),
        path=file,
        lines=lines,
        inputs=doc.get("inputs") or {},
    )


def _read_line(rd: _Reader, raw: Any, where: str) -> LineResult:
    raw = rd.obj(raw, where)
    lw = f"{where}.line"
    ln = rd.obj(rd.get(raw, "line", where), lw)
    try:
        day = date.fromisoformat(str(rd.get(ln, "date", lw)))
    except ValueError:
        raise rd.fail(f"{lw}.date", "not a date (YYYY-MM-DD)") from None
    line = CashLine(
        line_id=str(rd.get(ln, "line_id", lw)),
        date=day,
        amount=rd.money(rd.get(ln, "amount", lw), f"{lw}.amount"),
        payer_name=ln.get("payer_name"),
        payer_account=ln.get("payer_account"),
        text=str(ln.get("text") or ""),
        doc_refs=tuple(ln.get("doc_refs") or ()),
        deduction_reason=ln.get("deduction_reason"),
        doc_amounts=tuple((str(d), Decimal(str(a))) for d, a in ln.get("doc_amounts") or ()),
        doc_discounts=tuple((str(d), Decimal(str(a))) for d, a in ln.get("doc_discounts") or ()),
        returned_by=ln.get("returned_by"),
    )
    party = raw.get("party_rule")
    proposal = _read_proposal(rd, raw.get("proposal"), line.line_id, f"{where}.proposal")
    exceptions = tuple(
        _read_exception(rd, e, line.line_id, f"{where}.exceptions[{i}]")
        for i, e in enumerate(raw.get("exceptions") or ())
    )
    try:
        return LineResult(
            line,
            raw.get("customer_id"),
            PartyRule(party) if party else None,
            proposal,
            exceptions,
        )
    except ValueError as exc:
        raise rd.fail(where, str(exc)) from None


def _read_proposal(rd: _Reader, raw: Any, line_id: str, where: str) -> Proposal | None:
    if raw is None:
        return None
    raw = rd.obj(raw, where)
    apps = []
    for i, item in enumerate(rd.get(raw, "applications", where)):
        aw = f"{where}.applications[{i}]"
        a = rd.obj(item, aw)
        apps.append(
            Application(
                invoice_number=str(rd.get(a, "invoice_number", aw)),
                customer_id=str(rd.get(a, "customer_id", aw)),
                amount=rd.money(rd.get(a, "amount", aw), f"{aw}.amount"),
                deduction=rd.maybe_money(a.get("deduction"), f"{aw}.deduction"),
            )
        )
    flags = rd.obj(rd.get(raw, "flags", where), f"{where}.flags")
    try:
        prop = Proposal(
            line_id=line_id,
            customer_id=str(rd.get(raw, "customer_id", where)),
            applications=tuple(apps),
            status=Status(rd.get(raw, "status", where)),
            rule=Rule(rd.get(raw, "rule", where)),
            confidence=Decimal(str(rd.get(raw, "confidence", where))),
            flags=Flags(
                bool(flags.get("reference_match")),
                bool(flags.get("party_match")),
                bool(flags.get("amount_match")),
            ),
            on_account=rd.maybe_money(raw.get("on_account"), f"{where}.on_account"),
            deduction_reason=raw.get("deduction_reason"),
        )
    except (ValueError, ArithmeticError) as exc:
        raise rd.fail(where, str(exc)) from None
    stored = raw.get("proposal_id")
    if stored is not None and stored != prop.proposal_id:
        # The id is a hash of what is applied where: an edited file cannot keep the id a
        # person accepted, so a changed application is never written under an old approval.
        raise rd.fail(f"{where}.proposal_id", "does not match its applications (file edited?)")
    return prop


def _read_exception(rd: _Reader, raw: Any, line_id: str, where: str) -> CashException:
    raw = rd.obj(raw, where)
    try:
        return CashException(
            line_id=line_id,
            category=Category(rd.get(raw, "category", where)),
            amount=rd.money(rd.get(raw, "amount", where), f"{where}.amount"),
            reason=str(rd.get(raw, "reason", where)),
            customer_id=raw.get("customer_id"),
            invoice_numbers=tuple(raw.get("invoice_numbers") or ()),
            details=dict(raw.get("details") or {}),
        )
    except ValueError as exc:
        raise rd.fail(where, str(exc)) from None


def load_runs(folder: Path) -> list[SavedRun]:
    """Every saved run under ``folder`` (the folder itself or its sub-directories), oldest
    first. A missing folder is a configuration error, an empty one is no runs."""
    if not folder.exists():
        raise ConfigError(f"cash runs folder {folder} does not exist")
    if folder.is_file() or (folder / RUN_FILE).is_file():
        return [load_run(folder)]
    files = sorted(folder.glob(f"*/{RUN_FILE}"))
    return sorted((load_run(f) for f in files), key=lambda r: (r.created_at, r.run_id))


def latest_lines(runs: Iterable[SavedRun]) -> list[tuple[SavedRun, LineResult]]:
    """Each bank line once, from the newest run that has it, in line-id order."""
    newest: dict[str, tuple[SavedRun, LineResult]] = {}
    for run in sorted(runs, key=lambda r: (r.created_at, r.run_id)):
        for r in run.lines:
            newest[r.line.line_id] = (run, r)
    return [newest[k] for k in sorted(newest)]


def find_proposal(runs: Iterable[SavedRun], ident: str) -> tuple[SavedRun, Proposal]:
    """The proposal with this id, or the only one whose id starts with it (8+ characters)."""
    if len(ident) < 8:
        raise ConfigError(f"proposal id {ident!r} is too short; give at least 8 characters")
    found: dict[str, tuple[SavedRun, Proposal]] = {}
    for run in runs:
        for prop in run.proposals():
            if prop.proposal_id.startswith(ident):
                found[prop.proposal_id] = (run, prop)
    if not found:
        raise ConfigError(f"no proposal {ident!r} in the saved cash run(s)")
    if len(found) > 1:
        raise ConfigError(f"proposal id prefix {ident!r} is ambiguous; give more of it")
    return next(iter(found.values()))


__all__ = [
    "RUN_FILE",
    "SavedRun",
    "find_proposal",
    "latest_lines",
    "load_run",
    "load_runs",
    "save_run",
]
