"""Pure-Python BERT (uncased) WordPiece tokenizer: no `transformers`, no `tokenizers`.

It reproduces Hugging Face's `BertTokenizer` (transformers 5: Rust `tokenizers` backed) with `do_lower_case=True`, `tokenize_chinese_chars=True`
and `strip_accents=None` (the all-MiniLM-L6-v2 settings):

* basic tokenizer: drop NUL, U+FFFD and control characters, map every whitespace to a space, put
  spaces around CJK ideographs, NFC-normalize, split on whitespace, lower-case, strip accents
  (NFD, drop combining marks), split every punctuation character off as its own token;
* WordPiece: greedy longest match first, continuation pieces prefixed with `##`, a word longer
  than 100 characters or with no complete segmentation becomes `[UNK]`;
* `[CLS] … [SEP]`, truncated to `max_length` (the text is cut, `[SEP]` is kept) and padded with
  `[PAD]`; `attention_mask` is 1 on real tokens.

One deliberate difference: text like "[SEP]" typed by a customer is tokenized as plain text
(`[`, `sep`, `]`), where HF would treat it as the special token.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

UNK, CLS, SEP, PAD = "[UNK]", "[CLS]", "[SEP]", "[PAD]"

_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # All non-letter/number ASCII counts as punctuation ("$", "^", "`" are not Unicode P*).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


# ASCII fast path: the same rules precomputed as a translation table. Control characters are
# deleted, whitespace becomes a space, punctuation gets spaces around it, letters are lowered.
_ASCII_TABLE = {}
for _cp in range(128):
    _ch = chr(_cp)
    if _cp == 0 or _is_control(_ch):
        _ASCII_TABLE[_cp] = None
    elif _is_whitespace(_ch):
        _ASCII_TABLE[_cp] = " "
    elif _is_punctuation(_ch):
        _ASCII_TABLE[_cp] = f" {_ch} "
    else:
        _ASCII_TABLE[_cp] = _ch.lower()


def basic_tokenize(text: str) -> list[str]:
    """Words and punctuation marks, lower-cased and without accents."""
    if text.isascii():
        return text.translate(_ASCII_TABLE).split()
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out))
    tokens: list[str] = []
    for word in text.split():
        # Character by character, as the Rust `tokenizers` BertNormalizer that `BertTokenizer`
        # uses (and that trained the model): no context-sensitive final sigma ("ΣΟΣ" → "σοσ";
        # str.lower() and the legacy Python tokenizer give "σος").
        word = "".join(map(str.lower, word))
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current: list[str] = []
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    tokens.append("".join(current))
                    current = []
                tokens.append(ch)
            else:
                current.append(ch)
        if current:
            tokens.append("".join(current))
    # The reference joins and splits once more (str.split also splits on U+2028/U+2029 and
    # other separators that are neither control characters nor Zs); do the same.
    return " ".join(tokens).split()


class WordPiece:
    def __init__(self, vocab_file: str | Path, max_length: int = 48, max_chars_per_word: int = 100):
        tokens = Path(vocab_file).read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        self.vocab = {}
        for i, tok in enumerate(tokens):
            self.vocab.setdefault(tok.rstrip("\r"), i)
        self.inv_vocab = {i: t for t, i in self.vocab.items()}
        self.max_length = max_length
        self.max_chars_per_word = max_chars_per_word
        self.unk_id = self.vocab[UNK]
        self.cls_id = self.vocab[CLS]
        self.sep_id = self.vocab[SEP]
        self.pad_id = self.vocab[PAD]
        self._word_ids = lru_cache(maxsize=65536)(self._word_ids_uncached)

    def _word_ids_uncached(self, word: str) -> tuple[int, ...]:
        if len(word) > self.max_chars_per_word:
            return (self.unk_id,)
        vocab = self.vocab
        ids = []
        start, n = 0, len(word)
        while start < n:
            end = n
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk_id,)
            ids.append(found)
            start = end
        return tuple(ids)

    def tokenize_ids(self, text: str) -> list[int]:
        """WordPiece ids of the text, without special tokens or truncation."""
        ids: list[int] = []
        for word in basic_tokenize(text):
            ids.extend(self._word_ids(word))
        return ids

    def tokenize(self, text: str) -> list[str]:
        return [self.inv_vocab[i] for i in self.tokenize_ids(text)]

    def encode(self, text: str, max_length: int | None = None) -> tuple[list[int], list[int]]:
        """`input_ids` and `attention_mask` as lists, padded/truncated to `max_length`."""
        length = max_length or self.max_length
        ids = [self.cls_id] + self.tokenize_ids(text)[: length - 2] + [self.sep_id]
        n = len(ids)
        return ids + [self.pad_id] * (length - n), [1] * n + [0] * (length - n)

    def encode_into(self, text: str, ids_buf: np.ndarray, mask_buf: np.ndarray) -> int:
        """Fill preallocated (1, L) buffers in place (the run-time path); returns the token count."""
        length = ids_buf.shape[-1]
        ids = [self.cls_id] + self.tokenize_ids(text)[: length - 2] + [self.sep_id]
        n = len(ids)
        ids_buf[0, :n] = ids
        ids_buf[0, n:] = self.pad_id
        mask_buf[0, :n] = 1
        mask_buf[0, n:] = 0
        return n

    def encode_batch(self, texts, max_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        length = max_length or self.max_length
        rows = [self.encode(t, length) for t in texts]
        ids = np.array([r[0] for r in rows], dtype=np.int32).reshape(-1, length)
        mask = np.array([r[1] for r in rows], dtype=np.int32).reshape(-1, length)
        return ids, mask
