"""Hostile or broken input: every one gets a sensible answer, nothing crashes, nothing is lost."""

from __future__ import annotations

import pytest

BAD_INPUTS = {
    "empty": "",
    "whitespace": "   \n\t ",
    "huge": "where are the light bulbs " * 4000,  # 100,000 characters
    "binary": bytes(range(256)).decode("latin-1") * 40,
    "nul_bytes": "price\x00 of\x00 hammer\x00",
    "emoji_only": "🙂🛒🔨🙂",
    "other_language": "¿Dónde están los baños, por favor?",
    "cjk": "洗手间在哪里",
    "sql_in_product": "how much is the '; DROP TABLE products; -- hammer",
    "sql_robert": "Robert'); DROP TABLE turns;--",
    "lone_surrogate": "where is \ud800 the paint",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_an_answer_and_is_recorded(assistant, name):
    result = assistant.turn(BAD_INPUTS[name])
    assert result.answer.strip()
    assert len(result.text) <= 2000  # bounded, whatever came in
    turns = assistant.journal.session_turns(result.session_id)
    assert turns[-1]["answer"] == result.answer
    # The store data and the journal still work afterwards.
    follow = assistant.turn("how much is the claw hammer")
    assert follow.intent == "price_check" and "$" in follow.answer


def test_empty_input_is_not_a_failed_attempt(assistant):
    for _ in range(3):
        result = assistant.turn("")
        assert "couldn't read that" in result.answer and result.escalation is None


def test_gibberish_and_emoji_are_told_to_use_words(assistant):
    assert "in words" in assistant.turn("🙂🛒🔨🙂").answer


@pytest.mark.parametrize("text", ["c", "x", "?", "q!"])
def test_a_single_letter_is_no_request(assistant, text):
    # What a recogniser makes of a cough or a burst of noise: never answered as a shop request.
    result = assistant.turn(text)
    assert result.intent is None and "in words" in result.answer


def test_sql_in_a_product_name_finds_nothing_and_breaks_nothing(assistant):
    assistant.turn("how much is '; DROP TABLE products; --")
    assert len(assistant.answerer.catalog) >= 300
    assert assistant.turn("what's the price of the claw hammer").card["kind"] == "product"


def test_another_language_is_answered_politely(assistant):
    result = assistant.turn(BAD_INPUTS["other_language"])
    assert result.outcome.value == "rejected" and "Sorry" in result.answer
