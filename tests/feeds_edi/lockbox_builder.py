"""Build BAI lockbox files in the default profile's layout (test code, not product)."""

from __future__ import annotations

from dataclasses import dataclass, field

LOCKBOX = 4711
DEPOSIT = "240318"


@dataclass(frozen=True)
class CheckSpec:
    cents: int
    check_number: int
    remitter: str
    invoices: list[tuple[str, int]] = field(default_factory=list)  # (number, cents)


def _overflow(batch: int, item: int, invoices: list[tuple[str, int]]) -> list[str]:
    pairs = [invoices[i : i + 2] for i in range(0, len(invoices), 2)]
    out = []
    for seq, pair in enumerate(pairs, start=1):
        last = 9 if seq == len(pairs) else 0
        body = "".join(f"{num:<15}{cents:010d}" for num, cents in pair)
        out.append(f"4{batch:03d}{item:03d}4{seq:02d}{last}{body}")
    return out


def build_file(batches: list[list[CheckSpec]]) -> bytes:
    lines = ["100BILLBRIDGE0211000021240318063000", f"5001000{LOCKBOX:07d}{DEPOSIT}BILLBRIDGE"]
    total = count = 0
    for b, checks in enumerate(batches, start=1):
        for item, chk in enumerate(checks, start=1):
            lines.append(
                f"6{b:03d}{item:03d}{chk.cents:010d}011000015 123456789"
                f"{chk.check_number:010d}031524{chk.remitter:<30}PAYEE"
            )
            lines += _overflow(b, item, chk.invoices)
        batch_total = sum(c.cents for c in checks)
        lines.append(f"7{b:03d}000{LOCKBOX:07d}{DEPOSIT}{len(checks):03d}{batch_total:010d}")
        total += batch_total
        count += len(checks)
    lines.append(f"8000000{LOCKBOX:07d}{DEPOSIT}{count:04d}{total:010d}")
    lines.append(f"9{len(lines) + 1:06d}")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
