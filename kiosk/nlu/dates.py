"""Dates in one customer utterance, resolved against an injected `today` (the clock is never read).

Part of slot extraction (`kiosk.nlu.slots`): `find_date` runs after sizes are claimed and before
prices, times and labels, and claims every date-shaped span it reads, so those numbers fill no
other slot. `When` carries `today` and the `prefer`/`date_order` choices given to `extract_slots`.

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
from dataclasses import dataclass
from typing import Callable

from kiosk.nlu.spans import WORD_AT, Text

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
class When:
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


def _in_direction(when: When, month: int, day: int) -> dt.date | None:
    """The nearest month/day on or before (past) / on or after (future) today; Feb 29 may be years away."""
    step = -1 if when.past else 1
    for k in range(9):
        d = _safe_date(when.today.year + step * k, month, day)
        if d and (d <= when.today if when.past else d >= when.today):
            return d
    return None


def _month_number(name: str) -> int:
    return _MONTHS.index(name[:3]) + 1


def _explicit(m: re.Match[str], when: When, month: int, day: int) -> dt.date | None:
    year = m.groupdict().get("year") or m.groupdict().get("y")
    if not year:
        return _in_direction(when, month, day)
    return _safe_date(int(year) + (2000 if len(year) == 2 else 0), month, day)


def _numeric(m: re.Match[str], when: When) -> dt.date | None:
    a, b = int(m["a"]), int(m["b"])
    month, day = (a, b) if when.mdy else (b, a)
    return _explicit(m, when, month, day) if 1 <= month <= 12 else None


def _followed_by_date_word(m: re.Match[str]) -> bool:
    word = WORD_AT.match(m.string, m.end())
    return word is None or word.group(1) in _DATE_FOLLOWERS


def _day_of_month(m: re.Match[str], when: When) -> object:
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


def _shift(m: re.Match[str], when: When, sign: int) -> dt.date | None:
    n = 1 if m["n"] in ("a", "an") else int(m["n"])
    unit = m["unit"].rstrip("s")
    try:
        if unit in ("month", "year"):
            return _add_months(when.today, sign * n * (12 if unit == "year" else 1))
        return when.today + dt.timedelta(days=sign * n * {"day": 1, "week": 7, "fortnight": 14}[unit])
    except (ValueError, OverflowError):
        return None


def _last_or_next(m: re.Match[str], when: When) -> dt.date:
    """ "last week" is a week ago, "last month" the same day last month (clamped to its length)."""
    sign = 1 if m["dir"] == "next" else -1
    if m["unit"] == "week":
        return when.today + dt.timedelta(days=7 * sign)
    return _add_months(when.today, sign * (12 if m["unit"] == "year" else 1))


def _weekday(m: re.Match[str], when: When) -> dt.date:
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


def _holiday(m: re.Match[str], when: When) -> object:
    if not _followed_by_date_word(m):
        return _NOT_A_DATE
    today, mod = when.today, m["mod"]
    if mod == "this":
        return _holiday_in(today.year, m["h"])
    options = [_holiday_in(today.year + k, m["h"]) for k in (-1, 0, 1)]
    if mod == "last" or (not mod and when.past):
        return max(d for d in options if d < today or (not mod and d == today))
    return min(d for d in options if d > today or (not mod and d == today))


_DateRule = tuple[re.Pattern[str], Callable[[re.Match[str], When], object]]
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


def find_date(text: Text, original: str, when: When, expecting: str | None) -> tuple[dt.date | None, str | None]:
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
