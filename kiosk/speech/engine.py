"""The interface every recognition engine meets, and the values it returns.

An engine holds a loaded model (slow to load, shared); a stream decodes one utterance:
`feed(pcm)` as audio arrives gives the partial text so far, `finish()` the final transcript.
PCM is always 16 kHz mono s16le (kiosk.audio.source).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

from kiosk.errors import KioskError


class SpeechError(KioskError):
    """A recogniser that cannot be used: missing or corrupt model, unsupported language, bad grammar."""


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    confidence: float = 1.0


@dataclass(frozen=True)
class Transcript:
    """What an engine heard in one utterance.

    `accepted` is the engine's verdict under the shared accept/reject rule: False means it heard
    speech but nothing it can vouch for (grammar gave `[unk]` or a low score and the open pass
    found nothing usable); `text` is then what it best guessed, possibly empty.
    """

    text: str
    confidence: float  # 0..1, comparable across utterances of one engine, not across engines
    accepted: bool
    engine: str  # "vosk" | "pocketsphinx"
    mode: str  # "grammar" | "open": which decoding produced `text`
    words: tuple[Word, ...] = ()
    alternatives: tuple[tuple[str, float], ...] = ()  # (text, confidence), best first, excluding `text`
    audio_s: float = 0.0  # seconds of audio decoded
    details: dict[str, Any] = field(default_factory=dict)  # engine-specific: grammar text, scores…

    @property
    def empty(self) -> bool:
        return not self.text.strip()


class RecognitionStream(Protocol):
    def feed(self, pcm: bytes) -> str:
        """Decode more audio; returns the partial transcript so far ("" when nothing yet)."""
        ...

    def finish(self) -> Transcript:
        """End of utterance: the final transcript. The stream is spent afterwards."""
        ...


class SpeechEngine(Protocol):
    name: str  # "vosk" | "pocketsphinx"
    language: str

    def stream(self, *, grammar: bool = True, expect: str | None = None,
               open_pass: bool = True) -> RecognitionStream:
        """A new decoder for one utterance; `grammar=False` decodes with the open vocabulary only.
        `expect` ("rating" or "reason", kiosk.dialogue.rating.QUESTIONS): the Feedback screen asks
        that question, so its answers ("four stars", "too slow", "no thanks") are likelier than
        usual; a request is still heard. `open_pass=False`: a grammar result that is rejected is
        not decoded again with the open vocabulary (listening for a greeting, which the grammar
        knows, before a visit: passers-by's talk would cost an open pass each)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Model path, version, grammar size…: logged at start-up and shown by `kiosk listen --json`."""
        ...


def two_pass(grammar_result: Transcript | None, open_pass: Callable[[], Transcript | None], *,
             accept_confidence: float) -> Transcript:
    """The accept/reject rule both engines share.

    A grammar result is kept when the engine accepted it (no `[unk]`, no rejection by its own
    rule) and its confidence reaches `accept_confidence`. Otherwise the open-vocabulary pass
    decides: the customer may have asked something outside the shop's phrases, and the intent
    model can still reject it as out of scope. If the open pass hears nothing either (or is skipped
    because the grammar heard at most one doubtful word), the result is an unaccepted transcript
    carrying the grammar's guess in `details`.
    """
    if grammar_result is not None and grammar_result.accepted and not grammar_result.empty \
            and grammar_result.confidence >= accept_confidence:
        return grammar_result
    short = grammar_result is not None and len(grammar_result.text.split()) <= 1
    # A burst the grammar heard as at most one doubtful word is not re-decoded: the open vocabulary
    # then finds some confident word in a cough or a door bang ("see" → goodbye) far more often
    # than a one-word request the shop's own vocabulary missed.
    fallback = None if short else open_pass()
    rejected = None if grammar_result is None else {"text": grammar_result.text,
                                                      "confidence": grammar_result.confidence}
    if fallback is not None and not fallback.empty:
        return replace(fallback, details={**fallback.details, "grammar_rejected": rejected})
    base = grammar_result or fallback
    if base is None:
        return Transcript("", 0.0, accepted=False, engine="", mode="open")
    return replace(base, text="", accepted=False, words=(), alternatives=(),
                   details={**base.details, "grammar_rejected": rejected})


# The open pass re-decodes a rejected utterance; on long noise the open vocabulary can run at
# twice real time or worse (measured: 25-29 s for 12 s of loud white noise with PocketSphinx).
# A customer waiting that long has gone, so the pass gives up after this budget.
OPEN_PASS_BUDGET_S = 3.0
# 0.1 s of 16 kHz s16le per call: PocketSphinx holds the GIL while it decodes, so short calls
# let the touchscreen draw between them (0.5 s steps froze it for ~300 ms with the open LM).
_BUDGET_STEP_BYTES = 3_200


def feed_within_budget(feed: Callable[[bytes], object], pcm: bytes, budget_s: float = OPEN_PASS_BUDGET_S,
                       clock: Callable[[], float] = time.perf_counter) -> bool:
    """Feed `pcm` in steps; False (and stop) once decoding has taken longer than `budget_s`."""
    started = clock()
    for i in range(0, len(pcm), _BUDGET_STEP_BYTES):
        if clock() - started > budget_s:
            return False
        feed(pcm[i:i + _BUDGET_STEP_BYTES])
    return True
