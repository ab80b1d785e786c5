"""``billbridge reconcile``: run configured reconciliations, or compare two files ad hoc.

Exit codes (datacompy's convention): 0 the sides agree, 1 exceptions were found, 2 error.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from billbridge.errors import BillbridgeError, ConfigError, ParseError
from billbridge.state.db import DEFAULT_URL
from reconcile.engine.result import ReconResult

if TYPE_CHECKING:
    from reconcile.definitions import ReconDefinition, SideSpec
    from reconcile.engine.adhoc import FilesPlan
    from reconcile.engine.local_dates import DatesRead
    from reconcile.engine.sides import Side

app = typer.Typer(help="Reconcile two data sets and record the exceptions.", no_args_is_help=True)
console = Console()

STATE_URL_ENV = "BILLBRIDGE_STATE_URL"
StateUrl = Annotated[
    str,
    typer.Option(
        "--state-url", envvar=STATE_URL_ENV, help="State store URL (SQLite or PostgreSQL)."
    ),
]


def now() -> datetime:
    """The run clock (tests replace it)."""
    return datetime.now(UTC)


def _print_result(result: ReconResult) -> None:
    rs = result.summary["row_summary"]
    three = "df3_rows" in rs  # a three-sided run: rows and lone keys of side C too
    columns = [("rows A", "df1_rows"), ("rows B", "df2_rows")]
    columns += [("rows C", "df3_rows")] if three else []
    columns += [("matched", "equal_rows"), ("within tol.", "matched_within_tolerance"),
                ("only A", "df1_unique"), ("only B", "df2_unique")]  # fmt: skip
    columns += [("only C", "df3_unique")] if three else []
    columns += [("unequal", "unequal_rows"), ("dup keys", "duplicate_keys")]
    table = Table(title=f"{result.recon}: {len(result.exceptions)} exception(s)")
    for label, _ in columns:
        table.add_column(label, justify="right")
    table.add_row(*(str(rs[key]) for _, key in columns))
    console.print(table)
    for category, count in result.summary["exceptions_by_category"].items():
        console.print(f"  {category}: {count}")


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


COMPARE_HELP = (
    "COL[=RIGHTCOL][:OPTION]...; repeat. Options: abs=X, pct=P (tolerances; the column is then "
    "an amount), days=N (a date), or the kind: amount, number, date, status, text. Amounts "
    "differing are AMOUNT_MISMATCH and the first amount column sizes severity and the "
    "exception's amount; a column whose kind is inferred (number, date or text, from its "
    "values) is a FIELD_MISMATCH: give COL:amount for money. Default: every column both "
    "files have (names pair up ignoring case and surrounding spaces)."
)


@app.command("files")
def files(
    left: Annotated[Path, typer.Argument(help="Side A: CSV, XLSX or Parquet.")],
    right: Annotated[Path, typer.Argument(help="Side B: CSV, XLSX or Parquet.")],
    key: Annotated[
        list[str],
        typer.Option(
            "--key",
            help="Key column(s): COL[=RIGHTCOL][:casefold|:strip_leading_zeros|:digits_only|"
            ":alnum_only][,COL...] (keys are always trimmed).",
        ),
    ],
    compare: Annotated[list[str] | None, typer.Option("--compare", help=COMPARE_HELP)] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write exceptions and summary here.")
    ] = None,
    decimal_comma: Annotated[
        str | None,
        typer.Option(
            "--decimal-comma",
            help="left, right or both: that file writes numbers with a decimal comma "
            "(1.234,56); its number columns are read so. Never guessed: 1.000 is one or a "
            "thousand depending on the file.",
        ),
    ] = None,
    day_first: Annotated[
        str | None,
        typer.Option(
            "--day-first",
            help="left, right or both: that file writes dates day first (01/02/2024 is "
            "1 February). Needed only when no value decides: 31/01/2024 or 31.01.2024 are "
            "read day first, 01/31/2024 month first, without it.",
        ),
    ] = None,
    month_first: Annotated[
        str | None,
        typer.Option(
            "--month-first",
            help="left, right or both: that file writes dates month first (01/02/2024 is "
            "2 January), as US exports from NetSuite or Salesforce do.",
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            help="The sheet to read of each XLSX file (default: the sheet the workbook "
            "opens on when it is visible, else its first visible sheet).",
        ),
    ] = None,
    sheet_left: Annotated[
        str | None, typer.Option("--sheet-left", help="The sheet to read of the left XLSX file.")
    ] = None,
    sheet_right: Annotated[
        str | None,
        typer.Option("--sheet-right", help="The sheet to read of the right XLSX file."),
    ] = None,
) -> None:
    """Compare two files keyed by --key; exit 0 when they agree, 1 on exceptions, 2 on error.

    Every error, expected or not, is one line naming the file (and line) where known, exit 2.
    """
    from reconcile.engine import load_file, reconcile
    from reconcile.engine.adhoc import plan_files
    from reconcile.engine.output import XLSX_ROWS, write_outputs

    plan: FilesPlan | None = None
    dates: dict[str, DatesRead] = {}
    if out is not None and out.exists() and not out.is_dir():
        raise _fail(BillbridgeError(f"--out {out}: exists and is not a directory"))
    try:
        sheets = _sheets(left, right, sheet, sheet_left, sheet_right)
        a, b = load_file(left, sheet=sheets[0]), load_file(right, sheet=sheets[1])
        totals = {"a": a.totals, "b": b.totals}
        if decimal_comma is not None:
            a, b = _decimal_comma(decimal_comma, a, b, key)
        dates = _local_dates(a, b, key, day_first, month_first)
        a, b = dates["a"].side, dates["b"].side
        plan = plan_files(a, b, key, compare or [])
        result = reconcile(plan.definition, a, b)
        # columns nobody compared are part of the answer: "agree" is about the others
        result.summary["columns_only_in_a"] = plan.only_in_a
        result.summary["columns_only_in_b"] = plan.only_in_b
        # totals rows under the data, not read as records: said, never dropped silently
        result.summary["totals_rows_not_read"] = {
            side: [{"line": line, "label": label} for line, label in found]
            for side, found in totals.items()
        }
        written = write_outputs(result, out) if out else []
    except Exception as exc:  # noqa: BLE001 - exit 2 with one line, never 1 (= exceptions)
        raise _fail(_files_error(exc, left, right, plan, dates, decimal_comma)) from None
    _print_result(result)
    for data in (a, b):
        if data.sheet is not None and data.sheet.others:
            console.print(
                f"  {data.source}: read sheet {data.sheet.name!r} (also in the workbook: "
                f"{data.sheet.describe_others()}; --sheet NAME reads another)",
                markup=False,
            )
    for data, found in ((a, totals["a"]), (b, totals["b"])):
        for line, label in found:
            console.print(
                f"  {data.source}: line {line} ({label!r}) is a totals row under the data, "
                "not read as a record",
                markup=False,
            )
    _print_dates(dates, plan, show_ambiguous=not result.agree)
    if decimal_comma is None and not result.agree:
        _hint_decimal_comma(plan, a, b)
    for label, columns in (("A", plan.only_in_a), ("B", plan.only_in_b)):
        if columns:
            listed = ", ".join(repr(c) for c in columns)
            console.print(f"  not compared, only in {label}: {listed}", markup=False)
    if written and len(result.found) > XLSX_ROWS:
        console.print(
            f"  exceptions.xlsx: {len(result.found):,} rows over "
            f"{-(-len(result.found) // XLSX_ROWS)} sheets ({XLSX_ROWS:,} rows fit on one)"
        )
    for path in written:
        console.print(f"wrote {path}")
    raise typer.Exit(0 if result.agree else 1)


def _sheets(
    left: Path, right: Path, both: str | None, left_sheet: str | None, right_sheet: str | None
) -> tuple[str | None, str | None]:
    """The sheet to read of each file: ``--sheet-left``/``--sheet-right``, else ``--sheet``
    for each file that is a workbook. A sheet given for a file that is no workbook (or
    ``--sheet`` when neither is) is an error, not ignored."""
    from reconcile.engine.sides import detect_format

    out: list[str | None] = []
    workbooks = []
    given = ((left, left_sheet, "--sheet-left"), (right, right_sheet, "--sheet-right"))
    for path, own, option in given:
        try:
            workbook = detect_format(path) == "xlsx"
        except ConfigError:
            workbook = False
        if own is not None and not workbook:
            raise ConfigError(f"{option} {own!r}: {path} is not an XLSX workbook")
        workbooks.append(workbook)
        out.append(own if own is not None else (both if workbook else None))
    if both is not None and not any(workbooks):
        raise ConfigError(f"--sheet {both!r}: neither {left} nor {right} is an XLSX workbook")
    return out[0], out[1]


def _decimal_comma(which: str, a: Side, b: Side, key: list[str]) -> tuple[Side, Side]:
    """The sides ``--decimal-comma`` names with their number columns read that way (the
    key columns as written)."""
    from reconcile.engine.adhoc import parse_keys
    from reconcile.engine.decimal_comma import with_decimal_point

    sides = _sides("--decimal-comma", which)
    keys = parse_keys(key)
    if "a" in sides:
        a = with_decimal_point(a, {k.col("a") for k in keys})
    if "b" in sides:
        b = with_decimal_point(b, {k.col("b") for k in keys})
    return a, b


def _sides(option: str, which: str) -> tuple[str, ...]:
    sides = {"left": ("a",), "right": ("b",), "both": ("a", "b")}.get(which.strip().lower())
    if sides is None:
        raise ConfigError(f"{option} {which!r}: one of left, right, both")
    return sides


def _local_dates(
    a: Side, b: Side, key: list[str], day_first: str | None, month_first: str | None
) -> dict[str, DatesRead]:
    """Both sides with their columns of local dates read as ISO dates (key columns as
    written); ``--day-first``/``--month-first`` settle the order where no value does."""
    from reconcile.engine.adhoc import parse_keys
    from reconcile.engine.local_dates import Order, with_iso_dates

    declared: dict[str, Order] = {}
    options: tuple[tuple[str, str | None, Order], ...] = (
        ("--day-first", day_first, "day"),
        ("--month-first", month_first, "month"),
    )
    for option, which, order in options:
        for side in _sides(option, which) if which is not None else ():
            if side in declared:
                raise ConfigError(
                    f"--day-first and --month-first both name the {_SIDE_WORD[side]} file"
                )
            declared[side] = order
    keys = parse_keys(key)
    return {
        side: with_iso_dates(data, {k.col(side) for k in keys}, declared.get(side))
        for side, data in (("a", a), ("b", b))
    }


_SIDE_WORD = {"a": "left", "b": "right"}


def _print_dates(dates: dict[str, DatesRead], plan: FilesPlan, *, show_ambiguous: bool) -> None:
    """Which compared columns were read as local dates, and (when the files differ) which
    could not be: dates that read differently day first and month first."""
    compared = {c.col(s) for c in plan.definition.compare for s in "ab"}
    for side, read in dates.items():
        for column, (written, iso) in read.examples.items():
            if column in compared:
                console.print(
                    f"  {read.side.source}: {column!r} read as dates ({written!r} is {iso})",
                    markup=False,
                )
        ambiguous = [c for c in read.ambiguous if c in compared]
        if ambiguous and show_ambiguous:
            flag = _SIDE_WORD[side]
            listed = ", ".join(repr(c) for c in ambiguous)
            console.print(
                f"  {read.side.source}: {listed}: dates that read differently day first and "
                f"month first (01/02/2024) were compared as written; add --day-first {flag} "
                f"or --month-first {flag}",
                markup=False,
            )


def _hint_decimal_comma(plan: FilesPlan, a: Side, b: Side) -> None:
    """Text-compared columns a file writes as decimal-comma numbers: say how to declare it."""
    from reconcile.engine.decimal_comma import looks_decimal_comma

    text = [c for c in plan.definition.compare if c.kind == "text"]
    for side, data, flag in (("a", a, "left"), ("b", b, "right")):
        found = looks_decimal_comma(data, [c.col(side) for c in text])
        if found:
            listed = ", ".join(repr(c) for c in found)
            console.print(
                f"  {data.source}: {listed} hold numbers with a decimal comma (1.234,56), "
                f"compared as text; if the file writes numbers so, add --decimal-comma {flag}",
                markup=False,
            )


def _files_error(
    exc: Exception,
    left: Path,
    right: Path,
    plan: FilesPlan | None,
    dates: dict[str, DatesRead] | None = None,
    decimal_comma: str | None = None,
) -> Exception:
    """The error as one line: ours say where; anything else names both files."""
    if isinstance(exc, ParseError) and plan is not None:
        kind = next(
            (k for c, k in plan.inferred.items() if exc.reason.startswith(f"field {c!r}:")), None
        )
        example = next(
            (
                written
                for read in (dates or {}).values()
                if read.side.source == exc.file
                for c, (written, _) in read.examples.items()
                if exc.reason.startswith(f"field {c!r}:")
            ),
            None,
        )
        comma = _decimal_comma_flag(exc, left, right, decimal_comma)
        order = _date_order_flag(exc, left, right, dates or {})
        if order is not None and comma is None and example is None:
            hint = (
                "dates that read differently day first and month first (01/02/2024) are "
                f"read only with --day-first {order} or --month-first {order}"
            )
            return ParseError(
                exc.reason, file=exc.file, line=exc.line, expected=f"{exc.expected}: {hint}"
            )
        if comma is not None:
            hint = f"if the file writes numbers with a decimal comma, add --decimal-comma {comma}"
        elif example is not None:
            hint = f"its other values are dates like {example!r}; --compare COL:text compares text"
        elif kind is not None:
            hint = f"its other values made it a {kind} column; --compare COL:text compares text"
        if comma is not None or example is not None or kind is not None:
            return ParseError(
                exc.reason,
                file=exc.file,
                line=exc.line,
                expected=f"{exc.expected}: {hint}" if exc.expected else hint,
            )
    if isinstance(exc, OSError) and exc.strerror:
        return BillbridgeError(f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror)
    if isinstance(exc, BillbridgeError | OSError):
        return BillbridgeError(_first_line(str(exc)))
    return BillbridgeError(
        f"{left} vs {right}: unexpected {type(exc).__name__}: {_first_line(str(exc))}"
    )


def _date_order_flag(
    exc: ParseError, left: Path, right: Path, dates: dict[str, DatesRead]
) -> str | None:
    """``left`` or ``right`` when the error is a date column's value of that file that no
    day/month order was settled for (``01/02/2024``, a column ``--compare COL:days=N`` names
    as a date): the flag to add. None otherwise."""
    import re

    if not (exc.expected or "").startswith("an ISO date"):
        return None
    flag = {str(left): "left", str(right): "right"}.get(exc.file or "")
    if flag is None:
        return None
    read = dates.get("a" if flag == "left" else "b")
    column = re.match(r"field '(.*?)':", exc.reason)
    value = re.search(r": '(.*)'$", exc.reason)
    ambiguous = read is not None and column is not None and column.group(1) in read.ambiguous
    local = value is not None and re.fullmatch(
        r"\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(\s.*)?", value.group(1)
    )
    return flag if ambiguous or local else None


def _decimal_comma_flag(
    exc: ParseError, left: Path, right: Path, declared: str | None = None
) -> str | None:
    """``left`` or ``right`` when the value the error names is a decimal-comma number
    (``1.234,56``) in that file and the file is not declared so: the flag that would read
    it (None otherwise)."""
    import re

    from reconcile.engine.decimal_comma import DECIMAL_COMMA

    found = re.search(r": '(.*)'$", exc.reason)
    if found is None or "," not in found.group(1) or not re.search(DECIMAL_COMMA, found.group(1)):
        return None
    flag = {str(left): "left", str(right): "right"}.get(exc.file or "")
    given = (declared or "").strip().lower()
    return None if flag is None or given in (flag, "both") else flag


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


@app.command("run")
def run(
    name: Annotated[str | None, typer.Argument(help="Reconciliation name.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Run every configured reconciliation.")
    ] = False,
    definitions: Annotated[
        Path | None,
        typer.Option(
            "--definitions",
            envvar="BILLBRIDGE_RECON_DEFINITIONS",
            help="A definitions YAML whose sides are files (instead of the config file).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="BILLBRIDGE_CONFIG",
            help="billbridge config: reconciliations whose sides are configured connections.",
        ),
    ] = None,
    state_url: StateUrl = DEFAULT_URL,
    out: Annotated[Path | None, typer.Option("--out", help="Also write files here.")] = None,
) -> None:
    """Run reconciliations and record their exceptions in the state store: the config
    file's (sides read from connections), or a definitions file's (sides are files)."""
    if all_ == bool(name):
        raise _fail(ConfigError("give a reconciliation NAME or --all (not both)"))
    if definitions is None:
        # an explicit --state-url (or BILLBRIDGE_STATE_URL) wins over the config file's
        _run_from_config(name, config, out, None if state_url == DEFAULT_URL else state_url)
        return
    from billbridge.state import Store
    from reconcile.definitions import load_definitions
    from reconcile.exceptions import ExceptionStore
    from reconcile.exceptions.display import kinds_of

    try:
        found_defs = load_definitions(definitions)
        if name:
            found_defs = [d for d in found_defs if d.name == name]
            if not found_defs:
                raise ConfigError(f"{definitions}: no reconciliation named {name!r}")
        store = Store(state_url)
    except (BillbridgeError, OSError) as exc:
        raise _fail(exc) from None
    found = False
    try:
        xs = ExceptionStore(store)
        for definition in found_defs:
            result = _run_one(definition, out)
            run_id = uuid.uuid4().hex
            delta = xs.record_run(
                definition.name,
                run_id,
                result.rows,
                now(),
                rules=definition.severity,
                kinds=kinds_of(definition),
            )
            _print_result(result)
            console.print(
                "  run "
                + run_id[:12]
                + ": "
                + ", ".join(f"{k} {v}" for k, v in delta.counts.items())
            )
            found = found or not result.agree
    except (BillbridgeError, OSError) as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    raise typer.Exit(1 if found else 0)


def _run_from_config(
    name: str | None, config_path: Path | None, out: Path | None, state_url: str | None = None
) -> None:
    """Reconciliations from the billbridge config file; exit 1 when exceptions are open
    (in someone's hands or not, but not closed: resolved, won't fix or suppressed)."""
    from billbridge.state import Store
    from config.loader import load_config
    from reconcile.configured import run_configured
    from reconcile.exceptions import ExceptionStore
    from reconcile.exceptions.model import CLOSED, Status

    try:
        config = load_config(config_path)
        names = [name] if name else [n for n, r in config.reconciliations.items() if r.enabled]
        if not names:
            raise ConfigError("no reconciliations configured (reconciliations: in the config)")
        store = Store(state_url or config.state.url)
    except (BillbridgeError, OSError) as exc:
        raise _fail(exc) from None
    open_total, failed = 0, []
    try:
        xs = ExceptionStore(store)
        for recon in names:
            at = now()
            try:
                delta = run_configured(config, recon, store=store, now=at)
            except (BillbridgeError, OSError) as exc:
                # one late or broken export must not stop the others: each run is its own
                # transaction, and the failure still ends the command with exit 2
                if len(names) == 1:
                    raise
                typer.echo(f"error: {recon}: {exc}", err=True)
                failed.append(recon)
                continue
            seen = {*delta.new, *delta.still_open, *delta.changed, *delta.reopened}
            open_total += sum(
                v.id in seen
                for v in xs.list(delta.recon, now=at)
                if v.status not in (*CLOSED, Status.SUPPRESSED)
            )
            console.print(f"{recon}: " + ", ".join(f"{k} {v}" for k, v in delta.counts.items()))
    except (BillbridgeError, OSError) as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    if out is not None:
        console.print("[yellow]--out applies to --definitions runs; use 'report render'[/]")
    if failed:
        typer.echo(
            f"error: {len(failed)} of {len(names)} reconciliations failed: {', '.join(failed)}",
            err=True,
        )
        raise typer.Exit(2)
    raise typer.Exit(1 if open_total else 0)


def _run_one(definition: object, out: Path | None) -> ReconResult:
    from reconcile.builtin import BUILTIN_NAMES, side_rows
    from reconcile.definitions import ReconDefinition
    from reconcile.engine import load_side
    from reconcile.engine.output import write_outputs
    from reconcile.engine.three_way import reconcile_sides

    assert isinstance(definition, ReconDefinition)
    sides = []
    for label in definition.sides:
        spec = getattr(definition, label)
        flatten = None
        if definition.name in BUILTIN_NAMES:

            def flatten(records: object, _side: str = label) -> list[dict[str, object]]:
                return side_rows(definition.name, _side, records)  # type: ignore[arg-type]

        side = load_side(spec, flatten)
        if spec.path and not spec.mapping:
            side = _local_forms(definition, label, spec, side)
        sides.append(side)
    result = reconcile_sides(definition, sides)  # two or three sides
    if out:
        write_outputs(result, out, stem=definition.name)
    return result


def _local_forms(definition: ReconDefinition, label: str, spec: SideSpec, side: Side) -> Side:
    """A raw file side's compared numbers and dates written the local way, read as the
    engine reads them (``reconcile.engine.local_forms``)."""
    from reconcile.engine.local_forms import DATE_ORDERS, ambiguous_message, read_local_forms

    def columns(kinds: tuple[str, ...]) -> list[str]:
        return [c.col(label) for c in definition.compare if c.kind in kinds]

    read = read_local_forms(
        side,
        columns(("amount", "number")),
        columns(("date",)),
        decimal_comma=spec.decimal_comma,
        order=DATE_ORDERS[spec.dates] if spec.dates else None,
    )
    if read.ambiguous:
        declare = f"dates: day_first or dates: month_first on side {label} ({spec.label})"
        raise ConfigError(
            f"{definition.name}: " + ambiguous_message(side.source, read.ambiguous[0], declare)
        )
    return read.side


def state_url_default() -> str:
    return os.environ.get(STATE_URL_ENV, DEFAULT_URL)
