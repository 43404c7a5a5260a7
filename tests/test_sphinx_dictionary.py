"""The pronouncing dictionary PocketSphinx loads: only the words its language models can use."""

from __future__ import annotations

import struct

import pytest

pocketsphinx = pytest.importorskip("pocketsphinx")

from kiosk.speech.sphinx_dictionary import lm_vocabulary, write_dictionary  # noqa: E402


def _bundled():
    from pathlib import Path

    return Path(pocketsphinx.get_model_path()) / "en-us"


def test_the_open_model_s_words_are_read_from_its_binary_file():
    words = lm_vocabulary(_bundled() / "en-us.lm.bin")
    assert words is not None and len(words) == 72547  # the bundled model's unigram count
    assert {"hello", "receipt", "restroom"} <= words and "zyuganov" in words


def _trie(words: list[bytes], count: int | None = None) -> bytes:
    block = b"".join(w + b"\0" for w in words)
    return (b"Trie Language Model" + bytes([3]) + struct.pack("<III", count or len(words), 5, 5)
            + b"\x01" * 200 + struct.pack("<i", len(block)) + block)


def test_a_model_that_does_not_check_out_gives_no_word_list(tmp_path):
    good = tmp_path / "good.lm.bin"
    good.write_bytes(_trie([b"<s>", b"</s>", b"hello", b"world"]))
    assert lm_vocabulary(good) == {"<s>", "</s>", "hello", "world"}
    cases = {
        "arpa.lm": b"\\data\\\nngram 1=2\n",  # text ARPA: not the trie format
        "wrong_count.lm.bin": _trie([b"hello", b"world"], count=3),  # the header disagrees with the list
        "cut.lm.bin": _trie([b"hello", b"world"])[:-3],  # truncated
        "empty.lm.bin": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert lm_vocabulary(tmp_path / name) is None, name
    assert lm_vocabulary(tmp_path / "missing.lm.bin") is None


def test_the_cut_dictionary_keeps_every_pronunciation_of_the_kept_words(tmp_path):
    target = tmp_path / "kiosk.dict"
    written = write_dictionary(_bundled() / "cmudict-en-us.dict", target, frozenset({"read", "receipt"}))
    heads = [line.split()[0] for line in target.read_text().splitlines()]
    assert written == len(heads) and set(heads) == {"read", "read(2)", "receipt", "receipt(2)"}


def test_the_engine_loads_about_half_the_dictionary_and_still_knows_the_shop_s_words(config):
    from kiosk.app import build_assistant, build_speech_engine

    engine = build_speech_engine(config, build_assistant(config, database=":memory:"), engine="pocketsphinx")
    loaded = engine.describe()["dictionary_entries_loaded"]
    assert loaded is not None and 70_000 < loaded < 100_000  # of 134,860 entries
    for word in (*engine.grammar.words, *engine.feedback_grammar.words):
        assert engine._decoder.lookup_word(word) is not None, word
