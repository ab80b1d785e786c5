"""Root causes: each exception attributed to patterns, set-based in DuckDB.

Patterns, per differing field: a code missing from its translation table, tax that differs
by exactly a configured rate change, rounding drift, an amount scaled by a constant factor,
a date shifted by a constant number of months or days, or a plain value difference; per record:
missing in the new system, extra in the new system, duplicate key (rules: ``uat.cause_sql``).

One statement classifies every exception over the engine's rows (``uat.frame``), two more
group the causes; Python builds only the groups and the totals. Per-exception objects
(``Attribution.items``) are made when something lists the exceptions one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import pyarrow as pa

from canonical.currencies import MINOR_UNITS
from reconcile.engine import ExceptionCandidate
from reconcile.engine.rows import ExceptionRows
from reconcile.engine.sql import DEC, literal
from uat.cause_sql import CauseSql
from uat.frame import Frame, exception_frame
from uat.kinds import EntityKind
from uat.spec import RootCauseSpec
from uat.translate import Gap, Merge

#: key texts listed per cause group
EXAMPLES = 5
#: the currency of an exception without one
NO_CURRENCY = "coalesce(nullif(currency, ''), '-')"


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
            "merged_by_translation": f"{f} merged by translation ({self.param})",
            "date_shift": f"{f} shifted by {self.param}"
            + ("" if "month" in self.param else " day" if self.param in ("+1", "-1") else " days"),
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


def exact(value: Decimal, digits: int) -> Decimal:
    """``value`` with ``digits`` fraction digits, as the Decimal sum of its terms has them
    (DuckDB returns every DECIMAL(38,10) with 10)."""
    return value.quantize(Decimal(1).scaleb(-digits))


def minor_digits(currency: str | None) -> int:
    """The currency's minor-unit digits (EUR 2, JPY 0); 0 for none or an unknown code."""
    return MINOR_UNITS.get((currency or "").strip().upper(), 0)


def money(value: Decimal, digits: int, currency: str | None) -> Decimal:
    """An amount as reports show it: its own digits, at least the currency's minor units
    (250.00 EUR, not 250: the engine's texts drop trailing zeros)."""
    return exact(value, max(digits, minor_digits(currency)))


@dataclass
class Attribution:
    """One entity's exceptions with their causes: the frame (``causes``, ``risk``,
    ``digits`` per exception), the cause groups (largest first) and the amount at risk per
    currency."""

    frame: Frame
    groups: list[CauseGroup]
    at_risk: dict[str, Decimal]

    @property
    def rows(self) -> ExceptionRows:
        return self.frame.rows

    def __len__(self) -> int:
        return len(self.frame.rows)

    @cached_property
    def items(self) -> list[Attributed]:
        """Every exception with its causes and amount at risk, in the engine's order."""
        table = self.frame.table
        return [
            Attributed(
                candidate,
                tuple(Cause(**c) for c in found),
                money(risk, digits, candidate.currency),
            )
            for candidate, found, risk, digits in zip(
                self.rows.candidates(),
                table.column("causes").to_pylist(),
                table.column("risk").to_pylist(),
                table.column("digits").to_pylist(),
                strict=True,
            )
        ]


def _gap_codes(gaps: Mapping[str, Gap]) -> pa.Table:
    pairs = [(name, code) for name, gap in gaps.items() for code in sorted(gap.all_codes)]
    return pa.table(
        {
            "field": pa.array([f for f, _ in pairs], pa.string()),
            "code": pa.array([c for _, c in pairs], pa.string()),
        }
    )


#: legacy codes named per merged code in a cause ("C-1, C-2 -> N-1")
MERGED_LISTED = 5


def merged_text(new: str, olds: Sequence[str]) -> str:
    """'C-1, C-2 -> N-1'; past MERGED_LISTED legacy codes, how many more."""
    shown = ", ".join(olds[:MERGED_LISTED])
    more = len(olds) - MERGED_LISTED
    return f"{shown}{f' and {more} more' if more > 0 else ''} -> {new}"


def _merged_codes(merges: Sequence[Merge]) -> pa.Table:
    rows = [
        (m.field, new, merged_text(new, olds)) for m in merges for new, olds in m.all_codes.items()
    ]
    return pa.table(
        {
            name: pa.array([r[i] for r in rows], pa.string())
            for i, name in enumerate(("field", "code", "param"))
        }
    )


#: the frame's columns of a field's own gap and its digits (``CauseSql.field_risks``)
OWN = r"f[rg][0-9]+"


def _cause_risk(frame: Frame) -> tuple[str, str]:
    """SQL over an unnested cause: (its amount at risk, that amount's digits). A field's
    cause carries that field's own gap (an at-risk amount's |new − old|, none for any other
    compared field) where the record's risk is the sum of its fields' gaps; every other
    cause (missing, extra, duplicate, merged, a record whose currency changed) carries the
    record's risk. So the causes of one record add up to its risk, never count it twice."""
    risk, digits = ["WHEN NOT fieldwise THEN risk"], ["WHEN NOT fieldwise THEN digits"]
    names = set(frame.table.column_names)
    for n, name in enumerate(frame.fields):
        if f"fr{n}" in names:
            risk.append(f"WHEN field = {literal(name)} THEN fr{n}")
            digits.append(f"WHEN field = {literal(name)} THEN fg{n}")
    if frame.fields:
        compared = ", ".join(map(literal, frame.fields))
        risk.append(f"WHEN field IN ({compared}) THEN CAST(0 AS {DEC})")
        digits.append(f"WHEN field IN ({compared}) THEN 0")
    return (
        f"CASE {' '.join(risk)} ELSE risk END",
        f"CASE {' '.join(digits)} ELSE digits END",
    )


def _rank(group: CauseGroup) -> tuple[int, Decimal, str]:
    """Largest first: most exceptions, then the most money at risk (summed over its
    currencies: a tie-break, not a conversion), then the label."""
    return (-group.count, -sum(group.at_risk.values(), Decimal(0)), group.cause.label)


def _groups(frame: Frame) -> list[CauseGroup]:
    """Counts, examples (first in row order) and at-risk sums per currency of each cause
    (``_cause_risk``); currencies in the order the group first meets them."""
    risk, digits = _cause_risk(frame)
    unnested = (
        f"SELECT *, {risk} AS crisk, {digits} AS cdigits FROM ("
        f"SELECT i, key_text, {NO_CURRENCY} AS ccy, risk, digits, fieldwise, "
        f"{''.join(f'{c}, ' for c in frame.table.column_names if re.fullmatch(OWN, c))}"
        "unnest(causes, recursive := true) FROM x)"
    )
    counted = frame.query(
        f"SELECT pattern, field, param, count(*), list(key_text ORDER BY i)[1:{EXAMPLES}] "
        f"FROM ({unnested}) GROUP BY ALL"
    )
    groups = {Cause(p, f, q): CauseGroup(Cause(p, f, q), n, {}, ex) for p, f, q, n, ex in counted}
    for p, f, q, ccy, risk, digits in frame.query(
        f"SELECT pattern, field, param, ccy, sum(crisk), max(cdigits) FROM ({unnested}) "
        "GROUP BY ALL ORDER BY min(i)"
    ):
        groups[Cause(p, f, q)].at_risk[ccy] = money(risk, digits, ccy)
    return sorted(groups.values(), key=_rank)


def _at_risk(frame: Frame) -> dict[str, Decimal]:
    """At-risk sums per currency of the exceptions that put an amount at risk."""
    found = frame.query(
        f"SELECT {NO_CURRENCY}, sum(risk), max(digits) FROM x WHERE risk <> 0 GROUP BY 1"
    )
    return {ccy: money(risk, digits, ccy) for ccy, risk, digits in sorted(found)}


#: (at-risk fields, keys) -> per key the sums of those fields on each side (``uat.totals``)
KeySums = Callable[[Sequence[str], pa.Table], pa.Table]
#: keys (``k0..``) repeated after translation -> those whose legacy rows carry several legacy
#: codes a table merged into the key's code (``field``, ``k0..``; ``uat.totals.merged_keys``)
MergedKeys = Callable[[pa.Table], pa.Table]


def _duplicate_keys(frame: Frame) -> pa.Table | None:
    """The keys (``k0..``) of the duplicate exceptions; None when there are none."""
    keys = ", ".join(f"k{j}" for j in range(len(frame.rows.key_names)))
    if not keys:
        return None
    found = frame.arrow(f"SELECT DISTINCT {keys} FROM x WHERE starts_with(base, 'DUPLICATE')")
    return found if found.num_rows else None


def _merged_keys(frame: Frame, merged_keys: MergedKeys | None) -> pa.Table:
    """The repeated keys (duplicates, several records summed) whose legacy rows carry
    several merged legacy codes, as ``field``, ``q0..``."""
    n = len(frame.rows.key_names)
    keys = ", ".join(f"k{j}" for j in range(n))
    collided = frame.arrow(
        f"SELECT DISTINCT {keys} FROM x "
        "WHERE starts_with(base, 'DUPLICATE') OR base = 'MANY_TO_ONE'"
    )
    if merged_keys is None or not collided.num_rows:
        found = pa.table(
            {"field": pa.array([], pa.string())}
            | {f"k{j}": pa.array([], pa.string()) for j in range(n)}
        )
    else:
        found = merged_keys(collided)
    return found.rename_columns(["field", *(f"q{j}" for j in range(n))])


def attribute(
    rows: ExceptionRows,
    kind: EntityKind,
    field_kinds: Mapping[str, str],
    gaps: Sequence[Gap],
    cfg: RootCauseSpec,
    by_field: pa.Table | None = None,
    sums: KeySums | None = None,
    merges: Sequence[Merge] = (),
    merged_keys: MergedKeys | None = None,
) -> Attribution:
    """Every exception of ``rows`` with its causes (most specific first) and its amount at
    risk; ``field_kinds``: the compared fields' kinds in definition order; ``by_field``: the
    engine's per-field columns of ``rows`` (``ReconResult.by_field``), when it gave them;
    ``sums``: all rows of a duplicate key summed per side (the exceptions show one row);
    ``merges``: legacy codes a translation table merged into one new code; ``merged_keys``:
    which repeated keys their legacy rows made so (without it none is attributed to a
    merge: a key repeated with one legacy code is a duplicate, whatever the table merges)."""
    frame = exception_frame(rows, list(field_kinds), by_field)
    gap_of = {g.field: g for g in gaps}
    names = {f: g.table for f, g in gap_of.items()}
    merged = {m.field for m in merges} & set(frame.rows.key_names)
    sql = CauseSql(frame, kind, field_kinds, names, cfg, merged=merged)
    tables = {"g": _gap_codes(gap_of)}
    if merged:
        tables["m"] = _merged_codes(merges)
        tables["mkeys"] = _merged_keys(frame, merged_keys)
    duplicates = _duplicate_keys(frame) if sums is not None and sql.risky() else None
    if sums is not None and duplicates is not None:
        tables["dup"] = sums(sql.risky(), duplicates)
        sql = CauseSql(frame, kind, field_kinds, names, cfg, duplicates=True, merged=merged)
    frame = frame.with_columns(sql.sql(), **tables)
    return Attribution(frame, _groups(frame), _at_risk(frame))
