"""Amount and count gates over every key of both systems: duplicated records and pairs
matched within a tolerance count (not only the engine's exceptions)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.uat.conftest import NOW
from uat import expectations
from uat.runner import UatRun, run_uat
from uat.spec import parse_spec
from uat.totals import Totals

AR_HEAD = "document_number,customer_id,currency,due_date,amount,open_amount\n"


def _ar(*rows: tuple[str, str, str]) -> str:
    """AR lines of (document, customer, open amount), all EUR."""
    return AR_HEAD + "".join(f"{d},{c},EUR,2024-03-01,1.00,{v}\n" for d, c, v in rows)


def _results(run: UatRun) -> dict[str, tuple[bool, str, list[str]]]:
    return {x.name: (x.passed, x.evidence, x.examples) for x in run.expectations}


def _run(folder: Path, text: str, files: dict[str, str]) -> UatRun:
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    return run_uat(parse_spec(text), folder, now=NOW)


AR_SPEC = """\
name: t
entities:
  - name: ar
    kind: ar_open
    legacy: {path: old.csv}
    new: {path: new.csv}
    tolerances: {open_amount: {abs: "0.05"}}
expectations:
  - {type: amounts_match, entity: ar, field: open_amount, over: 10000, name: cent}
  - {type: ties, entity: ar, field: open_amount, by: [currency], name: total}
  - {type: ties, entity: ar, field: open_amount, by: [customer_id], name: customer}
  - {type: count_equal, entity: ar, name: count}
"""


def test_a_record_booked_twice_in_the_new_system_fails_the_amount_gates(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        AR_SPEC,
        {
            "old.csv": _ar(("AR-1", "C1", "25000.00"), ("AR-2", "C2", "200.00")),
            "new.csv": _ar(
                ("AR-1", "C1", "25000.00"), ("AR-1", "C1", "25000.00"), ("AR-2", "C2", "200.00")
            ),
        },
    )
    assert _results(run) == {
        "cent": (False, "1 record(s) over 10000 differ by more than 0", ["document_number=AR-1"]),
        "total": (False, "1 group(s) do not tie", ["currency=EUR (delta 25000.00)"]),
        "customer": (
            False,
            "1 group(s) do not tie",
            ["customer_id=C1, currency=EUR (delta 25000.00)"],
        ),
        "count": (
            False,
            "legacy 2 key(s), new 2, 1 key(s) on several records",
            ["document_number=AR-1"],
        ),
    }
    (score,) = run.scores
    assert score.at_risk == {"EUR": Decimal("25000.00")}
    (dup,) = score.attributed
    assert str(dup.at_risk) == "25000.00"


def test_a_key_duplicated_alike_on_both_sides_still_fails_amounts_match(tmp_path: Path) -> None:
    row = ("AR-1", "C1", "25000.00")
    run = _run(tmp_path, AR_SPEC, {"old.csv": _ar(row, row), "new.csv": _ar(row, row)})
    assert _results(run)["cent"][0] is False
    assert _results(run)["total"][0] is True  # the totals do tie


def test_pairs_matched_within_a_tolerance_still_fail_a_gate_to_the_cent(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        AR_SPEC,
        {
            "old.csv": _ar(("AR-1", "C1", "15000.00"), ("AR-2", "C2", "200.00")),
            "new.csv": _ar(("AR-1", "C1", "15000.04"), ("AR-2", "C2", "200.00")),
        },
    )
    (score,) = run.scores
    assert (score.within_tolerance, score.exceptions) == (1, 0)  # the engine matched it
    assert _results(run) == {
        "cent": (False, "1 record(s) over 10000 differ by more than 0", ["document_number=AR-1"]),
        "total": (False, "1 group(s) do not tie", ["currency=EUR (delta 0.04)"]),
        "customer": (False, "1 group(s) do not tie", ["customer_id=C1, currency=EUR (delta 0.04)"]),
        "count": (True, "legacy 2 key(s), new 2", []),
    }


def test_a_trial_balance_within_tolerance_per_account_does_not_tie(tmp_path: Path) -> None:
    text = """\
name: t
translations: {account: {path: x.csv}}
entities:
  - name: tb
    kind: gl_balance
    legacy: {path: old.csv}
    new: {path: new.csv}
    translate: {account: account}
    tolerances: {balance: {abs: "0.05"}}
expectations:
  - {type: ties, entity: tb, field: balance, by: [account], name: per account}
  - {type: ties, entity: tb, field: balance, by: [currency], name: total}
  - {type: count_equal, entity: tb, name: count}
"""
    head = "account,currency,balance\n"
    run = _run(
        tmp_path,
        text,
        {
            "x.csv": "old,new\n1000-00,10000\n4000-00,40000\n4010-00,40000\n",
            # two legacy accounts merge into one: summed, not a duplicate
            "old.csv": head + "1000-00,EUR,5000.00\n4000-00,EUR,-3000.00\n4010-00,EUR,-2000\n",
            "new.csv": head + "10000,EUR,5000.04\n40000,EUR,-5000.00\n",
        },
    )
    assert _results(run) == {
        "per account": (
            False,
            "1 group(s) do not tie",
            ["account=10000, currency=EUR (delta 0.04)"],
        ),
        "total": (False, "1 group(s) do not tie", ["currency=EUR (delta 0.04)"]),
        "count": (True, "legacy 2 key(s), new 2", []),
    }


def test_count_equal_counts_keys_and_names_the_records_that_differ(tmp_path: Path) -> None:
    """One line dropped and another duplicated: as many rows, one key fewer; a customer
    merge (two legacy codes translated to one) is a key on several records."""
    text = """\
name: t
translations: {customer: {path: x.csv}}
entities:
  - {name: ar, kind: ar_open, legacy: {path: old.csv}, new: {path: new.csv}}
  - name: customers
    kind: customer
    legacy: {path: old_c.csv}
    new: {path: new_c.csv}
    translate: {customer_id: customer}
    fields: [name]
expectations:
  - {type: count_equal, entity: ar, name: ar}
  - {type: count_equal, entity: customers, name: customers}
"""
    run = _run(
        tmp_path,
        text,
        {
            "old.csv": _ar(("AR-1", "C1", "1.00"), ("AR-2", "C1", "2.00"), ("AR-3", "C1", "3.00")),
            "new.csv": _ar(("AR-1", "C1", "1.00"), ("AR-3", "C1", "3.00"), ("AR-3", "C1", "3.00")),
            "x.csv": "old,new\nC1,N1\nC2,N1\nC3,N3\n",
            "old_c.csv": "customer_id,name\nC1,A\nC2,A\nC3,B\n",
            "new_c.csv": "customer_id,name\nN1,A\nN3,B\n",
        },
    )
    assert _results(run) == {
        "ar": (
            False,
            "legacy 3 key(s), new 2, 1 key(s) on several records",
            ["document_number=AR-2", "document_number=AR-3"],
        ),
        "customers": (
            False,
            "legacy 2 key(s), new 2, 1 key(s) on several records",
            ["customer_id=N1"],
        ),
    }


def test_a_filter_on_a_field_not_compared_reads_the_sides(tmp_path: Path) -> None:
    """``where`` on a field the entity does not compare still selects (it selected nothing
    before, so the gate passed); on a field neither side holds it is a spec error."""
    import pytest

    from billbridge.errors import ConfigError

    text = """\
name: t
entities:
  - {name: ar, kind: ar_open, legacy: {path: old.csv}, new: {path: new.csv},
     fields: [open_amount]}
expectations:
  - {type: amounts_match, entity: ar, field: open_amount, where: {customer_id: C1}, name: c1}
"""
    files = {
        "old.csv": _ar(("AR-1", "C1", "10.00"), ("AR-2", "C2", "20.00")),
        "new.csv": _ar(("AR-1", "C1", "10.01"), ("AR-2", "C2", "20.00")),
    }
    assert _results(_run(tmp_path, text, files))["c1"][2] == ["document_number=AR-1"]
    files = {n: b.replace("customer_id,", "cust,") for n, b in files.items()}
    with pytest.raises(ConfigError, match=r"^<spec>:6: expectations\.0\.where\.customer_id: "):
        _run(tmp_path, text, files)


def test_an_expectation_evaluated_alone_builds_its_totals(tmp_path: Path) -> None:
    """``evaluate`` without the runner's totals (as the UAT benchmark calls it) still works."""
    from uat.entities import prepare_entity
    from uat.expectations import evaluate

    files = {
        "old.csv": _ar(("AR-1", "C1", "25000.00")),
        "new.csv": _ar(("AR-1", "C1", "25000.00"), ("AR-1", "C1", "25000.00")),
    }
    run = _run(tmp_path, AR_SPEC, files)
    spec = run.spec
    entity = prepare_entity(spec, spec.entities[0], tmp_path, {})
    alone = [evaluate(x, entity, run.scores[0]) for x in spec.expectations]
    assert alone == run.expectations


GATE_SPEC = """\
name: t
entities:
  - name: ar
    kind: ar_open
    legacy: {path: old.csv}
    new: {path: new.csv}
    tolerances: {open_amount: {abs: "0.05"}}
expectations:
  - {type: match_rate, entity: ar, min_pct: 1}
  - {type: amounts_match, entity: ar, field: open_amount, over: 10000, max_delta: "0.05",
     name: gate}
  - {type: amounts_match, entity: ar, field: open_amount, over: 10000, max_delta: "0.05",
     where: {customer_id: C5}, name: filtered}
"""
GATE_OLD = (
    "AR-1,C1,EUR,15000.00\n"  # matched within the tolerance, within max_delta: passes
    "AR-2,C2,EUR,20000.00\n"  # differs by 0.10: fails
    "AR-3,C3,EUR,12000.00\n"  # not in the new system: fails
    ",C4,EUR,11000.00\n"  # no document number on either side: pairs with nothing, fails twice
    "AR-5,C5,EUR,13000.00\n"  # same amount in another currency: fails
    "AR-6,C6,EUR,100.00\n"  # differs, but under the threshold: passes
    "AR-7,C7,EUR,30000.00\n"  # equal: passes
)
GATE_NEW = (
    "AR-1,C1,EUR,15000.04\nAR-2,C2,EUR,20000.10\n,C4,EUR,11000.00\nAR-5,C5,USD,13000.00\n"
    "AR-6,C6,EUR,200.00\nAR-7,C7,EUR,30000.00\n"
)


def _gate_files() -> dict[str, str]:
    def ar(lines: str) -> str:
        rows = (line.rsplit(",", 1) for line in lines.splitlines())
        return AR_HEAD + "".join(f"{head},2024-03-01,1.00,{amount}\n" for head, amount in rows)

    return {"old.csv": ar(GATE_OLD), "new.csv": ar(GATE_NEW)}


def test_amounts_match_over_the_exceptions_keys_agrees_with_every_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no key repeated and the engine's tolerance within max_delta, only the engine's
    exceptions can fail the gate: the totals are built over their keys alone (a million
    matched keys are not read again), with the verdict of the totals over every key."""
    built: list[int] = []
    real = expectations.key_totals

    def recorded(*args: Any, **kwargs: Any) -> Totals:
        found = real(*args, **kwargs)
        built.append(found.table.num_rows)
        return found

    monkeypatch.setattr(expectations, "key_totals", recorded)
    suffice = expectations._exceptions_suffice
    unfiltered = GATE_SPEC.split("  - {type: amounts_match", 2)
    unfiltered_spec = "  - {type: amounts_match".join(unfiltered[:2])
    narrowed = _results(_run(tmp_path, unfiltered_spec, _gate_files()))
    monkeypatch.setattr(expectations, "_exceptions_suffice", lambda *_: False)
    every = _results(_run(tmp_path, unfiltered_spec, _gate_files()))
    # the exceptions' keys (AR-2, AR-3, the blank one of each side, AR-5, AR-6), then all
    # eight keys
    assert built == [6, 8]
    assert narrowed == every
    assert narrowed["gate"] == (
        False,
        "5 record(s) over 10000 differ by more than 0.05",
        ["document_number=", "document_number=", *(f"document_number=AR-{i}" for i in (2, 3, 5))],
    )
    # a where: filter counts the records it selects, matched or not: every key is read
    monkeypatch.setattr(expectations, "_exceptions_suffice", suffice)
    built.clear()
    filtered = _results(_run(tmp_path, GATE_SPEC, _gate_files()))
    assert built == [8]
    assert filtered["filtered"] == (
        False,
        "1 record(s) with customer_id=C5; 1 record(s) over 10000 differ by more than 0.05",
        ["document_number=AR-5"],
    )


def test_a_tolerance_wider_than_max_delta_reads_every_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pair the engine matched within 0.05 still fails a gate to the cent: every key."""
    built: list[int] = []
    real = expectations.key_totals

    def recorded(*args: Any, **kwargs: Any) -> Totals:
        found = real(*args, **kwargs)
        built.append(found.table.num_rows)
        return found

    monkeypatch.setattr(expectations, "key_totals", recorded)
    text = GATE_SPEC.replace('max_delta: "0.05"', 'max_delta: "0.01"')
    results = _results(_run(tmp_path, text, _gate_files()))
    assert built == [8]
    assert results["gate"][1] == "6 record(s) over 10000 differ by more than 0.01"
    assert "document_number=AR-1" in results["gate"][2]
