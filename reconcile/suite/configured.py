"""The AR suite's calculators as configured reconciliations.

A config entry names one of :data:`SUITE` as its ``definition`` and maps the calculator's
inputs to ``connection/entity`` sides; ``reconcile run`` (and the nightly chain) reads them,
runs the calculator and records its findings in the exception store like any other run,
so they keep their identity and age and reach the AR e-mail.

```yaml
reconciliations:
  leakage:
    definition: revenue_leakage
    sides: {invoices: zuora/invoice, contracts: salesforce/contract,
            subscriptions: zuora/subscription}
  aging:
    definition: ar_aging
    sides: {invoices: netsuite/invoice}
```

A calculator may take ``options`` (a mapping checked by its :attr:`SuiteRecon.options`
model, by ``config validate`` and again when it runs): AR sub-ledger vs GL needs the
control accounts.

```yaml
  ar_gl:
    definition: ar_subledger_gl
    sides: {invoices: nsinv/invoice, payments: nspay/payment, gl: nsgl/journal_line}
    options: {control_accounts: ["1200"], months: 3, rounding: {JPY: 1}}
```
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from billbridge.errors import ConfigError
from canonical import (
    ENTITIES,
    Contract,
    CreditMemo,
    Customer,
    Invoice,
    JournalLine,
    Payment,
    Record,
    Refund,
    RevenueScheduleLine,
    Subscription,
)
from canonical.base import CurrencyCode
from reconcile.suite.aging import age, items_from
from reconcile.suite.ar_gl import ArGlPolicy, reconcile_ar_gl_records
from reconcile.suite.leakage import leakage
from reconcile.suite.revenue import billed_lines, compare_schedules, point_in_time_lines

T = TypeVar("T")
Sides = Mapping[str, Sequence[Record]]


def _of(records: Sequence[Record] | None, kind: type[T]) -> list[T]:
    return [r for r in records or () if isinstance(r, kind)]


def _aging(sides: Sides, as_of: date, options: BaseModel | None) -> list[dict[str, Any]]:
    items = items_from(_of(sides["invoices"], Invoice), _of(sides.get("credit_memos"), CreditMemo))
    return age(items, as_of).to_exception_candidates()


def _leakage(sides: Sides, as_of: date, options: BaseModel | None) -> list[dict[str, Any]]:
    report = leakage(
        invoices=_of(sides["invoices"], Invoice),
        contracts=_of(sides["contracts"], Contract),
        as_of=as_of,
        subscriptions=_of(sides["subscriptions"], Subscription)
        if "subscriptions" in sides
        else None,
        customers_a=_of(sides["customers_a"], Customer) if "customers_a" in sides else None,
        customers_b=_of(sides["customers_b"], Customer) if "customers_b" in sides else None,
    )
    return report.to_exception_candidates()


def _revenue(sides: Sides, as_of: date, options: BaseModel | None) -> list[dict[str, Any]]:
    invoices = _of(sides["invoices"], Invoice)
    lines = billed_lines(invoices) + point_in_time_lines(invoices)
    return compare_schedules(
        lines, _of(sides["schedules"], RevenueScheduleLine)
    ).to_exception_candidates()


def _text(value: object) -> object:
    # account numbers and subsidiary ids are often written unquoted (1200): text, not numbers
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Allowance = Annotated[Decimal, Field(ge=0)]


class ArGlOptions(BaseModel):
    """``options`` of ``definition: ar_subledger_gl``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: GL accounts the AR sub-ledger is tied out to (the AR control accounts)
    control_accounts: list[str] = Field(min_length=1)
    #: the control account the sub-ledger's documents post to (default: the only one)
    ar_account: str | None = Field(None, validate_default=True)
    #: only this subsidiary's control-account lines (as the GL export names it)
    subsidiary: str | None = None
    #: the months reconciled, ending with the run's month (default: every month with activity)
    months: int | None = Field(None, ge=1, le=120)
    #: rounding allowance per currency, in currency units (JPY: 1); others: default_rounding
    rounding: dict[CurrencyCode, Allowance] = Field(default_factory=dict)
    default_rounding: Allowance = Decimal("0.01")

    @field_validator("control_accounts", mode="before")
    @classmethod
    def _accounts_as_text(cls, value: object) -> object:
        if isinstance(value, str | int):
            value = [value]  # one account written without a list
        return [_text(v) for v in value] if isinstance(value, list) else value

    @field_validator("control_accounts")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("ar_gl", "an account is listed twice")
        return value

    @field_validator("ar_account", "subsidiary", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return _text(value)

    @field_validator("ar_account")
    @classmethod
    def _one_of_the_control_accounts(cls, value: str | None, info: ValidationInfo) -> str:
        accounts: list[str] | None = info.data.get("control_accounts")
        if accounts is None:  # reported as control_accounts' problem
            return value or ""
        if value is None:
            if len(accounts) == 1:
                return accounts[0]
            raise PydanticCustomError(
                "ar_gl",
                "name the control account the sub-ledger posts to (one of {accounts})",
                {"accounts": ", ".join(accounts)},
            )
        if value not in accounts:
            raise PydanticCustomError(
                "ar_gl",
                "'{value}' is not one of the control accounts ({accounts})",
                {"value": value, "accounts": ", ".join(accounts)},
            )
        return value

    def policy(self) -> ArGlPolicy:
        return ArGlPolicy(
            frozenset(self.control_accounts), dict(self.rounding), self.default_rounding
        )


def _check_gl(gl: Sequence[JournalLine], options: ArGlOptions, documents: int) -> None:
    """A GL export that cannot be what the analyst meant fails the run with the reason,
    instead of recording every document as never posted: no line on the control accounts
    (an account written another way: number vs name), or none naming its source document
    (journal entries only, such as NetSuite's live ``journal_line`` entity)."""
    if not gl or not documents:
        return
    accounts = set(options.control_accounts)
    control = [ln for ln in gl if ln.account in accounts]
    if not control:
        seen = sorted({ln.account for ln in gl})
        shown = ", ".join(repr(a) for a in seen[:8]) + (", ..." if len(seen) > 8 else "")
        raise ConfigError(
            f"ar_subledger_gl: none of the {len(gl)} GL lines is on the control accounts "
            f"{', '.join(repr(a) for a in options.control_accounts)}; the GL names {shown}"
        )
    if not any(ln.source_document for ln in control):
        raise ConfigError(
            f"ar_subledger_gl: none of the {len(control)} GL lines on the control accounts "
            "names its source document, so every invoice and payment would read as never "
            "posted; the gl side must hold every posting with its document number (NetSuite: "
            "a SuiteQL export read with netsuite/suiteql/journal_line_to_journal_line; the "
            "live journal_line entity reads journal entries only)"
        )


def _ar_gl(sides: Sides, as_of: date, options: BaseModel | None) -> list[dict[str, Any]]:
    assert isinstance(options, ArGlOptions)
    gl = _of(sides["gl"], JournalLine)
    invoices = _of(sides["invoices"], Invoice)
    _check_gl(gl, options, len(invoices) + len(sides.get("payments") or ()))
    return reconcile_ar_gl_records(
        invoices=invoices,
        payments=_of(sides.get("payments"), Payment),
        credit_memos=_of(sides.get("credit_memos"), CreditMemo),
        refunds=_of(sides.get("refunds"), Refund),
        gl=gl,
        as_of=as_of,
        policy=options.policy(),
        account=options.ar_account or options.control_accounts[0],
        subsidiary=options.subsidiary,
        months=options.months,
    ).to_exception_candidates()


@dataclass(frozen=True)
class SuiteRecon:
    """Which sides a calculator needs and may take, and the calculator."""

    needs: tuple[str, ...]
    may: tuple[str, ...]
    calculate: Callable[[Sides, date, BaseModel | None], list[dict[str, Any]]]
    description: str
    #: the calculator's ``options`` (None: it takes none)
    options: type[BaseModel] | None = None
    #: side -> the canonical entity it must read (checked by ``config validate`` and before
    #: a run): a side reading another entity would yield no records of the kind needed
    entities: Mapping[str, str] = field(default_factory=dict)

    def run(
        self, sides: Sides, as_of: date, options: BaseModel | None = None
    ) -> list[dict[str, Any]]:
        """The calculator's findings; a required side without a single record fails the run
        (a header-only or filtered-out export): over zero invoices every open exception
        would be recorded as resolved by the data."""
        for side in self.needs:
            records = sides.get(side) or ()
            entity = self.entities.get(side)
            kind = ENTITIES.get(entity) if entity else None
            usable = [r for r in records if kind is None or isinstance(r, kind)]
            if not usable:
                what = f"{entity} records" if entity else "records"
                raise ConfigError(
                    f"side {side!r} read no {what}"
                    + (f" (it read {len(records)} other records)" if records else "")
                    + "; the export is empty or reads another entity, and a run over it would "
                    "resolve every open exception"
                )
        return self.calculate(sides, as_of, options)

    def side_problems(self, definition: str, sides: Mapping[str, str]) -> list[tuple[str, str]]:
        """(side or '', problem) for missing and unknown sides and sides reading another
        entity than the calculator needs."""
        missing = [s for s in self.needs if s not in sides]
        unknown = sorted(set(sides) - set(self.needs) - set(self.may))
        allowed = ", ".join([*self.needs, *(f"{s} (optional)" for s in self.may)])
        out: list[tuple[str, str]] = []
        if missing:
            out.append(("", f"needs {', '.join(missing)}; {definition} takes {allowed}"))
        for side in unknown:
            hint = difflib.get_close_matches(side, [*self.needs, *self.may], n=1)
            out.append(
                (
                    side,
                    f"unknown side {side!r}; {definition} takes {allowed}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                )
            )
        for side, entity in self.entities.items():
            got = sides.get(side, "").partition("/")[2]
            if side in sides and got and got != entity:
                out.append(
                    (side, f"{sides[side]!r} reads {got!r} records; {definition} needs {entity}")
                )
        return out

    def parse_options(
        self, definition: str, where: str, raw: Mapping[str, Any]
    ) -> BaseModel | None:
        """The calculator's options, or a :class:`ConfigError` naming ``where.options.FIELD``."""
        if self.options is None:
            if raw:
                raise ConfigError(f"{where}.options: {definition} takes no options")
            return None
        try:
            return self.options.model_validate(dict(raw))
        except ValidationError as err:
            first = err.errors()[0]
            path = ".".join(str(p) for p in (where, "options", *first["loc"]))
            missing = first["type"] == "missing"
            raise ConfigError(
                f"{path}: {'required option is missing' if missing else first['msg']}"
            ) from None


SUITE: dict[str, SuiteRecon] = {
    "ar_aging": SuiteRecon(
        ("invoices",),
        ("credit_memos",),
        _aging,
        "open items more than 90 days past due",
        entities={"invoices": "invoice", "credit_memos": "credit_memo"},
    ),
    "revenue_leakage": SuiteRecon(
        ("invoices", "contracts"),
        ("subscriptions", "customers_a", "customers_b"),
        _leakage,
        "duplicate invoices, unbilled contract periods, invoices without contract, "
        "customer master drift and invalid tax ids",
        entities={
            "invoices": "invoice",
            "contracts": "contract",
            "subscriptions": "subscription",
            "customers_a": "customer",
            "customers_b": "customer",
        },
    ),
    "billed_vs_recognized": SuiteRecon(
        ("invoices", "schedules"),
        (),
        _revenue,
        "billed lines vs the ERP's revenue schedules",
        entities={"invoices": "invoice", "schedules": "revenue_schedule_line"},
    ),
    "ar_subledger_gl": SuiteRecon(
        ("invoices", "gl"),
        ("payments", "credit_memos", "refunds"),
        _ar_gl,
        "AR sub-ledger vs the GL control accounts by period: roll-forward, tie-out, manual "
        "journal entries, unposted documents, cut-off and amount differences",
        options=ArGlOptions,
        entities={
            "invoices": "invoice",
            "payments": "payment",
            "credit_memos": "credit_memo",
            "refunds": "refund",
            "gl": "journal_line",
        },
    ),
}
