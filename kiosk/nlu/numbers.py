"""Spoken numbers → digits, so slot extraction only ever has to read "2934", never "two nine three four".

Speech recognition hands us lowercase words ("order two nine three four", "the twenty third");
typed text mostly has digits already. `words_to_digits` rewrites only the number words and keeps
every other character (and its case) exactly as it was.

How adjacent number words combine (decisions, since speech is ambiguous):
- A run of single digits is dictation and concatenates: "two nine three four" → "2934"; "oh"/"o"
  count as 0 only inside such a run (a leading "oh" is usually an interjection).
- Ordinary compounds read as one value: "twenty three" → "23", "one hundred and five" → "105".
- A number word followed by single digits is read digit by digit too: "ten four five seven" →
  "10457" (people split long order numbers like that).
- Two two-digit groups join only year-style, giving 1910–2099: "twenty twenty six" → "2026".
  Otherwise they stay apart ("nine ninety nine" → "9 99", "thirty forty" → "30 40"): guessing a
  price or a 3-digit code there would be wrong half the time, and the slot extractor can still
  join "29 34" after an order cue.
- With a currency word the second group is cents: "nine dollars ninety nine" → "9.99 dollars".
- "a" is a number only in "a hundred/thousand/million", "a dozen" (12), "half a dozen" (6) and
  "a couple of" (2, and the "of" goes with it: "a couple of tins" → "2 tins"). "A couple" of
  something is taken as two because at a till that is what it means; a bare "a couple" is left.
- A lone "one" that is a pronoun ("the blue one", "which one") stays a word.
- Two single digits right before a unit of measure stay apart: "three five litre tins" →
  "3 5 litre tins" (a count and a size; nobody dictates a tin size digit by digit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_ZEROS = {"zero", "nought", "naught"}
_ZEROS_IN_RUN = {"oh", "o"}
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"thousand": 1000, "million": 1_000_000}
_REPEATS = {"double": 2, "triple": 3}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
    "sixtieth": 60, "seventieth": 70, "eightieth": 80, "ninetieth": 90, "hundredth": 100,
    "thousandth": 1000, "millionth": 1_000_000,
}
_CURRENCY = {"dollar", "dollars", "buck", "bucks"}
_CENTS = {"cent", "cents"}
_MEASURE_UNITS = {
    "litre", "litres", "liter", "liters", "l", "ml", "gallon", "gallons", "metre", "metres", "meter",
    "meters", "m", "mm", "cm", "foot", "feet", "ft", "inch", "inches", "volt", "volts", "v", "watt",
    "watts", "w", "kg", "kilo", "kilos", "g", "gram", "grams", "pound", "pounds", "lb", "lbs",
    "ounce", "ounces", "oz", "amp", "amps", "piece", "pack", "ply", "way", "pin",
}
_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
}
# "one" after these is a pronoun ("that one", "the other one"), not a count.
_PRONOUN_ONE_AFTER = {
    "this", "that", "which", "another", "other", "the", "each", "every", "any", "no", "what",
    "whichever", "whatever", "some", "same",
}
# "the blue one", "a bigger one", "my old one": a determiner two words back also makes it a pronoun.
_DETERMINERS = {
    "the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her", "our", "their",
    "which", "another", "any", "each", "every", "what",
}
_NOT_ADJECTIVES = {"of", "and", "or", "has", "have", "had", "is", "was", "for", "with", "to", "in", "on", "at", "by"}
# "first"/"second" are ordinary words ("first aid", "wait a second"); they become "1st"/"2nd" only
# where a date is being said: after a month or after "the"/"on" when nothing noun-like follows.
_DATE_ORDINAL_FOLLOWERS = {"of", "and", "or", "at", "in", "on", "for", "please", "i", "we", "it", "then", "so", "but"}

_WORD = re.compile(r"(?<![^\W\d_])[A-Za-z]+(?:['\u2019][A-Za-z]+)*(?![^\W\d_])")
_JOINING_GAP = re.compile(r"\s+|-")


@dataclass(frozen=True)
class _Word:
    text: str
    lower: str
    start: int
    end: int


@dataclass(frozen=True)
class _Chunk:
    digits: str
    end: int  # index of the first word after the chunk
    single_digit: bool  # one spoken digit ("seven", "oh", "double seven"): these concatenate
    ordinal: bool = False
    year_half: bool = False  # a lone "nineteen"/"twenty", which can start "twenty twenty six"


class _Reader:
    """Parses number phrases over the word tokens of one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = [_Word(m.group(), m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
        # _joined[i]: word i and word i+1 belong to one phrase (only spaces or a hyphen between).
        self._joined = [
            _JOINING_GAP.fullmatch(text, a.end, b.start) is not None for a, b in zip(self.words, self.words[1:])
        ] + [False]

    def lower(self, i: int) -> str:
        return self.words[i].lower if 0 <= i < len(self.words) else ""

    def joined(self, i: int) -> bool:
        return 0 <= i < len(self._joined) and self._joined[i]

    def spaced(self, i: int) -> bool:
        """Whether word i and word i+1 are separated by whitespace only."""
        return self.joined(i) and self.text[self.words[i].end] != "-"

    def next_word(self, i: int) -> str:
        return self.lower(i + 1) if self.joined(i) else ""

    def chunk(self, i: int, *, in_run: bool) -> _Chunk | None:
        """One cardinal (or ordinal) compound starting at word i, e.g. "one hundred and five"."""
        w = self.lower(i)
        if w in _ZEROS or (in_run and w in _ZEROS_IN_RUN):
            return _Chunk("0", i + 1, single_digit=True)
        if w in _REPEATS and self.joined(i):
            digit = self.digit_value(i + 1)
            if digit is not None:
                return _Chunk(str(digit) * _REPEATS[w], i + 2, single_digit=True)
        total, current, last, last_scale = 0, 0, "", 10**12
        ordinal = False
        j = i
        while j < len(self.words) and (j == i or self.joined(j - 1)):
            w = self.lower(j)
            value = _ORDINALS.get(w)
            if value is not None:
                kind = "unit" if value < 10 else "teen" if value < 20 else "tens" if value < 100 else "scale"
            elif w in _UNITS:
                kind, value = "unit", _UNITS[w]
            elif w in _TEENS:
                kind, value = "teen", _TEENS[w]
            elif w in _TENS:
                kind, value = "tens", _TENS[w]
            elif w == "hundred":
                kind, value = "hundred", 100
            elif w in _SCALES:
                kind, value = "scale", _SCALES[w]
            elif w == "and" and last in ("hundred", "scale") and self.joined(j) and self._small_after_and(j + 1):
                j += 1
                continue
            else:
                break
            if kind == "unit" and last in ("", "tens", "hundred", "scale"):
                current += value
            elif kind in ("teen", "tens") and last in ("", "hundred", "scale"):
                current += value
            elif kind == "hundred" or (kind == "scale" and value == 100):
                if last in ("unit", "teen", "tens") and 0 < current < 100:
                    current *= 100
                elif last == "":
                    current = 100
                else:
                    break
                kind = "hundred"
            elif kind == "scale" and value < last_scale and last in ("", "unit", "teen", "tens", "hundred"):
                total += (current or 1) * value
                current, last_scale = 0, value
            else:
                break
            last = kind
            j += 1
            if w in _ORDINALS:
                ordinal = True
                break
        if j == i:
            return None
        lone = j == i + 1
        return _Chunk(
            str(total + current), j, single_digit=lone and self.lower(i) in _UNITS, ordinal=ordinal,
            year_half=lone and self.lower(i) in ("nineteen", "twenty"),
        )

    def _small_after_and(self, i: int) -> bool:
        w = self.lower(i)
        return w in _UNITS or w in _TEENS or w in _TENS or (w in _ORDINALS and _ORDINALS[w] < 100)

    def digit_value(self, i: int) -> int | None:
        w = self.lower(i)
        if w in _UNITS:
            return _UNITS[w]
        return 0 if w in _ZEROS or w in _ZEROS_IN_RUN else None

    def phrase(self, i: int) -> tuple[int, str] | None:
        """The number phrase starting at word i as (index after it, replacement text), or None."""
        w = self.lower(i)
        nxt = self.next_word(i)
        if w == "a" and nxt == "couple" and self.next_word(i + 1) == "of":
            return self._unattached(i, i + 3, "2")
        if w == "a" and nxt == "dozen":
            return self._unattached(i, i + 2, "12")
        if w == "half" and nxt == "a" and self.next_word(i + 1) == "dozen":
            return self._unattached(i, i + 3, "6")
        if w == "dozen":
            return self._unattached(i, i + 1, "12")
        a_scale = w == "a" and (nxt == "hundred" or nxt in _SCALES)  # "a hundred" reads as "one hundred"
        first = self.chunk(i + 1 if a_scale else i, in_run=False)
        if first is None:
            return None
        if first.ordinal:
            return self._ordinal(i, first)
        pieces, j, year_style = [first.digits], first.end, False
        if first.year_half and self.joined(j - 1):
            second = self.chunk(j, in_run=False)
            if second and not second.single_digit and not second.ordinal and 10 <= int(second.digits) <= 99:
                pieces.append(second.digits)
                j, year_style = second.end, True
        if not year_style:
            # Digit dictation, or a number word followed by single digits ("ten four five seven").
            while self.joined(j - 1):
                more = self.chunk(j, in_run=True)
                if more is None or not more.single_digit:
                    break
                pieces.append(more.digits)
                j = more.end
        if len(pieces) == 1 and self.next_word(j - 1) == "dozen":
            return self._unattached(i, j + 1, str(int(pieces[0]) * 12))
        if len(pieces) == 2 and not year_style and self.spaced(j - 1) and self.lower(j) in _MEASURE_UNITS:
            return self._unattached(i, j, " ".join(pieces))
        number = "".join(pieces)
        if self.next_word(j - 1) == "point":
            decimals, k = "", j + 1
            while self.joined(k - 1) and (d := self.digit_value(k)) is not None:
                decimals, k = decimals + str(d), k + 1
            if decimals:
                return self._unattached(i, k, f"{number}.{decimals}")
        if len(pieces) == 1 and self.next_word(j - 1) in _CURRENCY:
            price = self._price(j, number)
            if price:
                return self._unattached(i, *price)
        if number == "1" and w == "one" and j == i + 1 and self._one_is_pronoun(i):
            return None
        return self._unattached(i, j, number)

    def _price(self, currency_index: int, dollars: str) -> tuple[int, str] | None:
        """ "nine dollars ninety nine (cents)" → "9.99 dollars"; None when no cents follow."""
        k = currency_index + 1
        used_and = self.next_word(currency_index) == "and"
        if used_and:
            k += 1
        if not self.joined(k - 1):
            return None
        cents = self.chunk(k, in_run=False)
        if cents is None or cents.ordinal or int(cents.digits) > 99:
            return None
        end = cents.end
        said_cents = self.next_word(end - 1) in _CENTS
        if said_cents:
            end += 1
        elif used_and or int(cents.digits) < 10:  # "five dollars and two tins" is not $5.02
            return None
        return end, f"{dollars}.{int(cents.digits):02d} {self.words[currency_index].text}"

    def _ordinal(self, i: int, chunk: _Chunk) -> tuple[int, str] | None:
        value = int(chunk.digits)
        if chunk.end == i + 1:  # a lone ordinal word
            prev = self.lower(i - 1) if i > 0 and self.spaced(i - 1) else ""
            if prev in ("a", "an") or prev in _UNITS or prev in _TEENS or prev in _TENS or self._digit_before(i):
                return None  # a fraction: "a third", "two thirds"
            if self.lower(i) in ("first", "second"):
                after = self.next_word(i)
                dateish = prev in _MONTHS or (
                    prev in ("the", "on") and (not after or after in _DATE_ORDINAL_FOLLOWERS or after in _MONTHS)
                )
                if not dateish:
                    return None
        suffix = "th" if value % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
        return self._unattached(i, chunk.end, f"{value}{suffix}")

    def _digit_before(self, i: int) -> bool:
        start = self.words[i].start
        return self.text[max(0, start - 8):start].rstrip()[-1:].isdigit()  # a window keeps this O(1)

    def _one_is_pronoun(self, i: int) -> bool:
        if i == 0 or not self.spaced(i - 1):
            return False
        prev = self.lower(i - 1)
        if prev in _PRONOUN_ONE_AFTER:
            return True
        if i >= 2 and self.spaced(i - 2) and self.lower(i - 2) in _DETERMINERS:
            before = self.chunk(i - 1, in_run=False)  # "the second one" is a pronoun, "the two one" is not
            return prev not in _NOT_ADJECTIVES and (before is None or before.ordinal)
        return False

    def _unattached(self, i: int, end: int, replacement: str) -> tuple[int, str] | None:
        """Keeps number words hyphenated onto other words as they are ("one-off", "three-pin")."""
        start, stop, text = self.words[i].start, self.words[end - 1].end, self.text
        if start >= 2 and text[start - 1] == "-" and text[start - 2].isalnum():
            return None
        if stop + 1 < len(text) and text[stop] == "-" and text[stop + 1].isalnum():
            return None
        return end, replacement


_STARTERS = (
    set(_UNITS) | _ZEROS | set(_TEENS) | set(_TENS) | set(_SCALES) | set(_ORDINALS) | set(_REPEATS)
    | {"hundred", "a", "half", "dozen"}
)


def words_to_digits(text: str) -> str:
    """Rewrites spoken numbers as digits; every other character is left exactly as it was.

    Work is linear in the length of the text.
    """
    reader = _Reader(text)
    out: list[str] = []
    copied_up_to = 0
    i = 0
    while i < len(reader.words):
        found = reader.phrase(i) if reader.words[i].lower in _STARTERS else None
        if found is None:
            i += 1
            continue
        end, replacement = found
        out.append(text[copied_up_to:reader.words[i].start])
        out.append(replacement)
        copied_up_to = reader.words[end - 1].end
        i = end
    out.append(text[copied_up_to:])
    return "".join(out)


_WHOLE_INT = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")
_MAX_INT_DIGITS = 30  # far beyond anything a customer says; int() of a huge string is slow


def parse_int(text: str) -> int | None:
    """The whole text as one whole number ("twenty three", "2,934", "two nine three four"), else None.

    Ordinals, decimals, and several numbers ("nine ninety nine" → "9 99") are not one int.
    """
    candidate = words_to_digits(text[:1000]).strip().rstrip(".!?").strip()
    if not _WHOLE_INT.fullmatch(candidate) or len(candidate) > _MAX_INT_DIGITS:
        return None
    return int(candidate.replace(",", ""))
