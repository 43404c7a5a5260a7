"""The pronouncing dictionary PocketSphinx loads: only the words its language models can use."""

from __future__ import annotations

import struct

import pytest

pocketsphinx = pytest.importorskip("pocketsphinx")

from kiosk.speech.sphinx_dictionary import (  # noqa: E402
    derived_pronunciations,
    lm_vocabulary,
    write_dictionary,
)


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


def test_the_open_model_can_be_cut_to_its_most_probable_words():
    words = lm_vocabulary(_bundled() / "en-us.lm.bin", most_likely=20_000)
    assert len(words - {"<s>", "</s>"}) == 19_999  # "</s>" is itself among the most probable
    assert {"<s>", "</s>", "the", "hello", "receipt", "where"} <= words
    assert "zyuganov" not in words
    model = _bundled() / "en-us.lm.bin"
    assert lm_vocabulary(model, most_likely=10**6) == lm_vocabulary(model)


def _trie_with_unigrams(words: list[bytes], probabilities: list[float], follows: list[int]) -> bytes:
    """The trie layout up to its unigram table (after the 3-gram quantisation tables), then the
    word list; the bigram and trigram arrays in between are left out (nothing here reads them)."""
    block = b"".join(w + b"\0" for w in words)
    table = b"".join(struct.pack("<ffI", p, 0.0, n) for p, n in zip(probabilities + [0.0], follows))
    return (b"Trie Language Model" + bytes([3]) + struct.pack("<III", len(words), 10, 10)
            + struct.pack("<i", 1) + bytes(3 * 65536 * 4) + table
            + struct.pack("<i", len(block)) + block)


def test_the_most_probable_words_are_read_from_the_unigram_table(tmp_path):
    words = [b"<s>", b"</s>", b"rare", b"common", b"middling"]
    model = tmp_path / "small.lm.bin"
    model.write_bytes(_trie_with_unigrams(words, [-99.0, -1.0, -5.0, -0.5, -2.0], [0, 1, 2, 3, 4, 5]))
    assert lm_vocabulary(model, most_likely=2) == {"<s>", "</s>", "common"}
    assert lm_vocabulary(model, most_likely=3) == {"<s>", "</s>", "common", "middling"}
    # A table that does not check out (bigram indexes going backwards: not a unigram table) leaves
    # every word in rather than a wrong choice of them.
    model.write_bytes(_trie_with_unigrams(words, [-99.0, -1.0, -5.0, -0.5, -2.0], [0, 4, 2, 3, 4, 5]))
    assert lm_vocabulary(model, most_likely=2) == set(w.decode() for w in words)


def test_the_cut_dictionary_keeps_every_pronunciation_of_the_kept_words(tmp_path):
    target = tmp_path / "kiosk.dict"
    written = write_dictionary(_bundled() / "cmudict-en-us.dict", target, frozenset({"read", "receipt"}))
    heads = [line.split()[0] for line in target.read_text().splitlines()]
    assert written == len(heads) and set(heads) == {"read", "read(2)", "receipt", "receipt(2)"}


def test_the_engine_loads_the_open_model_s_likely_words_and_every_word_of_the_shop(config):
    from kiosk.app import build_assistant, build_speech_engine

    assistant = build_assistant(config, database=":memory:")
    engine = build_speech_engine(config, assistant, engine="pocketsphinx")
    loaded = engine.describe()["dictionary_entries_loaded"]
    assert loaded is not None and 20_000 < loaded < 30_000  # of 134,860 entries
    for word in (*engine.grammar.words, *engine.feedback_grammar.words):
        assert engine._decoder.lookup_word(word) is not None, word
    assert engine._decoder.lookup_word("zyuganov") is None  # the open model knows it; it is rare

    everything = config.model_copy(update={"speech": config.speech.model_copy(update={"open_words": 0})})
    engine = build_speech_engine(everything, assistant, engine="pocketsphinx")
    assert 70_000 < engine.describe()["dictionary_entries_loaded"] < 100_000
    assert engine._decoder.lookup_word("zyuganov") is not None


def test_shop_words_missing_from_the_dictionary_are_pronounced_from_its_entries():
    source = _bundled() / "cmudict-en-us.dict"
    common = lm_vocabulary(_bundled() / "en-us.lm.bin", most_likely=20_000)
    shop = ["barcode", "giftcard", "motorhome", "litre", "tills", "plumber's", "washrooms", "dont", "wheres",
            "feedback", "fedback", "kwikset", "receipt"]
    derived = derived_pronunciations(shop, source, common=common)
    assert derived["barcode"] == "B AA R K OW D"  # "bar" + "code": cmudict has no "barcode"
    assert derived["giftcard"] == "G IH F T K AA R D"
    assert derived["motorhome"] == "M OW T ER HH OW M"  # common words, not "moto" + "rhome"
    assert derived["litre"] == "L IY T ER"  # spelt "liter" in cmudict
    assert derived["tills"] == "T IH L Z"
    assert derived["plumber's"] == "P L AH M ER Z"
    assert derived["washrooms"] == "W AA SH R UW M Z"
    # Known words need nothing. Typos stay out, as typos: of another shop word, or a contraction
    # typed without its apostrophe (a transcript would show "dont"). So does a brand name with no
    # common parts.
    assert {"feedback", "receipt", "fedback", "dont", "wheres", "kwikset"}.isdisjoint(derived)


def test_derived_words_are_written_after_the_kept_entries(tmp_path):
    target = tmp_path / "kiosk.dict"
    written = write_dictionary(_bundled() / "cmudict-en-us.dict", target, frozenset({"code", "barcode"}),
                               extra={"barcode": "B AA R K OW D", "unused": "AH"})
    assert target.read_text().splitlines() == ["code K OW D", "barcode B AA R K OW D"] and written == 2
