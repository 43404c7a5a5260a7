"""PocketSphinx: the English model bundled in its wheel, restricted to the shop's language first.

One `Decoder` holds every search, so the acoustic model and dictionary are loaded once:

* "domain": a trigram model generated from the intents and the catalogue (kiosk.speech.jsgf),
  with the shop's out-of-scope examples as a garbage class. This is "grammar mode" by default,
  because it measured clearly better than the JSGF grammar on synthesized shop requests: the
  JSGF (sentences + name slots) both generalises worse and decodes far slower (see jsgf.py).
* "jsgf": the JSGF grammar, when built with `grammar="jsgf"`.
* "feedback": a small trigram model of the answers to the Feedback screen's questions ("four
  stars", "it was too slow", "no thanks"), with the out-of-scope examples as its garbage class.
  It decodes first while such a question is on screen (`expect="rating"` or `"reason"`); a result
  that is not confidently an answer to that question is decoded again with "domain", so a request
  made there is still heard. Measured on synthesized answers (docs/benchmarks.md): ratings 16/75
  right with the shop's model alone, 58/75 this way; no shop request was taken for an answer.
* "_default": the bundled `en-us.lm.bin`, the open pass, over its 20,000 most probable words
  (`open_words`) and the shop's: 45 MB less than its 72,547, and the same shop requests heard
  (docs/benchmarks.md); general dictation suffers a little (word error rate 0.28 → 0.34).

Grammar mode decodes while audio arrives; the audio is buffered (bounded), and only when the
grammar result is rejected is it decoded again with the open model. The open model runs at
roughly real time on one core, so decoding it in parallel during speech would double the CPU
for every utterance to help only the rejected few; after a rejection it costs about as long as
the utterance, which is acceptable for a request the shop probably cannot answer anyway.

Confidence is the geometric mean of the word posteriors from the lattice (`seg().prob` with
`bestpath`): the whole-path posterior (`hyp().prob`) shrinks with every word and cannot be
compared across utterances, a per-word average can (calibrated, see below). A grammar result
is rejected when it contains a garbage word or its confidence is below `accept_confidence` (the shared rule).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from kiosk import paths
from kiosk.audio.source import SAMPLE_RATE, SAMPLE_WIDTH
from kiosk.audio.wavfile import to_int16_bytes
from kiosk.dialogue.rating import QUESTIONS, answer_sentences, answers
from kiosk.speech.domain import DomainLanguage
from kiosk.speech.engine import (
    OPEN_PASS_BUDGET_S,
    SpeechError,
    Transcript,
    Word,
    feed_within_budget,
    two_pass,
)
from kiosk.speech.jsgf import DomainGrammar, build_grammar, dictionary_words, out_of_scope_sentences
from kiosk.speech.sphinx_dictionary import derived_pronunciations, lm_vocabulary, write_dictionary

FRAME_S = 0.01  # PocketSphinx frames are 10 ms
_MAX_BUFFER_S = 60.0  # the endpointer caps utterances well below this (max_utterance_s <= 60)
_PARTIAL_EVERY_S = 0.2  # partial hypotheses are a backtrace: not worth doing for every 30 ms chunk
_NBEST = 5
OPEN_WORDS = 20_000  # the open model's words the open pass can recognise (see the module docstring)
_ROOM_TONE_SIGMA = 32768 * 10 ** (-60 / 20)  # a quiet room through a USB microphone
_OPEN_SEARCH = "_default"
_FEEDBACK_SEARCH = "feedback"
# Each answer counts 3 x this often in the feedback model's text (a shop sentence in the shop's: 3).
# Measured (ratings right / shop requests taken as answers, of 75 / 138): x1 47/0, x4 54/0,
# x16 58/0, x32 57/1. Using the shop's requests as garbage as well cost ratings (42-53 of 75) and
# caught no more requests.
_ANSWER_WEIGHT = 16
_HMM_FILES = ("mdef", "means", "variances", "transition_matrices", "feat.params", "noisedict")
# PocketSphinx exit()s the whole process on a malformed model file, so the headers are checked
# first (a file truncated after a valid header can still take the process down).
_HEADERS = {"mdef": (b"BMDF", b"0.3"), "means": (b"s3\n",), "variances": (b"s3\n",),
            "transition_matrices": (b"s3\n",)}
_LM_HEADERS = (b"Trie Language Model", b"Darpa Trie LM", b"\\data\\")
# The geometric-mean word posterior that separates usable grammar results from garbled ones was
# about 0.2 on synthesized shop requests; it is mapped to 0.5 (monotonically) so the shared
# default `accept_confidence` of 0.5 means "usable" for this engine too.
_RAW_POSTERIOR_AT_HALF = 0.2
_CALIBRATION_EXPONENT = math.log(0.5) / math.log(_RAW_POSTERIOR_AT_HALF)


@dataclass(frozen=True)
class ModelFiles:
    hmm: Path
    lm: Path
    dictionary: Path


def find_model(model_dir: str | Path | None) -> ModelFiles:
    """The acoustic model, open LM and dictionary under `model_dir` (default: the wheel's en-us)."""
    if model_dir is None:
        try:
            import pocketsphinx
        except ImportError:
            raise SpeechError("PocketSphinx is not installed; install it with "
                              "`pip install pocketsphinx` or choose speech.engine = \"vosk\"") from None
        model_dir = Path(pocketsphinx.get_model_path()) / "en-us"
    root = Path(model_dir)
    files = ModelFiles(root / "en-us", root / "en-us.lm.bin", root / "cmudict-en-us.dict")
    missing = [str(p) for p in (files.lm, files.dictionary) if not p.is_file()]
    missing += [str(files.hmm / n) for n in _HMM_FILES if not (files.hmm / n).is_file()]
    if missing:
        raise SpeechError(f"PocketSphinx model at {root} is incomplete (missing {', '.join(missing)}); "
                          "reinstall pocketsphinx or point model_dir at a directory with en-us/, "
                          "en-us.lm.bin and cmudict-en-us.dict")
    corrupt = [str(files.hmm / name) for name, heads in _HEADERS.items()
               if not _starts_with(files.hmm / name, heads)]
    if not _starts_with(files.lm, _LM_HEADERS, skip_blank=True):
        corrupt.append(str(files.lm))
    if corrupt:
        raise SpeechError(f"PocketSphinx model at {root} is corrupt (unrecognised {', '.join(corrupt)}); "
                          "reinstall pocketsphinx or the model")
    return files


def _starts_with(path: Path, heads: tuple[bytes, ...], *, skip_blank: bool = False) -> bool:
    try:
        with open(path, "rb") as handle:
            start = handle.read(64)
    except OSError:
        return False
    if skip_blank:
        start = start.lstrip()
    return start.startswith(heads)


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+")) or word in ("<s>", "</s>", "<sil>")


def _base_word(word: str) -> str:
    return word.split("(", 1)[0]  # "read(2)": the second pronunciation of "read"


class PocketSphinxEngine:
    name = "pocketsphinx"
    language = "en"

    def __init__(self, domain: DomainLanguage | None, *, accept_confidence: float = 0.5,
                 model_dir: str | Path | None = None, grammar: str = "lm",
                 out_of_scope: tuple[str, ...] | None = None, open_words: int | None = OPEN_WORDS):
        """`grammar` is "lm" (the domain n-gram model, default) or "jsgf". `out_of_scope` are
        spoken-form requests the shop does not handle (default: the packaged intents' examples).
        `open_words`: how many of the open model's words, the most probable, it recognises (None:
        all); the shop's own words are always recognised."""
        if grammar not in ("lm", "jsgf"):
            raise SpeechError(f"unknown grammar kind {grammar!r}; use \"lm\" or \"jsgf\"")
        try:
            import pocketsphinx
        except ImportError:
            raise SpeechError("PocketSphinx is not installed; install it with "
                              "`pip install pocketsphinx`") from None
        self.accept_confidence = accept_confidence
        self.open_words = open_words
        self.files = find_model(model_dir)
        self.grammar_kind = grammar
        self.grammar: DomainGrammar | None = None
        self.feedback_grammar: DomainGrammar | None = None
        self._grammar_search: str | None = None
        self._open_vocabulary = lm_vocabulary(self.files.lm, most_likely=self.open_words)
        self.derived: dict[str, str] = {}  # the shop's words the dictionary lacks, pronounced
        if domain is not None:
            if out_of_scope is None:
                out_of_scope = out_of_scope_sentences(paths.ASSETS_DIR / "intents" / "en")
            known = dictionary_words(self.files.dictionary)
            spoken = domain.words | {w for text in (*out_of_scope, *answer_sentences()) for w in text.split()}
            try:
                # All of them, not just the unknown ones: a typo is told by the word it misspells.
                self.derived = derived_pronunciations(spoken, self.files.dictionary,
                                                      common=self._open_vocabulary)
            except (OSError, UnicodeDecodeError) as exc:
                raise SpeechError(f"cannot read the pronouncing dictionary {self.files.dictionary}: {exc}; "
                                  "reinstall pocketsphinx") from None
            known |= frozenset(self.derived)
            self.grammar = build_grammar(domain, known,
                                         out_of_scope=out_of_scope if grammar == "lm" else ())
            expected = DomainLanguage(sentences=answer_sentences(), names=(), numbers=())
            self.feedback_grammar = build_grammar(expected, known, out_of_scope=out_of_scope,
                                                  sentence_weight=3 * _ANSWER_WEIGHT)
        with tempfile.TemporaryDirectory(prefix="kiosk-sphinx-") as tmp:
            dictionary, self.dictionary_entries = self._dictionary(Path(tmp))
            try:
                config = pocketsphinx.Config(hmm=str(self.files.hmm), lm=str(self.files.lm),
                                             dict=str(dictionary), loglevel="FATAL",
                                             # Digital silence (files, synthesized speech) has -inf
                                             # log energy and derails cepstral normalisation.
                                             dither=True, seed=1)
                self._decoder = pocketsphinx.Decoder(config)
            except (RuntimeError, ValueError, OSError) as exc:
                raise SpeechError(f"PocketSphinx could not load the model at {self.files.hmm.parent} "
                                  f"({exc}); the files may be corrupt: reinstall pocketsphinx") from None
            if self.grammar is not None:
                self._add_grammar(Path(tmp))
        self._active: _PocketSphinxStream | None = None

    def _dictionary(self, tmp: Path) -> tuple[Path, int | None]:
        """The pronouncing dictionary cut down to the words the models use (kiosk.speech.
        sphinx_dictionary) and its number of entries, or the whole one (None) when the open model's
        words cannot be read; the shop's words built from its entries (`derived`) are added."""
        keep = self._open_vocabulary
        if keep is None and not self.derived:
            return self.files.dictionary, None
        if keep is not None:
            for g in (self.grammar, self.feedback_grammar):
                if g is not None:
                    keep |= frozenset(g.words) | g.garbage_words
        trimmed = tmp / "kiosk.dict"
        try:
            return trimmed, write_dictionary(self.files.dictionary, trimmed, keep, extra=self.derived)
        except (OSError, UnicodeDecodeError) as exc:
            raise SpeechError(f"cannot read the pronouncing dictionary {self.files.dictionary}: {exc}; "
                              "reinstall pocketsphinx") from None

    def _add_grammar(self, tmp: Path) -> None:
        """The "domain" (or "jsgf") search, and the Feedback screen's "feedback" search."""
        assert self.grammar is not None and self.feedback_grammar is not None
        try:
            if self.grammar_kind == "jsgf":
                self._decoder.add_jsgf_string("jsgf", self.grammar.jsgf)
                self._grammar_search = "jsgf"
            else:
                # PocketSphinx reads ARPA only from a file.
                (tmp / "domain.arpa").write_text(self.grammar.arpa, encoding="utf-8")
                self._decoder.add_lm_file("domain", str(tmp / "domain.arpa"))
                self._grammar_search = "domain"
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"PocketSphinx rejected the generated {self.grammar_kind} grammar ({exc}); "
                              "check the intents and catalogue for unusual text") from None
        try:
            (tmp / "feedback.arpa").write_text(self.feedback_grammar.arpa, encoding="utf-8")
            self._decoder.add_lm_file(_FEEDBACK_SEARCH, str(tmp / "feedback.arpa"))
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"PocketSphinx rejected the Feedback screen's answer model ({exc})") from None

    def stream(self, *, grammar: bool = True, expect: str | None = None,
               open_pass: bool = True) -> _PocketSphinxStream:
        """A new utterance. The decoder is shared: starting one ends any unfinished earlier stream.

        `expect` ("rating" or "reason"): the Feedback screen asks that question, so its answers are
        decoded first."""
        if self._active is not None:
            self._active.abandon()
        use_grammar = grammar and self._grammar_search is not None
        if use_grammar and expect in QUESTIONS and self.feedback_grammar is not None:
            self._active = _PocketSphinxStream(self, _FEEDBACK_SEARCH, then=self._grammar_search,
                                               question=expect, open_pass=open_pass)
        else:
            self._active = _PocketSphinxStream(self, self._grammar_search if use_grammar else _OPEN_SEARCH,
                                               open_pass=open_pass)
        return self._active

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engine": self.name, "language": self.language,
                               "hmm": str(self.files.hmm), "open_lm": str(self.files.lm),
                               "dictionary": str(self.files.dictionary),
                               "dictionary_entries_loaded": self.dictionary_entries,
                               "open_words": self.open_words,
                               "derived_words": sorted(self.derived),
                               "grammar_kind": self.grammar_kind,
                               "accept_confidence": self.accept_confidence}
        if self.grammar is not None:
            out["grammar"] = self.grammar.describe()
        if self.feedback_grammar is not None:
            out["feedback_grammar"] = {"words": len(self.feedback_grammar.words),
                                       "sentences": self.feedback_grammar.sentences}
        return out

    # Decoding helpers, used by the streams.

    def _start(self, search: str) -> None:
        # The cepstral mean is deliberately not reset here: it carries over from the previous
        # utterance, which measured far better than the model's initial value (docs/benchmarks.md).
        try:
            self._decoder.activate_search(search)
            self._decoder.start_utt()
        except (RuntimeError, KeyError) as exc:
            raise SpeechError(f"PocketSphinx could not start decoding with {search!r}: {exc}") from None

    def _transcript(self, search: str, audio_s: float) -> Transcript:
        decoder = self._decoder
        hyp = decoder.hyp()
        text = " ".join(hyp.hypstr.split()) if hyp is not None else ""
        words = []
        for seg in decoder.seg() or ():
            if _is_filler(seg.word):
                continue
            words.append(Word(_base_word(seg.word), seg.start_frame * FRAME_S,
                              (seg.end_frame + 1) * FRAME_S, min(1.0, max(0.0, seg.prob))))
        raw = _geometric_mean([w.confidence for w in words]) if text else 0.0
        confidence = raw ** _CALIBRATION_EXPONENT
        mode = "open" if search == _OPEN_SEARCH else "grammar"
        grammar = self.feedback_grammar if search == _FEEDBACK_SEARCH else self.grammar
        garbage = sorted({w.text for w in words} & grammar.garbage_words) \
            if mode == "grammar" and grammar is not None else []
        alternatives = []
        if text:
            for alt in islice(decoder.nbest() or (), _NBEST + 1):
                if alt is None:  # the n-best search can end early (noise): what came before stands
                    break
                alt_text = " ".join(w for w in alt.hypstr.split() if not _is_filler(w))
                if alt_text and alt_text != text and alt_text not in (a for a, _ in alternatives):
                    # N-best entries carry no posterior; ranked below the best, never above it.
                    alternatives.append((alt_text, confidence * 0.5 ** (len(alternatives) + 1)))
        accepted = bool(text) and not garbage and (mode == "open" or confidence >= self.accept_confidence)
        details: dict[str, Any] = {"search": search, "word_posterior": raw,
                                   "path_posterior": hyp.prob if hyp is not None else 0.0}
        if garbage:
            details["garbage_words"] = garbage
        return Transcript(text=text, confidence=confidence, accepted=accepted, engine=self.name, mode=mode,
                          words=tuple(words), alternatives=tuple(alternatives[:_NBEST]), audio_s=audio_s,
                          details=details)


def _geometric_mean(values: list[float]) -> float:
    if not values:
        return 0.0
    return math.exp(sum(math.log(max(v, 1e-6)) for v in values) / len(values))


class _PocketSphinxStream:
    def __init__(self, engine: PocketSphinxEngine, search: str, *, then: str | None = None,
                 question: str | None = None, open_pass: bool = True):
        self._engine = engine
        self._search = search
        self._then = then  # the search that decodes again what `search` rejects (before the open pass)
        self._question = question  # what `search`'s result must answer to be kept
        self._open_pass = open_pass
        self._buffer = bytearray()
        self._samples = 0
        self._partial = ""
        self._since_partial = 0
        self._done = False
        self._noise = np.random.default_rng(0)
        engine._start(search)

    def feed(self, pcm: bytes) -> str:
        if self._done:
            raise SpeechError("this recognition stream is finished; start a new one with engine.stream()")
        if len(pcm) % SAMPLE_WIDTH:
            raise SpeechError(f"PCM must be whole 16-bit samples; got {len(pcm)} bytes (odd length)")
        if not pcm:
            return self._partial
        pcm = self._room_tone(pcm)
        decoder = self._engine._decoder
        decoder.process_raw(pcm, False, False)
        self._samples += len(pcm) // SAMPLE_WIDTH
        # Kept for the open pass, which only a grammar stream may need.
        if self._search != _OPEN_SEARCH and len(self._buffer) < _MAX_BUFFER_S * SAMPLE_RATE * SAMPLE_WIDTH:
            self._buffer += pcm
        self._since_partial += len(pcm) // SAMPLE_WIDTH
        if self._since_partial >= _PARTIAL_EVERY_S * SAMPLE_RATE:
            self._since_partial = 0
            hyp = decoder.hyp()
            self._partial = " ".join(hyp.hypstr.split()) if hyp is not None else ""
        return self._partial

    def _room_tone(self, pcm: bytes) -> bytes:
        """Add a -60 dBFS noise floor, as every microphone has. Digital silence (files, synthesized
        speech) otherwise derails cepstral mean normalisation: on synthesized shop requests the
        floor took grammar-mode intent accuracy from 55/68 to 63/68 (PocketSphinx's own dither
        is not enough). Seeded per stream, so the same audio always gives the same transcript."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        samples += self._noise.normal(0.0, _ROOM_TONE_SIGMA, len(samples))
        return to_int16_bytes(samples)

    def abandon(self) -> None:
        """Another stream took the decoder: end this utterance without a result."""
        if not self._done:
            self._done = True
            self._engine._decoder.end_utt()

    def finish(self) -> Transcript:
        engine = self._engine
        audio_s = self._samples / SAMPLE_RATE
        if self._done:
            return Transcript("", 0.0, accepted=False, engine=engine.name, mode="open", audio_s=audio_s,
                              details={"abandoned": True})
        self._done = True
        engine._decoder.end_utt()
        if engine._active is self:
            engine._active = None
        if self._samples == 0:
            return Transcript("", 0.0, accepted=False, engine=engine.name,
                              mode="open" if self._search == _OPEN_SEARCH else "grammar")
        first = engine._transcript(self._search, audio_s)
        if self._search == _OPEN_SEARCH:
            return first
        if self._then is not None and not (_usable(first, engine.accept_confidence)
                                           and answers(self._question or "", first.text)):
            # Not an answer to the question on screen: maybe a request, heard with the shop's model.
            expected = {"text": first.text, "confidence": first.confidence}
            again = self._redecode(self._then, audio_s)
            first = replace(again, details={**again.details, "expected_rejected": expected})
        result = two_pass(first, (lambda: self._redecode(_OPEN_SEARCH, audio_s)) if self._open_pass
                          else (lambda: None), accept_confidence=engine.accept_confidence)
        self._buffer = bytearray()
        return result

    def _redecode(self, search: str, audio_s: float) -> Transcript:
        """The utterance again, with another search; empty when that took too long (feed_within_budget)."""
        engine = self._engine
        engine._start(search)
        decoder = engine._decoder
        in_time = feed_within_budget(lambda pcm: decoder.process_raw(pcm, False, False), bytes(self._buffer))
        decoder.end_utt()
        if not in_time:  # noise, most likely: nothing a customer would wait for
            return Transcript("", 0.0, accepted=False, engine=engine.name,
                              mode="open" if search == _OPEN_SEARCH else "grammar", audio_s=audio_s,
                              details={"open_pass": f"gave up after {OPEN_PASS_BUDGET_S:.0f} s"})
        return engine._transcript(search, audio_s)


def _usable(transcript: Transcript, accept_confidence: float) -> bool:
    return transcript.accepted and not transcript.empty and transcript.confidence >= accept_confidence
