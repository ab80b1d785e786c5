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
from reconcile.engine.local_forms import DATE_ORDERS, ambiguous_message, read_local_forms
from reconcile.engine.sides import LINE, detect_format
from uat.kinds import KINDS, EntityKind
from uat.spec import EntitySpec, SourceError, SourceSpec, UatSpec
from uat.translate import Gap, Merge, Translation, translate_codes

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
    #: legacy codes merged into one new code by a translation table, found together
    merges: tuple[Merge, ...] = ()

    def column(self, side: str, field: str) -> str:
        """The column holding ``field`` on side ``legacy`` or ``new``."""
        ref = self.definition.field(field)
        return ref.col("a" if side == "legacy" else "b")

    def side(self, side: str) -> Side:
        return self.legacy if side == "legacy" else self.new

    def source_column(self, side: str, field: str) -> str:
        """The source column of any field of the kind (compared or not) on ``side``."""
        source = self.spec.legacy if side == "legacy" else self.spec.new
        return source.columns.get(field, field)

    def has_column(self, side: str, field: str) -> bool:
        """``side`` holds ``field``'s column (an empty side holds every column, as nulls)."""
        data = self.side(side)
        empty = data.table is not None and data.num_rows == 0
        return empty or self.source_column(side, field) in data.column_names


def recon_name(spec_name: str, entity: str) -> str:
    return f"uat:{spec_name}:{entity}"


# -- definitions ---------------------------------------------------------------------------
def definition_for(
    spec_name: str, entity: EntitySpec, currency_context: bool = False
) -> ReconDefinition:
    """``currency_context``: both sides hold the kind's currency column though it is not
    compared: the engine carries it as context, so each exception has its currency (amounts
    at risk per currency, minor units, severity) instead of none."""
    kind = KINDS[entity.kind]
    compared = entity.compared()
    ccy = kind.currency_field

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
    context = []
    if currency_context and kind.currency_field and kind.currency_field not in fields:
        context.append({"name": kind.currency_field, **cols(kind.currency_field)})
        fields.add(kind.currency_field)
    data = {
        "name": recon_name(spec_name, entity.name),
        "description": f"UAT {kind.title}: legacy vs new system",
        "a": {"label": "legacy", "aggregate": kind.aggregate},
        "b": {"label": "new", "aggregate": kind.aggregate},
        # a currency key in any case is that currency (usd is USD), shown as ISO writes it
        "keys": [
            {"name": k, **cols(k), **({"normalize": ["trim", "upper"]} if k == ccy else {})}
            for k in kind.keys
        ],
        "compare": compare,
        "context": context,
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
def _mapping_spec(source: SourceSpec, base: Path) -> Any:
    """The mapping spec a source names: a YAML path (relative to the spec) or a shipped name."""
    from mappings.loader import load_spec as load_mapping
    from mappings.registry import default_spec

    name = source.mapping or ""
    try:
        if name.endswith((".yaml", ".yml")):
            path = Path(name)
            return load_mapping(path if path.is_absolute() else base / path)
        return default_spec(name)
    except ConfigError as exc:
        raise SourceError("mapping", str(exc)) from None


def _check_sheet(path: Path, source: SourceSpec) -> None:
    """A named sheet must exist (read-only open: the sheet names come from the index); a
    sheet named for a CSV or Parquet file is a mistake, not something to ignore."""
    if source.sheet is None:
        return
    fmt = detect_format(path, source.format)
    if fmt != "xlsx":
        raise SourceError(
            "sheet",
            f"{path} is read as a {fmt.upper()} file, which has no sheets; sheet: applies to "
            "XLSX workbooks only",
        )
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        names = list(book.sheetnames)
    finally:
        book.close()
    if source.sheet not in names:
        raise SourceError("sheet", f"{path} has no sheet {source.sheet!r}; it has {names}")


def _mapped_records(mapping: Any, path: Path, sheet: str | None) -> list[Record]:
    from connectors.files import FileConnector

    connector = FileConnector(path, mapping, sheet=sheet)
    stream = connector.read(connector.entity)
    records = list(stream)
    if stream.errors:
        raise stream.errors[0]
    return records


def _raw_file(source: SourceSpec, path: Path) -> Side:
    try:
        return load_file(path, source.format, sheet=source.sheet)
    except ParseError as exc:
        if detect_format(path, source.format) != "csv":
            if exc.line is None:  # the whole file unreadable as that format: the spec's to fix
                raise SourceError("format" if source.format else "path", str(exc)) from None
            raise
    # DuckDB reads UTF-8 only; older ERPs write Windows-1252 with odd delimiters
    table = read_table(path)
    if table.errors:
        raise table.errors[0]
    rows = [{**row, LINE: line} for row, line in zip(table.rows, table.lines, strict=True)]
    return Side(rows_to_table(rows), str(path))


def load_source(
    source: SourceSpec, kind: str, base: Path, hooks: dict[str, SourceHook] | None = None
) -> Side:
    """One side's rows. A wrong source raises SourceError naming the spec key at fault;
    data errors (a bad value) name the data file and line instead."""
    if source.connector is not None:
        hook = (hooks or {}).get(source.connector)
        if hook is None:
            msg = f"no live source registered as {source.connector!r}"
            raise SourceError("connector", msg)
        rows = flatten(kind, list(hook(source.connector, kind)))
        return Side(rows_to_table(rows), f"connector:{source.connector}")
    assert source.path is not None
    path = Path(source.path)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise SourceError("path", f"file not found: {path}")
    try:
        _check_sheet(path, source)
        if source.mapping:
            mapping = _mapping_spec(source, base)
            rows = flatten(kind, _mapped_records(mapping, path, source.sheet))
            return Side(rows_to_table(rows), str(path))
        return _raw_file(source, path)
    except SourceError:
        raise
    except ConfigError as exc:  # the file itself (its format): the path is what to fix
        raise SourceError("path", str(exc)) from None


def _needed(entity: EntitySpec, side: str) -> dict[str, str]:
    """Source column -> canonical field the engine (and the translations) read on ``side``."""
    source = entity.legacy if side == "legacy" else entity.new
    fields = [*KINDS[entity.kind].keys, *entity.compared()]
    if side == "legacy":
        fields += list(entity.translate)
    return {source.columns.get(f, f): f for f in fields}


def _check_columns(spec: UatSpec, i: int, entity: EntitySpec, side: str, data: Side) -> None:
    """Every column the comparison reads is there, or an error naming the spec key: the
    column mapping of the field, else the side (an empty side gets them as nulls)."""
    if data.table is not None and data.num_rows == 0:
        return
    have = set(data.column_names) - {LINE}
    source = entity.legacy if side == "legacy" else entity.new
    for column, name in _needed(entity, side).items():
        if column in have:
            continue
        loc = ("entities", i, side, *(("columns", name) if name in source.columns else ()))
        raise ConfigError(
            f"{spec.where(*loc)}: {side} side ({data.source}) has no column {column!r} for "
            f"{name}; it has {sorted(have)}"
        )


def _load(
    spec: UatSpec, i: int, side: str, base: Path, hooks: dict[str, SourceHook] | None
) -> Side:
    entity = spec.entities[i]
    source = entity.legacy if side == "legacy" else entity.new
    try:
        data = load_source(source, entity.kind, base, hooks)
        if source.path is not None and source.mapping is None:
            data = _local_forms(entity, source, data)
        return data
    except SourceError as exc:
        raise ConfigError(f"{spec.where('entities', i, side, exc.field)}: {exc}") from None


def _local_forms(entity: EntitySpec, source: SourceSpec, data: Side) -> Side:
    """A raw file's compared number and date fields written the local way, read as the
    engine reads them (``reconcile.engine.local_forms``)."""
    compared = set(entity.compared())
    fields = [f for f in KINDS[entity.kind].fields if f.name in compared]

    def columns(kinds: tuple[str, ...]) -> list[str]:
        return [source.columns.get(f.name, f.name) for f in fields if f.kind in kinds]

    read = read_local_forms(
        data,
        columns(("amount", "number")),
        columns(("date",)),
        decimal_comma=source.decimal_comma,
        order=DATE_ORDERS[source.dates] if source.dates else None,
    )
    if read.ambiguous:
        declare = "dates: day_first or dates: month_first"
        raise SourceError("dates", ambiguous_message(data.source, read.ambiguous[0], declare))
    return read.side


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
    i = next(n for n, e in enumerate(spec.entities) if e.name == entity.name)
    legacy = _load(spec, i, "legacy", base, hooks)
    new = _load(spec, i, "new", base, hooks)
    _check_columns(spec, i, entity, "legacy", legacy)
    _check_columns(spec, i, entity, "new", new)
    ccy = kind.currency_field
    if ccy in kind.columns and all(
        data.num_rows == 0 or source.columns.get(ccy, ccy) in data.column_names
        for data, source in ((legacy, entity.legacy), (new, entity.new))
    ):
        definition = definition_for(spec.name, entity, currency_context=True)
    columns = {
        entity.legacy.columns.get(f, f): (f, translations[table])
        for f, table in entity.translate.items()
    }
    done = translate_codes(legacy, columns)
    return PreparedEntity(
        entity, kind, definition, done.side, new, tuple(done.gaps), tuple(done.merges)
    )
