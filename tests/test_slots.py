"""Slot extraction as the dialogue sees it: what a customer says → order number, quantity, date, EAN."""

from __future__ import annotations

import json
import random
import time
from datetime import date

import pytest

from kiosk.nlu.slots import Slots, ean_check_digit, ean_is_valid, extract_slots

TODAY = date(2026, 11, 23)  # a Monday


def slots(text: str, **options) -> dict:
    return extract_slots(text, TODAY, **options).as_dict()


# ---------------------------------------------------------------- order numbers
@pytest.mark.parametrize(
    ("text", "options", "order"),
    [
        ("where's my order 2934", {}, "2934"),
        ("order two nine three four", {}, "2934"),
        ("Where's my order one oh four five seven?", {}, "10457"),
        ("my number is 10457 for the order", {}, "10457"),
        ("order number is twenty nine thirty four", {}, "2934"),
        ("order no. 2934", {}, "2934"),
        ("order #2934 hasn't arrived", {}, "2934"),
        ("#10457", {}, "10457"),
        ("click and collect 10457", {}, "10457"),
        ("click & collect order 2934", {}, "2934"),
        ("confirmation number 123456", {}, "123456"),
        ("reference ten four five seven", {}, "10457"),
        ("order 29 34 and 2 tins", {}, "2934"),
        # the kiosk has just asked for the order number
        ("2934", {"expecting": "order_number"}, "2934"),
        ("it's two nine three four", {"expecting": "order_number"}, "2934"),
        ("293", {"expecting": "order_number"}, "293"),
        ("12345678", {"expecting": "order_number"}, "12345678"),
        ("twenty nine thirty four", {"expecting": "order_number"}, "2934"),
        # not order numbers
        ("order 1234567", {}, None),  # 7+ digits never, unless asked for
        ("2934", {}, None),  # no cue and not asked
        ("order 293", {}, None),  # too short without being asked
        ("I want to order 2000 screws", {}, None),  # "order" the verb
        ("my order from 2025 never came", {}, None),
        ("it's 3", {"expecting": "order_number"}, None),
        ("5012345678900", {"expecting": "order_number"}, None),  # that is a barcode
    ],
)
def test_order_number(text: str, options: dict, order: str | None) -> None:
    assert slots(text, **options).get("order_number") == order


# ---------------------------------------------------------------- barcodes
@pytest.mark.parametrize(
    ("text", "ean", "invalid"),
    [
        ("4006381333931", "4006381333931", None),
        ("the code is 5012345 678900", "5012345678900", None),
        ("5-012345-678900", "5012345678900", None),
        ("upc 036000291452", "036000291452", None),
        ("96385074", "96385074", None),
        ("9638 5074", "96385074", None),
        ("four zero zero six three eight one three three three nine three one", "4006381333931", None),
        ("4006381333932", None, "4006381333932"),
        ("12345678", None, "12345678"),
        ("5012345 678901", None, "5012345678901"),
        ("2934 1234", None, None),  # two numbers, not a mistyped EAN-8
        ("call me on 5551234567", None, None),  # 10 digits is no barcode
        ("12345678901234", None, None),
    ],
)
def test_ean(text: str, ean: str | None, invalid: str | None) -> None:
    found = slots(text)
    assert (found.get("ean"), found.get("invalid_ean")) == (ean, invalid)
    assert "quantity" not in found and "order_number" not in found


def test_ean_and_order_number_in_one_request_stay_apart() -> None:
    assert slots("order 2934, item 5012345678900") == {"order_number": "2934", "ean": "5012345678900"}


@pytest.mark.parametrize(
    ("code", "valid"),
    [("4006381333931", True), ("036000291452", True), ("96385074", True), ("5012345 678900", True),
     ("4006381333932", False), ("400638133393", False), ("abcdefgh", False), ("", False), ("٩٦٣٨٥٠٧٤", False)],
)
def test_ean_is_valid(code: str, valid: bool) -> None:
    assert ean_is_valid(code) is valid


def test_ean_check_digit() -> None:
    assert [ean_check_digit(b) for b in ("400638133393", "03600029145", "9638507")] == [1, 2, 4]
    with pytest.raises(ValueError):
        ean_check_digit("12a4")


# ---------------------------------------------------------------- quantities
@pytest.mark.parametrize(
    ("text", "options", "quantity"),
    [
        ("3 tins", {}, 3),
        ("two boxes of screws", {}, 2),
        ("do you have 10 in stock", {}, 10),
        ("a dozen", {}, 12),
        ("half a dozen hinges", {}, 6),
        ("I need five of them", {}, 5),
        ("x4", {}, 4),
        ("4x AA batteries", {}, 4),
        ("a couple of hinges", {}, 2),
        ("three five litre tins of white", {}, 3),
        ("two 5 litre tins", {}, 2),
        ("I'll take one", {}, 1),
        ("3 of the blue ones", {}, 3),
        ("only 2 left?", {}, 2),
        ("can I get 2000 screws", {}, 2000),
        ("order 2934 and 3 tins of paint", {}, 3),
        ("5", {"expecting": "quantity"}, 5),
        ("just the 3 please", {"expecting": "quantity"}, 3),
        ("five is fine", {"expecting": "quantity"}, 5),
        # not quantities
        ("5", {}, None),
        ("$5", {}, None),
        ("5 dollars", {}, None),
        ("it's nine dollars ninety nine", {}, None),
        ("18v drill", {}, None),
        ("5 litre paint", {}, None),
        ("2 metres of chain", {}, None),
        ("20mm screws", {}, None),
        ("size 10 boots", {}, None),
        ("do you sell 2x4 timber", {}, None),
        ("are you open at 5", {}, None),
        ("5 pm", {}, None),
        ("is it in aisle seven", {}, None),
        ("aisles 6 and 7", {}, None),
        ("I bought it 3 days ago", {}, None),
        ("on the 5th of march", {}, None),
        ("20 percent off", {}, None),
        ("can I return it after 30 days", {}, None),
        ("I have 500 points", {}, None),
        ("the 2026 catalogue", {}, None),
        ("the blue one", {}, None),
        ("$5", {"expecting": "quantity"}, None),
        ("aisle 7", {"expecting": "quantity"}, None),
    ],
)
def test_quantity(text: str, options: dict, quantity: int | None) -> None:
    assert slots(text, **options).get("quantity") == quantity


# ---------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("text", "options", "expected", "said"),
    [
        ("today", {}, date(2026, 11, 23), "today"),
        ("yesterday", {}, date(2026, 11, 22), "yesterday"),
        ("the day before yesterday", {}, date(2026, 11, 21), "the day before yesterday"),
        ("tomorrow", {}, date(2026, 11, 24), "tomorrow"),
        ("day after tomorrow", {}, date(2026, 11, 25), "day after tomorrow"),
        ("I bought it on tuesday", {}, date(2026, 11, 17), "tuesday"),
        ("are you open on tuesday", {"prefer": "future"}, date(2026, 11, 24), "tuesday"),
        ("are you open on monday", {"prefer": "future"}, date(2026, 11, 23), "monday"),  # today is Monday
        ("I was here monday", {}, date(2026, 11, 16), "monday"),  # past: an *earlier* Monday
        ("last tuesday", {}, date(2026, 11, 17), "last tuesday"),
        ("last monday", {"prefer": "future"}, date(2026, 11, 16), "last monday"),
        ("next tuesday", {}, date(2026, 11, 24), "next tuesday"),
        ("next monday", {}, date(2026, 11, 30), "next monday"),
        ("this saturday", {"prefer": "future"}, date(2026, 11, 28), "this saturday"),
        ("this saturday", {}, date(2026, 11, 21), "this saturday"),
        ("Last Tuesday", {}, date(2026, 11, 17), "Last Tuesday"),
        ("3 days ago", {}, date(2026, 11, 20), "3 days ago"),
        ("two weeks ago", {}, date(2026, 11, 9), "2 weeks ago"),
        ("a week ago", {}, date(2026, 11, 16), "a week ago"),
        ("a couple of days ago", {}, date(2026, 11, 21), "2 days ago"),
        ("last week", {}, date(2026, 11, 16), "last week"),
        ("a month ago", {}, date(2026, 10, 23), "a month ago"),
        ("last month", {}, date(2026, 10, 23), "last month"),
        ("in 3 days", {}, date(2026, 11, 26), "in 3 days"),
        ("on the 5th", {}, date(2026, 11, 5), "the 5th"),
        ("on the fifth", {"prefer": "future"}, date(2026, 12, 5), "the 5th"),
        ("on the 30th", {}, date(2026, 10, 30), "the 30th"),
        ("delivery on the 31st", {"prefer": "future"}, date(2026, 12, 31), "the 31st"),  # no November 31st
        ("the 5th", {"expecting": "date"}, date(2026, 11, 5), "the 5th"),
        ("march 3rd", {}, date(2026, 3, 3), "march 3rd"),
        ("march 3rd", {"prefer": "future"}, date(2027, 3, 3), "march 3rd"),
        ("3rd of march", {}, date(2026, 3, 3), "3rd of march"),
        ("the twenty third of november", {}, date(2026, 11, 23), "the 23rd of november"),
        ("march 3 2026", {}, date(2026, 3, 3), "march 3 2026"),
        ("march third twenty twenty five", {}, date(2025, 3, 3), "march 3rd 2025"),
        ("3/11/2026", {}, date(2026, 3, 11), "3/11/2026"),
        ("3/11/2026", {"date_order": "DMY"}, date(2026, 11, 3), "3/11/2026"),
        ("3/11", {}, date(2026, 3, 11), "3/11"),
        ("3/11", {"date_order": "DMY"}, date(2026, 11, 3), "3/11"),
        ("2026-11-03", {}, date(2026, 11, 3), "2026-11-03"),
        ("christmas", {}, date(2025, 12, 25), "christmas"),
        ("are you open christmas day", {"prefer": "future"}, date(2026, 12, 25), "christmas day"),
        ("christmas eve", {"prefer": "future"}, date(2026, 12, 24), "christmas eve"),
        ("new year's day", {"prefer": "future"}, date(2027, 1, 1), "new year's day"),
        ("new year's eve", {}, date(2025, 12, 31), "new year's eve"),
        ("thanksgiving", {"prefer": "future"}, date(2026, 11, 26), "thanksgiving"),
        ("thanksgiving", {}, date(2025, 11, 27), "thanksgiving"),
        ("july 4th", {}, date(2026, 7, 4), "july 4th"),
        ("the fourth of july", {"prefer": "future"}, date(2027, 7, 4), "the 4th of july"),
        ("independence day", {}, date(2026, 7, 4), "independence day"),
        ("black friday", {"prefer": "future"}, date(2026, 11, 27), "black friday"),
    ],
)
def test_date(text: str, options: dict, expected: date, said: str) -> None:
    found = extract_slots(text, TODAY, **options)
    assert (found.date, found.date_text) == (expected, said)


@pytest.mark.parametrize(
    "text",
    [
        "february 30",
        "february 29 2026",
        "13/45",
        "2026-02-30",
        "do you have christmas lights",
        "black friday deals",
        "it's on the 5th floor",
        "the 5th",  # a bare ordinal is only a date when the kiosk asked for one
        "a few days ago",
        "where are the hammers",
    ],
)
def test_no_date(text: str) -> None:
    assert extract_slots(text, TODAY).date is None


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2031, 6, 15), "yesterday", date(2031, 6, 14)),  # `today` is what counts, never the clock
        (date(2031, 6, 15), "on tuesday", date(2031, 6, 10)),
        (date(2027, 3, 31), "a month ago", date(2027, 2, 28)),  # clamped to the shorter month
        (date(2028, 3, 31), "last month", date(2028, 2, 29)),
        (date(2028, 2, 29), "a year ago", date(2027, 2, 28)),
        (date(2027, 1, 10), "on the 20th", date(2026, 12, 20)),  # across the year end
        (date(2026, 12, 25), "christmas", date(2026, 12, 25)),  # on the day itself
        (date(2026, 12, 25), "last christmas", date(2025, 12, 25)),
        (date(2027, 11, 1), "thanksgiving", date(2026, 11, 26)),
        (date(2026, 11, 23), "february 29", date(2024, 2, 29)),  # the latest February that had one
    ],
)
def test_date_relative_to_other_days(today: date, text: str, expected: date) -> None:
    assert extract_slots(text, today).date == expected


def test_day_number_of_a_date_is_not_a_quantity() -> None:
    assert slots("I need it by the 5th of december", prefer="future") == {
        "date": "2026-12-05", "date_text": "the 5th of december"}


def test_everything_at_once() -> None:
    found = slots("I ordered 3 boxes on march 3rd and my order number is 2934")
    assert found == {"order_number": "2934", "quantity": 3, "date": "2026-03-03", "date_text": "march 3rd"}


def test_as_dict_is_json_ready_and_omits_empty_slots() -> None:
    assert Slots().as_dict() == {}
    found = extract_slots("order 2934 from yesterday", TODAY)
    assert json.loads(json.dumps(found.as_dict())) == {
        "order_number": "2934", "date": "2026-11-22", "date_text": "yesterday"}


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError):
        extract_slots("today", TODAY, prefer="soon")  # type: ignore[arg-type]


# ---------------------------------------------------------------- hostile input
def _garbage(seed: int, n: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.choice([rng.randrange(0, 0x100), rng.randrange(0x400, 0x4FF),
                                   rng.randrange(0x1F300, 0x1F650), rng.randrange(0x4E00, 0x4F00)]))
                   for _ in range(n))


@pytest.mark.parametrize(
    "text",
    [
        _garbage(1, 100_000),
        bytes(random.Random(2).getrandbits(8) for _ in range(100_000)).decode("latin-1"),
        "order 2934 🙂 " * 8_000,
        "заказ ٢٩٣٤ 注文 İstanbul " * 4_000,
        "1 " * 50_000,
        "-1" * 50_000,
        "twenty twenty six march 3rd on the 5th $5 5 litre aisle 7 x4 " * 2_000,
        "\x00\ud800order\x002934\x1b",
    ],
)
def test_huge_or_garbage_input_is_fast_and_safe(text: str) -> None:
    started = time.perf_counter()
    found = extract_slots(text, TODAY)
    assert time.perf_counter() - started < 0.5
    json.dumps(found.as_dict())


def test_random_mixes_of_tricky_words_never_break_the_slot_rules() -> None:
    vocab = (
        "a the one two twenty hundred thousand and oh double dozen couple of half point dollars cents first "
        "third on in at ago days last next this monday christmas eve black friday march 3rd 5th 2934 "
        "5012345678900 # order number is x4 5 litre $5 5/11 3/11/2026 2026-02-30 aisle 7 - , size pm blue "
        "zero 99 12 2x4 in stock tins need them"
    ).split()
    rng = random.Random(0)
    for _ in range(2_000):
        text = rng.choice([" ", "-", ""]).join(rng.choice(vocab) for _ in range(rng.randrange(1, 10)))
        today = date(rng.randrange(1990, 2060), rng.randrange(1, 13), rng.randrange(1, 29))
        found = extract_slots(text, today, expecting=rng.choice([None, "order_number", "quantity", "date"]),
                              prefer=rng.choice(["past", "future"]), date_order=rng.choice(["MDY", "DMY"]))
        assert found.ean is None or ean_is_valid(found.ean), text
        assert found.invalid_ean is None or not ean_is_valid(found.invalid_ean), text
        assert found.quantity is None or found.quantity > 0, text
        assert found.order_number is None or (found.order_number.isdigit() and 3 <= len(found.order_number) <= 8)
        assert (found.date is None) == (found.date_text is None), text


def test_only_the_start_of_a_long_text_is_read() -> None:
    # Anything after the first 1,000 characters is ignored by design.
    assert extract_slots("x" * 2_000 + " order 2934", TODAY).order_number is None
    assert extract_slots("order 2934 " + "x" * 100_000, TODAY).order_number == "2934"
