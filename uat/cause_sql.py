"""The root-cause rules as one SQL statement over an exception frame (``uat.frame``).

Per differing field the first rule that holds names the cause: the legacy code is missing
from its translation table; (the kind's tax field) the new tax differs from the old by
exactly a declared rate change, by ratio or by base × rate delta, within the rounding the
two tax computations leave (half a minor unit of the record's currency each, whatever the
drift setting); the gap is within the rounding step; new is old × f (or old ÷ g) within
half a minor unit, for a factor that at least max(min_group, 2) differing records name
(``uat.factor_sql``); new/old is a ratio (6 places, half-even) shared by as many records (a
constant factor values finer than the minor unit have too); (dates) a shift by whole
months, then one by days, shared by min_group records; else a plain difference. Per record:
missing in the new system (or its legacy key code is untranslated), extra in the new
system, duplicate key (at risk: the difference of all its rows' sums per side, read from
``dup``, see ``uat.totals``); a repeated key absent from the other side is missing / extra
first.

Amounts are the engine's exact DECIMAL(38,10), never DOUBLE. DuckDB divides decimals in
DOUBLE, so the ratio is an integer (HUGEINT) division rounded half-even as
``Decimal.quantize`` does, and the rate-change test is multiplied out instead of divided.
An amount at risk comes with its count of fraction digits (``digits``): a Decimal sum keeps
the finest exponent of its terms, and the reports show amounts as that sum would.

Output, in row order: ``i``, ``causes`` (list of {pattern, field, param}, most specific
first, in field order), ``risk`` and ``digits``; for the amount at risk per cause
``fieldwise`` and per at-risk field its own gap ``fr<n>`` and digits ``fg<n>``. Reads the
frame as ``x`` and the translation gaps' codes as ``g`` (field, code); with merged key
fields the merged codes as ``m`` (field, code, param) and the keys whose legacy rows carry
several of a merged code's legacy codes as ``mkeys`` (field, q0..).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from reconcile.engine.sql import DEC, literal
from uat import factor_sql
from uat.frame import Frame
from uat.kinds import EntityKind
from uat.spec import RootCauseSpec
from uat.sqltext import decimal_sql, fraction_digits_sql, half_even_sql, strip_sql

NUMERIC = ("amount", "number")
#: ratios are taken for |new| below this, so new × 10^16 stays inside HUGEINT
RATIO_LIMIT = Decimal(10) ** 21
#: ratios are counted in millionths (6 places)
ONE = 1_000_000
#: a DECIMAL(38,10) as the integer of its digits (× 10^10): its text always has 10 places
UNSCALED = "CAST(replace(CAST({} AS VARCHAR), '.', '') AS HUGEINT)"
DAY = "TRY_CAST(left({}, 10) AS DATE)"


#: half a minor unit for a tax without a known currency (half a cent)
HALF_CENT = Decimal("0.005")


def cause(pattern: str, field: str = "", param: str = "''") -> str:
    """A cause struct; ``param`` is SQL text."""
    return f"{{'pattern': {literal(pattern)}, 'field': {literal(field)}, 'param': {param}}}"


def _present(items: list[str], empty: str) -> str:
    """The non-NULL ``items`` as a list; ``empty`` when none is left."""
    if not items:
        return empty
    found = f"list_filter([{', '.join(items)}], lambda c: c IS NOT NULL)"
    return f"(CASE WHEN len({found}) = 0 THEN {empty} ELSE {found} END)"


def _greatest(terms: list[str]) -> str:
    return f"greatest(0, {', '.join(terms)})" if terms else "0"


def _layer(columns: list[str], inner: str) -> str:
    return f"(SELECT *, {', '.join(columns)} FROM {inner})" if columns else inner


def _months(a: str, b: str) -> str:
    """Whole months from date ``a`` to ``b`` when ``b`` is ``a`` moved by them (a month end
    stays a month end: 01-31 -> 02-29 -> 03-31); NULL otherwise."""
    k = f"((year({b}) - year({a})) * 12 + month({b}) - month({a}))"
    same_day = f"CAST({a} + to_months(CAST({k} AS INTEGER)) AS DATE) = {b}"
    month_ends = f"(last_day({a}) = {a} AND last_day({b}) = {b})"
    return f"(CASE WHEN {k} <> 0 AND ({same_day} OR {month_ends}) THEN {k} END)"


class CauseSql:
    """The statement for one entity: its kind, field kinds (by name), translation gaps
    (field -> table name) and root-cause settings."""

    def __init__(
        self,
        frame: Frame,
        kind: EntityKind,
        field_kinds: Mapping[str, str],
        gaps: Mapping[str, str],
        cfg: RootCauseSpec,
        duplicates: bool = False,
        merged: Collection[str] = (),
    ) -> None:
        self.frame, self.kind, self.gaps, self.cfg = frame, kind, gaps, cfg
        #: key fields whose translation merged legacy codes (the statement reads ``m``)
        self.merged = frozenset(merged)
        #: the statement reads ``dup``: per duplicate key the sums of ``risky()`` per side
        self.duplicates = duplicates
        self.fields = frame.fields
        self.kinds = [field_kinds.get(f, "text") for f in self.fields]
        self.rounding = decimal_sql(cfg.rounding)

    def sql(self) -> str:
        # only what the rules read: the CTE is materialised, the frame's texts are not needed
        kept = ["i", "base", "has_a", "has_b", *(f"d{n}" for n in range(len(self.fields)))]
        kept += [f"{side}{n}" for n in self._at_risk() for side in "ab"]  # their digits
        kept += [f"d{c}{j}" for j in self._duplicate_terms() for c in ("sa", "sb", "dg")]
        inner = f"(SELECT {', '.join(kept + self._values())} FROM {self._source()})"
        inner = _layer(self._scaled(), inner)
        inner = _layer(self._ratios(), inner)
        inner = _layer(self._eligible(), inner)
        counts, joins = self._counts()
        if self._numeric():
            columns, join = factor_sql.factor_join(self._numeric(), max(self.cfg.min_group, 2))
            counts += columns
            joins.append(join)
        fields = [f"{self._field_cause(n)} AS fc{n}" for n in range(len(self.fields))]
        counted = f"(SELECT {', '.join(['v.*', *counts])} FROM v {' '.join(joins)})"
        factors = f", {self._factor_cte()}" if self._numeric() else ""
        return (
            f"WITH v AS MATERIALIZED (SELECT * FROM {inner}){factors} "
            f"SELECT i, {self._causes()} AS causes, CAST({self._risk()} AS {DEC}) AS risk, "
            f"{self._digits()} AS digits, {', '.join(self.field_risks())} "
            f"FROM {_layer(fields, counted)} ORDER BY i"
        )

    def risky(self) -> list[str]:
        """The at-risk fields, in the order of the ``dup`` table's sums."""
        return [self.fields[n] for n in self._at_risk()]

    def _source(self) -> str:
        """The frame, with each duplicate key's sums per side (``dsa<j>``, ``dsb<j>``) and
        their digits (``ddg<j>``): a duplicate's extra copies are amounts at risk."""
        if not self.duplicates:
            return "x"
        keys = [f"k{j}" for j in range(len(self.frame.rows.key_names))]
        sums = [
            f"{c}{j} AS d{c}{j}" for j in range(len(self._at_risk())) for c in ("sa", "sb", "dg")
        ]
        dup = f"(SELECT {', '.join(keys + sums)} FROM dup)"
        return f"x LEFT JOIN {dup} USING ({', '.join(keys)})"

    def _index(self, name: str) -> int | None:
        return self.fields.index(name) if name in self.fields else None

    def _numeric(self) -> list[int]:
        return [n for n, k in enumerate(self.kinds) if k in NUMERIC]

    def _at_risk(self) -> list[int]:
        """Fields whose gap (or whole value, for a one-sided record) is at risk."""
        found = (self._index(f) for f in self.kind.at_risk)
        return [n for n in found if n is not None]

    def _untranslated(self, expr: str, name: str) -> str:
        codes = f"SELECT code FROM g WHERE field = {literal(name)}"
        return f"coalesce({strip_sql(expr)} IN ({codes}), false)"

    def _untranslated_cause(self, name: str) -> str:
        return cause("untranslated_code", name, literal(self.gaps[name]))

    # -- layers below the causes ---------------------------------------------------------
    def _values(self) -> list[str]:
        """Numbers, day shifts and code look-ups of the values."""
        out = []
        for n in sorted({*self._numeric(), *self._at_risk()}):
            out += [f"TRY_CAST(a{n} AS {DEC}) AS an{n}", f"TRY_CAST(b{n} AS {DEC}) AS bn{n}"]
        if self._numeric():  # its minor unit, for the rounded-factor rule
            c = self._index(self.kind.currency_field or "")
            ccy = "currency" if c is None else f"coalesce(nullif(trim(b{c}), ''), currency)"
            out.append(f"{ccy} AS ccy")
        for n, kind in enumerate(self.kinds):
            if kind == "date":
                a, b = DAY.format(f"a{n}"), DAY.format(f"b{n}")
                out += [f"{b} - {a} AS dd{n}", f"{_months(a, b)} AS dm{n}"]
        for n, name in enumerate(self.fields):
            if name in self.gaps:
                out.append(f"{self._untranslated(f'a{n}', name)} AS un{n}")
        for j, name in enumerate(self.frame.rows.key_names):
            if name in self.gaps:
                out.append(f"{self._untranslated(f'k{j}', name)} AS uk{j}")
            if name in self.merged:  # the legacy codes merged into this key's code, when
                # its legacy rows carry several of them (``mkeys``, keys ``q0..``)
                found = f"SELECT any_value(param) FROM m WHERE field = {literal(name)}"
                same = " AND ".join(f"q{i} = k{i}" for i in range(len(self.frame.rows.key_names)))
                rows = f"SELECT 1 FROM mkeys WHERE field = {literal(name)} AND {same}"
                out.append(f"CASE WHEN EXISTS ({rows}) THEN ({found} AND code = k{j}) END AS mk{j}")
        return out

    def _scaled(self) -> list[str]:
        """|new| × 10^16 and |old| × 10^10 as integers, for the differing fields whose ratio
        is taken (both non-zero, new below the limit); and half a minor unit of the
        record's currency (``hd``), the rounding a tax computation leaves."""
        out = []
        if self._numeric():
            out.append(f"{factor_sql.half_unit_decimal_sql('ccy', HALF_CENT)} AS hd")
        for n in self._numeric():
            ok = f"d{n} AND an{n} <> 0 AND bn{n} <> 0 AND abs(bn{n}) < {decimal_sql(RATIO_LIMIT)}"
            num = f"abs({UNSCALED.format(f'bn{n}')}) * {ONE}"
            out += [
                f"CASE WHEN {ok} THEN {num} END AS rn{n}",
                f"CASE WHEN {ok} THEN abs({UNSCALED.format(f'an{n}')}) END AS rd{n}",
            ]
        return out

    def _ratios(self) -> list[str]:
        """new / old in millionths, rounded half-even (``ru``), signed."""
        return [
            f"sign(an{n}) * sign(bn{n}) * {half_even_sql(f'rn{n}', f'rd{n}')} AS ru{n}"
            for n in self._numeric()
        ]

    def _eligible(self) -> list[str]:
        """Per numeric field: may the rounded-factor rule name it (``uat.factor_sql``)? Not
        when an earlier rule does."""
        out = []
        for n in self._numeric():
            explained = [self._drift(n)]
            if self.fields[n] in self.gaps:
                explained.append(f"un{n}")
            tax = self._tax(n)
            if tax is not None:
                explained.append(f"({tax}) IS NOT NULL")
            out.append(f"{factor_sql.eligible(n, explained)} AS e{n}")
        return out

    def _factor_cte(self) -> str:
        """Amounts fit within half the currency's minor unit (the new currency when the
        record's currency changed), quantities exactly."""
        half = factor_sql.half_unit_sql("ccy", self.cfg.rounding / 2)
        exact = "CAST(0 AS HUGEINT)"
        return factor_sql.factor_cte(
            [(n, half if self.kinds[n] == "amount" else exact) for n in self._numeric()]
        )

    def _drift(self, n: int) -> str:
        return f"an{n} IS NOT NULL AND bn{n} IS NOT NULL AND abs(bn{n} - an{n}) <= {self.rounding}"

    def _counts(self) -> tuple[list[str], list[str]]:
        """(columns, joins): how many differing records share the ratio (``rc``) or the
        day shift (``sc``) of each field. Grouped and joined back: a window per field
        would sort every column of every exception."""
        shared = [(n, "ru", "rc") for n in self._numeric()]
        dates = [n for n, k in enumerate(self.kinds) if k == "date"]
        shared += [(n, "dd", "sc") for n in dates] + [(n, "dm", "mc") for n in dates]
        columns, joins = [], []
        for n, value, count in shared:
            t = f"{count}{n}"
            joins.append(
                f"LEFT JOIN (SELECT {value}{n} AS value, count(*) AS n FROM v WHERE d{n} "
                f"GROUP BY 1) {t} ON v.d{n} AND {t}.value = v.{value}{n}"
            )
            columns.append(f"{t}.n AS {t}")
        return columns, joins

    # -- causes ------------------------------------------------------------------------
    def _tax(self, n: int) -> str | None:
        """The label of the first declared rate change the tax field ``n`` shows; None when
        ``n`` is not the tax field or no change can be tested."""
        if self.kind.tax is None or self.fields[n] != self.kind.tax[0]:
            return None
        m = self._index(self.kind.tax[1])
        base = None if m is None else f"(CASE WHEN bn{m} <> 0 THEN bn{m} ELSE an{m} END)"
        # both taxes were rounded to the minor unit (each off by up to half of it, ``hd``):
        # that is the tolerance, whatever rounding drift the spec tolerates
        whens = []
        for rc in self.cfg.rate_changes:
            tests = []
            if rc.old != 0:
                # |new - old × new rate / old rate| <= hd × (1 + |new rate / old rate|),
                # times |old rate|
                tests.append(
                    f"abs(bn{n} * {decimal_sql(rc.old)} - an{n} * {decimal_sql(rc.new)}) "
                    f"<= hd * {decimal_sql(abs(rc.old) + abs(rc.new))}"
                )
            if base is not None:
                tests.append(
                    f"abs((bn{n} - an{n}) - {base} * {decimal_sql(rc.new - rc.old)}) <= 2 * hd"
                )
            if tests:
                label = literal(f"{rc.old} -> {rc.new}")
                whens.append(f"WHEN {' OR '.join(tests)} THEN {label}")
        if not whens:
            return None
        return (
            f"CASE WHEN an{n} IS NOT NULL AND bn{n} IS NOT NULL THEN CASE {' '.join(whens)} END END"
        )

    def _field_cause(self, n: int) -> str:
        name, kind = self.fields[n], self.kinds[n]
        whens = []
        if name in self.gaps:
            whens.append(f"WHEN un{n} THEN {self._untranslated_cause(name)}")
        if kind in NUMERIC:
            tax = self._tax(n)
            if tax is not None:
                whens.append(f"WHEN ({tax}) IS NOT NULL THEN {cause('tax_rate_change', name, tax)}")
            drift = cause("rounding_drift", name, literal(str(self.cfg.rounding)))
            whens.append(f"WHEN {self._drift(n)} THEN {drift}")
            # a factor rounded to the minor unit, then one whose ratio is exactly shared
            whens.append(f"WHEN fx{n} IS NOT NULL THEN {cause('scaled_by_factor', name, f'fx{n}')}")
            exact = f"CAST(ru{n} AS DECIMAL(38,0)) * CAST('0.000001' AS DECIMAL(7,6))"
            text = f"'×' || rtrim(rtrim(CAST({exact} AS VARCHAR), '0'), '.')"
            group = max(self.cfg.min_group, 2)
            whens.append(
                f"WHEN ru{n} <> {ONE} AND rc{n} >= {group} "
                f"THEN {cause('scaled_by_factor', name, text)}"
            )
            last = cause("value_differs", name)
        elif kind == "date":
            # a billing run moved by whole months shifts by 28-31 days: one cause, not four
            months = (
                f"CASE WHEN dm{n} > 0 THEN '+' ELSE '' END || CAST(dm{n} AS VARCHAR) "
                f"|| CASE WHEN abs(dm{n}) = 1 THEN ' month' ELSE ' months' END"
            )
            whens.append(
                f"WHEN dm{n} IS NOT NULL AND mc{n} >= {self.cfg.min_group} "
                f"THEN {cause('date_shift', name, months)}"
            )
            days = f"CASE WHEN dd{n} >= 0 THEN '+' ELSE '' END || CAST(dd{n} AS VARCHAR)"
            whens.append(
                f"WHEN dd{n} IS NOT NULL AND sc{n} >= {self.cfg.min_group} "
                f"THEN {cause('date_shift', name, days)}"
            )
            last = cause("date_differs", name)
        else:
            last = cause("value_differs", name)
        return f"CASE WHEN NOT d{n} THEN NULL {' '.join(whens)} ELSE {last} END"

    def _causes(self) -> str:
        keys = [
            f"CASE WHEN uk{j} THEN {self._untranslated_cause(name)} END"
            for j, name in enumerate(self.frame.rows.key_names)
            if name in self.gaps
        ]
        side = (
            "CASE base WHEN 'DUPLICATE_IN_A' THEN 'legacy' WHEN 'DUPLICATE_IN_B' THEN 'new' "
            "ELSE 'both' END"
        )
        fields = [f"fc{n}" for n in range(len(self.fields))]
        missing = _present(keys, f"[{cause('missing_in_new')}]")
        differing = _present(fields, f"[{cause('value_differs')}]")
        duplicate = f"[{cause('duplicate', '', side)}]"
        merged = [
            f"CASE WHEN mk{j} IS NOT NULL THEN {cause('merged_by_translation', name, f'mk{j}')} END"
            for j, name in enumerate(self.frame.rows.key_names)
            if name in self.merged
        ]
        if merged:
            # the legacy side repeats the key because its table merged codes into it: that
            # is the cause (the new side repeating it too is a duplicate of its own); an
            # aggregated side sums them (MANY_TO_ONE), its field causes follow
            found = _present(merged, "[]")
            new_too = f"{found} || [{cause('duplicate', '', literal('new'))}]"
            duplicate = (
                f"CASE WHEN base = 'DUPLICATE_IN_B' OR len({found}) = 0 THEN {duplicate} "
                f"WHEN base = 'DUPLICATE' THEN {new_too} ELSE {found} END"
            )
            differing = (
                f"CASE WHEN base = 'MANY_TO_ONE' THEN {found} || {differing} ELSE {differing} END"
            )
        # a key repeated (or merged) on one side and absent from the other is missing or
        # extra first: its repetition must not hide that the other system lacks it
        one_sided = (
            f"CASE WHEN has_a AND NOT has_b THEN {missing} "
            f"WHEN has_b AND NOT has_a THEN [{cause('extra_in_new')}] ELSE [] END"
        )
        return (
            f"CASE WHEN base = 'MISSING_IN_B' THEN {missing} "
            f"WHEN base = 'MISSING_IN_A' THEN [{cause('extra_in_new')}] "
            f"WHEN starts_with(base, 'DUPLICATE') THEN {one_sided} || {duplicate} "
            f"ELSE {one_sided} || {differing} END"
        )

    # -- amount at risk ----------------------------------------------------------------
    @staticmethod
    def _by_record(legacy_only: str, new_only: str, duplicate: str, differing: str) -> str:
        return (
            f"CASE WHEN base = 'MISSING_IN_B' THEN {legacy_only} "
            f"WHEN base = 'MISSING_IN_A' THEN {new_only} "
            f"WHEN starts_with(base, 'DUPLICATE') THEN {duplicate} ELSE {differing} END"
        )

    def _duplicate_terms(self) -> list[int]:
        """Indexes ``j`` of the duplicate sums the statement reads (none without ``dup``)."""
        return list(range(len(self._at_risk()))) if self.duplicates else []

    def _gapped(self) -> list[tuple[int, str]]:
        """(field, condition) of the fields whose gap counts: numeric, at risk, differing
        and not an untranslated code."""
        out = []
        for n in self._at_risk():
            if self.kinds[n] in NUMERIC:
                untranslated = f" AND NOT un{n}" if self.fields[n] in self.gaps else ""
                out.append((n, f"d{n}{untranslated}"))
        return out

    def _risk(self) -> str:
        """A one-sided record: its at-risk values; a record whose currency changed: its
        legacy values; else the gaps of its at-risk fields (|new − old|, or the one value
        there is)."""

        def whole(s: str) -> str:
            return " + ".join(f"abs(coalesce({s}n{n}, 0))" for n in self._at_risk()) or "0"

        gaps = [self._gap(n, when) for n, when in self._gapped()]
        # a duplicate: new − legacy of all its rows (a double booking risks the copy)
        dup = [f"abs(coalesce(dsb{j}, 0) - coalesce(dsa{j}, 0))" for j in self._duplicate_terms()]
        differing = self._unless_moved(whole("a"), " + ".join(gaps) or "0")
        return self._by_record(whole("a"), whole("b"), " + ".join(dup) or "0", differing)

    @staticmethod
    def _gap(n: int, when: str) -> str:
        """The gap of at-risk field ``n`` (|new − old|, or the one value there is) when it
        counts (``when``), else 0."""
        both = f"abs(bn{n} - an{n})"
        one = f"abs(coalesce(nullif(an{n}, 0), nullif(bn{n}, 0), 0))"
        gap = f"CASE WHEN an{n} IS NOT NULL AND bn{n} IS NOT NULL THEN {both} ELSE {one} END"
        return f"CASE WHEN {when} THEN {gap} ELSE 0 END"

    @staticmethod
    def _gap_digits(n: int, when: str) -> str:
        """Fraction digits of ``_gap(n, when)``."""

        def fd(s: str) -> str:
            return fraction_digits_sql(f"{s}{n}")

        return (
            f"CASE WHEN NOT ({when}) THEN 0 WHEN an{n} IS NOT NULL AND bn{n} IS NOT NULL "
            f"THEN greatest({fd('a')}, {fd('b')}) WHEN an{n} <> 0 THEN {fd('a')} "
            f"WHEN bn{n} <> 0 THEN {fd('b')} ELSE 0 END"
        )

    def _fieldwise(self) -> str:
        """The record's amount at risk is the sum of its fields' gaps: both sides hold it
        once and its currency did not change (else a field's cause carries the record's)."""
        record = (
            "base NOT IN ('MISSING_IN_A', 'MISSING_IN_B') AND NOT starts_with(base, 'DUPLICATE')"
        )
        c = self._index(self.kind.currency_field or "")
        return record if c is None else f"{record} AND NOT coalesce(d{c}, false)"

    def field_risks(self) -> list[str]:
        """Columns of the amount at risk per field-level cause (``uat.rootcause``):
        ``fieldwise`` (the record's risk is its fields' gaps), and per at-risk field ``n``
        its own gap ``fr<n>`` and that gap's digits ``fg<n>``."""
        out = [f"{self._fieldwise()} AS fieldwise"]
        for n, when in self._gapped():
            out += [
                f"CAST({self._gap(n, when)} AS {DEC}) AS fr{n}",
                f"{self._gap_digits(n, when)} AS fg{n}",
            ]
        return out

    def _unless_moved(self, legacy: str, differing: str) -> str:
        """``legacy`` (the legacy amounts, in the legacy currency the exception is counted
        in) when the record's currency changed: amounts in two currencies never subtract."""
        c = self._index(self.kind.currency_field or "")
        return differing if c is None else f"CASE WHEN d{c} THEN {legacy} ELSE {differing} END"

    def _digits(self) -> str:
        """Fraction digits of ``_risk``'s sum: the most of its terms (a zero term counts as
        the exact 0, as ``value or Decimal(0)`` has it)."""

        def fd(s: str, n: int) -> str:
            return fraction_digits_sql(f"{s}{n}")

        def whole(s: str) -> str:
            return _greatest(
                [f"CASE WHEN {s}n{n} <> 0 THEN {fd(s, n)} ELSE 0 END" for n in self._at_risk()]
            )

        gaps = [self._gap_digits(n, when) for n, when in self._gapped()]
        dup = _greatest([f"coalesce(ddg{j}, 0)" for j in self._duplicate_terms()])
        differing = self._unless_moved(whole("a"), _greatest(gaps))
        return self._by_record(whole("a"), whole("b"), dup, differing)
