"""Exception candidates of a three-sided run, from the classified rows (and the rows of keys that
repeat on a side), and the result type whose table shows all three sides.

Candidates have the two-sided shape (``details`` with ``a``/``b`` values, ``diff_columns``,
``delta``, ``rows``, ``lines``, ``context``, ``base_category``, ``match_rule``) plus side ``c``,
and for a three-sided key ``delta`` per pair (``{"total": {"a-c": "5.00"}}``), ``pair_diffs``
(the fields each disagreeing pair differs in) and ``odd_side`` (the one side that disagrees
with the other two, when there is one). Ids and fingerprints come from
``reconcile.exceptions.identity``, so the store, lifecycle and reports take them as they are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from reconcile.definitions import ReconDefinition
from reconcile.engine.build import exact_amount, text
from reconcile.engine.result import ExceptionCandidate, ReconResult
from reconcile.engine.severity import severity
from reconcile.engine.three_way_sql import PAIRS, SIDES, pair_name
from reconcile.exceptions.identity import exception_id, fingerprint

#: cap on the rows listed per side in a DUPLICATE exception's details
MAX_DUP_ROWS = 50


def _rule(d: ReconDefinition) -> str:
    return "keys:" + "+".join(k.name for k in d.keys)


def odd_side(disagreeing: set[str]) -> str | None:
    """The side both others disagree with while they agree with each other."""
    for side, (p1, p2) in {"a": ("a-b", "a-c"), "b": ("a-b", "b-c"), "c": ("a-c", "b-c")}.items():
        if disagreeing == {p1, p2}:
            return side
    return None


def _candidate(
    d: ReconDefinition,
    base: str,
    keys: dict[str, str],
    details: dict[str, Any],
    values: Any,
    amount: Decimal | None,
    currency: str | None,
) -> ExceptionCandidate:
    """``values``: what the fingerprint hashes (side values and row counts, no lines)."""
    category = d.category(base)
    amount = exact_amount(amount, currency)
    return ExceptionCandidate(
        exception_id=exception_id(d.name, keys, category),
        recon=d.name,
        category=category,
        keys=keys,
        fingerprint=fingerprint({"values": values}),
        details=details,
        severity=severity(amount, 0, d.severity, currency),
        amount=amount,
        currency=currency,
    )


def build_candidates(
    d: ReconDefinition, columns: list[str], rows: list[tuple[Any, ...]]
) -> list[ExceptionCandidate]:
    """One candidate per classified exception row (runs once per exception, not per row)."""
    at = {name: i for i, name in enumerate(columns)}
    names = [c.name for c in d.compare]
    key_pos = [(k.name, at[f"k{i}"]) for i, k in enumerate(d.keys)]
    val_pos = {s: [(n, at[f"t{s}{i}"]) for i, n in enumerate(names)] for s in SIDES}
    pair_pos = [
        (
            pair_name(p, q),
            [(n, at[f"e_{p}{q}{i}"], at[f"td_{p}{q}{i}"]) for i, n in enumerate(names)],
        )
        for p, q in PAIRS
    ]
    x_pos = [(x.name, at[f"tx{i}"]) for i, x in enumerate(d.context)]
    n_pos = {s: at[f"n_{s}"] for s in SIDES}
    line_pos = {s: at[f"line_{s}"] for s in SIDES}
    cat, ccy, amt = at["_cat"], at["_ccy"], at["_amt"]
    value_cols = [n_pos[s] for s in SIDES] + [i for s in SIDES for _, i in val_pos[s]]
    rule, labels = _rule(d), _labels(d)
    out = []
    for row in rows:
        present = {s: row[n_pos[s]] is not None for s in SIDES}
        pair_diffs: dict[str, list[str]] = {}
        delta: dict[str, dict[str, str]] = {}
        for pair, fields in pair_pos:
            for name, e, td in fields:
                if row[e] is False:
                    pair_diffs.setdefault(pair, []).append(name)
                if row[e] is not None and row[td] is not None:
                    delta.setdefault(name, {})[pair] = row[td]
        differing = {n for fields in pair_diffs.values() for n in fields}
        details: dict[str, Any] = {
            "base_category": row[cat],
            **{f"is_exclusive_{s}": present[s] and sum(present.values()) == 1 for s in SIDES},
            "diff_columns": [n for n in names if n in differing],
            **{s: ({n: row[i] for n, i in val_pos[s]} if present[s] else {}) for s in SIDES},
            "delta": delta,
            "pair_diffs": pair_diffs,
            "odd_side": odd_side(set(pair_diffs)) if all(present.values()) else None,
            "rows": {s: row[n_pos[s]] or 0 for s in SIDES},
            "lines": {s: row[line_pos[s]] for s in SIDES},
            "context": {n: row[i] for n, i in x_pos},
            "sides": labels,
            "match_rule": rule,
            "rule_version": d.version,
        }
        currency = row[ccy] or None
        keys = {n: row[i] for n, i in key_pos}
        values = [row[i] for i in value_cols]  # a flat list: cheap to hash
        out.append(_candidate(d, row[cat], keys, details, values, row[amt], currency))
    return out


def _labels(d: ReconDefinition) -> dict[str, str]:
    return {s: getattr(d, s).label for s in SIDES}


def build_duplicates(d: ReconDefinition, rows: list[dict[str, Any]]) -> list[ExceptionCandidate]:
    """One DUPLICATE exception per key that occurs more than once on a non-aggregated side;
    the key is not matched on any side (never paired by row order)."""
    groups: dict[tuple[str, ...], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {s: [] for s in SIDES}
    )
    for row in rows:
        key = tuple(row[f"k{i}"] for i in range(len(d.keys)))
        groups[key][row["_side"]].append(row)
    amount_i = next((i for i, c in enumerate(d.compare) if c.name == d.amount_field), None)
    out = []
    for key, sides in groups.items():
        dup = [s for s in SIDES if not getattr(d, s).aggregate and len(sides[s]) > 1]
        base = f"DUPLICATE_IN_{dup[0].upper()}" if len(dup) == 1 else "DUPLICATE"
        listed = {
            s: sorted(
                ({c.name: text(r[f"v{i}"]) for i, c in enumerate(d.compare)} for r in sides[s]),
                key=lambda v: [str(x) for x in v.values()],
            )
            for s in SIDES
        }
        amount: Decimal | None = None
        if amount_i is not None:
            values = [
                abs(r[f"v{amount_i}"]) for r in sides[dup[0]] if r[f"v{amount_i}"] is not None
            ]
            amount = max(values) if values else None
        context = _first_context(d, sides)
        details = {
            "base_category": base,
            **{f"is_exclusive_{s}": all(not sides[o] for o in SIDES if o != s) for s in SIDES},
            "diff_columns": [],
            **{s: listed[s][0] if listed[s] else {} for s in SIDES},
            "delta": {},
            "pair_diffs": {},
            "odd_side": None,
            "rows": {s: len(sides[s]) for s in SIDES},
            **{f"{s}_rows": listed[s][:MAX_DUP_ROWS] for s in SIDES},
            "lines": {s: sorted(r["_line"] for r in sides[s])[:MAX_DUP_ROWS] for s in SIDES},
            "context": {n: text(v) for n, v in context.items()},
            "sides": _labels(d),
            "match_rule": _rule(d),
            "rule_version": d.version,
        }
        keys = dict(zip((k.name for k in d.keys), key, strict=True))
        currency = _currency(d, keys, sides, context)
        dup_values = {f"{s}_rows": listed[s] for s in SIDES}
        out.append(_candidate(d, base, keys, details, dup_values, amount, currency))
    return out


def _first_context(d: ReconDefinition, sides: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each context field from the first side that has it (smallest value: order-free)."""
    out: dict[str, Any] = {}
    for i, x in enumerate(d.context):
        for s in SIDES:
            found = [r[f"x{i}"] for r in sides[s] if r[f"x{i}"] is not None]
            if found:
                out[x.name] = min(found)
                break
        else:
            out[x.name] = None
    return out


def _currency(
    d: ReconDefinition,
    keys: dict[str, str],
    sides: dict[str, list[dict[str, Any]]],
    context: dict[str, Any],
) -> str | None:
    name = d.currency_field
    if name is None:
        return None
    if name in keys:
        return keys[name].upper() or None
    if name in context:
        return str(context[name]).upper() if context[name] else None
    i = next(i for i, c in enumerate(d.compare) if c.name == name)
    for s in SIDES:
        found = sorted(str(r[f"v{i}"]) for r in sides[s] if r[f"v{i}"])
        if found:
            return found[0].upper()
    return None


@dataclass(frozen=True)
class ThreeWayResult(ReconResult):
    """A three-sided run's result; its exceptions table has a column per side value."""

    def exceptions_table(self) -> pa.Table:
        """The row shape of reconciliation.md §2 with ``<field>_c`` and ``is_exclusive_c``."""
        key_names: list[str] = []
        fields: list[str] = []
        for exc in self.exceptions:
            key_names += [k for k in exc.keys if k not in key_names]
            for s in SIDES:
                fields += [f for f in exc.details.get(s, {}) if f not in fields]
        rows = []
        for exc in self.exceptions:
            d = exc.details
            row: dict[str, Any] = {
                "exception_id": exc.exception_id,
                "recon_type": exc.recon,
                "category": exc.category,
            }
            row.update({f"key_{k}": exc.keys.get(k) for k in key_names})
            row.update({f"is_exclusive_{s}": d.get(f"is_exclusive_{s}", False) for s in SIDES})
            row["diff_columns"] = ",".join(d.get("diff_columns", []))
            row["odd_side"] = d.get("odd_side")
            for name in fields:
                row.update({f"{name}_{s}": d.get(s, {}).get(name) for s in SIDES})
            row["delta"] = json.dumps(d["delta"], sort_keys=True) if d.get("delta") else None
            row["match_rule"] = d.get("match_rule")
            row["severity"] = exc.severity
            row["amount"] = None if exc.amount is None else str(exc.amount)
            row["currency"] = exc.currency
            rows.append(row)
        if not rows:
            names = ["exception_id", "recon_type", "category", "severity", "amount", "currency"]
            return pa.table({n: pa.array([], pa.string()) for n in names})
        return pa.Table.from_pylist(rows)
