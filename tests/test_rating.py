"""Rating the visit by voice: what counts as an answer to "how was your visit?" and "what stood
out?", and where it goes."""

from __future__ import annotations

import pytest

from kiosk.dialogue.rating import (
    BAD_REASONS,
    GOOD_REASONS,
    SpokenReason,
    answer_sentences,
    spoken_rating,
    spoken_reason,
)


@pytest.mark.parametrize("said, stars", [
    ("five", 5), ("Five stars!", 5), ("4", 4), ("four out of five", 4), ("I'd give it a four", 4),
    ("a three", 3), ("one star", 1), ("excellent", 5), ("it was great", 5), ("very good thanks", 4),
    ("good", 3), ("it was okay", 3), ("fair", 2), ("not good", 2), ("not bad", 3), ("poor", 1),
    ("terrible", 1),
])
def test_a_number_or_the_words_on_the_stars_is_a_rating(said, stars):
    assert spoken_rating(said).stars == stars


@pytest.mark.parametrize("said", ["no thanks", "No thank you.", "skip", "not now", "no"])
def test_declining_is_an_answer_without_stars(said):
    rating = spoken_rating(said)
    assert rating is not None and rating.skipped


@pytest.mark.parametrize("said", [
    "where are the restrooms", "great where are the drills", "ten", "two hundred", "six stars", "",
    "the hammer was good but I need a bigger one for framing",
])
def test_a_request_is_not_a_rating(said):
    assert spoken_rating(said) is None


@pytest.mark.parametrize("said, reason", [
    ("too slow", "Too slow"), ("It was too slow.", "Too slow"), ("it took too long", "Too slow"),
    ("you didn't understand me", "Didn't understand me"), ("easy to use", "Easy to use"),
    ("well it was quick thanks", "Quick answers"), ("I found what I needed", "Found what I needed"),
    ("friendly", "Friendly"), ("confusing", "Hard to use"),
    ("I couldn't find my answer", "Couldn't find my answer"),
])
def test_what_stood_out_can_be_said_in_the_screens_words_or_the_usual_ones(said, reason):
    assert spoken_reason(said).reason == reason


@pytest.mark.parametrize("said", ["no thanks", "that's all", "send it", "nothing"])
def test_declining_to_give_a_reason_is_an_answer_without_one(said):
    assert spoken_reason(said) == SpokenReason(None)


@pytest.mark.parametrize("said", ["where are the restrooms", "four stars", "slow cooker", "great", ""])
def test_a_request_or_a_rating_is_not_a_reason(said):
    assert spoken_reason(said) is None


def test_every_sentence_the_recogniser_is_told_to_expect_is_an_answer():
    sentences = answer_sentences()
    assert len(sentences) > 100
    assert all(spoken_rating(s) is not None or spoken_reason(s) is not None for s in sentences)
    said_reasons = {spoken_reason(s).reason for s in sentences if spoken_reason(s) is not None}
    assert said_reasons == {*GOOD_REASONS, *BAD_REASONS, None}  # every chip on screen can be said


def test_a_rating_the_grammar_doubted_is_taken_only_while_the_question_is_asked(assistant):
    """The Listener's choice: with the question up, the grammar's rejected "one star" beats the open
    pass's nonsense; without it, what the open pass heard stands (a real recogniser result shape)."""
    from kiosk.speech.engine import Transcript
    from kiosk.speech.listener import Listener

    heard = Transcript("will you start", 0.8, accepted=True, engine="pocketsphinx", mode="open",
                       details={"grammar_rejected": {"text": "one star", "confidence": 0.17}})
    listener = Listener(engine=None, assistant=assistant, endpointer=None)
    assert listener._answer_heard(heard) is None
    assistant.turn("goodbye")
    assistant.ask_rating(True)
    assert listener._answer_heard(heard) == "one star"
    assert listener._answer_heard(Transcript("where are the restrooms", 0.9, accepted=True,
                                             engine="pocketsphinx", mode="grammar")) is None


def _ratings(assistant):
    return assistant.journal._conn.execute("SELECT session_id, rating FROM feedback").fetchall()


def test_after_goodbye_a_spoken_rating_rates_the_visit_that_ended(assistant):
    assistant.turn("where are the restrooms")
    visit = assistant.session_id
    assert assistant.turn("goodbye").session_ended
    assistant.ask_rating(True)  # the Feedback screen is up
    result = assistant.turn("four stars")
    assert result.card == {"kind": "rating", "stars": 4}
    assert "4 out of 5" in result.answer
    assert [tuple(r) for r in _ratings(assistant)] == [(visit, 4)]
    assert assistant.session_id is None  # rating is not a new visit
    # The question was answered: "five" now is a new customer's request, not a second rating.
    again = assistant.turn("five")
    assert again.card.get("kind") != "rating" and len(_ratings(assistant)) == 1


def test_no_thanks_stores_nothing_and_a_question_is_still_answered(assistant):
    assistant.turn("hello")
    assistant.ask_rating(True)  # "Finish" opened the Feedback screen with the visit still open
    question = assistant.turn("where are the restrooms")
    assert question.card.get("kind") == "info" and _ratings(assistant) == []
    skipped = assistant.turn("no thanks")
    assert skipped.card == {"kind": "rating", "stars": None} and _ratings(assistant) == []


def test_without_the_question_on_screen_a_number_is_not_a_rating(assistant):
    assistant.turn("hello")
    result = assistant.turn("five")
    assert result.card.get("kind") != "rating" and _ratings(assistant) == []


def test_with_retention_zero_an_ended_visit_cannot_be_rated_by_voice(config, clock, tmp_path):
    from kiosk.app import build_assistant

    config = config.model_copy(update={"storage": config.storage.model_copy(update={"retention_days": 0})})
    assistant = build_assistant(config, clock=clock, database=str(tmp_path / "k.db"))
    assistant.turn("goodbye")
    assistant.ask_rating(True)
    result = assistant.turn("five")
    assert result.card.get("kind") != "rating" and _ratings(assistant) == []
    assistant.end("test_over")


def _feedback_rows(assistant):
    return [tuple(r) for r in assistant.journal._conn.execute("SELECT rating, comment FROM feedback")]


def test_after_a_spoken_rating_the_reason_can_be_said_and_goes_with_it(assistant):
    assistant.turn("where are the restrooms")
    assistant.turn("goodbye")
    assistant.ask_rating(True)
    rated = assistant.turn("two stars")
    assert rated.card == {"kind": "rating", "stars": 2} and "what stood out" in rated.answer.lower()
    assert assistant.feedback_question == "reason"  # asked at once: the screen may not have caught up
    reason = assistant.turn("it was too slow")
    assert reason.card == {"kind": "rating_reason", "stars": 2, "reason": "Too slow"}
    assert _feedback_rows(assistant) == [(2, "Too slow")]  # one rating for the visit, now with its reason
    assert assistant.feedback_question is None
    # Answered: the same words now are a request again, and nothing more is stored.
    assert assistant.turn("too slow").card.get("kind") != "rating_reason"
    assert _feedback_rows(assistant) == [(2, "Too slow")]


def test_a_tapped_rating_then_a_spoken_reason_stores_both(assistant):
    assistant.turn("goodbye")
    assistant.ask_reason(5)  # a star was tapped: the screen asks what stood out
    result = assistant.turn("no thanks")
    assert result.card == {"kind": "rating_reason", "stars": 5, "reason": None}
    assert _feedback_rows(assistant) == [(5, None)]


def test_a_visit_is_rated_once_and_a_correction_replaces_the_rating(assistant):
    assistant.turn("goodbye")
    assistant.ask_rating(True)
    assistant.turn("one star")
    assistant.feedback(2, "Too slow")  # a star and a reason tapped afterwards
    assert _feedback_rows(assistant) == [(2, "Too slow")]
    assistant.turn("hello")  # the next customer's visit gets its own rating
    assistant.feedback(5)
    assert _feedback_rows(assistant) == [(2, "Too slow"), (5, None)]
