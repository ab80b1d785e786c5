"""The demo's BAI2 bank statement: today's receipts against open invoices."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TYPE_CHECKING

from billbridge.demo.dataset import Deal

if TYPE_CHECKING:
    from billbridge.demo.generate import Planted

BANK_ACCOUNT = "026009593-8831"


def bank_statement(
    rng: random.Random,
    open_invoices: list[tuple[Deal, Decimal]],
    xwalk: list[list[str]],
    short_pay: int,
    by_name_only: int,
    planted: Planted,
) -> str:
    """A BAI2 previous-day file: today's receipts against some open USD invoices."""
    accounts = {row[2]: row[4] for row in xwalk}
    usd = [(d, t) for d, t in open_invoices if d.currency == "USD"]
    payers = [x for x in usd if x[0].n in (short_pay, by_name_only)]
    payers += rng.sample([x for x in usd if x not in payers], 40)
    details, total = [], 0
    for seq, (d, amount) in enumerate(payers, start=1):
        cents = int(amount * 100)
        text = f"ACH CREDIT {d.account_name.upper()} REF {d.invoice}"
        if d.n == short_pay:
            cents = cents * 6 // 10  # 40 % short: far beyond the short-pay tolerance
            planted.add(
                "cash_application", "SHORT_PAY", f"88310000:{880000 + seq}", "paid 40 % short"
            )
        if d.n == by_name_only:
            text = f"ACH CREDIT {d.account_name.upper()} REMITTANCE TO FOLLOW"
        total += cents
        details.append(f"16,165,{cents},0,{880000 + seq},{accounts[d.zuora_account]},{text}/")
    unknown = 123_456
    total += unknown
    details.append(f"16,165,{unknown},0,{880999},,ACH CREDIT NORTHWIND TRADERS WIRE/")
    planted.add("cash_application", "UNAPPLIED", "88310000:880999", "payer not a known customer")
    body = [
        "01,BANKOFAMER,BILLBRIDGE,261123,0600,1,80,1,2/",
        "02,BILLBRIDGE,026009593,1,261122,2400,USD,2/",
        f"03,{BANK_ACCOUNT.split('-')[1]}0000,USD,010,500000000,,,015,{500000000 + total},,,"
        f"100,{total},{len(details)},/",
        *details,
    ]
    # 49 sums the 03 summary amounts and the 16 details; records counted include 03 and 49
    account_total = 500_000_000 + (500_000_000 + total) + total + total
    records = len(details) + 2
    body.append(f"49,{account_total},{records}/")
    body.append(f"98,{account_total},1,{records + 2}/")
    body.append(f"99,{account_total},1,{records + 4}/")
    return "\n".join(body) + "\n"
