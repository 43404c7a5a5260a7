"""The shop's language as a recogniser grammar: JSGF text, and a small n-gram model (ARPA text).

Both are generated from one `DomainLanguage` and keep only words the pronouncing dictionary has;
the rest are reported as dropped (misspellings in the training examples, brand names). A plain list
of the example sentences is too rigid, since customers phrase the same request in new ways, so:

* JSGF: the example sentences, plus every sentence that mentions a catalogue name turned into a
  template with a `<name>` slot ("where are the <name>"), plus a bare `[<lead>] <name>` request,
  plus sentences built from the domain's words with a low weight, so unseen phrasings can still
  come through (word by word, which is what the intent model needs).
* ARPA: a trigram model over the same sentences with templates filled in by sampled names,
  absolute discounting with back-off (the Rhasspy approach). It generalises further, because any
  sequence of domain words is possible but familiar word orders are preferred.

PocketSphinx decodes either; the engine measures and uses what recognises best (see
pocketsphinx_engine.py).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from kiosk.nlu.data import OOS, load_dataset
from kiosk.speech.domain import DIGIT_WORDS, DomainLanguage, spoken_form
from kiosk.speech.engine import SpeechError
from kiosk.speech.sphinx_dictionary import dictionary_entries

_MAX_NAME_WORDS = 8  # longer catalogue names are not spoken in full; slots stop looking beyond this
# The free word loop is only usable on small vocabularies: with the demo store's 2,363 words the
# compiled grammar took >17 GB and never finished decoding (PocketSphinx 5.1.1, measured).
_FREE_LOOP_MAX_WORDS = 300
_LOOP_WEIGHT = 0.02  # free word sequences: possible, but a listed sentence always wins when it fits
_NAMES_PER_TEMPLATE = 2  # sampled names filled into each template in the LM text
_DIGIT_RUNS = 300  # random digit sequences in the LM text
_SENTENCE_WEIGHT = 3  # each example sentence counts this often in the LM text (see _lm_sentences)
_DISCOUNT = 0.7  # absolute discount; typical for small counts (Ney et al. 1994)
_LEADS = ("i need", "i'm looking for", "do you have", "where is", "where are", "where can i find",
          "how much is", "how much are", "the")


@dataclass(frozen=True)
class DomainGrammar:
    """Recogniser-ready text for the shop's language, and what it was built from."""

    jsgf: str
    arpa: str
    words: tuple[str, ...]  # vocabulary actually used (in the dictionary), sorted
    dropped_words: tuple[str, ...]  # domain words the dictionary cannot pronounce
    sentences: int  # example sentences kept whole
    templates: int  # sentences with a `<name>` slot
    names: int  # names kept (possibly shortened by dropped words)
    garbage_words: frozenset[str] = frozenset()  # LM-only words from out-of-scope requests

    def describe(self) -> dict[str, int | list[str]]:
        return {"words": len(self.words), "sentences": self.sentences, "templates": self.templates,
                "names": self.names, "garbage_words": len(self.garbage_words),
                "dropped_words": list(self.dropped_words)}


def dictionary_words(path: str | Path) -> frozenset[str]:
    """The words of a CMU-format pronouncing dictionary ("word(2)" alternates folded in)."""
    try:
        words = frozenset(word for word, _ in dictionary_entries(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpeechError(f"cannot read the pronouncing dictionary {path}: {exc}; "
                          "reinstall pocketsphinx or point speech.models_dir at a complete model") from None
    if not words:
        raise SpeechError(f"the pronouncing dictionary {path} is empty; reinstall the model")
    return words


def out_of_scope_sentences(intents: str | Path) -> tuple[str, ...]:
    """The intent data's out-of-scope examples in spoken form: the garbage class of the LM."""
    dataset = load_dataset(intents)
    return tuple(sorted({t for t in (spoken_form(e.text, shorthand=True) for e in dataset.examples
                                     if e.label == OOS) if t}))


def _slot_templates(sentences: tuple[str, ...], names: set[str]) -> list[tuple[str, str, str]]:
    """(before, name, after) for each sentence that contains a name; the longest name wins."""
    out = []
    for sentence in sentences:
        words = sentence.split()
        best: tuple[int, int] | None = None
        for start in range(len(words)):
            for end in range(min(len(words), start + _MAX_NAME_WORDS), start, -1):
                if best is not None and end - start <= best[1] - best[0]:
                    break
                if " ".join(words[start:end]) in names:
                    best = (start, end)
                    break
        if best is not None and best[1] - best[0] < len(words):
            out.append((" ".join(words[:best[0]]), " ".join(words[best[0]:best[1]]),
                        " ".join(words[best[1]:])))
    return out


@dataclass(frozen=True)
class _Kept:
    sentences: tuple[str, ...]
    names: tuple[str, ...]
    numbers: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]
    dropped: tuple[str, ...]
    garbage: tuple[str, ...] = ()


def _keep_pronounceable(domain: DomainLanguage, known: frozenset[str], garbage: tuple[str, ...]) -> _Kept:
    dropped = sorted(w for w in domain.words if w not in known)
    # A sentence with an unknown word is dropped whole (mostly deliberate typos in the examples);
    # a name loses the word only, as "ryobi drill" still names the product.
    sentences = tuple(s for s in domain.sentences if all(w in known for w in s.split()))
    names = sorted({" ".join(w for w in n.split() if w in known) for n in domain.names} - {""})
    numbers = tuple(n for n in domain.numbers if n in known)
    templates = _slot_templates(sentences, set(names))
    unique_templates = tuple(sorted({(before, after) for before, _, after in templates}))
    return _Kept(sentences, tuple(names), numbers,
                 tuple((b, "", a) for b, a in unique_templates), tuple(dropped),
                 tuple(g for g in garbage if all(w in known for w in g.split())))


def _alternatives(items: list[str], indent: str = "    ") -> str:
    return ("\n" + indent + "| ").join(items)


def build_grammar(domain: DomainLanguage, known_words: frozenset[str], *,
                  out_of_scope: tuple[str, ...] = (),
                  sentence_weight: int = _SENTENCE_WEIGHT) -> DomainGrammar:
    """JSGF and ARPA text for `domain`, restricted to `known_words`.

    `out_of_scope` (spoken-form requests the shop does not handle: weather, music…) go into the
    n-gram model only, as a garbage class: without them every out-of-domain word is forced onto
    the nearest shop word and the result looks in-domain. Words that occur only there are
    returned as `garbage_words`; a hypothesis containing one is rejected by the engine.
    """
    kept = _keep_pronounceable(domain, known_words, out_of_scope)
    if not kept.sentences and not kept.names:
        raise SpeechError("no sentence or name of the shop's language can be pronounced with this "
                          "dictionary; check the intents and the model's language")
    vocabulary = sorted({w for text in (*kept.sentences, *kept.names, *kept.numbers) for w in text.split()})
    jsgf = _jsgf_text(kept, vocabulary)
    arpa = _arpa_text(kept, sentence_weight)
    garbage_words = frozenset(w for g in kept.garbage for w in g.split()) - set(vocabulary)
    return DomainGrammar(jsgf=jsgf, arpa=arpa, words=tuple(vocabulary), dropped_words=kept.dropped,
                         sentences=len(kept.sentences), templates=len(kept.templates),
                         names=len(kept.names), garbage_words=garbage_words)


def _jsgf_text(kept: _Kept, vocabulary: list[str]) -> str:
    # Each rule is referenced once: PocketSphinx inlines every reference when it compiles JSGF to a
    # finite-state grammar, so "<name>" inside hundreds of templates would blow up to gigabytes.
    # Prefixes and suffixes are therefore free to combine ("how much are the <name> in stock").
    befores = sorted({b for b, _, _ in kept.templates if b}
                     | {lead for lead in _LEADS if all(w in vocabulary for w in lead.split())})
    afters = sorted({a for _, _, a in kept.templates if a})
    lines = [
        "#JSGF V1.0;",
        "grammar kiosk;",
        "",
        "public <request> = <sentence> | [<before>] <name> [<after>]"
        + (f" | /{_LOOP_WEIGHT:g}/ <free>;" if len(vocabulary) <= _FREE_LOOP_MAX_WORDS else ";"),
        "",
        "<sentence> = " + _alternatives(list(kept.sentences)) + ";",
        "",
        "<before> = " + _alternatives(befores or ["the"]) + ";",
        "",
        "<after> = " + _alternatives(afters or ["please"]) + ";",
        "",
        "<name> = " + _alternatives(list(kept.names) or list(kept.numbers)) + ";",
        "",
        "<free> = <word>+;",
        "",
        "<word> = " + _alternatives(vocabulary) + ";",
        "",
    ]
    return "\n".join(lines)


def _lm_sentences(kept: _Kept, sentence_weight: int = _SENTENCE_WEIGHT) -> list[list[str]]:
    """Training text: the sentences (weighted), each name alone, templates filled with sampled names.

    Measured on 68 synthesized shop requests (grammar-mode intent accuracy): sentences x3 and only
    a few fillings per template 63/68; sentences x1 with every name also placed into sampled
    templates 55/68: the sentences must dominate, or the model drifts towards strings of names.
    """
    rng = random.Random(1234)  # the same store data always gives the same model
    out = [s.split() for s in kept.sentences] * sentence_weight
    out += [n.split() for n in kept.names]
    out += [n.split() for n in kept.numbers]
    # Order numbers and barcodes are read out digit by digit: give digit runs their own n-grams.
    digits = [d for d in DIGIT_WORDS if d in kept.numbers]
    if digits:
        out += [[rng.choice(digits) for _ in range(rng.randint(3, 8))] for _ in range(_DIGIT_RUNS)]
    out += [g.split() for g in kept.garbage]
    names = list(kept.names)
    for before, _, after in kept.templates if names else ():
        for name in rng.sample(names, min(_NAMES_PER_TEMPLATE, len(names))):
            out.append(f"{before} {name} {after}".split())
    return out


def _arpa_text(kept: _Kept, sentence_weight: int = _SENTENCE_WEIGHT) -> str:
    """A back-off trigram model in ARPA format, absolute discounting, unigrams add-one smoothed."""
    counts: list[Counter[tuple[str, ...]]] = [Counter(), Counter(), Counter()]
    for words in _lm_sentences(kept, sentence_weight):
        padded = ["<s>", *words, "</s>"]
        for order in (1, 2, 3):
            for i in range(len(padded) - order + 1):
                gram = tuple(padded[i:i + order])
                if order == 1 and gram == ("<s>",):
                    continue
                counts[order - 1][gram] += 1
    unigrams = counts[0]
    total = sum(unigrams.values())
    vocabulary = sorted(unigrams)
    p1 = {(w,): (unigrams[(w,)] + 1) / (total + len(vocabulary)) for w, in vocabulary}
    probs: list[dict[tuple[str, ...], float]] = [p1, {}, {}]
    backoff: list[dict[tuple[str, ...], float]] = [{}, {}, {}]

    def lower(gram: tuple[str, ...]) -> float:
        """P(w | shorter history), backing off as the model will."""
        order = len(gram)
        if gram in probs[order - 1]:
            return probs[order - 1][gram]
        return backoff[order - 2].get(gram[:-1], 1.0) * lower(gram[1:])

    for order in (2, 3):
        followers: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
        for gram in counts[order - 1]:
            followers[gram[:-1]].append(gram)
        for history, grams in followers.items():
            history_total = sum(counts[order - 1][g] for g in grams)
            seen_mass = 0.0
            lower_mass = 0.0
            for gram in grams:
                p = (counts[order - 1][gram] - _DISCOUNT) / history_total
                probs[order - 1][gram] = p
                seen_mass += p
                lower_mass += lower(gram[1:])
            # What the discount freed goes to unseen words, in proportion to the lower order.
            backoff[order - 2][history] = (1.0 - seen_mass) / max(1e-9, 1.0 - lower_mass)
    probs[0][("<s>",)] = 0.0
    lines = ["\\data\\"] + [f"ngram {n + 1}={len(probs[n])}" for n in range(3)] + [""]
    for n in range(3):
        lines.append(f"\\{n + 1}-grams:")
        for gram in sorted(probs[n]):
            p = probs[n][gram]
            logp = -99.0 if p <= 0 else math.log10(p)
            entry = f"{logp:.4f}\t{' '.join(gram)}"
            if n < 2:
                entry += f"\t{math.log10(backoff[n].get(gram, 1.0)):.4f}"
            lines.append(entry)
        lines.append("")
    lines.append("\\end\\")
    return "\n".join(lines) + "\n"
