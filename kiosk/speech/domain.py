"""What the shop understands, as words a recogniser can be restricted to.

Both engines build their grammar from one `DomainLanguage`: the intents' example sentences and
the names the store data uses (products and their aliases, departments, aisles, services), all
in spoken form ("aisle 12" → "aisle twelve", "3/4" → "three four"), plus the number words
customers use for order numbers, quantities and prices. Engines drop words their pronunciation
dictionary lacks; `kiosk.nlu.numbers.words_to_digits` turns spoken numbers back into digits after
recognition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from kiosk.dialogue.commands import command_sentences
from kiosk.nlu.data import OOS, load_dataset
from kiosk.storedata.catalog import Catalog
from kiosk.storedata.profile import StoreProfile

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
DIGIT_WORDS = ("zero", "oh", *_ONES[1:])  # how order numbers and barcodes are read out, digit by digit
NUMBER_WORDS = tuple(_ONES + _TEENS + _TENS[2:] + ["hundred", "thousand", "oh", "double", "triple",
                                                   "dollars", "dollar", "cents", "point"])
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "$": " dollars ", "#": " number ",
            "@": " at ", "/": " ", "-": " ", "_": " "}
_NUMBER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^a-z' ]+")
_LONG_DIGIT_RUN = 5  # order numbers, EANs: read digit by digit, as people say them


def number_to_words(value: int) -> str:
    """English words for 0..999,999 ("twelve", "two hundred five")."""
    if value < 10:
        return _ONES[value]
    if value < 20:
        return _TEENS[value - 10]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    thousands, rest = divmod(value, 1000)
    return number_to_words(thousands) + " thousand" + ("" if rest == 0 else " " + number_to_words(rest))


def _spell_number(match: re.Match[str]) -> str:
    digits = match.group(0)
    if len(digits) >= _LONG_DIGIT_RUN or (len(digits) > 1 and digits[0] == "0"):
        return " " + " ".join(_ONES[int(d)] for d in digits) + " "
    return " " + number_to_words(int(digits)) + " "


# Typed shorthand in the example requests ("do u take card", "where r the sponges"), as it is
# said. Left as typed, "u" and "r" were words of the shop's speech model, and transcripts read
# "how much r the garden gloves" or "do u".
_SHORTHAND = {"u": "you", "r": "are", "ur": "your", "ty": "thank you", "thx": "thanks", "thanx": "thanks",
              "pls": "please", "plz": "please"}


def spoken_form(text: str, *, shorthand: bool = False) -> str:
    """Lower-case words only, numbers spelled out as they are said: what a recogniser outputs.
    `shorthand`: typed shorthand in a sentence said in full ("u" as "you"); not for names, where a
    "U" is a letter ("u bolt")."""
    text = text.lower()
    for symbol, spoken in _SYMBOLS.items():
        text = text.replace(symbol, spoken)
    text = _NUMBER.sub(_spell_number, text)
    text = _NOT_WORD.sub(" ", text)
    words = [w.strip("'") for w in text.split()]
    if shorthand:
        words = [_SHORTHAND.get(w, w) for w in words]
    return " ".join(w for w in words if w)


@dataclass(frozen=True)
class DomainLanguage:
    """Spoken-form sentences and names the shop understands (each tuple sorted, no duplicates)."""

    sentences: tuple[str, ...]  # intent examples, out-of-scope ones excluded
    names: tuple[str, ...]  # products, aliases, departments, aisles, services
    numbers: tuple[str, ...] = NUMBER_WORDS

    @property
    def words(self) -> frozenset[str]:
        return frozenset(w for text in (*self.sentences, *self.names, *self.numbers) for w in text.split())


def _unique(texts: Iterable[str], *, shorthand: bool = False) -> tuple[str, ...]:
    return tuple(sorted({t for t in (spoken_form(x, shorthand=shorthand) for x in texts) if t}))


def build_domain(intents: str | Path, catalog: Catalog, profile: StoreProfile) -> DomainLanguage:
    """The domain language from the intent definitions (YAML file/dir or CSV) and the store data."""
    dataset = load_dataset(intents)
    # The shop's requests and a few of the kiosk's own commands ("make the text bigger", "scan my
    # receipt"): on synthesized speech (3 voices) the commands went from 4/36 heard to 22/36 with
    # them, and the shop's requests stayed at 66/68 and 32-33/40. The Feedback screen's answers
    # have their own model, used while it asks (kiosk.speech.pocketsphinx_engine): here they cost
    # shop requests.
    sentences = [e.text for e in dataset.examples if e.label != OOS] + list(command_sentences())
    names: list[str] = []
    for product in catalog:
        names += [product.name, *product.aliases]
    for department in profile.departments:
        names += [department.name, *department.aisles, *department.keywords]
    for service in profile.services:
        names += [service.name, *service.keywords]
    names += profile.payment_methods
    return DomainLanguage(sentences=_unique(sentences, shorthand=True), names=_unique(names))
