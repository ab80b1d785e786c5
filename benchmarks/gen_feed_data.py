"""Generate large, valid BAI2 and camt.053 files for the feed benchmark (deterministic).

    .venv/bin/python benchmarks/gen_feed_data.py [--mb 100] [--out benchmarks/data]

The BAI2 file is spec-clean (every record ends with ``/``, correct control totals) so the
``bai2`` library can read the same file; it still has 88 continuations on a third of the
details. The camt.053.001.08 file has many statements, each entry with one TxDtls carrying
references, a counterparty and structured remittance.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
DETAILS_PER_ACCOUNT = 1000
ENTRIES_PER_STATEMENT = 500


def gen_bai2(path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write accounts of 1,000 details until ``target_bytes``; returns the detail count."""
    rnd = random.Random(seed)
    details = 0
    with path.open("w", encoding="ascii", newline="\n") as out:
        out.write("01,BANKSEND,CUSTRECV,240301,0500,BENCH1,,,2/\n")
        out.write("02,CUSTRECV,BANKUS33,1,240229,2400,USD,2/\n")
        group_records, group_total, accounts = 1, 0, 0
        account = 0
        while out.tell() < target_bytes:
            account += 1
            opening = rnd.randint(0, 10**9)
            lines = [f"03,ACCT{account:08d},USD,010,{opening},,,015,{opening},,/"]
            total = 2 * opening
            for n in range(DETAILS_PER_ACCOUNT):
                credit = rnd.random() < 0.5
                code = (
                    rnd.choice(("108", "142", "165", "195"))
                    if credit
                    else rnd.choice(("409", "451", "475", "495"))
                )
                amount = rnd.randint(100, 10**7)
                total += amount
                ref = f"BR{account:06d}{n:05d}"
                lines.append(f"16,{code},{amount},0,{ref},CR{n:07d},PAYMENT {n} ACME CORP/")
                if n % 3 == 0:
                    lines.append(f"88,OBI:=INVOICE INV-{account:06d}-{n:05d} EREF:E2E{n:09d}/")
            lines.append(f"49,{total},{len(lines) + 1}/")
            out.write("\n".join(lines) + "\n")
            details += DETAILS_PER_ACCOUNT
            group_records += len(lines)
            group_total += total
            accounts += 1
        group_records += 1  # the 98 itself
        out.write(f"98,{group_total},{accounts},{group_records}/\n")
        out.write(f"99,{group_total},1,{group_records + 2}/\n")
    return details


ENTRY = """      <Ntry>
        <NtryRef>{ref}</NtryRef>
        <Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>{ind}</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2024-03-01</Dt></BookgDt>
        <ValDt><Dt>2024-03-01</Dt></ValDt>
        <AcctSvcrRef>SVC{ref}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><InstrId>I{ref}</InstrId><EndToEndId>E2E{ref}</EndToEndId><TxId>T{ref}</TxId></Refs>
          <Amt Ccy="EUR">{amount}</Amt>
          <RltdPties><Dbtr><Pty><Nm>Customer {ref} GmbH</Nm></Pty></Dbtr>
            <DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>
          <RmtInf><Ustrd>Payment of invoice INV-{ref}</Ustrd>
            <Strd><RfrdDocInf><Nb>INV-{ref}</Nb></RfrdDocInf>
              <RfrdDocAmt><RmtdAmt Ccy="EUR">{amount}</RmtdAmt></RfrdDocAmt></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
"""


def gen_camt(path: Path, target_bytes: int, seed: int = 11) -> int:
    """Write statements of 500 entries until ``target_bytes``; returns the entry count."""
    rnd = random.Random(seed)
    entries = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:'
            '20022:tech:xsd:camt.053.001.08">\n  <BkToCstmrStmt>\n    <GrpHdr><MsgId>'
            "BENCH</MsgId><CreDtTm>2024-03-02T06:00:00+01:00</CreDtTm></GrpHdr>\n"
        )
        stmt = 0
        while out.tell() < target_bytes:
            stmt += 1
            body = []
            balance = 0
            for n in range(ENTRIES_PER_STATEMENT):
                cents = rnd.randint(1, 10**7)
                credit = rnd.random() < 0.6
                balance += cents if credit else -cents
                body.append(
                    ENTRY.format(
                        ref=f"{stmt:06d}{n:05d}",
                        amount=f"{cents / 100:.2f}",
                        ind="CRDT" if credit else "DBIT",
                    )
                )
            ind = "CRDT" if balance >= 0 else "DBIT"
            out.write(
                f"    <Stmt>\n      <Id>S{stmt:06d}</Id>\n      <Acct><Id><IBAN>DE89370400440532"
                f"{stmt:06d}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
                '      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>'
                "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>\n"
                '      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">'
                f"{abs(balance) / 100:.2f}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>2024-03-01"
                "</Dt></Dt></Bal>\n" + "".join(body) + "    </Stmt>\n"
            )
            entries += ENTRIES_PER_STATEMENT
        out.write("  </BkToCstmrStmt>\n</Document>\n")
    return entries


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--out", type=Path, default=DATA)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    target = int(args.mb * 1024 * 1024)
    n = gen_bai2(args.out / "bench.bai2", target)
    print(f"bai2: {n} details, {(args.out / 'bench.bai2').stat().st_size / 2**20:.1f} MiB")
    n = gen_camt(args.out / "bench.camt053.xml", target)
    size = (args.out / "bench.camt053.xml").stat().st_size / 2**20
    print(f"camt.053: {n} entries, {size:.1f} MiB")


if __name__ == "__main__":
    main()
