"""Amounts as spreadsheets and ERP exports write them, read exactly.

Accepted: ``1234.56``, ``-3``, ``1,234.56`` and ``1,234,567`` ("," only as a separator of
whole three-digit groups), a currency symbol before or after the number, also inside its
sign or brackets (``$1,234.56``, ``-$1,234.56``, ``($1,234.56)``, NetSuite's and US banks'
negatives), and accounting negatives ``(12.50)`` / ``12.50-``. Anything else with a comma (``1,5``,
``1.234,56``) is refused: which convention a file uses must be declared (a mapping spec or
bank CSV profile does that), never guessed per value. The reconciliation engine applies the
same rule in SQL (``reconcile.engine.sql.number_text``).
"""

from __future__ import annotations

import re
from decimal import Decimal

from canonical.money import to_decimal

#: a currency symbol at either end of the number, or just inside a leading sign or bracket
#: or a trailing one: "($1.00)", "-$1.00", "(1.00 €)", "1.00 $-"
_SYMBOLS = re.compile(r"^([(+-]?)\s*[$€£¥]\s*|\s*[$€£¥]\s*([)-]?)$")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def parse_amount_text(text: str) -> Decimal:
    """Exact Decimal from exported amount text; ValueError when it is not one."""
    value = _SYMBOLS.sub(r"\1\2", text.strip())
    if value.startswith("(") and value.endswith(")"):
        value = "-" + value[1:-1].strip()
    elif value.endswith("-") and value[:-1].replace(",", "").replace(".", "").isdigit():
        value = "-" + value[:-1]
    if _GROUPED.fullmatch(value):
        value = value.replace(",", "")
    return to_decimal(value)
