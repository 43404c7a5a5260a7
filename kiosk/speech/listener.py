"""From audio to answers: end-pointing, recognition and the text core, with the timings that matter.

`Listener.run_source()` drives any `AudioSource` (a microphone, a file): the end-pointer finds
each utterance, the engine decodes it as it flows (partials go to `on_partial`), and at the end
of speech the transcript goes to the Assistant. What the customer waits for is measured from the
end-pointer's decision that they stopped talking: `transcript_ms` (engine finishing) and
`intent_ms` (the whole turn, i.e. the answer is ready).

No threads, no screen: the touchscreen app runs this in a worker and hands results to the UI.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from kiosk.audio.endpoint import Endpointer, NoSpeech, SpeechAudio, SpeechEnded, SpeechStarted
from kiosk.audio.source import FRAME_BYTES, SAMPLE_WIDTH, AudioSource
from kiosk.dialogue.commands import kiosk_command
from kiosk.dialogue.rating import answers
from kiosk.dialogue.session import PRODUCT_INTENTS
from kiosk.events import TurnResult
from kiosk.nlu.understand import GREETING_LEAD, names_a_product
from kiosk.speech.engine import RecognitionStream, SpeechEngine, Transcript

log = logging.getLogger("kiosk.speech")

READ_SAMPLES = FRAME_BYTES // SAMPLE_WIDTH  # one end-pointer frame per read keeps latency low
_RUNNER_UP_CONFIDENCE = 0.5


def _names_nothing(u: Any) -> bool:
    """A product question about nothing the shop knows ("miller lite and get it" read as a stock
    check): no product named as written (the catalogue finds look-alikes in most words), no
    barcode, no place; as a guess it means nothing."""
    return (u.intent in PRODUCT_INTENTS and not names_a_product(u.products)
            and not u.slots.ean and not u.department and not u.service)


@dataclass(frozen=True)
class Heard:
    """One utterance: what was recognised, what the kiosk answered, and how long it took."""

    transcript: Transcript
    turn: TurnResult | None  # None when nothing usable was heard (no turn is recorded then)
    answer: str
    started_s: float  # audio time of speech onset (seconds since listening began)
    ended_s: float
    end_reason: str  # silence | max_length | stopped | end_of_audio
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds

    def as_dict(self) -> dict[str, Any]:
        t = self.transcript
        turn = self.turn.as_dict() if self.turn else None
        return {
            "transcript": t.text,
            "confidence": round(t.confidence, 4),
            "accepted": t.accepted,
            "engine": t.engine,
            "mode": t.mode,
            "words": [{"text": w.text, "start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3),
                       "confidence": round(w.confidence, 3)} for w in t.words],
            "alternatives": [{"text": a, "confidence": round(c, 4)} for a, c in t.alternatives],
            "speech": {"start_s": round(self.started_s, 3), "end_s": round(self.ended_s, 3),
                       "end_reason": self.end_reason},
            "intent": turn["intent"] if turn else None,
            "intent_confidence": turn["confidence"] if turn else None,
            "slots": turn["slots"] if turn else {},
            "answer": self.answer,
            "outcome": turn["outcome"] if turn else "not_heard",
            "escalation": turn["escalation"] if turn else None,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }


class Listener:
    def __init__(self, engine: SpeechEngine, assistant: Any, endpointer: Endpointer, *,
                 grammar: bool = True, on_partial: Callable[[str], None] | None = None,
                 on_speech_start: Callable[[], None] | None = None,
                 wake_only: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        """`wake_only()` is true while nobody has started a visit and the microphone listens anyway
        (hands-free without a camera): utterances are then decoded but only a greeting is answered;
        the rest is dropped with nothing shown (no partials), answered or recorded."""
        self.engine = engine
        self.assistant = assistant
        self.endpointer = endpointer
        self.grammar = grammar
        self.on_partial = on_partial
        self.on_speech_start = on_speech_start
        self.wake_only = wake_only or (lambda: False)
        self.clock = clock
        self._stream: RecognitionStream | None = None
        self._started_s = 0.0
        self._last_partial = ""
        self._waiting = False  # the utterance in progress began before a visit (wake_only)

    # -- driving ----------------------------------------------------------------------------
    def run_source(self, source: AudioSource, *, on_heard: Callable[[Heard], None] | None = None,
                   max_utterances: int | None = None, should_stop: Callable[[], bool] = lambda: False,
                   ) -> list[Heard]:
        """Listen until the source ends, `should_stop()` or `max_utterances` have been answered."""
        heard: list[Heard] = []
        while not should_stop():
            pcm = source.read(READ_SAMPLES)
            if not pcm:
                if source.status().state in ("ended", "closed"):
                    break
                continue  # a live source reconnecting: keep waiting
            for result in self.push(pcm):
                heard.append(result)
                if on_heard:
                    on_heard(result)
            if max_utterances is not None and len(heard) >= max_utterances:
                return heard
        tail = self.flush()
        if tail is not None:
            heard.append(tail)
            if on_heard:
                on_heard(tail)
        return heard

    def push(self, pcm: bytes) -> list[Heard]:
        """Feed audio; returns the utterances that ended in it (usually none)."""
        out: list[Heard] = []
        for event in self.endpointer.push(pcm):
            if isinstance(event, SpeechStarted):
                self._waiting = self.wake_only()
                # A greeting is in the shop's grammar: before a visit, what it rejects is not worth
                # an open pass (about as long as the utterance, for every passer-by's sentence).
                self._stream = self.engine.stream(grammar=self.grammar, expect=self._question(),
                                                  open_pass=not self._waiting)
                self._started_s, self._last_partial = event.onset_s, ""
                if self.on_speech_start and not self._waiting:
                    self.on_speech_start()
            elif isinstance(event, SpeechAudio) and self._stream is not None:
                partial = self._stream.feed(event.pcm)
                if partial and partial != self._last_partial and self.on_partial and not self._waiting:
                    self.on_partial(partial)  # a passer-by's words before a visit are never shown
                self._last_partial = partial or self._last_partial
            elif isinstance(event, SpeechEnded) and self._stream is not None:
                heard = self._finish(event.at_s, event.reason)
                if heard is not None:
                    out.append(heard)
            elif isinstance(event, NoSpeech):
                log.info("no speech within the listening window")
        return out

    def flush(self, at_s: float | None = None) -> Heard | None:
        """The audio ended while someone was still talking (end of a file): finish that utterance.

        `at_s` defaults to where the end-pointer got to (whole frames of audio since listening opened).
        """
        if self._stream is None:
            return None
        return self._finish(self.endpointer.now_s if at_s is None else at_s, "end_of_audio")

    # -- one utterance ------------------------------------------------------------------------
    def _best_hypothesis(self, transcript: Transcript) -> str:
        """The recogniser's best guess, unless the shop cannot place it and a runner-up it can.

        Recognisers rank by sound; the text core knows what customers ask. When the best guess
        means nothing to the shop ("the old can you") but an n-best alternative is a confident
        shop request or one of the kiosk's commands, the alternative is what was said far more often
        than not. A best guess the intent model calls out of scope is kept: overruling it turns
        chit-chat into shop answers.
        """
        if not transcript.alternatives:
            return transcript.text
        today = self.assistant.clock().date()
        understand = self.assistant.understander.understand
        best = understand(transcript.text, today)
        understood = best.intent is not None and not _names_nothing(best)
        if understood or best.oos_confidence >= _RUNNER_UP_CONFIDENCE:
            return transcript.text  # understood, or confidently not a shop request ("play some music")
        for text, _ in transcript.alternatives:
            if text and kiosk_command(text) is not None:
                # The kiosk's own commands are whole fixed phrasings: one in the n-best list was
                # very probably said (espeak's "zoom in" came second to "do you" for one voice).
                log.info("using the recogniser's runner-up %r over %r (a kiosk command)", text,
                         transcript.text)
                return text
            runner_up = understand(text, today) if text else None
            if runner_up is not None and runner_up.intent is not None \
                    and runner_up.confidence >= _RUNNER_UP_CONFIDENCE:
                log.info("using the recogniser's runner-up %r over %r", text, transcript.text)
                return text
        return transcript.text

    def _question(self) -> str | None:
        """ "rating" or "reason" while the Feedback screen asks one, else None."""
        return getattr(self.assistant, "feedback_question", None)

    def _answer_heard(self, transcript: Transcript) -> str | None:
        """While the Feedback screen asks "how was your visit?" (or "what stood out?"), an answer
        the recogniser heard but was not sure of is taken: the question narrows what is likely.
        Measured on synthesized answers before the engines expected them: "one star" (grammar
        confidence 0.17) and "five out of five" (0.28) were rejected, and the open pass made them
        "well you start" and "i love the volume"."""
        question = self._question()
        if question is None:
            return None
        details = transcript.details
        candidates = [transcript.text, *((details.get(k) or {}).get("text") or ""
                                         for k in ("expected_rejected", "grammar_rejected")),
                      *(text for text, _ in transcript.alternatives)]
        return next((text for text in candidates if text and answers(question, text)), None)

    def _greets(self, transcript: Transcript) -> bool:
        """Before a visit an utterance counts only when it greets the kiosk, which is what the
        Attract screen asks for; a greeting may lead a request ("hi, where are the restrooms")."""
        text = transcript.text
        if not text:
            return False
        if GREETING_LEAD.match(text):
            return True
        return self.assistant.understander.understand(text, self.assistant.clock().date()).intent == "greet"

    def _finish(self, ended_s: float, reason: str) -> Heard | None:
        """What was heard and answered; None for speech before a visit that did not greet the kiosk."""
        assert self._stream is not None
        stream, self._stream = self._stream, None
        t0 = self.clock()
        transcript = stream.finish()
        t1 = self.clock()
        if self.wake_only() and not self._greets(transcript):
            # Not for the kiosk (or not yet): no words in the log either, they are a passer-by's.
            log.info("speech before a visit was not a greeting: ignored (%.1f s)", ended_s - self._started_s)
            return None
        answer_heard = self._answer_heard(transcript)
        if answer_heard is not None and answer_heard != transcript.text:
            transcript = replace(transcript, text=answer_heard, accepted=True,
                                 details={**transcript.details, "first_guess": transcript.text})
        if transcript.empty:
            answer = self.assistant.answerer.r.say("not_heard")
            turn = None
        else:
            chosen = transcript.text if answer_heard is not None else self._best_hypothesis(transcript)
            if chosen != transcript.text:  # report what the kiosk acted on; keep what it heard first
                transcript = replace(transcript, text=chosen, details={**transcript.details,
                                                                       "first_guess": transcript.text})
            turn = self.assistant.turn(chosen)
            answer = turn.answer
        t2 = self.clock()
        timings = {"transcript_ms": (t1 - t0) * 1000.0, "intent_ms": (t2 - t0) * 1000.0,
                   "speech_ms": (ended_s - self._started_s) * 1000.0}
        log.info("heard %r (%s, %s, conf %.2f) in %.0f ms; answer ready after %.0f ms",
                 transcript.text, transcript.engine, transcript.mode, transcript.confidence,
                 timings["transcript_ms"], timings["intent_ms"])
        return Heard(transcript, turn, answer, self._started_s, ended_s, reason, timings)
