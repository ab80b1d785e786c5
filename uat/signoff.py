"""The sign-off pack: an XLSX workbook (summary scorecard, a sheet per entity with its
exceptions and root causes, expectations with evidence, translation gaps and legacy codes
merged into one new code) and an HTML
summary for the UAT ticket. Follows reconcile.reports' rendering patterns."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import xlsxwriter
from jinja2 import Environment, PackageLoader, select_autoescape

from reconcile.engine.sides import LINE, register_side
from reconcile.engine.sql import ident
from reconcile.reports.render import _sheet_name
from uat.entities import PreparedEntity
from uat.kinds import KINDS, EntityKind
from uat.rootcause import merged_text, money
from uat.runner import UatRun
from uat.scorecard import EntityScore
from uat.translate import Merge, database

_env = Environment(
    loader=PackageLoader("uat", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

SUMMARY_COLUMNS = (
    "entity", "kind", "legacy records", "new records", "matched", "exceptions",
    "match rate %", "previous match rate %", "fixed since last run", "new since last run",
    "amount at risk", "top root cause",
)  # fmt: skip
#: exceptions listed per entity sheet
MAX_ROWS = 100_000
EXCEPTION_COLUMNS = (
    "record", "category", "root cause", "differing fields", "legacy values", "new values",
    "amount at risk", "currency", "severity", "exception id",
)  # fmt: skip


#: merged codes named per table in the HTML summary (the workbook lists them all)
MERGES_SHOWN = 10


def _merged(merge: Merge) -> str:
    shown = list(merge.all_codes.items())[:MERGES_SHOWN]
    more = len(merge.all_codes) - len(shown)
    text = "; ".join(merged_text(new, olds) for new, olds in shown)
    return text + (f"; and {more} more" if more > 0 else "")


def _risk_text(risk: dict[str, Decimal]) -> str:
    return ", ".join(f"{v:f} {k}" for k, v in risk.items()) or "0"


def _summary_row(sc: EntityScore) -> list[Any]:
    p = sc.progress
    return [
        sc.entity, sc.title, sc.rows_legacy, sc.rows_new, sc.matched, sc.exceptions,
        sc.match_rate, p.previous_rate if p else None, p.fixed if p else None,
        p.new if p else None, _risk_text(sc.at_risk),
        sc.root_causes[0].cause.label if sc.root_causes else "",
    ]  # fmt: skip


def _value(value: Any, kind: str, currency: str | None) -> Any:
    """An amount's text padded to the currency's minor units ("100" EUR -> "100.00"): the
    engine's texts drop trailing zeros; other values as they are."""
    if kind != "amount" or value is None:
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    digits = max(0, -int(number.as_tuple().exponent))
    return f"{money(number, digits, currency):f}"


def _values(values: dict[str, Any], names: list[str], kind: EntityKind, ccy: str | None) -> str:
    kinds = {f.name: f.kind for f in kind.fields}

    def shown(n: str) -> Any:
        value = _value(values.get(n), kinds.get(n, "text"), ccy)
        # the engine compares currency codes casefolded; a code reads as ISO writes it
        return value.upper() if n == kind.currency_field and isinstance(value, str) else value

    return "; ".join(f"{n}={shown(n)}" for n in names if n in values)


#: field kinds shown as each system writes them (the engine holds them trimmed, casefolded)
AS_WRITTEN = ("text", "status")
SIDES = (("legacy", "a"), ("new", "b"))


def _first_line(details: dict[str, Any], ab: str) -> int | None:
    """The source line of the row whose values ``details[ab]`` shows (a duplicate's first)."""
    line = (details.get("lines") or {}).get(ab)
    if isinstance(line, list):
        line = line[0] if line else None
    return line if isinstance(line, int) else None


def as_written(
    entity: PreparedEntity, details: list[dict[str, Any]]
) -> dict[str, dict[int, dict[str, str]]]:
    """Per side (a/b), per source line of the listed exceptions, the text fields as that
    system writes them ("Acme GmbH", "ACME GMBH"; codes translated as compared): one query
    per side over those lines only. A side without line numbers gives none."""
    kind = entity.kind
    names = [f.name for f in kind.fields if f.kind in AS_WRITTEN and f.name != kind.currency_field]
    out: dict[str, dict[int, dict[str, str]]] = {"a": {}, "b": {}}
    for side, ab in SIDES:
        lines = sorted({n for d in details if (n := _first_line(d, ab)) is not None})
        data = entity.side(side)
        cols = {n: entity.source_column(side, n) for n in names if entity.has_column(side, n)}
        cols = {n: c for n, c in cols.items() if c in data.column_names}
        has_line = data.table is None or LINE in data.column_names  # Parquet: row numbers
        if not lines or not cols or not has_line:
            continue
        picked = ", ".join(
            f"nullif(trim(CAST({ident(c)} AS VARCHAR)), '') AS {ident(n)}" for n, c in cols.items()
        )
        con = database().cursor()
        try:
            register_side(con, "src", data)
            con.register("wanted", pa.table({LINE: pa.array(lines, pa.int64())}))
            found = con.execute(
                f"SELECT {LINE}, {picked} FROM src SEMI JOIN wanted USING ({LINE})"
            ).fetchall()
        finally:
            con.close()
        out[ab] = {
            int(row[0]): {n: v for n, v in zip(cols, row[1:], strict=True) if v is not None}
            for row in found
        }
    return out


def _write(sheet: Any, r: int, row: list[Any], fmt: dict[str, Any]) -> None:
    for c, value in enumerate(row):
        if isinstance(value, Decimal):
            # Excel holds doubles; cents survive, and the values columns keep exact text
            sheet.write_number(r, c, float(value), fmt["money"])
        elif isinstance(value, int) and not isinstance(value, bool):
            sheet.write_number(r, c, value)
        elif value is None:
            sheet.write_blank(r, c, None)
        else:
            sheet.write_string(r, c, str(value))


def _table(
    sheet: Any, headers: tuple[str, ...], rows: list[list[Any]], fmt: dict[str, Any]
) -> None:
    sheet.write_row(0, 0, headers, fmt["bold"])
    for r, row in enumerate(rows, start=1):
        _write(sheet, r, row, fmt)
    sheet.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(headers) - 1, 18)


def render_xlsx(run: UatRun, *, max_rows: int = MAX_ROWS) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    fmt = {
        "bold": book.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1}),
        "money": book.add_format({"num_format": "#,##0.00"}),
    }
    used: set[str] = set()
    summary = book.add_worksheet(_sheet_name("Summary", used))
    # one typed count column per exception category seen in any entity
    categories = sorted({c for sc in run.scores for c in sc.categories})
    rows = [_summary_row(sc) + [sc.categories.get(c, 0) for c in categories] for sc in run.scores]
    _table(summary, (*SUMMARY_COLUMNS, *categories), rows, fmt)
    causes = book.add_worksheet(_sheet_name("Root causes", used))
    cause_rows = [
        [sc.entity, g.cause.label, g.cause.pattern, g.cause.field, g.count,
         _risk_text(g.at_risk), "; ".join(g.examples)]
        for sc in run.scores for g in sc.root_causes
    ]  # fmt: skip
    headers = ("entity", "root cause", "pattern", "field", "exceptions", "amount at risk",
               "examples")  # fmt: skip
    _table(causes, headers, cause_rows, fmt)
    expect = book.add_worksheet(_sheet_name("Expectations", used))
    x_rows = [
        [x.name, x.entity, "PASS" if x.passed else "FAIL", x.evidence, x.failing,
         "; ".join(x.examples)]
        for x in run.expectations
    ]  # fmt: skip
    _table(expect, ("expectation", "entity", "result", "evidence", "failing", "examples"),
           x_rows, fmt)  # fmt: skip
    gaps = book.add_worksheet(_sheet_name("Translation gaps", used))
    g_rows = [
        [sc.entity, g.table, g.field, code, n]
        for sc in run.scores for g in sc.gaps for code, n in g.codes.items()
    ]  # fmt: skip
    _table(gaps, ("entity", "table", "field", "missing code", "records"), g_rows, fmt)
    merges = book.add_worksheet(_sheet_name("Translation merges", used))
    m_rows = [
        [sc.entity, m.table, m.field, new, ", ".join(olds)]
        for sc in run.scores for m in sc.merges for new, olds in m.all_codes.items()
    ]  # fmt: skip
    _table(merges, ("entity", "table", "field", "new code", "legacy codes"), m_rows, fmt)
    for sc in run.scores:
        sheet = book.add_worksheet(_sheet_name(sc.entity, used))
        kind = KINDS[sc.kind]
        rows = []
        listed = sc.attributed[:max_rows]
        entity = run.entities.get(sc.entity)
        written = (
            as_written(entity, [i.candidate.details for i in listed])
            if entity is not None and listed
            else {"a": {}, "b": {}}
        )
        for item in listed:
            c, d = item.candidate, item.candidate.details
            diff = list(d.get("diff_columns", []))
            shown = diff or list(d.get("a") or d.get("b") or {})
            # each system's own text where its source line has one, else the engine's value
            a, b = (
                _values(
                    {**d.get(ab, {}), **_pick(written[ab], _first_line(d, ab), d.get(ab, {}))},
                    shown, kind, c.currency,
                )
                for ab in "ab"
            )  # fmt: skip
            rows.append([
                item.key_text, c.category, "; ".join(x.label for x in item.causes),
                ", ".join(diff), a, b, item.at_risk, c.currency or "", c.severity,
                c.exception_id,
            ])  # fmt: skip
        if len(sc.attributed) > max_rows:
            # Excel stops at 1,048,576 rows; the scorecard and root causes count them all
            rows.append([f"... {len(sc.attributed) - max_rows} more exception(s) not listed"])
        _table(sheet, EXCEPTION_COLUMNS, rows, fmt)
    book.close()
    return buf.getvalue()


def _pick(
    written: dict[int, dict[str, str]], line: int | None, values: dict[str, Any]
) -> dict[str, str]:
    """The texts as written at ``line`` of the fields the exception shows a value for."""
    if line is None:
        return {}
    return {n: v for n, v in written.get(line, {}).items() if n in values}


def render_html(run: UatRun) -> str:
    return _env.get_template("signoff.html.j2").render(run=run, risk=_risk_text, merged=_merged)


def write_signoff(run: UatRun, out_dir: Path) -> list[Path]:
    """Write ``uat-<spec>.xlsx`` and ``uat-<spec>.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx = out_dir / f"uat-{run.spec.name}.xlsx"
    xlsx.write_bytes(render_xlsx(run))
    html = out_dir / f"uat-{run.spec.name}.html"
    html.write_text(render_html(run), encoding="utf-8")
    return [xlsx, html]
