"""Normalisation, blocking and the bounded subset-sum."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.cash.normalize import (
    block_keys,
    normalize_name,
    ref_key,
    reference_tokens,
    strong_key,
)
from reconcile.cash.subset import subset_sum


@pytest.mark.parametrize("text", ["INV-000123", "INV 123", "123", "inv/000123"])
def test_reference_forms_share_one_digit_key(text: str) -> None:
    assert ref_key(text) == "123"


def test_strong_key_ignores_padding_and_separators() -> None:
    assert strong_key("INV-000123") == strong_key("inv 123") == "INV123"
    assert strong_key("INV-000123") != strong_key("CM-000123")


def test_reference_tokens_find_lists_composites_and_prefix_pairs() -> None:
    found = reference_tokens("Pay INV 123, 1001/1002 and INV/2024/00042 ref 7")
    digits, strong = found.digits, found.strong
    # whole tokens keep all their digits, runs are added; the run "42" is too short, while
    # "7" after a word is kept for an exact (strong) match with a short number like REF-7
    assert digits == {"123", "1001", "1002", "10011002", "202400042", "2024", "7"}
    assert {"INV123", "INV202442", "REF7"} <= strong


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME, Inc.", "acme"),
        ("Acme Incorporated", "acme"),
        ("Société Générale S.A.", "societe generale"),
        ("The Smith & Jones Co", "smith jones"),
        ("Müller GmbH & Co. KG", "muller"),
        ("The Company", "the company"),  # nothing left after stripping: keep the folded name
    ],
)
def test_name_normalisation(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_block_keys_survive_word_order_and_a_first_word_typo() -> None:
    assert set(block_keys("stark manufacturing")) & set(block_keys("manufacturing stark"))
    assert set(block_keys("sterk manufacturing")) & set(block_keys("stark manufacturing"))


def test_subset_sum_unique_and_ambiguous() -> None:
    unique = subset_sum([500, 700, 1100], 1200, max_states=1000)
    assert unique is not None and unique.indices == (0, 1) and unique.unique
    many = subset_sum([100, 200, 300], 300, max_states=1000)
    assert many is not None and not many.unique
    assert many.indices == (0, 1)  # holds the oldest item
    assert subset_sum([100, 200], 250, max_states=1000) is None


def test_subset_sum_gives_up_beyond_its_state_bound() -> None:
    amounts = [1 << i for i in range(20)]  # every sum is reachable: 1024 per half
    assert subset_sum(amounts, (1 << 20) - 1, max_states=500) is None
    found = subset_sum(amounts, (1 << 20) - 1, max_states=2_000)
    assert found is not None and found.unique and len(found.indices) == 20


def _oracle(amounts: list[int], target: int) -> tuple[tuple[int, ...], bool] | None:
    """Brute force: every combination, the preferred one holds the oldest differing item."""
    hits = [
        tuple(i for i in range(len(amounts)) if mask >> i & 1)
        for mask in range(1, 1 << len(amounts))
        if sum(a for i, a in enumerate(amounts) if mask >> i & 1) == target
    ]
    if not hits:
        return None
    # lowest differing index decides: compare as sorted membership vectors
    best = min(hits, key=lambda c: [0 if i in c else 1 for i in range(len(amounts))])
    return best, len(hits) == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 60), max_size=10), st.integers(1, 200))
def test_subset_sum_agrees_with_brute_force(amounts: list[int], target: int) -> None:
    got = subset_sum(amounts, target, max_states=10_000)
    expected = _oracle(amounts, target)
    assert (None if got is None else (got.indices, got.unique)) == expected
