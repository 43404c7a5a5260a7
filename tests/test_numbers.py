"""Spoken numbers → digits, as the slot extractor and the dialogue rely on them."""

from __future__ import annotations

import random
import time

import pytest

from kiosk.nlu.numbers import parse_int, words_to_digits

REWRITES = [
    # digit dictation (order numbers are read out like this)
    ("two nine three four", "2934"),
    ("one oh four five seven", "10457"),
    ("one o four five seven", "10457"),
    ("zero one two", "012"),
    ("nought seven", "07"),
    ("double seven", "77"),
    ("triple zero", "000"),
    ("one double oh seven", "1007"),
    ("order two nine three four please", "order 2934 please"),
    # compounds
    ("twenty three", "23"),
    ("twenty-three", "23"),
    ("one hundred and five", "105"),
    ("a hundred", "100"),
    ("a hundred and fifty tins", "150 tins"),
    ("two thousand twenty six", "2026"),
    ("two thousand and twenty six", "2026"),
    ("twenty five hundred", "2500"),
    ("one million two hundred thousand", "1200000"),
    ("a thousand and one nights", "1001 nights"),
    # years, and number words followed by single digits
    ("twenty twenty six", "2026"),
    ("nineteen ninety nine", "1999"),
    ("twenty oh five", "2005"),
    ("ten four five seven", "10457"),
    # two-digit groups that are not a year stay apart rather than guessed
    ("nine ninety nine", "9 99"),
    ("thirty forty", "30 40"),
    ("three twenty", "3 20"),
    # decimals and prices
    ("three point five", "3.5"),
    ("one point two five litres", "1.25 litres"),
    ("nine dollars ninety nine", "9.99 dollars"),
    ("nine dollars and ninety nine cents", "9.99 dollars"),
    ("five bucks fifty", "5.50 bucks"),
    ("five dollars", "5 dollars"),
    ("ninety nine cents", "99 cents"),
    ("five dollars and two tins", "5 dollars and 2 tins"),
    # ordinals
    ("the fifth", "the 5th"),
    ("twenty third", "23rd"),
    ("the twenty-first", "the 21st"),
    ("one hundred and first", "101st"),
    ("the eleventh", "the 11th"),
    ("on the first", "on the 1st"),
    ("march first", "march 1st"),
    ("the second of june", "the 2nd of june"),
    ("the third aisle", "the 3rd aisle"),
    # ordinals that are ordinary words here
    ("first aid kit", "first aid kit"),
    ("wait a second", "wait a second"),
    ("the second one", "the second one"),
    ("a third of it", "a third of it"),
    ("two thirds", "2 thirds"),
    # "one" as a pronoun
    ("the blue one", "the blue one"),
    ("that one", "that one"),
    ("which one", "which one"),
    ("this one", "this one"),
    ("another one", "another one"),
    ("the other one", "the other one"),
    ("the cheaper one please", "the cheaper one please"),
    ("no one", "no one"),
    # "one" as a count
    ("I need one", "I need 1"),
    ("one of them", "1 of them"),
    ("buy one get one free", "buy 1 get 1 free"),
    ("The paint. One please", "The paint. 1 please"),
    # "a" is a number only in a few fixed phrases
    ("a hammer", "a hammer"),
    ("a dozen eggs", "12 eggs"),
    ("half a dozen", "6"),
    ("two dozen", "24"),
    ("a couple of tins", "2 tins"),
    ("a couple", "a couple"),
    # counts next to sizes, hyphenated words
    ("three five litre tins", "3 5 litre tins"),
    ("three-pin plug", "three-pin plug"),
    ("a one-off", "a one-off"),
    # case and everything else kept
    ("Twenty Three Tins", "23 Tins"),
    ("Where's my order TWO nine three four?", "Where's my order 2934?"),
    ("already 2934 and 5 litre", "already 2934 and 5 litre"),
    ("oh two nine", "oh 29"),  # a leading "oh" is an interjection
    ("someone tonight often", "someone tonight often"),
    ("café one", "café 1"),
    ("", ""),
]


@pytest.mark.parametrize(("spoken", "expected"), REWRITES)
def test_words_to_digits(spoken: str, expected: str) -> None:
    assert words_to_digits(spoken) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("twenty three", 23),
        ("2934", 2934),
        ("2,934", 2934),
        ("two nine three four", 2934),
        ("one hundred and five", 105),
        ("a dozen", 12),
        ("one", 1),
        ("  42. ", 42),
        ("zero", 0),
        ("nine ninety nine", None),
        ("first", None),
        ("3.5", None),
        ("two tins", None),
        ("abc", None),
        ("", None),
        ("9" * 5000, None),
    ],
)
def test_parse_int(text: str, expected: int | None) -> None:
    assert parse_int(text) == expected


def test_digit_text_is_returned_unchanged() -> None:
    typed = "Order #2934, 5012345 678900, $9.99, 3/11/2026 at 5:30pm — 18v 20mm x4 🙂"
    assert words_to_digits(typed) == typed


@pytest.mark.parametrize(
    "text",
    [
        "one two three four " * 25_000,
        "a " * 50_000,
        "third " * 20_000,
        "hundred " * 15_000,
        "twenty-" * 15_000,
    ],
)
def test_huge_inputs_stay_fast(text: str) -> None:
    started = time.perf_counter()
    words_to_digits(text)
    assert time.perf_counter() - started < 3.0


def test_garbage_does_not_crash() -> None:
    rng = random.Random(7)
    garbage = "".join(chr(rng.choice([rng.randrange(0, 0x250), rng.randrange(0x1F300, 0x1F650)])) for _ in range(20_000))
    assert words_to_digits(garbage + " two nine").endswith(" 29")
    assert parse_int(garbage) is None
