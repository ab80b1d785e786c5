"""The ``--bank`` and ``--remittance`` files of ``reconcile cash``.

``--bank`` is the documented cash CSV (a ``line_id`` column: read by
:func:`~reconcile.cash.csv_io.read_bank` exactly as before) or any bank file the feed
parsers read (BAI2, camt.053/054, MT940, OFX, lockbox, NACHA, bank CSV profiles), detected
by content. Feed entries become cash lines through :func:`~reconcile.cash.inputs.bank_lines`
with remittances delivered inside them or in ``--remittance`` files (X12 820, camt.054,
EDIFACT REMADV). A feed entry's line id is its ``source_id``, a key the parsers derive
from the entry's own content (account + bank reference, or a hash of date, amount and
references), so the same file gives the same ids on every run: saved runs, approvals and
the ``cash-<line id>`` external ids rely on that.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from billbridge.errors import ConfigError, ParseError
from canonical import BankTransaction, Money, Provenance, Remittance
from canonical.enums import EntryStatus
from reconcile.cash.csv_io import BankFile, read_bank
from reconcile.cash.inputs import SPLIT_BANK_REFERENCE, SPLIT_OF, bank_lines
from reconcile.cash.model import CashLine
from reconcile.engine.local_dates import Order

if TYPE_CHECKING:
    from connectors.feeds.model import FeedResult

#: what --bank accepts, for the error on a file that is none of them
BANK_FORMATS = (
    "the cash CSV (line_id, date, amount, currency, ...), BAI2, camt.053/054, MT940, OFX, "
    "lockbox, NACHA or a bank CSV profile"
)
REMITTANCE_FORMATS = "X12 820, camt.054 with structured remittance or EDIFACT REMADV"


@dataclass(frozen=True)
class BankInput:
    receipts: list[CashLine]
    not_receipts: list[CashLine]
    #: feed parser warnings, as "file: text"
    warnings: list[str] = field(default_factory=list)
    #: entries repeated in another --bank file (an overlapping download), read once
    duplicates: int = 0

    @property
    def returned(self) -> int:
        return sum(ln.returned_by is not None for ln in self.receipts)


def read_bank_input(
    banks: Sequence[Path], remittances: Sequence[Path] = (), order: Order | None = None
) -> BankInput:
    """Cash lines from every ``--bank`` file and the ``--remittance`` files. Raises
    ParseError naming the file that is not a bank (or remittance) file."""
    csv_files: list[tuple[Path, BankFile]] = []
    txns: dict[str, BankTransaction] = {}
    origin: dict[str, Path] = {}
    rems: list[Remittance] = []
    warnings: list[str] = []
    duplicates = 0
    for path in banks:
        data = _read(path)
        if _is_cash_csv(data):
            csv_files.append((path, read_bank(path, order)))
            continue
        found = _parse(path, data, "bank", BANK_FORMATS)
        _check_amounts(path, found)
        if not found.transactions:
            raise ParseError(
                f"no bank transactions in this {found.format} file"
                + (" (a remittance? pass it with --remittance)" if found.remittances else ""),
                file=str(path),
                expected=BANK_FORMATS,
            )
        for txn in _unique_in_file(found.transactions):
            seen = txns.get(txn.source_id)
            if seen is not None:
                duplicates += 1  # the parsers key entries by content: the same entry
                if _better(txn, seen):  # the booked copy wins, whatever the file order
                    txns[txn.source_id] = txn
                    origin[txn.source_id] = path
                continue
            txns[txn.source_id] = txn
            origin[txn.source_id] = path
        rems.extend(found.remittances)
        warnings.extend(f"{path}: {w}" for w in found.warnings)
    duplicates += _drop_split_entries(txns, origin)
    if remittances and not txns:
        raise ParseError(
            "--remittance needs a bank file in a bank format to link to; the cash CSV "
            "carries its references in its reference and memo columns",
            file=str(remittances[0]),
        )
    for path in remittances:
        found = _parse(path, _read(path), "remittance", REMITTANCE_FORMATS)
        _check_amounts(path, found)
        if not found.remittances:
            raise ParseError(
                f"no remittance in this {found.format} file",
                file=str(path),
                expected=REMITTANCE_FORMATS,
            )
        rems.extend(_split_parts(found))
        warnings.extend(f"{path}: {w}" for w in found.warnings)
    fed = bank_lines(list(txns.values()), rems)
    for path, read in csv_files:
        for ln in (*read.receipts, *read.not_receipts):
            if ln.line_id in origin:
                raise ParseError(
                    f"line_id {ln.line_id!r} is also in {origin[ln.line_id]}: line ids must be "
                    "unique over the --bank files",
                    file=str(path),
                )
            origin[ln.line_id] = path
    receipts = [ln for _, f in csv_files for ln in f.receipts] + fed.receipts
    others = [ln for _, f in csv_files for ln in f.not_receipts] + fed.not_receipts
    return BankInput(receipts, others, warnings, duplicates)


def _drop_split_entries(txns: dict[str, BankTransaction], origin: dict[str, Path]) -> int:
    """A camt.053 batch entry and the camt.054 that splits it per TxDtls, given as two
    --bank files, are one receipt: the split (one line per payer, with its remittance)
    replaces the entry when its parts add up to the entry's amount. Returns how many
    entries were replaced."""
    parts: dict[str, list[BankTransaction]] = {}
    for sid, txn in txns.items():
        whole = txn.extra.get("split_of")
        if isinstance(whole, str) and whole in txns and origin[whole] != origin[sid]:
            parts.setdefault(whole, []).append(txn)
    dropped = 0
    for whole, split in parts.items():
        entry = txns[whole]
        if (
            all(p.amount.currency == entry.amount.currency for p in split)
            and sum((p.amount for p in split), Money.zero(entry.amount.currency)) == entry.amount
        ):
            del txns[whole]
            del origin[whole]
            dropped += 1
    return dropped


def _split_parts(found: FeedResult) -> list[Remittance]:
    """The remittances of a --remittance file, each detailing one part of a split entry (a
    camt.054 TxDtls of a batch booking) marked with the whole entry's id and bank reference,
    so the parts are linked together to the camt.053 batch credit they add up to."""
    parts = {t.source_id: t for t in found.transactions}
    out: list[Remittance] = []
    for rem in found.remittances:
        part = parts.get(rem.source_id)
        whole = part.extra.get("split_of") if part is not None else None
        if part is not None and isinstance(whole, str) and whole:
            extra = {**rem.extra, SPLIT_OF: whole, SPLIT_BANK_REFERENCE: part.bank_reference}
            out.append(rem.model_copy(update={"extra": extra}))
        else:
            out.append(rem)
    return out


def _check_amounts(path: Path, found: FeedResult) -> None:
    """Every amount in whole minor units of its currency (99.995 USD, 2500.50 JPY stop the
    run naming the file, the entry's line and the amount, as the cash CSV does)."""
    for txn in found.transactions:
        _whole(path, txn.amount, txn.provenance, f"entry {txn.bank_reference or txn.source_id}")
    for rem in found.remittances:
        what = f"remittance {rem.trace_number or rem.source_id}"
        _whole(path, rem.total, rem.provenance, what)
        for item in rem.lines:
            amounts = (item.paid, item.gross, item.discount, *(a.amount for a in item.adjustments))
            for money in amounts:
                if money is not None:
                    doc = item.document_number or "item"
                    _whole(path, money, item.provenance or rem.provenance, f"{what}, {doc}")
        for adj in rem.adjustments:
            _whole(path, adj.amount, rem.provenance, f"{what}, adjustment")


def _whole(path: Path, money: Money, where: Provenance | None, what: str) -> None:
    if money.is_whole_minor():
        return
    raise ParseError(
        f"{what}: amount {money.amount} has more decimals than {money.currency} allows "
        f"({money.exponent} decimals)",
        file=str(path),
        line=where.line if where else None,
        offset=where.offset if where and where.line is None else None,
        expected=f"an amount in whole {money.currency} minor units",
    )


def _unique_in_file(found: Sequence[BankTransaction]) -> list[BankTransaction]:
    """Only an entry repeated in another file is the same entry: two with one id in one
    file are two entries (the parsers suffix ``#2`` themselves; this covers a parser that
    keys per statement or account group), so the later gets ``#2`` here."""
    out: list[BankTransaction] = []
    ids: set[str] = set()
    for txn in found:
        kept = txn
        if txn.source_id in ids:
            n = 2
            while f"{txn.source_id}#{n}" in ids:
                n += 1
            kept = txn.model_copy(update={"source_id": f"{txn.source_id}#{n}"})
        ids.add(kept.source_id)
        out.append(kept)
    return out


def _better(txn: BankTransaction, seen: BankTransaction) -> bool:
    """Whether ``txn`` should replace ``seen``, the same entry read from an earlier file:
    an entry an intraday report (MT942, camt.052) gave as pending and the day's statement
    gives as booked is read as booked, whichever file is given first."""
    return txn.status == EntryStatus.BOOKED and seen.status != EntryStatus.BOOKED


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None


def _is_cash_csv(data: bytes) -> bool:
    """The documented form: a header with a ``line_id`` column; an empty file too (the
    CSV reader's own errors, such as "file is empty", follow)."""
    if not data.strip():
        return True
    text = data[:4096].decode("utf-8-sig", errors="replace")
    first = next((ln for ln in text.splitlines() if ln.strip(",; \t")), "")
    header = next(csv.reader(io.StringIO(first)), [])
    return "line_id" in {h.strip().lower() for h in header}


def _parse(path: Path, data: bytes, kind: str, expected: str) -> FeedResult:
    from connectors.feeds.detect import detect
    from connectors.feeds.registry import parse_bytes

    if detect(data) is None:
        raise ParseError(f"not a {kind} file billbridge reads", file=str(path), expected=expected)
    try:
        return parse_bytes(data, file_name=str(path))
    except ConfigError as exc:  # a format whose parser is not installed, a bad profile
        raise ParseError(str(exc), file=str(path), expected=expected) from None
    except ParseError as exc:
        if "recognisable header" not in str(exc):
            raise
        # the feeds' own advice names `feeds parse --profile`, which this command has not
        raise ParseError(
            "a CSV that is neither the documented bank form (a line_id column) nor a bank "
            "export with date, amount and description columns",
            file=str(path),
            expected=expected,
        ) from None
