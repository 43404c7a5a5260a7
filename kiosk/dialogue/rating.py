"""A spoken answer to "how was your visit?": a 1–5 rating, a "no thanks", or not an answer at all.

The Feedback screen shows five stars named Poor, Fair, Good, Very good, Excellent; a customer who
cannot or will not tap says a number ("four", "five stars", "three out of five") or one of those
words (or a common synonym). Anything else is not a rating, and goes to the intent model as usual:
"where are the restrooms" on the Feedback screen is still a question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_NUMBER = r"(one|two|three|four|five|[1-5])"
# "four", "a four", "four stars", "four out of five", "I'd give it a four", "rate it five".
_NUMBER_ANSWER = re.compile(
    rf"^(?:(?:i'?d |i would |i will |i'?ll )?(?:give (?:it |you )?|rate (?:it |you )?|say )?(?:a |an )?)?"
    rf"{_NUMBER}(?: stars?)?(?: out of (?:five|5|ten|10))?(?: (?:please|thanks|thank you))?$")
# "four stars" inside a short answer, whatever the recogniser added around it ("four stars it").
_STARS = re.compile(rf"\b{_NUMBER} (?:stars?|out of (?:five|5))\b")
# Words on the screen first, then what people say instead; longest phrases win ("not good" ≠ "good").
_WORDS: tuple[tuple[str, int], ...] = (
    ("very good", 4), ("really good", 4), ("pretty good", 4), ("quite good", 4),
    ("not good", 2), ("not great", 2), ("not very good", 2), ("not bad", 3), ("so so", 2),
    ("excellent", 5), ("great", 5), ("amazing", 5), ("perfect", 5), ("fantastic", 5), ("brilliant", 5),
    ("awesome", 5), ("wonderful", 5), ("superb", 5), ("outstanding", 5), ("loved it", 5),
    ("good", 3), ("okay", 3), ("ok", 3), ("fine", 3), ("alright", 3), ("all right", 3), ("average", 3),
    ("fair", 2), ("meh", 2), ("mediocre", 2),
    ("poor", 1), ("bad", 1), ("terrible", 1), ("awful", 1), ("horrible", 1), ("useless", 1), ("rubbish", 1),
)
# An answer in words is short: "it was great", "very good thanks". Longer sentences are requests.
_FILLER = ("it was", "that was", "it's", "its", "was", "really", "very", "just", "thanks", "thank you",
           "the", "visit", "service", "kiosk", "overall", "i'd say", "i think", "pretty much", "so", "yeah",
           "yes")
_SKIP = re.compile(r"^(?:no thanks?|no thank you|skip(?: it)?|not now|no|nope|i'?d rather not|rather not|"
                   r"maybe later|pass)$")
_MAX_WORDS = 6


@dataclass(frozen=True)
class SpokenRating:
    stars: int | None  # 1..5, or None: the customer declined to rate

    @property
    def skipped(self) -> bool:
        return self.stars is None


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


def spoken_rating(text: str) -> SpokenRating | None:
    """The rating `text` gives, SpokenRating(None) for "no thanks", None when it is not an answer."""
    words = _normalise(text)
    if not words or len(words.split()) > _MAX_WORDS:
        return None
    if _SKIP.match(words):
        return SpokenRating(None)
    number = _NUMBER_ANSWER.match(words) or _STARS.search(words)
    if number:
        return SpokenRating(_NUMBERS[number.group(1)])
    rest = f" {words} "
    found: int | None = None
    for phrase, stars in sorted(_WORDS, key=lambda pair: -len(pair[0])):
        if f" {phrase} " in rest:
            found = stars
            rest = rest.replace(f" {phrase} ", " ")
            break
    if found is None:
        return None
    for filler in sorted(_FILLER, key=len, reverse=True):
        rest = rest.replace(f" {filler} ", " ")
    # Only filler may remain: "it was great" is an answer, "great where are the drills" is not.
    return SpokenRating(found) if not rest.strip() else None

