"""How an exception's side values are shown (``exceptions show``, the report's "What
differs"): amounts with their currency's minor-unit digits (``1000.00``, not the engine's
exact ``1000``), currency codes upper-case as the systems write them.

The stored details hold each compared field's value as exact text, without saying which
fields are amounts: that comes from the recon's definition (a built-in, or a YAML file the
config names). For a recon whose definition is not known here only a field called
``currency`` is upper-cased and values are shown as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from canonical import UnknownCurrencyError, minor_units

if TYPE_CHECKING:
    from config.model import BillbridgeConfig
    from reconcile.definitions import ReconDefinition


@dataclass(frozen=True)
class FieldKinds:
    """Which compared fields of a recon are amounts, and which hold the currency."""

    amounts: frozenset[str] = frozenset()
    currencies: frozenset[str] = field(default_factory=lambda: frozenset({"currency"}))


#: a recon whose definition is unknown here
UNKNOWN = FieldKinds()


def kinds_of(definition: ReconDefinition) -> FieldKinds:
    amounts = frozenset(c.name for c in definition.compare if c.kind == "amount")
    currency = definition.currency_field
    return FieldKinds(amounts, frozenset({currency}) if currency else UNKNOWN.currencies)


def known_kinds(config: BillbridgeConfig | None = None) -> dict[str, FieldKinds]:
    """Field kinds per recon name: the built-in definitions, and the config's
    reconciliations (under their config name and their definition's name). A definition
    file that cannot be read is skipped: this only decides how values are shown."""
    from billbridge.errors import ConfigError
    from reconcile.builtin import BUILTIN_NAMES, builtin_definition
    from reconcile.definitions import load_definitions

    out = {name: kinds_of(builtin_definition(name)) for name in BUILTIN_NAMES}
    if config is None:
        return out
    for name, ref in config.reconciliations.items():
        try:
            if ref.definition in BUILTIN_NAMES:
                found = [builtin_definition(ref.definition)]
            else:
                found = load_definitions(ref.definition)
        except (ConfigError, OSError):
            continue
        for definition in found:
            out.setdefault(definition.name, kinds_of(definition))
        if len(found) == 1:
            out[name] = kinds_of(found[0])
    return out


def _digits(currency: Any) -> int | None:
    try:
        return minor_units(str(currency).strip().upper()) if currency else None
    except UnknownCurrencyError:
        return None


def pad_amount(text: str, currency: Any) -> str:
    """Exact amount text with at least the currency's minor-unit digits ("1000" USD ->
    "1000.00", "0.3" -> "0.30", "5681.944" stays, JPY "1" stays); other text as it is."""
    digits = _digits(currency)
    if digits is None:
        return text
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return text
    if not value.is_finite():
        return text
    plain = format(value, "f")  # exact, whatever the context precision
    have = len(plain) - plain.index(".") - 1 if "." in plain else 0
    if have >= digits:
        return text
    return plain + ("" if "." in plain else ".") + "0" * (digits - have)


def side_value(
    name: str,
    value: Any,
    side: Mapping[str, Any],
    currency: str | None,
    kinds: FieldKinds,
) -> str:
    """One side's value of field ``name`` as shown. ``side``: all that side's values (its
    own currency pads its amounts); ``currency``: the exception's, when the side has none."""
    text = str(value)  # a null shows as None, as it always has
    if value is None:
        return text
    if name in kinds.currencies:
        return text.upper()
    if name in kinds.amounts:
        own = next((side[c] for c in kinds.currencies if side.get(c)), None)
        return pad_amount(text, own or currency)
    return text


def delta_value(name: str, delta: Any, currency: str | None, kinds: FieldKinds) -> str:
    """A field's delta as shown (per pair for three sides: "a-c 10.00, b-c 10.00")."""
    if isinstance(delta, dict):
        return ", ".join(
            f"{pair} {delta_value(name, value, currency, kinds)}" for pair, value in delta.items()
        )
    if delta is None:
        return ""
    text = str(delta)
    return pad_amount(text, currency) if name in kinds.amounts else text


#: the keys of the engine's two-sided details; flat details (the AR suite's findings) have none
SIDED_KEYS = frozenset({"a", "b", "c", "delta", "diff_columns"})


def is_flat(details: Mapping[str, Any]) -> bool:
    """Flat key/value details, as the AR suite's calculators record them
    ({"expected": "1200.00", "actual": "0"}), not the engine's sides a/b."""
    return bool(details) and not (SIDED_KEYS & set(details))


def flat_value(value: Any, currency: str | None) -> str:
    """A flat detail's value as shown: decimal text with a point is an amount and keeps
    the currency's minor units ("6600" stays, "0.3" USD -> "0.30"); lists joined."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(flat_value(v, currency) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {flat_value(v, currency)}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if isinstance(value, str) and "." in text:
        try:
            Decimal(text.strip())
        except (InvalidOperation, ValueError):
            return text
        return pad_amount(text, currency)
    return text


def flat_fields(details: Mapping[str, Any], currency: str | None) -> list[tuple[str, str]]:
    """Flat details as (name, shown value) pairs, in the order they were recorded; empty for
    the engine's two-sided details."""
    if not is_flat(details):
        return []
    return [(str(k), flat_value(v, currency)) for k, v in details.items()]
