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
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

_TRIE_MAGIC = b"Trie Language Model"
_MAX_WORD_BLOCK = 64 * 1024 * 1024  # far above any real model's word list; a bound on what is read


def lm_vocabulary(path: str | Path) -> frozenset[str] | None:
    """The words of a binary (trie) language model, or None if it is not one this can read."""
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
        return frozenset(w.decode("utf-8") for w in words)
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
