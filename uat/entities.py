"""Per-entity side builders: read a legacy and a new-system source, translate the legacy
codes, and build the engine definition comparing them.

Sources are files read raw (columns named by the spec's column mapping, no copying) or
through a mapping spec into canonical records (via the file connector), or records from a
live source hook. Flattening canonical records into entity rows is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billbridge.errors import ConfigError, ParseError
from canonical import Record
from connectors.files.reader import read_table
from reconcile.definitions import ReconDefinition
from reconcile.engine import Side, load_file, rows_to_table
from reconcile.engine.sides import LINE, detect_format
from uat.kinds import KINDS, EntityKind
from uat.spec import EntitySpec, SourceSpec, UatSpec
from uat.translate import Gap, Translation, translate_side

#: a live source: (connector name, entity kind) -> canonical records
SourceHook = Callable[[str, str], Iterable[Record]]
SIDES = (("legacy", "a"), ("new", "b"))


@dataclass(frozen=True)
class PreparedEntity:
    spec: EntitySpec
    kind: EntityKind
    definition: ReconDefinition
    legacy: Side
    new: Side
    gaps: tuple[Gap, ...]

    def column(self, side: str, field: str) -> str:
        """The column holding ``field`` on side ``legacy`` or ``new``."""
        ref = self.definition.field(field)
        return ref.col("a" if side == "legacy" else "b")


def recon_name(spec_name: str, entity: str) -> str:
    return f"uat:{spec_name}:{entity}"


# -- definitions ---------------------------------------------------------------------------
def definition_for(spec_name: str, entity: EntitySpec) -> ReconDefinition:
    kind = KINDS[entity.kind]
    compared = entity.compared()

    def cols(name: str) -> dict[str, str]:
        return {"a": entity.legacy.columns.get(name, name), "b": entity.new.columns.get(name, name)}

    compare = []
    for name in compared:
        f = kind.field(name)
        item: dict[str, Any] = {"name": name, "kind": f.kind, "casefold": f.casefold, **cols(name)}
        tol = entity.tolerances.get(name)
        if tol is not None:
            item.update({"abs": tol.abs, "pct": tol.pct, "days": tol.days})
        compare.append(item)
    fields = {*kind.keys, *compared}
    data = {
        "name": recon_name(spec_name, entity.name),
        "description": f"UAT {kind.title}: legacy vs new system",
        "a": {"label": "legacy", "aggregate": kind.aggregate},
        "b": {"label": "new", "aggregate": kind.aggregate},
        "keys": [{"name": k, **cols(k)} for k in kind.keys],
        "compare": compare,
        "amount_field": kind.amount_field if kind.amount_field in compared else None,
        "currency_field": kind.currency_field if kind.currency_field in fields else None,
    }
    return ReconDefinition.model_validate(data)


# -- flattening canonical records (pure) ------------------------------------------------
def _amount(money: Any) -> Any:
    return None if money is None else money.amount


def _line(record: Record) -> int | None:
    return record.provenance.line if record.provenance else None


def _customer(r: Any) -> Iterable[dict[str, Any]]:
    yield {
        "customer_id": r.number or r.source_id,
        "name": r.name,
        "status": r.status,
        "currency": r.currency,
        "tax_id": r.tax_ids[0].value if r.tax_ids else None,
        "credit_limit": _amount(r.credit_limit),
    }


def _ar_open(r: Any) -> Iterable[dict[str, Any]]:
    open_amount = _amount(r.balance) if r.balance is not None else _amount(r.total)
    if open_amount:
        yield {
            "document_number": r.number,
            "customer_id": r.customer_id,
            "currency": r.currency,
            "due_date": getattr(r, "due_date", None),
            "amount": _amount(r.total),
            "open_amount": open_amount,
        }


def _subscription(r: Any) -> Iterable[dict[str, Any]]:
    for c in r.charges:
        yield {
            "subscription_id": r.subscription_number,
            "item_code": c.sku,
            "customer_id": r.customer_id,
            "status": r.status,
            "currency": r.currency,
            "quantity": c.quantity,
            "unit_price": _amount(c.unit_price),
            "start_date": c.start_date or r.term_start,
        }


def _invoice_line(r: Any) -> Iterable[dict[str, Any]]:
    for line in r.lines:
        yield {
            "invoice_number": r.number,
            "line_number": line.line_number,
            "customer_id": r.customer_id,
            "item_code": line.sku,
            "currency": r.currency,
            "billing_date": r.issue_date,
            "quantity": line.quantity,
            "net_amount": _amount(line.amount),
            "tax_amount": _amount(line.tax_amount),
        }


def _gl_balance(r: Any) -> Iterable[dict[str, Any]]:
    yield {"account": r.account, "currency": r.currency, "balance": _amount(r.amount)}


FLATTEN: dict[str, Callable[[Any], Iterable[dict[str, Any]]]] = {
    "customer": _customer,
    "ar_open": _ar_open,
    "subscription": _subscription,
    "invoice_line": _invoice_line,
    "gl_balance": _gl_balance,
}


def flatten(kind: str, records: Sequence[Record]) -> list[dict[str, Any]]:
    """Entity rows (canonical column names) from canonical records, keeping source lines."""
    rows = []
    for i, record in enumerate(records, start=1):
        for row in FLATTEN[kind](record):
            row[LINE] = _line(record) or i
            rows.append(row)
    return rows


# -- loading (I/O) -----------------------------------------------------------------------
def _mapped_records(source: SourceSpec, path: Path, kind: str) -> list[Record]:
    from connectors.files import FileConnector
    from mappings.loader import load_spec as load_mapping
    from mappings.registry import default_spec

    name = source.mapping or ""
    mapping_path = Path(name) if name.endswith((".yaml", ".yml")) else None
    mapping = load_mapping(mapping_path) if mapping_path else default_spec(name)
    connector = FileConnector(path, mapping, sheet=source.sheet)
    stream = connector.read(connector.entity)
    records = list(stream)
    if stream.errors:
        raise stream.errors[0]
    return records


def load_source(
    source: SourceSpec, kind: str, base: Path, hooks: dict[str, SourceHook] | None = None
) -> Side:
    if source.connector is not None:
        hook = (hooks or {}).get(source.connector)
        if hook is None:
            raise ConfigError(f"no live source registered as {source.connector!r}")
        rows = flatten(kind, list(hook(source.connector, kind)))
        return Side(rows_to_table(rows), f"connector:{source.connector}")
    assert source.path is not None
    path = Path(source.path)
    path = path if path.is_absolute() else base / path
    if source.mapping:
        if source.mapping.endswith((".yaml", ".yml")) and not Path(source.mapping).is_absolute():
            source = source.model_copy(update={"mapping": str(base / source.mapping)})
        if not path.exists():
            raise ConfigError(f"source file not found: {path}")
        rows = flatten(kind, _mapped_records(source, path, kind))
        return Side(rows_to_table(rows), str(path))
    try:
        return load_file(path, source.format, sheet=source.sheet)
    except ParseError:
        if detect_format(path, source.format) != "csv":
            raise
    # DuckDB reads UTF-8 only; older ERPs write Windows-1252 with odd delimiters
    table = read_table(path)
    if table.errors:
        raise table.errors[0]
    rows = [{**row, LINE: line} for row, line in zip(table.rows, table.lines, strict=True)]
    return Side(rows_to_table(rows), str(path))


def prepare_entity(
    spec: UatSpec,
    entity: EntitySpec,
    base: Path,
    translations: dict[str, Translation],
    hooks: dict[str, SourceHook] | None = None,
) -> PreparedEntity:
    """Load both sides, translate the legacy codes, build the definition."""
    kind = KINDS[entity.kind]
    definition = definition_for(spec.name, entity)
    legacy = load_source(entity.legacy, entity.kind, base, hooks)
    new = load_source(entity.new, entity.kind, base, hooks)
    columns = {
        entity.legacy.columns.get(f, f): (f, translations[table])
        for f, table in entity.translate.items()
    }
    legacy, gaps = translate_side(legacy, columns)
    return PreparedEntity(entity, kind, definition, legacy, new, tuple(gaps))
