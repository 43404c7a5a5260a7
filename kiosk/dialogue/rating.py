"""Spoken answers on the Feedback screen: a 1–5 rating, then an optional reason, or "no thanks".

The Feedback screen shows five stars named Poor, Fair, Good, Very good, Excellent; a customer who
cannot or will not tap says a number ("four", "five stars", "three out of five") or one of those
words (or a common synonym). It then offers a few reasons ("Too slow", "Easy to use"), which can be
said too ("it was too slow"). Anything else is not an answer, and goes to the intent model as
usual: "where are the restrooms" on the Feedback screen is still a question.

`answer_sentences()` lists what such answers sound like, so a recogniser can expect them while the
question is on screen (kiosk.speech).
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



# -- the reason --------------------------------------------------------------------------------
# The reasons the Feedback screen offers, by the rating given (four or five stars: what went well).
GOOD_REASONS = ("Quick answers", "Easy to use", "Found what I needed", "Friendly")
BAD_REASONS = ("Didn't understand me", "Too slow", "Couldn't find my answer", "Hard to use")
# What people say for each, after filler is removed ("it was too slow" → "too slow").
_REASON_PHRASES: dict[str, tuple[str, ...]] = {
    "Quick answers": ("quick answers", "quick answer", "quick", "very quick", "fast", "very fast", "speedy",
                      "quick to answer", "fast answers", "it answered quickly"),
    "Easy to use": ("easy to use", "easy", "very easy", "simple", "easy to understand", "straightforward"),
    "Found what I needed": ("found what i needed", "i found what i needed", "found what i was looking for",
                            "i found it", "found it", "helpful", "very helpful", "it helped", "you helped me",
                            "got what i needed"),
    "Friendly": ("friendly", "very friendly", "nice", "polite", "kind"),
    "Didn't understand me": ("didn't understand me", "you didn't understand me", "it didn't understand me",
                             "didn't understand", "you didn't understand", "it didn't understand",
                             "couldn't understand me", "you couldn't understand me", "misunderstood me",
                             "didn't get it", "you didn't get it", "didn't hear me", "you didn't hear me"),
    "Too slow": ("too slow", "slow", "very slow", "took too long", "it took too long", "too long",
                 "took ages", "slow to answer"),
    "Couldn't find my answer": ("couldn't find my answer", "i couldn't find my answer", "couldn't find it",
                                "i couldn't find it", "didn't find it", "i didn't find it", "no answer",
                                "didn't help", "it didn't help", "not helpful", "unhelpful",
                                "didn't have what i needed"),
    "Hard to use": ("hard to use", "hard", "difficult", "difficult to use", "confusing", "complicated",
                    "too complicated", "hard to understand"),
}
_REASON_FILLER = re.compile(r"^(?:(?:well|um|er|oh|so|yeah|yes|because|cause|mostly|just|really|"
                            r"it was|that was|it's|its|was|you were|you're|it is|the kiosk was|"
                            r"the answers were|answers were|it(?= (?:didn't|couldn't|took))) )*"
                            r"(.*?)(?: (?:thanks|thank you|please|really|mostly|i guess|i think))*$")
_NO_REASON = re.compile(r"^(?:no thanks?|no thank you|no|nope|nothing|nothing really|no reason|"
                        r"that's all|that's it|skip(?: it)?|send(?: it)?|just send it|not really|"
                        r"i'?d rather not|rather not|pass|done|i'm done|finish)$")


@dataclass(frozen=True)
class SpokenReason:
    reason: str | None  # one of GOOD_REASONS or BAD_REASONS; None: "no thanks", send the rating as it is


def spoken_reason(text: str) -> SpokenReason | None:
    """The reason `text` gives (as the screen words it), SpokenReason(None) for "no thanks"/"send it",
    None when it is not an answer to "what stood out?"."""
    words = _normalise(text)
    if not words or len(words.split()) > _MAX_WORDS + 2:
        return None
    if _NO_REASON.match(words):
        return SpokenReason(None)
    core = _REASON_FILLER.match(words)
    said = core.group(1) if core else words
    for reason, phrases in _REASON_PHRASES.items():
        if said in phrases:
            return SpokenReason(reason)
    return None


QUESTIONS = ("rating", "reason")  # the Feedback screen's two questions, in order


def answers(question: str, text: str) -> bool:
    """Whether `text` answers the Feedback screen's `question` ("rating" or "reason")."""
    parse = spoken_rating if question == "rating" else spoken_reason if question == "reason" else None
    return parse is not None and parse(text) is not None


def answer_sentences() -> tuple[str, ...]:
    """Spoken-form answers to the Feedback screen's two questions (ratings, reasons, declining), as a
    recogniser should expect them while the question is up. Every one parses as the answer it is."""
    numbers = ("one", "two", "three", "four", "five")
    out: set[str] = set()
    for n in numbers:
        stars = "star" if n == "one" else "stars"
        out.update({n, f"{n} {stars}", f"{n} out of five", f"a {n}", f"i'd give it a {n}",
                    f"i'd give it {n} {stars}", f"{n} {stars} please", f"rate it {n}"})
    for phrase, _ in _WORDS:
        out.update({phrase, f"it was {phrase}", f"{phrase} thanks", f"that was {phrase}"})
    out.update({"no thanks", "no thank you", "skip", "skip it", "not now", "no", "maybe later", "pass"})
    for phrases in _REASON_PHRASES.values():
        for phrase in phrases:
            out.add(phrase)
            if not phrase.startswith(("i ", "you ", "it ")):
                out.add(f"it was {phrase}" if not phrase.startswith(("didn't", "couldn't", "took"))
                        else f"it {phrase}")
    out.update({"nothing", "that's all", "send it", "no reason"})
    return tuple(sorted(out))
