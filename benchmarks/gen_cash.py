"""Synthetic cash-application data with known answers (for bench_cash.py).

The mix follows docs/reconciliation.md §6: 55% one reference, 10% two to four references,
7% short pays with a reference, 13% no reference and a name variant (some with typos), 8%
no reference paying two or three invoices, 7% unidentifiable. Deterministic per seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa

from canonical import Money
from reconcile.cash import CashLine, CustomerRef
from reconcile.cash.ledger import OPEN_ITEM_SCHEMA

_SYL = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["th", "st", "tr", "br", "qu"]
_SUFFIX = [
    "Systems",
    "Trading",
    "Foods",
    "Logistics",
    "Partners",
    "Labs",
    "Media",
    "Energy",
    "Medical",
    "Retail",
    "Consulting",
    "Software",
    "Metals",
    "Textiles",
    "Motors",
]
_LEGAL = ["Inc", "LLC", "Ltd", "GmbH", "SA", "BV", "Corp", "Co", "AG", "PLC"]
_LEGAL_VARIANT = {
    "Inc": "Incorporated",
    "Ltd": "Limited",
    "Corp": "Corporation",
    "Co": "Company",
    "SA": "S.A.",
    "BV": "B.V.",
    "LLC": "L.L.C.",
}


@dataclass
class Truth:
    kind: str
    invoices: frozenset[str]
    customer: str | None


@dataclass
class CashData:
    lines: list[CashLine]
    invoices: pa.Table
    customers: list[CustomerRef]
    truth: dict[str, Truth]


def _word(rnd: random.Random) -> str:
    return "".join(rnd.choice(_SYL) for _ in range(rnd.randint(2, 4))).capitalize()


def _customers(rnd: random.Random, n: int) -> list[CustomerRef]:
    seen: set[str] = set()
    out: list[CustomerRef] = []
    while len(out) < n:
        core = f"{_word(rnd)} {_word(rnd)} {rnd.choice(_SUFFIX)}"
        if core.lower() in seen:
            continue
        seen.add(core.lower())
        cid = f"C{len(out):06d}"
        accounts = (f"DE{rnd.randrange(10**19, 10**20)}",) if rnd.random() < 0.3 else ()
        out.append(CustomerRef(cid, f"{core} {rnd.choice(_LEGAL)}", accounts))
    return out


def _variant(rnd: random.Random, name: str, typo: bool) -> str:
    words = name.split()
    legal = words[-1]
    core = words[:-1]
    style = rnd.random()
    if style < 0.3:
        text = " ".join(core).upper()
    elif style < 0.6:
        text = " ".join(core) + " " + _LEGAL_VARIANT.get(legal, legal)
    else:
        text = ", ".join([" ".join(core), legal + "."])
    if typo:
        # a typo in the second word: blocking on the first word still finds it
        chars = list(text)
        first_space = text.find(" ")
        pos = rnd.randrange(first_space + 2, max(first_space + 3, len(core[0]) + len(core[1])))
        chars[pos] = chr(ord("a") + (ord(chars[pos].lower()) - ord("a") + 1) % 26)
        text = "".join(chars)
    return text


def _ref(rnd: random.Random, number: str) -> str:
    digits = number.split("-")[1]
    return rnd.choice([number, f"INV {digits.lstrip('0')}", digits, f"Invoice {number}"])


def generate(
    n_lines: int = 100_000,
    n_invoices: int = 1_000_000,
    n_customers: int = 50_000,
    seed: int = 7,
    typo_share: float = 0.2,
) -> CashData:
    rnd = random.Random(seed)
    customers = _customers(rnd, n_customers)
    today = date(2024, 6, 30)
    numbers = [f"INV-{i:08d}" for i in range(1, n_invoices + 1)]
    owner = [rnd.randrange(n_customers) for _ in range(n_invoices)]
    minor = [rnd.randrange(5_000, 2_500_000) for _ in range(n_invoices)]
    issued = [today - timedelta(days=rnd.randrange(5, 330)) for _ in range(n_invoices)]
    by_customer: dict[int, list[int]] = {}
    for i, c in enumerate(owner):
        by_customer.setdefault(c, []).append(i)
    table = pa.table(
        {
            "invoice_number": numbers,
            "customer_id": [customers[c].customer_id for c in owner],
            "currency": ["USD"] * n_invoices,
            "open_minor": minor,
            "issue_date": issued,
            "due_date": [d + timedelta(days=30) for d in issued],
        },
        schema=OPEN_ITEM_SCHEMA,
    )
    used: set[int] = set()

    def fresh(cust: int | None = None) -> int:
        while True:
            pool = by_customer[cust] if cust is not None else None
            i = rnd.choice(pool) if pool else rnd.randrange(n_invoices)
            if i not in used:
                used.add(i)
                return i

    lines: list[CashLine] = []
    truth: dict[str, Truth] = {}
    kinds = (
        ["one_ref"] * 55
        + ["multi_ref"] * 10
        + ["short_ref"] * 7
        + ["name_only"] * 13
        + ["name_multi"] * 8
        + ["unknown"] * 7
    )
    for n in range(n_lines):
        kind = rnd.choice(kinds)
        line_id = f"B{n:07d}"
        day = today - timedelta(days=rnd.randrange(0, 4))
        payer = None
        if kind in ("one_ref", "short_ref"):
            picked = [fresh()]
        elif kind == "multi_ref":
            first = fresh()
            picked = [first] + [fresh(owner[first]) for _ in range(rnd.randint(1, 3))]
        elif kind == "name_only":
            picked = [fresh(rnd.randrange(n_customers))]
        elif kind == "name_multi":
            first = fresh(rnd.randrange(n_customers))
            picked = [first] + [fresh(owner[first]) for _ in range(rnd.randint(1, 2))]
        else:
            picked = []
        total = sum(minor[i] for i in picked) or rnd.randrange(5_000, 500_000)
        text = ""
        if kind in ("one_ref", "multi_ref", "short_ref"):
            text = "Payment " + " ".join(_ref(rnd, numbers[i]) for i in picked)
            if rnd.random() < 0.5:
                payer = _variant(rnd, customers[owner[picked[0]]].name, False)
        if kind == "short_ref":
            total -= total * rnd.choice([1, 2, 15, 25]) // 100
        if kind in ("name_only", "name_multi"):
            payer = _variant(rnd, customers[owner[picked[0]]].name, rnd.random() < typo_share)
        if kind == "unknown":
            payer = f"{_word(rnd)}{_word(rnd)} Payments"
        lines.append(CashLine(line_id, day, Money.from_minor(total, "USD"), payer, None, text))
        truth[line_id] = Truth(
            kind,
            frozenset(numbers[i] for i in picked),
            customers[owner[picked[0]]].customer_id if picked else None,
        )
    return CashData(lines, table, customers, truth)
