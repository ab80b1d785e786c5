"""Property: any valid BAI2 file we can write parses strictly, with every detail's signed
amount, references and text intact, whatever the layout variant (several records on one
line, text with commas and slashes, 88 continuations, funds types with extra fields)."""

from __future__ import annotations

import os
import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.feeds import bai2

CREDIT = ("108", "142", "165", "195", "399")
DEBIT = ("409", "451", "475", "495", "699")
TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,/-:", min_size=1, max_size=40)
#: "/ 16," inside text is indistinguishable from a record boundary: no file can say it
BOUNDARY = re.compile(r"/\s*(?:01|02|03|16|49|88|98|99),")
#: a reference may hold a slash, but not first (",/" ends a record: the rest defaulted) nor
#: where it reads as a record boundary with the comma that follows it
REF = st.text(alphabet="ABCDEFGHIJ0123456789-/", min_size=0, max_size=12).filter(
    lambda r: not r.startswith("/") and not BOUNDARY.search(r + ",")
)


@st.composite
def detail(draw: st.DrawFn) -> dict[str, object]:
    code = draw(st.sampled_from(CREDIT + DEBIT))
    funds = draw(st.sampled_from(["0", "1", "2", "Z", "V", "S", "D", ""]))
    extras = {"V": ["240301", "1200"], "S": ["10", "20", "30"], "D": ["1", "0", "5"]}.get(funds, [])
    text = draw(TEXT.filter(lambda t: not BOUNDARY.search(t))).strip(" /") or "X"
    return {
        "code": code,
        "amount": draw(st.integers(0, 10**12)),
        "fields": [funds, *extras],
        "bank": draw(REF),
        "cust": draw(REF),
        "text": text,
        "more": draw(st.lists(TEXT.map(lambda t: t.strip(" /") or "Y"), max_size=2)),
    }


@st.composite
def bai2_file(draw: st.DrawFn) -> tuple[bytes, list[list[dict[str, object]]]]:
    accounts = draw(st.lists(st.lists(detail(), max_size=6), min_size=1, max_size=3))
    same_line = draw(st.booleans())
    lines = ["01,S,R,240301,0800,F1,,,2/", "02,R,B,1,240229,2400,USD,2/"]
    group_total = 0
    group_records = 1
    for n, details in enumerate(accounts):
        opening = draw(st.integers(-(10**9), 10**9))
        rec = [f"03,ACC{n},USD,010,{opening:+d},,/"]
        total = opening
        for d in details:
            body = [d["code"], str(d["amount"]), *d["fields"], d["bank"], d["cust"], d["text"]]
            rec.append("16," + ",".join(str(x) for x in body))  # text without '/', commas
            rec.extend(f"88,{m}" for m in d["more"])  # type: ignore[attr-defined]
            total += int(d["amount"])  # type: ignore[call-overload]
        rec.append(f"49,{total},{len(rec) + 1}/")
        group_total += total
        group_records += len(rec)
        lines.extend(rec)
    lines.append(f"98,{group_total},{len(accounts)},{group_records + 1}/")
    lines.append(f"99,{group_total},1,{group_records + 3}/")
    if same_line:  # header and group header on one physical line
        lines[0:2] = [lines[0] + lines[1]]
    return ("\n".join(lines) + "\n").encode(), accounts


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, database=None)
@given(case=bai2_file())
def test_written_files_parse_back_exactly(
    case: tuple[bytes, list[list[dict[str, object]]]],
) -> None:
    data, accounts = case
    result = bai2.parse(data, file_name="gen.bai2")  # strict: totals and counts must agree
    assert [len(s.transactions) for s in result.statements] == [len(a) for a in accounts]
    for stmt, details in zip(result.statements, accounts, strict=True):
        for tx, d in zip(stmt.transactions, details, strict=True):
            sign = 1 if d["code"] in CREDIT else -1
            assert tx.amount.amount == sign * Decimal(int(d["amount"])).scaleb(-2)  # type: ignore[call-overload]
            assert tx.type_code == d["code"]
            assert (tx.bank_reference or "") == d["bank"].strip()  # type: ignore[union-attr]
            assert (tx.customer_reference or "") == d["cust"].strip()  # type: ignore[union-attr]
            pieces = [str(d["text"]).strip(), *(str(m).strip() for m in d["more"])]  # type: ignore[attr-defined]
            assert tx.remittance_text == " ".join(p for p in pieces if p)
