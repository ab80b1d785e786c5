"""MT940 pre-processing: what the ``mt-940`` library does not handle on real files.

SWIFT envelopes (``{1:}{2:}{4:`` ... ``-}``), bank preambles before the first ``:20:``,
``-XXX`` terminators, control characters, and tags wrapped over several lines. The result
is a list of statement blocks of tags, each tag keeping its original lines (number and
byte offset) for provenance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from connectors.feeds.normalize import Line

TAG = re.compile(r"^:(\d\d[A-Z]?|NS):")
_ENVELOPE_BLOCK = re.compile(r"\{[1235]:(?:[^{}]|\{[^{}]*\})*\}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TERMINATOR = re.compile(r"^-[A-Z0-9}]{0,4}\s*$")


@dataclass
class Tag:
    tag: str
    lines: list[Line]

    @property
    def first(self) -> Line:
        return self.lines[0]

    def content(self) -> str:
        head = TAG.sub("", self.lines[0].text, count=1)
        rest = [ln.text for ln in self.lines[1:]]
        if self.tag == "86":
            return "\n".join([head, *rest])
        if self.tag == "61":
            return head + ("\n" + " ".join(r.strip() for r in rest) if rest else "")
        return head + "".join(r.strip() for r in rest)  # wrapped :28C:, :25:, :13D: ...

    def raw(self) -> str:
        return "\n".join(ln.text for ln in self.lines)


@dataclass
class Block:
    tags: list[Tag] = field(default_factory=list)


def clean_lines(lines: list[Line]) -> tuple[list[Line], bool]:
    """Strip envelopes and control characters; report whether an MT942 header was seen."""
    out: list[Line] = []
    is_942 = False
    for line in lines:
        text = line.text
        if "{2:" in text and "942" in text[text.index("{2:") : text.index("{2:") + 8]:
            is_942 = True
        text = _ENVELOPE_BLOCK.sub("", text).replace("{4:", "")
        text = _CONTROL.sub("", text).rstrip()
        if text.strip() in ("-}", "}"):
            continue
        out.append(Line(line.number, line.offset, text))
    return out, is_942


def split_blocks(lines: list[Line]) -> tuple[list[Block], int]:
    """Group tag lines into statements (a new one at each ``:20:``); count preamble lines."""
    blocks: list[Block] = []
    preamble = 0
    current: Tag | None = None
    for i, line in enumerate(lines):
        m = TAG.match(line.text)
        if m:
            current = Tag(m.group(1), [line])
            if m.group(1) == "20" or not blocks:
                blocks.append(Block())
            blocks[-1].tags.append(current)
            continue
        if not line.text.strip():
            continue
        if _TERMINATOR.match(line.text) and _next_starts_statement(lines, i + 1):
            current = None
            continue
        if current is None:
            preamble += 1
            continue
        current.lines.append(line)
    return blocks, preamble


def _next_starts_statement(lines: list[Line], start: int) -> bool:
    for line in lines[start:]:
        if line.text.strip():
            return line.text.startswith((":20:", "-")) or not TAG.match(line.text)
    return True
