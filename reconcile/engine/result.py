"""What a reconciliation run returns: exception candidates, counts and a datacompy-style summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

if TYPE_CHECKING:
    from reconcile.engine.rows import ExceptionRows

MATCHED = "MATCHED"


class ExceptionCandidate:
    """One break found by a run, before the store classifies it against earlier runs.

    ``details`` is JSON-safe: ``a``/``b`` (side values as text), ``delta`` (a − b per differing
    numeric or date field), ``diff_columns``, ``is_exclusive_a/b``, ``rows`` (rows per side),
    ``lines`` (source lines), ``context``, ``base_category``, ``match_rule``, ``rule_version``.

    The engine hands over ``details`` as the JSON text DuckDB wrote (``details_json``): most
    runs only store it, so it is decoded on first access instead of 20k times per run.
    Immutable, like a frozen dataclass.
    """

    __slots__ = (
        "_details",
        "_details_json",
        "amount",
        "category",
        "currency",
        "exception_id",
        "fingerprint",
        "keys",
        "recon",
        "severity",
    )
    exception_id: str
    recon: str
    category: str
    keys: dict[str, str]
    fingerprint: str
    severity: str
    amount: Decimal | None
    currency: str | None
    _details: dict[str, Any] | None
    _details_json: str | None

    def __init__(
        self,
        exception_id: str,
        recon: str,
        category: str,
        keys: dict[str, str],
        fingerprint: str,
        details: dict[str, Any] | None = None,
        severity: str = "LOW",
        amount: Decimal | None = None,
        currency: str | None = None,
        *,
        details_json: str | None = None,
    ) -> None:
        if (details is None) == (details_json is None):
            raise TypeError("give exactly one of details and details_json")
        put = object.__setattr__
        put(self, "exception_id", exception_id)
        put(self, "recon", recon)
        put(self, "category", category)
        put(self, "keys", keys)
        put(self, "fingerprint", fingerprint)
        put(self, "severity", severity)
        put(self, "amount", amount)
        put(self, "currency", currency)
        put(self, "_details", details)
        put(self, "_details_json", details_json)

    @classmethod
    def from_engine(
        cls,
        exception_id: str,
        recon: str,
        category: str,
        keys: dict[str, str],
        fingerprint: str,
        severity: str,
        amount: Decimal | None,
        currency: str | None,
        details_json: str,
    ) -> ExceptionCandidate:
        """The engine's constructor (20k calls in a large run): slots set straight through
        their descriptors' bound setters, same immutable object as ``__init__`` makes."""
        new = object.__new__(cls)
        _set_id(new, exception_id)
        _set_recon(new, recon)
        _set_category(new, category)
        _set_keys(new, keys)
        _set_fingerprint(new, fingerprint)
        _set_severity(new, severity)
        _set_amount(new, amount)
        _set_currency(new, currency)
        _set_details(new, None)
        _set_details_json(new, details_json)
        return new

    @property
    def details(self) -> dict[str, Any]:
        if self._details is None:
            object.__setattr__(self, "_details", orjson.loads(self._details_json or "{}"))
        assert self._details is not None
        return self._details

    @property
    def details_json(self) -> str:
        """The details as JSON text (what the exception store writes)."""
        if self._details_json is None:
            object.__setattr__(self, "_details_json", json.dumps(self._details))
        assert self._details_json is not None
        return self._details_json

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # pickle and copy rebuild through the constructor (__setattr__ refuses them)
        return (
            ExceptionCandidate.from_engine,
            (self.exception_id, self.recon, self.category, self.keys, self.fingerprint,
             self.severity, self.amount, self.currency, self.details_json),
        )  # fmt: skip

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ExceptionCandidate is immutable: cannot set {name}")

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.exception_id,
            self.recon,
            self.category,
            self.keys,
            self.fingerprint,
            self.details,
            self.severity,
            self.amount,
            self.currency,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExceptionCandidate):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable dict fields, like the dataclass

    def __repr__(self) -> str:
        return (
            f"ExceptionCandidate(exception_id={self.exception_id!r}, recon={self.recon!r}, "
            f"category={self.category!r}, keys={self.keys!r}, severity={self.severity!r}, "
            f"amount={self.amount!r}, currency={self.currency!r})"
        )


_slots = ExceptionCandidate.__dict__
_set_id = _slots["exception_id"].__set__
_set_recon = _slots["recon"].__set__
_set_category = _slots["category"].__set__
_set_keys = _slots["keys"].__set__
_set_fingerprint = _slots["fingerprint"].__set__
_set_severity = _slots["severity"].__set__
_set_amount = _slots["amount"].__set__
_set_currency = _slots["currency"].__set__
_set_details = _slots["_details"].__set__
_set_details_json = _slots["_details_json"].__set__


@dataclass(frozen=True)
class ReconResult:
    recon: str
    version: str
    #: the exceptions: candidates, or the engine's rows (``rows``), turned into candidates
    #: only when ``exceptions`` is read
    found: list[ExceptionCandidate] | ExceptionRows
    summary: dict[str, Any]
    #: rows per outcome: MATCHED (exact), MATCHED_WITHIN_TOLERANCE and each category
    counts: dict[str, int] = field(default_factory=dict)
    #: with ``reconcile(..., by_field=True)`` and no duplicate keys: per exception (the rows'
    #: order) its category ``_name``, currency ``_ccy``, key texts ``k0..``, base category
    #: ``_base``, ``_has_a``/``_has_b``, and per compared field ``i`` its texts
    #: ``_a<i>``/``_b<i>`` and whether it differs ``_d<i>``
    by_field: pa.Table | None = None

    @cached_property
    def exceptions(self) -> list[ExceptionCandidate]:
        if isinstance(self.found, list):
            return self.found
        return self.found.candidates()

    @property
    def rows(self) -> ExceptionRows | list[ExceptionCandidate]:
        """What the exception store records: the engine's rows when it made them (no object
        per exception), else the candidates."""
        return self.found

    @property
    def agree(self) -> bool:
        """True when no exception was found (tolerated differences are allowed)."""
        return len(self.found) == 0

    def exceptions_table(self) -> pa.Table:
        """Exceptions in the row shape of reconciliation.md §2, one column per side value,
        and where each came from: ``base_category`` (``DUPLICATE_IN_A`` says which side
        repeats the key where the category says ``DUPLICATE``), rows per side and their
        source lines (``rows_a``, ``lines_a``...), and for duplicates every row's values
        (``dup_rows_a``/``dup_rows_b``, JSON) besides the first shown in ``<field>_a``.

        The engine's columns keep their names: a source field whose ``<field>_a`` would be
        one of them (a column named ``rows``, ``lines``, ``dup_rows``, ``is_exclusive``) is
        written ``field_<field>_a``/``field_<field>_b`` instead (see ``_field_columns``)."""
        fields: list[str] = []
        key_names: list[str] = []
        duplicates = False
        for exc in self.exceptions:
            for name in exc.keys:
                if name not in key_names:
                    key_names.append(name)
            for side in ("a", "b"):
                for name in exc.details.get(side, {}):
                    if name not in fields:
                        fields.append(name)
            duplicates = duplicates or "a_rows" in exc.details
        columns = _field_columns(fields, key_names)
        rows = []
        for exc in self.exceptions:
            d = exc.details
            row: dict[str, Any] = {
                "exception_id": exc.exception_id,
                "recon_type": exc.recon,
                "category": exc.category,
                "base_category": d.get("base_category"),
            }
            row.update({f"key_{k}": exc.keys.get(k) for k in key_names})
            row["is_exclusive_a"] = d.get("is_exclusive_a", False)
            row["is_exclusive_b"] = d.get("is_exclusive_b", False)
            row["diff_columns"] = ",".join(d.get("diff_columns", []))
            for name in fields:
                row[f"{columns[name]}_a"] = d.get("a", {}).get(name)
                row[f"{columns[name]}_b"] = d.get("b", {}).get(name)
            row["delta"] = (
                json.dumps(d.get("delta", {}), sort_keys=True) if d.get("delta") else None
            )
            for side in ("a", "b"):
                row[f"rows_{side}"] = d.get("rows", {}).get(side)
                row[f"lines_{side}"] = _lines(d.get("lines", {}).get(side))
            if duplicates:
                for side in ("a", "b"):
                    listed = d.get(f"{side}_rows")
                    row[f"dup_rows_{side}"] = json.dumps(listed) if listed else None
            row["match_rule"] = d.get("match_rule")
            row["severity"] = exc.severity
            row["amount"] = None if exc.amount is None else str(exc.amount)
            row["currency"] = exc.currency
            rows.append(row)
        if not rows:
            names = ["exception_id", "recon_type", "category", "severity", "amount", "currency"]
            return pa.table({n: pa.array([], pa.string()) for n in names})
        return pa.Table.from_pylist(rows)


#: the exception table's own columns (besides ``key_<key>``), never a source field's
ENGINE_COLUMNS = frozenset(
    {
        "exception_id",
        "recon_type",
        "category",
        "base_category",
        "is_exclusive_a",
        "is_exclusive_b",
        "diff_columns",
        "delta",
        "rows_a",
        "rows_b",
        "lines_a",
        "lines_b",
        "dup_rows_a",
        "dup_rows_b",
        "match_rule",
        "severity",
        "amount",
        "currency",
    }
)
#: what a field's columns are prefixed with when ``<field>_a`` is an engine column
FIELD_PREFIX = "field_"


def _field_columns(fields: list[str], key_names: list[str]) -> dict[str, str]:
    """Field -> the stem of its ``<stem>_a``/``<stem>_b`` columns: the field's name, or
    ``field_<name>`` (prefixed again as long as needed) where the name would write over one
    of the engine's columns or a key's: a source column ``rows`` is ``field_rows_a``, never
    the engine's ``rows_a``."""
    taken = set(ENGINE_COLUMNS) | {f"key_{k}" for k in key_names}
    out: dict[str, str] = {}
    for name in fields:
        stem = name
        while f"{stem}_a" in taken or f"{stem}_b" in taken:
            stem = FIELD_PREFIX + stem
        taken.update((f"{stem}_a", f"{stem}_b"))
        out[name] = stem
    return out


def _lines(lines: Any) -> str | None:
    """Source lines as text: ``12`` for one row, ``4, 9`` for a repeated key's rows."""
    if lines is None or lines == []:
        return None
    if isinstance(lines, list):
        return ", ".join(str(n) for n in lines)
    return str(lines)
