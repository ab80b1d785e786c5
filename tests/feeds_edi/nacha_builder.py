"""Build NACHA files with correct controls, for property tests (test code, not product)."""

from __future__ import annotations

from dataclasses import dataclass

ODFI = "01100001"


@dataclass(frozen=True)
class EntrySpec:
    code: str  # transaction code, e.g. "22"
    rdfi: str  # 9-digit routing with check digit
    account: str
    cents: int
    name: str
    trace_seq: int


def _rec(*parts: str) -> str:
    text = "".join(parts)
    assert len(text) == 94, (len(text), text)
    return text


def build_file(entries: list[EntrySpec], *, eol: str = "\n", pad: bool = True) -> bytes:
    lines = [
        _rec("1", "01", " 011000015", " 123456789", "240315", "1200", "A", "094", "10", "1",
             "FEDERAL RESERVE BANK".ljust(23), "BILLBRIDGE DEMO INC".ljust(23), " " * 8),
        _rec("5", "200", "BILLBRIDGE DEMO".ljust(16), " " * 20, "1234567890", "PPD",
             "SUBSCR".ljust(10), " " * 6, "240315", "075", "1", ODFI, "0000001"),
    ]  # fmt: skip
    entry_hash = debit = credit = 0
    for e in entries:
        lines.append(_rec("6", e.code, e.rdfi, e.account.ljust(17), f"{e.cents:010d}",
                          "ID".ljust(15), e.name.ljust(22)[:22], "  ", "0",
                          f"{ODFI}{e.trace_seq:07d}"))  # fmt: skip
        entry_hash += int(e.rdfi[:8])
        if e.code[-1] in "1234":
            credit += e.cents
        else:
            debit += e.cents
    n, h = len(entries), entry_hash % 10**10
    lines.append(_rec("8", "200", f"{n:06d}", f"{h:010d}", f"{debit:012d}", f"{credit:012d}",
                      "1234567890", " " * 25, ODFI, "0000001"))  # fmt: skip
    blocks = (len(lines) + 1 + 9) // 10
    lines.append(_rec("9", "000001", f"{blocks:06d}", f"{n:08d}", f"{h:010d}", f"{debit:012d}",
                      f"{credit:012d}", " " * 39))  # fmt: skip
    if pad:
        lines += ["9" * 94] * (-len(lines) % 10)
    return (eol.join(lines) + eol).encode("latin-1")
