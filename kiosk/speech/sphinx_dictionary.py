"""A pronouncing dictionary cut down to the words PocketSphinx can actually recognise.

The bundled `cmudict-en-us.dict` has 134,860 entries, but a word can only be recognised when a
language model lists it: the open `en-us.lm.bin` knows 72,547 words, and the kiosk's own models a
few thousand, all of them dictionary words. PocketSphinx keeps the whole dictionary in memory, and
every search (one per language model) sizes some of its tables by it. Loading only the words the
models use gives the same recognition for less memory (measured in docs/benchmarks.md).

The open model's words are read from the binary trie format's word list, which sphinxbase writes
last: a little-endian int32 byte count, then every unigram as a NUL-terminated string. The count of
unigrams is in the header. Anything that does not check out gives None, and the full dictionary
is used as before.

The open model can be cut further, to its most probable words: a word missing from the dictionary
is simply never recognised by that model, and the search PocketSphinx builds for a model grows with
the words it can recognise. The unigram probabilities sit in the trie file after the header and
the quantisation tables (sphinxbase's lm_trie.c / lm_trie_quant.c: unigrams are not quantised).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

_TRIE_MAGIC = b"Trie Language Model"
_MAX_WORD_BLOCK = 64 * 1024 * 1024  # far above any real model's word list; a bound on what is read


def lm_vocabulary(path: str | Path, most_likely: int | None = None) -> frozenset[str] | None:
    """The words of a binary (trie) language model, or None if it is not one this can read.
    `most_likely`: only that many, the most probable by the model's unigrams (and the sentence
    marks); all of them if the probabilities cannot be read."""
    words = _trie_words(path)
    if words is None:
        return None
    if most_likely is None or most_likely >= len(words):
        return frozenset(words)
    probabilities = _unigram_probabilities(path, len(words))
    if probabilities is None:
        return frozenset(words)
    ranked = np.argsort(-probabilities, kind="stable")[:most_likely]
    return frozenset(words[i] for i in ranked) | (frozenset(words) & _SENTENCE_MARKS)


_SENTENCE_MARKS = frozenset({"<s>", "</s>"})
_QUANT_TABLE_FLOATS = 1 << 16  # sphinxbase quantises with 16-bit probabilities and back-offs


def _unigram_probabilities(path: str | Path, unigrams: int) -> np.ndarray | None:
    """Each unigram's log probability, in the order of the trie's word list; None if the layout
    does not check out (another order of model, another format version)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_TRIE_MAGIC) + 1)
            order = head[-1] if len(head) == len(_TRIE_MAGIC) + 1 else 0
            if not 2 <= order <= 9:
                return None
            counts = struct.unpack("<" + "I" * order, handle.read(4 * order))
            # A dummy int (once the quantisation type), then one probability and one back-off table
            # per middle order and a probability table for the longest.
            handle.seek(4 + ((order - 2) * 2 + 1) * _QUANT_TABLE_FLOATS * 4, 1)
            raw = handle.read(12 * (unigrams + 1))
    except (OSError, struct.error):
        return None
    if counts[0] != unigrams or len(raw) != 12 * (unigrams + 1):
        return None
    table = np.frombuffer(raw, dtype=np.dtype([("prob", "<f4"), ("bo", "<f4"), ("next", "<u4")]))
    follows = table["next"].astype(np.int64)
    # Each unigram's first bigram index never decreases and stays within the bigram count; random
    # bytes read from the wrong place fail this.
    if np.any(np.diff(follows) < 0) or follows[-1] > counts[1] or not np.all(np.isfinite(table["prob"])):
        return None
    return table["prob"][:unigrams].astype(np.float64)


def _trie_words(path: str | Path) -> list[str] | None:
    """The trie model's word list, in the order of its unigram table."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_TRIE_MAGIC) + 1 + 4)
            if not head.startswith(_TRIE_MAGIC) or len(head) < len(_TRIE_MAGIC) + 5:
                return None
            (unigrams,) = struct.unpack_from("<I", head, len(_TRIE_MAGIC) + 1)
            size = handle.seek(0, 2)
            tail_size = min(size, _MAX_WORD_BLOCK, max(4096, unigrams * 64))
            handle.seek(size - tail_size)
            tail = handle.read(tail_size)
    except OSError:
        return None
    if not tail.endswith(b"\0") or unigrams == 0:
        return None
    parts = tail[:-1].split(b"\0")
    if len(parts) <= unigrams:
        return None  # the whole list did not fit in what was read
    words = parts[-unigrams:]
    block = sum(len(w) + 1 for w in words)
    start = len(tail) - block
    if start < 4 or struct.unpack_from("<i", tail, start - 4)[0] != block:
        return None
    try:
        return [w.decode("utf-8") for w in words]
    except UnicodeDecodeError:
        return None


def dictionary_entries(path: str | Path) -> Iterator[tuple[str, str]]:
    """(word, line) for each entry of a CMU-format pronouncing dictionary, read as it goes; an
    alternate pronunciation "read(2)" gives the word "read". OSError/UnicodeDecodeError pass up."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            head = line.split(None, 1)[0] if line.strip() else ""
            if head:
                yield head.split("(", 1)[0], line


def write_dictionary(source: str | Path, target: str | Path, keep: frozenset[str] | None,
                     extra: Mapping[str, str] | None = None) -> int:
    """Copy the entries of `source` whose word (alternates "read(2)" included) is in `keep` (None:
    all) to `target`, then `extra` (word → phones, derived_pronunciations); returns how many were
    written."""
    written = 0
    with open(target, "w", encoding="utf-8") as out:
        for word, line in dictionary_entries(source):
            if keep is None or word in keep:
                out.write(line if line.endswith("\n") else line + "\n")
                written += 1
        for word, phones in sorted((extra or {}).items()):
            if keep is None or word in keep:
                out.write(f"{word} {phones}\n")
                written += 1
    return written


# -- words the dictionary lacks, pronounced from the ones it has --------------------------------
# The shop's own words decide what grammar mode can hear, and a sentence with a word the
# dictionary lacks is left out of the shop's model whole: "scan this barcode" (cmudict has "bar"
# and "code", not "barcode"), "a 5 litre tin", "where are the tills". Such words are mostly
# compounds, British spellings and plurals, and their pronunciation follows from entries the
# dictionary does have. Brand names mostly do not; they stay out, as before.
_SPELLINGS = ((r"re$", "er"), (r"our", "or"), (r"ise$", "ize"), (r"ised$", "ized"), (r"ising$", "izing"),
              (r"yse$", "yze"), (r"ogue$", "og"), (r"ence$", "ense"), (r"elled$", "eled"),
              (r"elling$", "eling"), (r"mme$", "m"))
_CONTRACTED = ("t", "s", "d", "m", "ve", "re", "ll")  # "dont" is "don't", "ive" is "i've"
_SIBILANTS = frozenset({"S", "Z", "SH", "ZH", "CH", "JH"})
_VOICELESS = frozenset({"P", "T", "K", "F", "TH"})
_MIN_PART = 3  # letters in each part of a compound: cmudict's many two-letter names split anything


def derived_pronunciations(words: Iterable[str], source: str | Path, *,
                           common: frozenset[str] | None = None) -> dict[str, str]:
    """Phones for each of `words` that `source` (a CMU-format dictionary) lacks but can be built
    from its entries: another spelling of a known word ("litre" as "liter"), a plural or
    possessive of one ("tills", "plumber's"), or two of them joined ("barcode", "giftcard",
    "dustpan"). Words it cannot build are left out, and so are contractions typed without their
    apostrophe ("dont", "wheres"): the transcript would show them so. One pass over `source`,
    keeping only the entries the candidates need.

    A compound's parts must be `common` words (e.g. the open model's most probable; None: any
    dictionary word): cmudict is full of names, and "motorhome" is "motor" + "home", not "moto" +
    "rhome". A compound one letter away from another of `words` is taken for that word's typo
    ("fedback", "avaliable", "retrun" in the typed examples) and left out, as the typo it is."""
    words = sorted({w for w in words if w and w.replace("'", "").isalpha()})
    lookalikes = _Lookalikes(words)
    wanted: set[str] = set()
    for word in words:
        wanted.update(_candidates(word))
        wanted.update(word[:-len(t)] + "'" + t for t in _CONTRACTED if word.endswith(t))
        for i in range(_MIN_PART, len(word) - _MIN_PART + 1):
            wanted.update(_candidates(word[:i]))
            wanted.update(_candidates(word[i:]))
    phones: dict[str, str] = {}
    for word, line in dictionary_entries(source):
        if word in wanted and word not in phones:  # the first, main pronunciation
            phones[word] = " ".join(line.split()[1:])
    out: dict[str, str] = {}
    for word in words:
        if word in phones or _apostrophe_dropped(word, phones):
            continue
        found = _one_word(word, phones)
        if found is None:
            parts = [(word[:i], word[i:]) for i in range(_MIN_PART, len(word) - _MIN_PART + 1)]
            parts = [(a, b) for a, b in parts if common is None or (_in(a, common) and _in(b, common))]
            joined = [(min(len(a), len(b)), _one_word(a, phones), _one_word(b, phones)) for a, b in parts]
            joined = [(shortest, f"{pa} {pb}") for shortest, pa, pb in joined if pa and pb]
            if joined and not lookalikes.near(word):
                found = max(joined)[1]  # the most even split: "bar|code"
        if found:
            out[word] = found
    return out


def _in(word: str, common: frozenset[str]) -> bool:
    return any(c in common for c in _candidates(word))


class _Lookalikes:
    """Which words are one edit (a letter added, dropped, changed or two swapped) from another."""

    def __init__(self, words: Iterable[str]):
        self._keys: dict[str, set[str]] = {}
        for word in words:
            for key in self._edits(word):
                self._keys.setdefault(key, set()).add(word)

    @staticmethod
    def _edits(word: str) -> set[str]:
        # Each word stands for itself and for its deletions: two words one edit apart share one.
        return {word} | {word[:i] + word[i + 1:] for i in range(len(word))} | {
            word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}

    def near(self, word: str) -> bool:
        return any(other != word for key in self._edits(word) for other in self._keys.get(key, ()))


def _variants(word: str) -> list[str]:
    """The word and its American spellings, where it is spelt the British way."""
    out = [word]
    for pattern, replacement in _SPELLINGS:
        changed = re.sub(pattern, replacement, word)
        if changed != word:
            out.append(changed)
    return out


def _apostrophe_dropped(word: str, phones: Mapping[str, str]) -> bool:
    """"dont", "wheres": a contraction typed without its apostrophe. Heard, it would be shown so."""
    return "'" not in word and any(word[:-len(t)] + "'" + t in phones for t in _CONTRACTED
                                   if word.endswith(t) and len(word) > len(t))


def _candidates(word: str) -> list[str]:
    """Every dictionary word that could pronounce `word` (its variants and their stems)."""
    out = []
    for variant in _variants(word):
        out.append(variant)
        for stem in _stems(variant):
            out.extend(_variants(stem))
    return out


def _stems(word: str) -> list[str]:
    if word.endswith("'s"):
        return [word[:-2]]
    stems = []
    if word.endswith("es"):
        stems.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        stems.append(word[:-1])
    return stems


def _one_word(word: str, phones: Mapping[str, str]) -> str | None:
    for variant in _variants(word):
        if variant in phones:
            return phones[variant]
    for stem in _stems(word):
        for variant in _variants(stem):
            if variant in phones:
                base = phones[variant]
                last = base.split()[-1]
                if word.endswith("es") and stem == word[:-2] and last not in _SIBILANTS:
                    continue  # "shoes" is "shoe" + s, not "sho" + es
                suffix = "IH Z" if last in _SIBILANTS else "S" if last in _VOICELESS else "Z"
                return f"{base} {suffix}"
    return None
