"""Vendor dict -> canonical records: the mapping engine's default NetSuite spec when one is
shipped (``mappings.find_default_spec("netsuite", object=…, entity=…)``), otherwise the
stop-gap converters in ``to_canonical``. Mapping failures are record-level rejections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog

from billbridge.errors import ConfigError, RecordRejected
from canonical import Record
from connectors.netsuite import to_canonical
from connectors.netsuite.settings import NetSuiteSettings
from connectors.netsuite.sources import Source
from connectors.netsuite.suiteql import MODIFIED, from_account_time

log = structlog.get_logger(__name__)

#: Set on item lines that bill nothing; the shipped specs' ``lines.when`` skips them.
NON_POSTING = "_nonPosting"
#: Item types of lines that are not billed: Description and Group carry no amount, Subtotal
#: and EndGroup repeat the sum of the lines above them (counting them would double it).
NON_POSTING_TYPES = frozenset({"Description", "Subtotal", "Group", "EndGroup"})
#: The built-in "Description" item every account has (a line of text, no amount).
DESCRIPTION_ITEM_ID = "-3"
#: Transactions whose ``item`` sublist may hold non-posting lines.
ITEM_SUBLISTS = frozenset({"invoice", "creditmemo"})


def _ref(value: Any) -> str | None:
    """A select field as REST (``{"id": …}``) or as plain text."""
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None else str(value)


def _non_posting(line: dict[str, Any]) -> bool:
    return (
        _ref(line.get("itemType")) in NON_POSTING_TYPES
        or _ref(line.get("item")) == DESCRIPTION_ITEM_ID
    )


def _money_fields_for_rest(record_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a REST transaction body with non-posting item lines marked and, for an
    invoice that shows no tax anywhere, ``taxTotal`` 0.

    NetSuite leaves empty fields out of REST bodies: an account without a tax engine (or a
    SuiteTax invoice with no tax) has no ``taxTotal``. That means 0 only when nothing else
    carries tax: no line ``taxAmount`` and a total equal to subtotal plus discount.
    Otherwise it stays absent and the invoice is rejected as before.
    """
    block = data.get("item")
    lines = block.get("items") if isinstance(block, dict) else None
    out = dict(data)
    if not isinstance(block, dict) or not isinstance(lines, list):
        lines = []
    elif any(isinstance(x, dict) and _non_posting(x) for x in lines):
        marked = [
            {**x, NON_POSTING: True} if isinstance(x, dict) and _non_posting(x) else x
            for x in lines
        ]
        out["item"] = {**block, "items": marked}
    if record_type == "invoice" and "taxTotal" not in data:
        untaxed = not any(isinstance(x, dict) and x.get("taxAmount") for x in lines)
        try:
            balanced = Decimal(str(data["total"])) == Decimal(str(data["subtotal"])) + Decimal(
                str(data.get("discountTotal") or 0)
            )
        except (KeyError, ArithmeticError, ValueError):
            balanced = False
        if untaxed and balanced:
            out["taxTotal"] = 0
    return out


class Canonicalizer:
    def __init__(self, settings: NetSuiteSettings) -> None:
        self.ctx = to_canonical.Context(
            tz=settings.tz, currencies=settings.currencies, prefixes=settings.external_id_prefixes
        )
        self._specs: dict[str, Any] = {}
        #: account-specific currency ids override the shipped crosswalk table
        self._crosswalks = (
            {"currencies": [{"id": k, "iso": v} for k, v in settings.currencies.items()]}
            if settings.currencies
            else None
        )

    def _spec(self, source: Source, rest_shape: bool) -> Any:
        # REST bodies map with the record-type spec, SuiteQL rows with ``suiteql:<table>``
        key = source.record_type if rest_shape else f"suiteql:{source.query.table}"
        if key not in self._specs:
            try:
                import mappings

                self._specs[key] = mappings.find_default_spec(
                    "netsuite", object=key, entity=source.entity
                )
            except (ImportError, ConfigError) as exc:
                # no (or no single) shipped spec: the stop-gap converter maps this type
                log.info("netsuite.mapping.fallback", object=key, reason=str(exc)[:200])
                self._specs[key] = None
        return self._specs[key]

    def _account_time(self, record: Record, row: dict[str, Any]) -> Record:
        """SuiteQL renders timestamps in the account timezone, which only the connector
        knows (a shipped spec may assume another): set ``updated_at`` here, in UTC."""
        stamp = row.get(MODIFIED)
        if not stamp:
            return record
        moment = from_account_time(str(stamp), self.ctx.tz)
        return record.model_copy(update={"updated_at": moment})

    def convert(
        self,
        source: Source,
        data: dict[str, Any],
        *,
        where: str | None,
        rest_shape: bool | None = None,
    ) -> list[Record]:
        """``rest_shape``: the data is REST record JSON (or SOAP reshaped like it) rather
        than a SuiteQL row; defaults to how the source is read over REST."""
        if source.entity is None:
            raise ConfigError(f"{source.record_type} has no canonical model")
        rest = source.rest_bodies if rest_shape is None else rest_shape
        spec = self._spec(source, rest) if source.entity != "journal_line" else None
        if spec is not None:
            import mappings

            if rest and source.record_type in ITEM_SUBLISTS:
                data = _money_fields_for_rest(source.record_type, data)

            value = mappings.apply_spec(spec, data, where=where, crosswalks=self._crosswalks).value
            if not isinstance(value, Record):
                return []
            return [value if rest else self._account_time(value, data)]
        try:
            return to_canonical.convert(source.entity, data, self.ctx)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            raise RecordRejected(
                f"{where or 'netsuite record'}: cannot map to {source.entity}: {exc}",
                code="mapping_error",
            ) from None
