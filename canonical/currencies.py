"""ISO 4217 currency codes and their minor units.

The exponent decides how implied-decimal amounts (BAI2, lockbox, NACHA, X12 N2) are read
and how totals are rounded, so it must be right for every active code, not only USD.
"""

from __future__ import annotations

# Codes whose minor unit is not 2 (ISO 4217, amendment 177).
_EXPONENT_OVERRIDES: dict[str, int] = {
    # zero decimals
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    # three decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four decimals
    "CLF": 4, "UYW": 4,
}

_TWO_DECIMAL_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR
FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR
KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK
SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN
UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL
""".split()

#: Every code we accept, mapped to its number of minor-unit digits.
MINOR_UNITS: dict[str, int] = {code: 2 for code in _TWO_DECIMAL_CODES} | _EXPONENT_OVERRIDES


class UnknownCurrencyError(ValueError):
    """A currency code that is not an active ISO 4217 code."""


def minor_units(code: str) -> int:
    """Number of decimal digits of the currency's minor unit (JPY 0, USD 2, BHD 3)."""
    try:
        return MINOR_UNITS[code]
    except KeyError:
        raise UnknownCurrencyError(f"unknown ISO 4217 currency code {code!r}") from None


def normalize_currency(code: str) -> str:
    """Upper-case and validate a currency code; raise UnknownCurrencyError otherwise."""
    if not isinstance(code, str):
        raise UnknownCurrencyError(f"currency code must be text, got {type(code).__name__}")
    norm = code.strip().upper()
    minor_units(norm)
    return norm
