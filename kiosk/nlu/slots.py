"""Slots from one customer utterance: order number, quantity, date and barcode (EAN/UPC).

Spoken numbers are turned into digits first (`words_to_digits`), so every rule here reads digits.
Each number can fill at most one slot: spans are claimed in a fixed order, and a claimed span is
invisible to the later steps:
  1. sizes ("5 litre", "18v", "2x4", "size 10") – no slot, but never a quantity or a date;
  2. dates ("3 days ago", "march 3rd", "on the 5th"; all resolved against the injected `today`,
     see `kiosk.nlu.dates`);
  3. prices, times and labels ("$5", "at 5", "5 pm", "aisle 7") – no slot;
  4. order numbers (after an order cue, or any lone 3–8 digits when the kiosk asked for one);
  5. EAN-13 / EAN-8 / UPC-A codes, digit groups may be split by spaces or dashes;
  6. a quantity, which needs evidence that it counts things ("3 tins", "need 5", "x4").
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, fields
from typing import Literal

from kiosk.gtin import gtin_check_digit as ean_check_digit  # noqa: F401 - re-exported
from kiosk.gtin import is_valid_gtin
from kiosk.nlu.dates import When, find_date
from kiosk.nlu.numbers import words_to_digits
from kiosk.nlu.spans import Group, Text

# Only the start of the text is read: a real request is a sentence or two, and the bound keeps
# the work constant when a pasted document or binary garbage arrives (100 KB must not stall us).
MAX_TEXT_CHARS = 1000


@dataclass(frozen=True)
class Slots:
    order_number: str | None = None  # digits only
    quantity: int | None = None
    date: dt.date | None = None  # resolved against `today`
    date_text: str | None = None  # the words that gave the date
    ean: str | None = None  # a valid EAN-13 / EAN-8 / UPC-A code, digits only
    invalid_ean: str | None = None  # shaped like an EAN but the check digit fails

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly: dates as ISO strings, unset slots left out."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out


def ean_is_valid(code: str) -> bool:
    """EAN-13, EAN-8 or UPC-A (12 digits) with a correct check digit; spaces and dashes are ignored."""
    digits = code.replace(" ", "").replace("-", "")
    return len(digits) in (8, 12, 13) and is_valid_gtin(digits)


# ---------------------------------------------------------------- text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # keeps offsets, unlike str.lower


# ---------------------------------------------------------------- sizes, prices, times, labels
_UNIT = (
    r"(?:litres?|liters?|ltrs?|l|ml|gallons?|gal|quarts?|qt|pints?|fl\s?oz|oz|ounces?|lbs?|pounds?|kgs?|"
    r"kilos?|kilograms?|g|grams?|mm|cm|m|km|millimet(?:re|er)s?|centimet(?:re|er)s?|met(?:re|er)s?|ft|"
    r"foot|feet|inch(?:es)?|yards?|yd|volts?|v|watts?|w|kw|amps?|mah|ah|psi|gb|tb|mb|hz|lumens?|lm|k|"
    r"percent|per\s?cent|degrees?|pack|pk|piece|pc|ply|grit|gauge|way|pin|gang|seater|tier)"
)
_SIZES = [
    re.compile(rf"(?<![a-z0-9.])[0-9]+(?:[.,][0-9]+)?(?:/[0-9]+)?\s*-?\s*{_UNIT}(?![a-z0-9])"),
    re.compile(r"(?<![a-z0-9.])[0-9]+(?:[./][0-9]+)?\s*(?:\"|'')"),
    re.compile(r"(?<![a-z0-9.])[0-9]+(?:\.[0-9]+)?\s*x\s*[0-9]+(?:\.[0-9]+)?(?:\s*x\s*[0-9]+(?:\.[0-9]+)?)?"),
    re.compile(r"\bsize\s*[0-9]+(?:\.[0-9]+)?"),
]
_NON_SLOT_NUMBERS = [
    re.compile(r"[$\u00a3\u20ac]\s*[0-9][0-9,]*(?:\.[0-9]+)?"),
    re.compile(r"(?<![a-z0-9.])[0-9][0-9,]*(?:\.[0-9]+)?\s*(?:dollars?|bucks?|cents?|usd|c)(?![a-z])"),
    re.compile(r"\b(?:under|below|costs?|priced\s+at|less\s+than)\s+[0-9]+(?:\.[0-9]+)?(?![0-9a-z])"),
    re.compile(r"(?<![a-z0-9.])[0-9]{1,2}(?::[0-9]{2})?\s*(?:a\.?m\b\.?|p\.?m\b\.?|o'?clock\b)"),
    re.compile(r"(?<![0-9])[0-9]{1,2}:[0-9]{2}(?![0-9])"),
    re.compile(r"\b(?:at|until|till|til|before|after|around|by|from|between|past)\s+[0-9]{1,2}(?::[0-9]{2})?(?![0-9a-z])"),
    re.compile(r"\baisles\s+[0-9]+(?:\s*(?:,|and|or|to|-|&)\s*[0-9]+)+"),
    re.compile(
        r"\b(?:aisle|isle|bay|row|shelf|checkout|register|till|lane|door|gate|desk|counter|section|level|"
        r"floor|page|step|model|version|type|room|zone|platform|grade|series|gen|mk|route|highway|zip|"
        r"extension|ext|line|channel|unit|suite|apt)s?\s*(?:number\s*|no\.?\s*|#\s*)?[0-9]+(?![0-9a-z])"
    ),
]


# ---------------------------------------------------------------- order numbers and EANs
_ORDER_CUE = re.compile(
    r"\bclick\s*(?:and|&|n|'n')\s*collect(?:ion)?\b|\b(?:order|reference|ref|confirmation|collection)\b|#"
)
_CUE_FILLER = re.compile(
    r"(?:\s*(?:(?:number|num|no|nr|is|was|it's|its|id|code|ref|reference|order|confirmation)\b\.?|[#:=-]))*\s*"
)
# "to order 20", "can I order 2000 screws": the verb, not an order reference.
_ORDER_VERB_BEFORE = {"to", "i", "we", "can", "could", "i'll", "i'd", "we'd", "we'll", "please", "you", "will",
                      "would", "should", "gonna", "wanna", "must", "let's", "might", "and"}


def _join_from(text: Text, run: list[Group], k: int, lo: int, hi: int) -> list[Group]:
    """Groups of one run read as one number: "29 34" after an order cue is 2934."""
    if lo <= len(run[k].digits) <= hi:
        return [run[k]]
    used: list[Group] = []
    for g in run[k:]:
        if sum(len(u.digits) for u in used) + len(g.digits) > hi or (used and _counts_something(text, g)):
            break
        used.append(g)
    return used if lo <= sum(len(u.digits) for u in used) <= hi else []


def _order_after_cue(text: Text, lo: int, hi: int) -> list[Group]:
    starts = {g.start: (run, k) for run in text.runs() for k, g in enumerate(run)}
    for cue in _ORDER_CUE.finditer(text.s):
        if cue.group() == "order" and text.before(cue.start())[0] in _ORDER_VERB_BEFORE:
            continue
        at = _CUE_FILLER.match(text.s, cue.end()).end()
        if at in starts and (used := _join_from(text, *starts[at], lo, hi)):
            return used
    return []


def _order_anywhere(text: Text) -> list[Group]:
    """ "my number is 10457 for the order": the cue comes after the number."""
    cued = any(c.group() != "#" and not (c.group() == "order" and text.before(c.start())[0] in _ORDER_VERB_BEFORE)
               for c in _ORDER_CUE.finditer(text.s))
    if not cued:
        return []
    for run in text.runs():
        for g in run:
            prev = text.before(g.start)[0]
            if 4 <= len(g.digits) <= 6 and (prev in ("number", "no") or prev not in _BLOCKING_PREV) \
                    and not _counts_something(text, g):
                return [g]
    return []


def _lone_order(text: Text) -> list[Group]:
    """The kiosk has just asked for the order number: any 3–8 digits will do, but not a barcode."""
    for run in text.runs():
        joined = "".join(g.digits for g in run)
        if len(joined) in (12, 13) and ean_is_valid(joined):
            continue
        for k in range(len(run)):
            if used := _join_from(text, run, k, 3, 8):
                return used
    return []


def _find_eans(text: Text) -> tuple[str | None, str | None]:
    valid: str | None = None
    invalid: str | None = None
    for run in text.runs():
        best = None
        for a in range(len(run)):
            total = 0
            for b in range(a, len(run)):
                total += len(run[b].digits)
                if total > 13:
                    break
                if total not in (8, 12, 13):
                    continue
                digits = "".join(g.digits for g in run[a:b + 1])
                ok = ean_is_valid(digits)
                if not ok and a != b and total == 8:  # "2934 1234" is likelier two numbers than a bad EAN-8
                    continue
                key = (ok, b - a + 1 == len(run), total, -a)
                if best is None or key > best[0]:
                    best = (key, digits, run[a:b + 1])
        if best is None:
            continue
        (ok, *_), digits, used = best
        text.claim(used[0].start, used[-1].end)
        if ok and valid is None:
            valid = digits
        elif not ok and invalid is None:
            invalid = digits
    return valid, invalid


# ---------------------------------------------------------------- quantities
_QUANTITY_VERBS = set(
    "need needs needed want wants wanted take taking get getting got buy buying bought have has "
    "ordered ordering grab reserve reserved hold like require purchase purchased pick return "
    "returning returned me us just only another extra"
    .split()
)
# A number right after these is a time, a label, a year or a price, not a count.
_BLOCKING_PREV = set(
    "in since from until till til at by before after around between version model number no route "
    "highway zip pin phone call extension ext page step plus minus under than below above costs "
    "cost priced aisle size gen mark mk type series room code year"
    .split()
)
# ...and a number right before these is a duration, money, a rating or points.
_HARD_NEXT = set(
    "day days week weeks fortnight fortnights month months year years yr yrs hour hours hr hrs "
    "minute minutes min mins second seconds sec secs ago am pm o'clock oclock dollars dollar bucks "
    "buck cents cent usd percent per degrees degree times digit digits star stars point points off "
    "mph"
    .split()
)
# Function words: after a number they show nothing is being counted ("5 is fine", "10 and").
_SOFT_NEXT = set(
    "a an the and or but nor to too for from at by on in into with without is are was were be been "
    "it its it's i i'm i'd i'll you we they he she me my your our their this that these those there "
    "here what which who when where why how if so then than not no yes ok okay thanks thank do does "
    "did can could will would should has have had each up down out over under still yet as also "
    "again instead maybe right now"
    .split()
)
_DOZEN = re.compile(r"\bdozen\b", re.IGNORECASE)
_TIMES_X = re.compile(r"(?<![a-z0-9])x\s?(?P<a>[0-9]{1,6})(?![0-9a-z.])|(?<![a-z0-9.])(?P<b>[0-9]{1,6})\s?x(?![a-z0-9])")


def _counts_something(text: Text, g: Group) -> bool:
    """Whether what follows the number is a thing being counted: "3 tins", "5 of them", "10 in stock"."""
    word, end = text.word_after(g.end, skip_claimed=True)
    if word == "in":
        return text.word_after(end)[0] == "stock"
    return bool(word) and word not in _SOFT_NEXT and word not in _HARD_NEXT


def _find_quantity(text: Text, expecting: str | None, said_dozen: bool) -> int | None:
    candidates: list[tuple[int, int]] = []
    for m in _TIMES_X.finditer(text.s):
        if text.free(*m.span()):
            candidates.append((m.start(), int(m["a"] or m["b"])))
    for g in text.groups:
        if g.dashed or len(g.digits) > 6 or not text.free(g.start, g.end) or int(g.digits) == 0:
            continue
        value, (prev, symbol) = int(g.digits), text.before(g.start)
        following = text.s[g.end:g.end + 2].lstrip()[:1]
        if symbol in ("$", "#", "+", "-") or following in ("%", "\u00b0") or prev in _BLOCKING_PREV:
            continue
        if text.word_after(g.end)[0] in _HARD_NEXT:
            continue
        # "a dozen" became "12" upstream; the word itself was the evidence that things are counted.
        dozens = said_dozen and value % 6 == 0
        # A year-like number ("the 2026 catalogue") needs a verb: "I need 2000 screws".
        counted = _counts_something(text, g) and not 1900 <= value <= 2099
        if expecting == "quantity" or dozens or prev in _QUANTITY_VERBS or counted:
            candidates.append((g.start, value))
    return min(candidates)[1] if candidates else None


# ---------------------------------------------------------------- entry point
def extract_slots(
    text: str,
    today: dt.date,
    *,
    expecting: str | None = None,
    prefer: Literal["past", "future"] = "past",
    date_order: Literal["MDY", "DMY"] = "MDY",
) -> Slots:
    """Slots in one utterance. `expecting` names the slot the kiosk just asked for ("order_number",
    "quantity" or "date"): a lone number, or a bare "the 5th", then fills it. `today` is injected so
    the clock is never read."""
    if prefer not in ("past", "future") or date_order not in ("MDY", "DMY"):
        raise ValueError(f"prefer={prefer!r}, date_order={date_order!r}")
    bounded = _CONTROL.sub(" ", text[:MAX_TEXT_CHARS]).replace("\u2019", "'")
    normalized = words_to_digits(bounded)
    lowered = Text(normalized.translate(_ASCII_LOWER))
    for pattern in _SIZES:
        for m in pattern.finditer(lowered.s):
            lowered.claim(*m.span())
    when = When(today, prefer == "past", date_order == "MDY")
    date, date_text = find_date(lowered, normalized, when, expecting)
    for pattern in _NON_SLOT_NUMBERS:
        for m in pattern.finditer(lowered.s):
            lowered.claim(*m.span())
    lo, hi = (3, 8) if expecting == "order_number" else (4, 6)
    order = _order_after_cue(lowered, lo, hi) or (_lone_order(lowered) if expecting == "order_number" else [])
    for g in order:
        lowered.claim(g.start, g.end)
    ean, invalid_ean = _find_eans(lowered)
    if not order:
        order = _order_anywhere(lowered)
        for g in order:
            lowered.claim(g.start, g.end)
    return Slots(
        order_number="".join(g.digits for g in order) or None,
        quantity=_find_quantity(lowered, expecting, _DOZEN.search(bounded) is not None),
        date=date,
        date_text=date_text,
        ean=ean,
        invalid_ean=invalid_ean,
    )
