"""Slots from one customer utterance: order number, quantity, date and barcode (EAN/UPC).

Spoken numbers are turned into digits first (`words_to_digits`), so every rule here reads digits.
Each number can fill at most one slot: spans are claimed in a fixed order, and a claimed span is
invisible to the later steps:
  1. sizes ("5 litre", "18v", "2x4", "size 10") – no slot, but never a quantity or a date;
  2. dates ("3 days ago", "march 3rd", "on the 5th"; all resolved against the injected `today`);
  3. prices, times and labels ("$5", "at 5", "5 pm", "aisle 7") – no slot;
  4. order numbers (after an order cue, or any lone 3–8 digits when the kiosk asked for one);
  5. EAN-13 / EAN-8 / UPC-A codes, digit groups may be split by spaces or dashes;
  6. a quantity, which needs evidence that it counts things ("3 tins", "need 5", "x4").

Date decisions: a bare weekday ("tuesday") is the most recent *earlier* one when `prefer="past"`
and today-or-the-coming-one when `prefer="future"` (asking "are you open on tuesday" on a Tuesday
means today). "last/next X" is 1–7 days back/ahead whatever `prefer` says; "this X" is the
nearest X in the preferred direction, today included. Month-day dates without a year, "the 5th"
and holidays take the occurrence in the preferred direction (today included). `date_text` is the
matched wording after number normalisation ("the 5th" for "the fifth"), case kept.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import string
from dataclasses import dataclass, fields
from typing import Callable, Literal

from kiosk.nlu.numbers import words_to_digits

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


def ean_check_digit(body: str) -> int:
    """GS1 check digit for a code without its last digit (7, 11 or 12 digits for EAN-8/UPC-A/EAN-13)."""
    if not body or not (body.isascii() and body.isdigit()):
        raise ValueError(f"not a digit string: {body!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def ean_is_valid(code: str) -> bool:
    """EAN-13, EAN-8 or UPC-A (12 digits) with a correct check digit; spaces and dashes are ignored."""
    digits = code.replace(" ", "").replace("-", "")
    if len(digits) not in (8, 12, 13) or not (digits.isascii() and digits.isdigit()):
        return False
    return ean_check_digit(digits[:-1]) == int(digits[-1])


# ---------------------------------------------------------------- text, claims, digit groups
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # keeps offsets, unlike str.lower
_GROUP = re.compile(r"(?<![A-Za-z0-9])(?<![0-9][.,:/])[0-9]+(?![A-Za-z0-9])(?![.,:/][0-9])")
_RUN_GAP = re.compile(r"[ \t]*[-\u2013][ \t]*|[ \t]+")
_WORD_AT = re.compile(r"\s*([a-z][a-z']*)")
_WORD_END = re.compile(r"[a-z][a-z']*$")


@dataclass(frozen=True)
class _Group:
    digits: str
    start: int
    end: int
    run: int  # groups with the same run number are separated only by spaces or dashes
    dashed: bool  # a dash joins it to a neighbour: part of a code or a range, never a count


class _Text:
    """The lowered, normalised text plus the spans already used by some rule."""

    def __init__(self, lowered: str) -> None:
        self.s = lowered
        self.claims: list[tuple[int, int]] = []
        found = list(_GROUP.finditer(lowered))
        gaps = [_RUN_GAP.fullmatch(lowered, a.end(), b.start()) for a, b in zip(found, found[1:])]
        dashed = [bool(g and "-" in g.group()) for g in gaps]
        self.groups: list[_Group] = []
        run = 0
        for k, m in enumerate(found):
            if k and not gaps[k - 1]:
                run += 1
            touches_dash = (k and dashed[k - 1]) or (k < len(dashed) and dashed[k])
            self.groups.append(_Group(m.group(), m.start(), m.end(), run, bool(touches_dash)))

    def claim(self, start: int, end: int) -> None:
        self.claims.append((start, end))

    def free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.claims)

    def runs(self) -> list[list[_Group]]:
        """Unclaimed groups, split wherever a claimed group or other text comes between."""
        out: list[list[_Group]] = []
        previous: _Group | None = None
        for g in self.groups:
            if not self.free(g.start, g.end):
                previous = None
                continue
            if previous is not None and previous.run == g.run:
                out[-1].append(g)
            else:
                out.append([g])
            previous = g
        return out

    def word_after(self, pos: int, skip_claimed: bool = False) -> tuple[str, int]:
        """The word starting after pos (over whitespace, and over claimed spans if asked) and its end."""
        while True:
            while pos < len(self.s) and self.s[pos].isspace():
                pos += 1
            ends = [b for a, b in self.claims if a <= pos < b] if skip_claimed else []
            if not ends:
                break
            pos = max(ends)
        m = _WORD_AT.match(self.s, pos)
        return (m.group(1), m.end()) if m else ("", pos)

    def before(self, pos: int) -> tuple[str, str]:
        """(word, "") when a word comes just before pos, else ("", the symbol there)."""
        tail = self.s[max(0, pos - 40):pos].rstrip()  # a window keeps this O(1)
        if not tail:
            return "", ""
        m = _WORD_END.search(tail)
        return (m.group(), "") if m else ("", tail[-1])


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


# ---------------------------------------------------------------- dates
_NOT_A_DATE = object()  # the pattern matched words that turn out not to be about a date
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![a-z])"
)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAY = r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?(?![0-9a-z])"
_YEAR = r"(?:,?\s+(?P<year>[0-9]{4})(?![0-9]))?"
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
# After a holiday name or "on the 5th" only these words keep it a date: "christmas lights" and
# "on the 5th floor" are not dates.
_DATE_FOLLOWERS = set(
    "and or but at in on for from to please i we you it they when because so then of was is were "
    "that this last next around about by before after if yes no thanks thank ok okay morning "
    "afternoon evening night week weekend hours opening too as till until are do will can right eve"
    .split()
)


@dataclass(frozen=True)
class _When:
    today: dt.date
    past: bool
    mdy: bool


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _add_months(day: dt.date, n: int) -> dt.date:
    year, month0 = divmod(day.month - 1 + n, 12)
    year += day.year
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def _in_direction(when: _When, month: int, day: int) -> dt.date | None:
    """The nearest month/day on or before (past) / on or after (future) today; Feb 29 may be years away."""
    step = -1 if when.past else 1
    for k in range(9):
        d = _safe_date(when.today.year + step * k, month, day)
        if d and (d <= when.today if when.past else d >= when.today):
            return d
    return None


def _month_number(name: str) -> int:
    return _MONTHS.index(name[:3]) + 1


def _explicit(m: re.Match[str], when: _When, month: int, day: int) -> dt.date | None:
    year = m.groupdict().get("year") or m.groupdict().get("y")
    if not year:
        return _in_direction(when, month, day)
    return _safe_date(int(year) + (2000 if len(year) == 2 else 0), month, day)


def _numeric(m: re.Match[str], when: _When) -> dt.date | None:
    a, b = int(m["a"]), int(m["b"])
    month, day = (a, b) if when.mdy else (b, a)
    return _explicit(m, when, month, day) if 1 <= month <= 12 else None


def _followed_by_date_word(m: re.Match[str]) -> bool:
    word = _WORD_AT.match(m.string, m.end())
    return word is None or word.group(1) in _DATE_FOLLOWERS


def _day_of_month(m: re.Match[str], when: _When) -> object:
    if not _followed_by_date_word(m):
        return _NOT_A_DATE
    day, first = int(m["day"]), when.today.replace(day=1)
    if m["rel"]:
        month = _add_months(first, {"this": 0, "next": 1, "last": -1}[m["rel"]])
        return _safe_date(month.year, month.month, day)
    this_month = _safe_date(when.today.year, when.today.month, day)
    if this_month and (this_month <= when.today if when.past else this_month >= when.today):
        return this_month
    other = _add_months(first, -1 if when.past else 1)
    return _safe_date(other.year, other.month, day)


def _shift(m: re.Match[str], when: _When, sign: int) -> dt.date | None:
    n = 1 if m["n"] in ("a", "an") else int(m["n"])
    unit = m["unit"].rstrip("s")
    try:
        if unit in ("month", "year"):
            return _add_months(when.today, sign * n * (12 if unit == "year" else 1))
        return when.today + dt.timedelta(days=sign * n * {"day": 1, "week": 7, "fortnight": 14}[unit])
    except (ValueError, OverflowError):
        return None


def _last_or_next(m: re.Match[str], when: _When) -> dt.date:
    """ "last week" is a week ago, "last month" the same day last month (clamped to its length)."""
    sign = 1 if m["dir"] == "next" else -1
    if m["unit"] == "week":
        return when.today + dt.timedelta(days=7 * sign)
    return _add_months(when.today, sign * (12 if m["unit"] == "year" else 1))


def _weekday(m: re.Match[str], when: _When) -> dt.date:
    wd, mod, today = _WEEKDAYS[m["wd"][:3]], m["mod"] or "", when.today
    back, ahead = (today.weekday() - wd) % 7, (wd - today.weekday()) % 7
    if mod in ("last", "past") or (not mod and when.past):
        return today - dt.timedelta(days=back or 7)
    if mod and mod != "this":  # next, coming, this coming
        return today + dt.timedelta(days=ahead or 7)
    if mod == "this" and when.past:
        return today - dt.timedelta(days=back)
    return today + dt.timedelta(days=ahead)


def _holiday_in(year: int, name: str) -> dt.date:
    if "thanksgiving" in name or "black" in name:
        first = dt.date(year, 11, 1)
        thanksgiving = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)  # 4th Thursday
        return thanksgiving + dt.timedelta(days=1 if "black" in name else 0)
    if "independence" in name:
        return dt.date(year, 7, 4)
    if "new" in name:
        return dt.date(year, 12, 31) if "eve" in name else dt.date(year, 1, 1)
    return dt.date(year, 12, 24 if "eve" in name else 25)


def _holiday(m: re.Match[str], when: _When) -> object:
    if not _followed_by_date_word(m):
        return _NOT_A_DATE
    today, mod = when.today, m["mod"]
    if mod == "this":
        return _holiday_in(today.year, m["h"])
    options = [_holiday_in(today.year + k, m["h"]) for k in (-1, 0, 1)]
    if mod == "last" or (not mod and when.past):
        return max(d for d in options if d < today or (not mod and d == today))
    return min(d for d in options if d > today or (not mod and d == today))


_DateRule = tuple[re.Pattern[str], Callable[[re.Match[str], _When], object]]
_DATE_RULES: list[_DateRule] = [
    (re.compile(r"(?<![0-9])(?P<y>[0-9]{4})-(?P<mn>[0-9]{1,2})-(?P<day>[0-9]{1,2})(?![0-9])"),
     lambda m, w: _safe_date(int(m["y"]), int(m["mn"]), int(m["day"]))),
    (re.compile(r"(?<![0-9/.-])(?P<a>[0-9]{1,2})(?P<sep>[/.-])(?P<b>[0-9]{1,2})(?P=sep)(?P<y>[0-9]{4}|[0-9]{2})"
                r"(?![0-9]|[/.-][0-9])"), _numeric),
    (re.compile(r"(?<![0-9/.-])(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})(?![0-9]|[/.-][0-9])"), _numeric),
    (re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}{_YEAR}"),
     lambda m, w: _explicit(m, w, _month_number(m["month"]), int(m["day"]))),
    (re.compile(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}"),
     lambda m, w: _explicit(m, w, _month_number(m["month"]), int(m["day"]))),
    (re.compile(r"\b(?:on|since|by|before|after|until|till|from|for)\s+(?P<text>(?:the\s+)?(?P<day>[0-9]{1,2})"
                r"(?:st|nd|rd|th)(?:\s+of\s+(?P<rel>this|next|last)\s+month)?)(?![0-9a-z])"), _day_of_month),
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b"), lambda m, w: w.today - dt.timedelta(days=2)),
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b"), lambda m, w: w.today + dt.timedelta(days=2)),
    (re.compile(r"\byesterday\b"), lambda m, w: w.today - dt.timedelta(days=1)),
    (re.compile(r"\btomorrow\b"), lambda m, w: w.today + dt.timedelta(days=1)),
    (re.compile(r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b"), lambda m, w: w.today),
    (re.compile(r"\b(?P<n>[0-9]{1,3}|an?)\s+(?P<unit>days?|weeks?|fortnights?|months?|years?)\s+ago\b"),
     lambda m, w: _shift(m, w, -1)),
    (re.compile(r"\bin\s+(?P<n>[0-9]{1,3}|an?)\s+(?P<unit>days?|weeks?|fortnights?|months?|years?)\b"),
     lambda m, w: _shift(m, w, 1)),
    (re.compile(r"\b(?P<n>[0-9]{1,3}|an?)\s+(?P<unit>days?|weeks?|fortnights?|months?|years?)\s+from\s+(?:now|today)\b"),
     lambda m, w: _shift(m, w, 1)),
    (re.compile(r"\b(?P<dir>last|next|past|previous)\s+(?P<unit>week|month|year)\b"), _last_or_next),
    (re.compile(r"\b(?:on\s+)?(?P<text>(?:(?P<mod>last|next|past|this\s+coming|this|coming)\s+)?"
                r"(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues|weds|thurs))\b"), _weekday),
    (re.compile(r"\b(?P<text>(?:(?P<mod>last|next|this)\s+)?(?P<h>christmas\s+eve|xmas\s+eve|christmas(?:\s+day)?|"
                r"xmas(?:\s+day)?|new\s+year'?s\s+eve|new\s+year'?s(?:\s+day)?|new\s+year\s+day|"
                r"thanksgiving(?:\s+day)?|independence\s+day|black\s+friday))\b"), _holiday),
]


# Only when the kiosk asked for a date: on its own "the 5th" may be an aisle, a floor, an edition.
_BARE_ORDINAL_DAY = re.compile(
    r"\b(?P<text>(?:the\s+)?(?P<day>[0-9]{1,2})(?:st|nd|rd|th)(?:\s+of\s+(?P<rel>this|next|last)\s+month)?)(?![0-9a-z])"
)


def _find_date(text: _Text, original: str, when: _When, expecting: str | None) -> tuple[dt.date | None, str | None]:
    """Claims every date-shaped span; the first that is a real date wins ("february 30" is not)."""
    rules = _DATE_RULES + ([(_BARE_ORDINAL_DAY, _day_of_month)] if expecting == "date" else [])
    candidates = []
    for pattern, resolve in rules:
        for m in pattern.finditer(text.s):
            if text.free(*m.span()):
                shown = m.span("text") if "text" in pattern.groupindex and m["text"] else m.span()
                candidates.append((shown[0], -(shown[1] - shown[0]), m, resolve, shown))
    candidates.sort(key=lambda c: (c[0], c[1]))
    found: tuple[dt.date | None, str | None] = (None, None)
    for _, _, m, resolve, shown in candidates:
        if not text.free(*m.span()):
            continue
        value = resolve(m, when)
        text.claim(*m.span())  # even when not a date: "friday" in "black friday deals" is not one either
        if isinstance(value, dt.date) and found[0] is None:
            found = (value, original[shown[0]:shown[1]].strip())
    return found


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


def _join_from(text: _Text, run: list[_Group], k: int, lo: int, hi: int) -> list[_Group]:
    """Groups of one run read as one number: "29 34" after an order cue is 2934."""
    if lo <= len(run[k].digits) <= hi:
        return [run[k]]
    used: list[_Group] = []
    for g in run[k:]:
        if sum(len(u.digits) for u in used) + len(g.digits) > hi or (used and _counts_something(text, g)):
            break
        used.append(g)
    return used if lo <= sum(len(u.digits) for u in used) <= hi else []


def _order_after_cue(text: _Text, lo: int, hi: int) -> list[_Group]:
    starts = {g.start: (run, k) for run in text.runs() for k, g in enumerate(run)}
    for cue in _ORDER_CUE.finditer(text.s):
        if cue.group() == "order" and text.before(cue.start())[0] in _ORDER_VERB_BEFORE:
            continue
        at = _CUE_FILLER.match(text.s, cue.end()).end()
        if at in starts and (used := _join_from(text, *starts[at], lo, hi)):
            return used
    return []


def _order_anywhere(text: _Text) -> list[_Group]:
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


def _lone_order(text: _Text) -> list[_Group]:
    """The kiosk has just asked for the order number: any 3–8 digits will do, but not a barcode."""
    for run in text.runs():
        joined = "".join(g.digits for g in run)
        if len(joined) in (12, 13) and ean_is_valid(joined):
            continue
        for k in range(len(run)):
            if used := _join_from(text, run, k, 3, 8):
                return used
    return []


def _find_eans(text: _Text) -> tuple[str | None, str | None]:
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


def _counts_something(text: _Text, g: _Group) -> bool:
    """Whether what follows the number is a thing being counted: "3 tins", "5 of them", "10 in stock"."""
    word, end = text.word_after(g.end, skip_claimed=True)
    if word == "in":
        return text.word_after(end)[0] == "stock"
    return bool(word) and word not in _SOFT_NEXT and word not in _HARD_NEXT


def _find_quantity(text: _Text, expecting: str | None, said_dozen: bool) -> int | None:
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
    lowered = _Text(normalized.translate(_ASCII_LOWER))
    for pattern in _SIZES:
        for m in pattern.finditer(lowered.s):
            lowered.claim(*m.span())
    when = _When(today, prefer == "past", date_order == "MDY")
    date, date_text = _find_date(lowered, normalized, when, expecting)
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
