"""The demo's synthetic book of business: customers, deals and their lines."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

SEED = 20261123
N_CUSTOMERS = 300
CENT = Decimal("0.01")

PRODUCTS: dict[str, tuple[str, Decimal]] = {
    "PLAT-SEAT": ("Platform seat", Decimal("45.00")),
    "PLAT-ADMIN": ("Admin seat", Decimal("90.00")),
    "ANALYTICS": ("Analytics add-on", Decimal("500.00")),
    "API-10K": ("API calls, 10k block", Decimal("120.00")),
    "SUPPORT-PREM": ("Premium support", Decimal("250.00")),
    "STORAGE-1TB": ("Storage, 1 TB", Decimal("75.00")),
    "SSO": ("Single sign-on", Decimal("150.00")),
    "SANDBOX": ("Sandbox environment", Decimal("200.00")),
}
REGIONS: list[tuple[str, str, Decimal]] = [  # country, currency, tax rate
    ("US", "USD", Decimal("0.0825")),
    ("US", "USD", Decimal("0.0600")),
    ("US", "USD", Decimal("0.0725")),
    ("DE", "EUR", Decimal("0.19")),
    ("FR", "EUR", Decimal("0.20")),
    ("GB", "GBP", Decimal("0.20")),
    ("JP", "JPY", Decimal("0.10")),
]
WORDS_A = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Massive",
    "Dunder",
    "Pied",
    "Aperture",
    "Black Mesa",
    "Nakatomi",
]
WORDS_B = [
    "Dynamics",
    "Logistics",
    "Analytics",
    "Foods",
    "Systems",
    "Labs",
    "Industries",
    "Partners",
    "Health",
    "Media",
    "Energy",
    "Robotics",
    "Retail",
    "Capital",
    "Works",
]
SUFFIX = {
    "US": ["Inc.", "LLC", "Corp."],
    "DE": ["GmbH", "AG"],
    "FR": ["SA", "SAS"],
    "GB": ["Ltd", "plc"],
    "JP": ["K.K.", "Co., Ltd."],
}


def q(amount: Decimal, currency: str) -> Decimal:
    exp = Decimal(1) if currency == "JPY" else CENT
    return amount.quantize(exp, rounding=ROUND_HALF_UP)


@dataclass
class Line:
    sku: str
    quantity: int
    list_price: Decimal
    price: Decimal
    discount: Decimal


@dataclass
class Deal:
    n: int
    account_id: str
    account_name: str
    country: str
    currency: str
    tax_rate: Decimal
    opportunity_id: str
    close_date: date
    start: date
    term: int
    frequency: str
    lines: list[Line] = field(default_factory=list)

    @property
    def end(self) -> date:
        month = self.start.month - 1 + self.term
        return date(self.start.year + month // 12, month % 12 + 1, self.start.day) - timedelta(1)

    @property
    def zuora_account(self) -> str:
        return f"A{self.n:08d}"

    @property
    def subscription(self) -> str:
        return f"A-S{self.n:08d}"

    @property
    def invoice(self) -> str:
        return f"INV{self.n:08d}"


def _sf_id(prefix: str, n: int) -> str:
    return f"{prefix}5g00000{n:05d}AAA"[:18]


def build_deals(rng: random.Random) -> list[Deal]:
    deals = []
    for n in range(1, N_CUSTOMERS + 1):
        country, currency, tax = rng.choice(REGIONS)
        name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {n:03d} {rng.choice(SUFFIX[country])}"
        start = date(2026, rng.randint(1, 10), 1)
        deal = Deal(
            n=n,
            account_id=_sf_id("001", n),
            account_name=name,
            country=country,
            currency=currency,
            tax_rate=tax,
            opportunity_id=_sf_id("006", n),
            close_date=start - timedelta(days=rng.randint(3, 20)),
            start=start,
            term=rng.choice([12, 12, 12, 24, 36]),
            frequency=rng.choice(["Monthly", "Annual"]),
        )
        for sku in rng.sample(sorted(PRODUCTS), rng.randint(1, 3)):
            base = PRODUCTS[sku][1] * (Decimal(150) if currency == "JPY" else Decimal(1))
            discount = rng.choice([Decimal(0), Decimal(0), Decimal(10), Decimal(15)])
            price = q(base * (1 - discount / 100), currency)
            deal.lines.append(Line(sku, rng.randint(1, 40), q(base, currency), price, discount))
        deals.append(deal)
    return deals


def period_amount(deal: Deal, line: Line) -> Decimal:
    months = 12 if deal.frequency == "Annual" else 1
    return q(line.price * line.quantity * months, deal.currency)


def us(d: date) -> str:
    return f"{d.month}/{d.day}/{d.year}"
