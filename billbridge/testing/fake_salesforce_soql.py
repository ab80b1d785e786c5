"""The SOQL subset the Salesforce fake understands (strictly: anything else is refused).

``SELECT f, … [, (SELECT g, … FROM ChildRelationship)] FROM Obj [WHERE …] [ORDER BY a, b]``
and ``SELECT COUNT() FROM Obj [WHERE …]``; conditions combine ``AND``/``OR``/parentheses over
``field op literal`` and ``field IN (…)`` with quoted strings, numbers, booleans, ``null``
and unquoted datetime literals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<dt>\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d))"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|=|>|<)|(?P<punct>[(),])|(?P<word>[\w.]+))"
)


class SoqlError(ValueError):
    """Raised for anything outside the supported subset (the fake answers MALFORMED_QUERY)."""


@dataclass
class Query:
    sobject: str
    fields: list[str]
    count: bool = False
    child: tuple[str, list[str]] | None = None
    where: Any = None
    order: list[str] = field(default_factory=list)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SoqlError(f"unexpected input at {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise SoqlError(f"unexpected end, expected {expected}")
        token = self.tokens[self.i]
        if expected and token[1].upper() != expected:
            raise SoqlError(f"expected {expected}, got {token[1]!r}")
        self.i += 1
        return token

    def query(self) -> Query:
        self.take("SELECT")
        fields: list[str] = []
        child = None
        count = False
        while True:
            if self.peek() == "(":
                self.take("(")
                self.take("SELECT")
                child_fields = self.names()
                self.take("FROM")
                child = (self.take()[1], child_fields)
                self.take(")")
            elif self.peek().upper() == "COUNT":
                self.take()
                self.take("(")
                self.take(")")
                count = True
            else:
                fields.append(self.take()[1])
            if self.peek() != ",":
                break
            self.take(",")
        self.take("FROM")
        query = Query(sobject=self.take()[1], fields=fields, count=count, child=child)
        if self.peek().upper() == "WHERE":
            self.take()
            query.where = self.disjunction()
        if self.peek().upper() == "ORDER":
            self.take()
            self.take("BY")
            query.order = self.names()
        if self.i != len(self.tokens):
            raise SoqlError(f"unexpected {self.peek()!r}")
        return query

    def names(self) -> list[str]:
        names = [self.take()[1]]
        while self.peek() == ",":
            self.take(",")
            names.append(self.take()[1])
        return names

    def disjunction(self) -> Any:
        terms = [self.conjunction()]
        while self.peek().upper() == "OR":
            self.take()
            terms.append(self.conjunction())
        return ("or", terms) if len(terms) > 1 else terms[0]

    def conjunction(self) -> Any:
        terms = [self.atom()]
        while self.peek().upper() == "AND":
            self.take()
            terms.append(self.atom())
        return ("and", terms) if len(terms) > 1 else terms[0]

    def atom(self) -> Any:
        if self.peek() == "(":
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        name = self.take()[1]
        if self.peek().upper() == "IN":
            self.take()
            self.take("(")
            values = [self.value()]
            while self.peek() == ",":
                self.take(",")
                values.append(self.value())
            self.take(")")
            return ("in", name, values)
        kind, op = self.take()
        if kind != "op":
            raise SoqlError(f"expected an operator after {name}, got {op!r}")
        return ("cmp", name, op, self.value())

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        if kind == "dt":
            return parse_sf_datetime(text)
        if kind == "num":
            return Decimal(text) if "." in text else int(text)
        if text.lower() in {"true", "false"}:
            return text.lower() == "true"
        if text.lower() == "null":
            return None
        raise SoqlError(f"unexpected literal {text!r}")


def parse(text: str) -> Query:
    return _Parser(text).query()


def parse_sf_datetime(text: str) -> datetime:
    value = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", value):
        value = f"{value[:-2]}:{value[-2:]}"
    return datetime.fromisoformat(value)


def _coerce(value: Any, like: Any) -> Any:
    if isinstance(like, datetime) and isinstance(value, str):
        return parse_sf_datetime(value)
    return value


def matches(record: dict[str, Any], cond: Any) -> bool:
    if cond is None:
        return True
    kind = cond[0]
    if kind == "or":
        return any(matches(record, c) for c in cond[1])
    if kind == "and":
        return all(matches(record, c) for c in cond[1])
    if kind == "in":
        return record.get(cond[1]) in cond[2]
    _, name, op, literal = cond
    value = _coerce(record.get(name), literal)
    if value is None or literal is None:
        return {"=": value is literal, "!=": value is not literal}.get(op, False)
    return {
        "=": value == literal,
        "!=": value != literal,
        ">": value > literal,
        "<": value < literal,
        ">=": value >= literal,
        "<=": value <= literal,
    }[op]


def sort_key(record: dict[str, Any], order: list[str]) -> tuple[Any, ...]:
    return tuple(
        parse_sf_datetime(record[f]) if f == "SystemModstamp" else str(record.get(f)) for f in order
    )
