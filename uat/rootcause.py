"""Root causes: pure functions attributing each exception candidate to patterns.

Patterns, per differing field: a code missing from its translation table, tax that differs
by exactly a configured rate change, rounding drift, an amount scaled by a constant factor,
a date shifted by a constant number of days, or a plain value difference; per record:
missing in the new system, extra in the new system, duplicate key. Two linear passes over
the candidates (the second only after constant factors and shifts are counted), so the
classification stays proportional to the exceptions, never to the data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from reconcile.engine import ExceptionCandidate
from uat.kinds import EntityKind
from uat.spec import RootCauseSpec
from uat.translate import Gap

RATIO_PLACES = Decimal("0.000001")
ZERO = Decimal(0)


@dataclass(frozen=True, order=True)
class Cause:
    pattern: str
    field: str = ""
    param: str = ""

    @property
    def label(self) -> str:
        f = self.field
        return {
            "missing_in_new": "missing in new system",
            "extra_in_new": "extra in new system",
            "duplicate": f"duplicate key ({self.param})",
            "untranslated_code": f"{f} not in translation table {self.param!r}",
            "tax_rate_change": f"{f} differs by exactly the rate change {self.param}",
            "rounding_drift": f"{f}: rounding drift ≤ {self.param}",
            "scaled_by_factor": f"{f} scaled by a constant factor {self.param}",
            "date_shift": f"{f} shifted by {self.param} days",
            "date_differs": f"{f} differs (no constant shift)",
            "value_differs": f"{f} differs",
        }.get(self.pattern, f"{self.pattern} {f} {self.param}".strip())


@dataclass(frozen=True)
class Attributed:
    candidate: ExceptionCandidate
    causes: tuple[Cause, ...]
    #: sum of |delta| of at-risk amount fields, or the missing record's amounts
    at_risk: Decimal

    @property
    def key_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.candidate.keys.items())


@dataclass
class CauseGroup:
    cause: Cause
    count: int = 0
    at_risk: dict[str, Decimal] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


def to_decimal(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _days(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    try:
        return (date.fromisoformat(b[:10]) - date.fromisoformat(a[:10])).days
    except ValueError:
        return None


def _ratio(a: Decimal, b: Decimal) -> Decimal | None:
    if not a or not b:
        return None
    return (b / a).quantize(RATIO_PLACES)


def _untranslated(gaps: Mapping[str, Gap], name: str, value: str | None) -> Cause | None:
    gap = gaps.get(name)
    if gap is not None and value is not None and value.strip() in gap.all_codes:
        return Cause("untranslated_code", name, gap.table)
    return None


def _tax_cause(
    kind: EntityKind, cfg: RootCauseSpec, name: str, a: dict[str, str | None],
    b: dict[str, str | None],
) -> Cause | None:  # fmt: skip
    if kind.tax is None or name != kind.tax[0]:
        return None
    old, new = to_decimal(a.get(name)), to_decimal(b.get(name))
    base = to_decimal(b.get(kind.tax[1])) or to_decimal(a.get(kind.tax[1]))
    if old is None or new is None:
        return None
    for rc in cfg.rate_changes:
        by_ratio = rc.old != 0 and abs(new - old * rc.new / rc.old) <= cfg.rounding
        by_base = base is not None and abs((new - old) - base * (rc.new - rc.old)) <= cfg.rounding
        if by_ratio or by_base:
            return Cause("tax_rate_change", name, f"{rc.old} -> {rc.new}")
    return None


def _scan(
    candidates: Sequence[ExceptionCandidate], kinds: Mapping[str, str]
) -> tuple[Counter[tuple[str, Decimal]], Counter[tuple[str, int]]]:
    """First pass: how often each (field, ratio) and (field, day shift) occurs."""
    ratios: Counter[tuple[str, Decimal]] = Counter()
    shifts: Counter[tuple[str, int]] = Counter()
    for c in candidates:
        det = c.details  # decoded once per candidate
        a, b = det.get("a", {}), det.get("b", {})
        for name in det.get("diff_columns", []):
            if kinds.get(name) in ("amount", "number"):
                old, new = to_decimal(a.get(name)), to_decimal(b.get(name))
                r = _ratio(old, new) if old is not None and new is not None else None
                if r is not None:
                    ratios[(name, r)] += 1
            elif kinds.get(name) == "date":
                d = _days(a.get(name), b.get(name))
                if d is not None:
                    shifts[(name, d)] += 1
    return ratios, shifts


def _field_cause(
    name: str, fkind: str, c: ExceptionCandidate, kind: EntityKind, cfg: RootCauseSpec,
    gaps: Mapping[str, Gap], ratios: Counter[tuple[str, Decimal]],
    shifts: Counter[tuple[str, int]],
) -> tuple[Cause, Decimal]:  # fmt: skip
    det = c.details
    a, b = det.get("a", {}), det.get("b", {})
    untranslated = _untranslated(gaps, name, a.get(name))
    if untranslated:
        return untranslated, Decimal(0)
    if fkind in ("amount", "number"):
        old, new = to_decimal(a.get(name)), to_decimal(b.get(name))
        gap = abs(new - old) if old is not None and new is not None else abs(old or new or ZERO)
        risk = gap if name in kind.at_risk else Decimal(0)
        tax = _tax_cause(kind, cfg, name, a, b)
        if tax:
            return tax, risk
        if old is not None and new is not None:
            if gap <= cfg.rounding:
                return Cause("rounding_drift", name, str(cfg.rounding)), risk
            r = _ratio(old, new)
            if r is not None and r != 1 and ratios[(name, r)] >= max(cfg.min_group, 2):
                return Cause("scaled_by_factor", name, f"×{r.normalize():f}"), risk
        return Cause("value_differs", name), risk
    if fkind == "date":
        d = _days(a.get(name), b.get(name))
        if d is not None and shifts[(name, d)] >= cfg.min_group:
            return Cause("date_shift", name, f"{d:+d}"), Decimal(0)
        return Cause("date_differs", name), Decimal(0)
    return Cause("value_differs", name), Decimal(0)


def _record_risk(kind: EntityKind, values: Mapping[str, str | None]) -> Decimal:
    return sum((abs(to_decimal(values.get(f)) or Decimal(0)) for f in kind.at_risk), Decimal(0))


def attribute(
    candidates: Sequence[ExceptionCandidate],
    kind: EntityKind,
    field_kinds: Mapping[str, str],
    gaps: Sequence[Gap],
    cfg: RootCauseSpec,
) -> list[Attributed]:
    """Every candidate with its causes (most specific first) and its amount at risk."""
    by_field = {g.field: g for g in gaps}
    ratios, shifts = _scan(candidates, field_kinds)
    out = []
    for c in candidates:
        det = c.details
        base = det.get("base_category", c.category)
        if base == "MISSING_IN_B":
            legacy_keys = [_untranslated(by_field, k, v) for k, v in c.keys.items()]
            causes = [x for x in legacy_keys if x] or [Cause("missing_in_new")]
            out.append(Attributed(c, tuple(causes), _record_risk(kind, det.get("a", {}))))
        elif base == "MISSING_IN_A":
            out.append(Attributed(c, (Cause("extra_in_new"),), _record_risk(kind, det["b"])))
        elif base.startswith("DUPLICATE"):
            side = {"DUPLICATE_IN_A": "legacy", "DUPLICATE_IN_B": "new"}.get(base, "both")
            out.append(Attributed(c, (Cause("duplicate", "", side),), Decimal(0)))
        else:
            found = [
                _field_cause(n, field_kinds.get(n, "text"), c, kind, cfg, by_field, ratios, shifts)
                for n in det.get("diff_columns", [])
            ]
            distinct = tuple(dict.fromkeys(x for x, _ in found)) or (Cause("value_differs"),)
            out.append(Attributed(c, distinct, sum((r for _, r in found), Decimal(0))))
    return out


def group(attributed: Sequence[Attributed], examples: int = 5) -> list[CauseGroup]:
    """Groups by cause, largest first; amounts at risk per currency."""
    groups: dict[Cause, CauseGroup] = {}
    for item in attributed:
        ccy = item.candidate.currency or "-"
        for cause in item.causes:
            g = groups.setdefault(cause, CauseGroup(cause))
            g.count += 1
            g.at_risk[ccy] = g.at_risk.get(ccy, Decimal(0)) + item.at_risk
            if len(g.examples) < examples:
                g.examples.append(item.key_text)
    return sorted(groups.values(), key=lambda g: (-g.count, g.cause))
