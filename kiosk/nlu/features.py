"""Text → feature ids for the intent model, in pure Python (no TensorFlow at run time).

Features are word unigrams and bigrams plus character n-grams of each word with boundary
marks (fastText style), looked up in a vocabulary learned at training time. Character n-grams
make the model tolerant of typos and speech-recognition slips; word bigrams keep a little order.
The model pools the embeddings of the known features with equal weights (a mean), so the
featurizer hands it the ids plus a weight vector of 1/n over the real positions.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

PAD_ID = 0
# Only the start of a text is read: a customer request fits easily, and it bounds the work done
# on a pasted novel or binary garbage.
MAX_TEXT_CHARS = 1000
_WORD = re.compile(r"\w+(?:'\w+)?")
_DIGIT = re.compile(r"\d")
_CACHE_WORDS = 50_000  # bounds memory whatever text arrives


def normalize(text: str) -> str:
    """Case-fold, unify Unicode forms and quotes, and map every digit to 0.

    Digits are collapsed so that "order 2934" and "order 10457" share features: the
    number's shape matters to the intent, its value only to the slots.
    """
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).casefold()
    text = text.replace("\u2019", "'").replace("`", "'")
    return _DIGIT.sub("0", text)


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


@dataclass(frozen=True)
class FeaturizerConfig:
    char_min: int = 2
    char_max: int = 5
    max_features: int = 256  # model input length; longer texts are truncated
    vocab: tuple[str, ...] = field(default=(), repr=False)

    def to_json(self) -> str:
        return json.dumps(
            {
                "type": "word12+char_wb",
                "char_min": self.char_min,
                "char_max": self.char_max,
                "max_features": self.max_features,
                "vocab": list(self.vocab),
            },
            ensure_ascii=False,
            indent=0,
        )

    @classmethod
    def from_json(cls, text: str) -> "FeaturizerConfig":
        data = json.loads(text)
        if data.get("type") != "word12+char_wb":
            raise ValueError(f"unknown featurizer type {data.get('type')!r}")
        return cls(
            char_min=int(data["char_min"]),
            char_max=int(data["char_max"]),
            max_features=int(data["max_features"]),
            vocab=tuple(data["vocab"]),
        )


class Featurizer:
    def __init__(self, config: FeaturizerConfig):
        self.config = config
        # id 0 is padding, so vocabulary ids start at 1
        self._index = {feature: i + 1 for i, feature in enumerate(config.vocab)}
        self._char_cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """Rows in the embedding table, padding included."""
        return len(self.config.vocab) + 1

    def _char_grams(self, token: str) -> list[str]:
        marked = "<" + token + ">"
        size = len(marked)
        out: list[str] = []
        for n in range(self.config.char_min, min(self.config.char_max, size) + 1):
            out += [marked[i : i + n] for i in range(size - n + 1)]
        return out

    def features(self, text: str) -> list[str]:
        """All feature strings of a text, words first so truncation drops character n-grams."""
        tokens = words(text)
        out = ["w " + t for t in tokens]
        out += ["b " + a + " " + b for a, b in zip(tokens, tokens[1:])]
        for token in tokens:
            out += self._char_grams(token)
        return out

    def ids(self, text: str) -> list[int]:
        """Vocabulary ids of the text's known features (unknown ones are dropped)."""
        tokens = words(text)
        get = self._index.get
        found = [get("w " + t, 0) for t in tokens]
        found += [get("b " + a + " " + b, 0) for a, b in zip(tokens, tokens[1:])]
        # The same words come back again and again; their character n-gram ids are cached
        # because building the n-grams is most of the featurizing time.
        cache = self._char_cache
        for token in tokens:
            grams = cache.get(token)
            if grams is None:
                grams = [i for i in map(get, self._char_grams(token)) if i]
                if len(cache) >= _CACHE_WORDS:
                    cache.clear()
                cache[token] = grams
            found += grams
        return [i for i in found if i][: self.config.max_features]

    def coverage(self, text: str) -> tuple[int, float]:
        """(known words, share of character n-grams known): low for keyboard mashing, high for typos."""
        tokens = words(text)
        known_words = sum(("w " + t) in self._index for t in tokens)
        grams = [g for t in tokens for g in self._char_grams(t)]
        share = sum(g in self._index for g in grams) / len(grams) if grams else 0.0
        return known_words, share

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(ids[int32, L], weights[float32, L], number of known features)."""
        found = self.ids(text)
        length = self.config.max_features
        ids = np.zeros(length, dtype=np.int32)
        weights = np.zeros(length, dtype=np.float32)
        n = len(found)
        if n:
            ids[:n] = found
            weights[:n] = 1.0 / n
        return ids, weights, n

    def encode_batch(self, texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = [self.encode(t) for t in texts]
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        *,
        max_vocab: int,
        min_df: int = 2,
        char_min: int = 2,
        char_max: int = 5,
        max_features: int = 256,
    ) -> "Featurizer":
        """Learn the vocabulary: features in at least `min_df` texts, most frequent first.

        Ties are broken by the feature string so that the same data always gives the same ids.
        """
        probe = cls(FeaturizerConfig(char_min=char_min, char_max=char_max))
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(probe.features(text)))
        kept = [f for f, c in df.items() if c >= min_df]
        kept.sort(key=lambda f: (-df[f], f))
        config = FeaturizerConfig(
            char_min=char_min,
            char_max=char_max,
            max_features=max_features,
            vocab=tuple(kept[:max_vocab]),
        )
        return cls(config)

    def save(self, path: Path) -> None:
        path.write_text(self.config.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Featurizer":
        return cls(FeaturizerConfig.from_json(path.read_text(encoding="utf-8")))
