"""A file's compared numbers and dates written the local way, read as the engine reads them,
for sources whose fields have declared kinds (YAML definitions, UAT entities): decimal
commas where the source declares them (``decimal_comma``), local dates always, with their
order declared where no value decides (``local_dates``). Only the columns of number and
date fields are rewritten: a code or a text that looks like either stays as written."""

from __future__ import annotations

from collections.abc import Collection

from reconcile.engine.decimal_comma import with_decimal_point
from reconcile.engine.local_dates import DatesRead, Order, with_iso_dates
from reconcile.engine.sides import Side

#: the spelling of a declared order in YAML
DATE_ORDERS: dict[str, Order] = {"day_first": "day", "month_first": "month"}


def read_local_forms(
    side: Side,
    numbers: Collection[str],
    dates: Collection[str],
    *,
    decimal_comma: bool = False,
    order: Order | None = None,
) -> DatesRead:
    """``side`` with its ``numbers`` columns read with a decimal comma (when declared) and its
    ``dates`` columns of local dates read as ISO dates; ``ambiguous`` lists date columns
    whose order needs declaring."""
    if decimal_comma:
        side = with_decimal_point(side, set(side.column_names) - set(numbers))
    return with_iso_dates(side, set(side.column_names) - set(dates), order)


def ambiguous_message(source: str, column: str, declare: str) -> str:
    """What to say about a date column whose order no value decides."""
    return (
        f"{source}: column {column!r} holds dates that read differently day first and month "
        f"first (01/02/2024); declare the file's order with {declare}"
    )
