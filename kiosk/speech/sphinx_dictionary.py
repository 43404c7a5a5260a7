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

import struct
from collections.abc import Iterator
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


def write_dictionary(source: str | Path, target: str | Path, keep: frozenset[str]) -> int:
    """Copy the entries of `source` whose word (alternates "read(2)" included) is in `keep` to
    `target`; returns how many were written."""
    written = 0
    with open(target, "w", encoding="utf-8") as out:
        for word, line in dictionary_entries(source):
            if word in keep:
                out.write(line)
                written += 1
    return written
