"""Asking the kiosk to open its camera: "I want to scan my receipt" opens the Scan screen."""

from __future__ import annotations

import pytest

from kiosk.dialogue.commands import command_sentences, kiosk_command
from kiosk.events import ScanFacts


@pytest.mark.parametrize("said", [
    "I want to scan my receipt", "i want to scan my receipt", "Can I scan a barcode?", "scan my order slip",
    "Let me show you my receipt", "how do I scan my order", "can you read my receipt please",
    "I'd like to scan my ID", "hold my receipt up to the camera", "open the camera", "scan this",
    "Scan the QR code", "scan", "use the scanner",
])
def test_asking_to_scan_is_the_scan_command(said):
    assert kiosk_command(said) == "scan"


@pytest.mark.parametrize("said", [
    "scan my gift card", "Where do I scan my rewards card?", "I want to return a drill, I have the receipt",
    "where is my order", "how much is the claw hammer", "can you check my order status", "receipt",
    "I lost my receipt", "do you sell barcode scanners", "can you check my order", "check this price", "",
])
def test_other_requests_are_not_commands(said):
    assert kiosk_command(said) is None


def test_every_sentence_the_recogniser_expects_does_something():
    # They go into the shop's speech model; one that heard right but did nothing would waste it.
    assert [s for s in command_sentences() if kiosk_command(s) is None] == []


def test_the_command_opens_the_scan_screen_and_keeps_the_pending_question(assistant):
    asked = assistant.turn("where can I pick up my order")
    assert asked.card.get("slot") == "order_number"
    opened = assistant.turn("can I scan my order slip")
    assert opened.card == {"kind": "open_scan"} and "camera" in opened.answer
    assert opened.intent == "scan_document"
    turns = assistant.journal.session_turns(assistant.session_id)
    assert turns[-1]["intent"] == "scan_document"  # staff see what the customer asked for
    # The question the kiosk asked before is still the one the scan answers.
    result = assistant.scanned(ScanFacts("order", order_number="846078"))
    assert result.intent == "order_pickup" and result.card["number"] == "846078"


@pytest.mark.parametrize("said, command", [
    ("make the text bigger", "large_text"), ("Can you make the writing larger?", "large_text"),
    ("bigger text please", "large_text"), ("I can't read this", "large_text"), ("zoom in", "large_text"),
    ("high contrast", "high_contrast"), ("turn on high contrast mode", "high_contrast"),
    ("make it easier to see", "high_contrast"),
    ("make the text smaller", "normal_text"), ("smaller text please", "normal_text"),
    ("zoom out", "normal_text"),
    ("the text is too big", "normal_text"), ("can you put the writing back to normal", "normal_text"),
    ("turn off high contrast", "normal_contrast"), ("turn the high contrast mode off", "normal_contrast"),
    ("normal colours please", "normal_contrast"), ("no high contrast", "normal_contrast"),
])
def test_the_screen_switches_can_be_asked_for(said, command):
    assert kiosk_command(said) == command


@pytest.mark.parametrize("said", ["do you have large print books", "where are the big letters for signs",
                                  "how much is the high contrast paint", "do you have a smaller drill",
                                  "turn high contrast", "is the text on the box too small"])
def test_shop_requests_about_such_things_are_not_switches(said):
    assert kiosk_command(said) is None


def test_asking_for_bigger_text_is_answered_and_journaled(assistant):
    result = assistant.turn("make the text bigger")
    assert result.card == {"kind": "display", "setting": "large_text"} and "bigger" in result.answer
    assert result.intent == "display_setting"


def test_a_switch_turned_on_by_voice_can_be_turned_off_by_voice(assistant):
    smaller = assistant.turn("make the text smaller")
    assert smaller.card == {"kind": "display", "setting": "normal_text"} and "usual size" in smaller.answer
    plain = assistant.turn("turn off high contrast")
    assert plain.card == {"kind": "display", "setting": "normal_contrast"} and "off" in plain.answer


# -- the language -----------------------------------------------------------------------------------

@pytest.mark.parametrize("said, code", [
    ("Spanish please", "es"), ("do you speak French?", "fr"), ("¿Hablas español?", "es"),
    ("parlez-vous français", "fr"), ("sprechen Sie Deutsch", "de"), ("in English please", "en"),
    ("can I talk in Spanish", "es"), ("switch to Spanish please", "es"),
    ("change the language to Korean", "ko"),
    ("change the language", ""), ("what languages do you speak", ""), ("other languages", ""),
])
def test_a_language_can_be_asked_for(said, code):
    from kiosk.dialogue.languages import language_asked

    assert language_asked(said) == code
    assert kiosk_command(said) == "language"


@pytest.mark.parametrize("said", [
    "do you have french doors", "where is the german drill", "french drain", "do you sell spanish tiles",
    "I want to speak to someone", "speak to a person", "can you speak louder",
])
def test_shop_requests_that_name_a_language_are_not_about_the_kiosk_s(said):
    assert kiosk_command(said) != "language"


def test_a_language_without_replies_gets_a_plain_answer_and_the_way_to_a_person(assistant):
    spanish = assistant.turn("do you speak Spanish?")
    assert spanish.intent == "choose_language" and spanish.card["code"] is None
    assert "only help in English" in spanish.answer and "talk to a person" in spanish.answer
    assert "Spanish" in spanish.answer  # a team member may speak it
    english = assistant.turn("English please")
    assert english.card["code"] == "en" and "speaking English" in english.answer
    listed = assistant.turn("what languages do you speak")
    assert listed.card == {"kind": "language", "code": None, "languages": ["en"]}
    turns = assistant.journal.session_turns(assistant.session_id)
    assert [t["intent"] for t in turns] == ["choose_language"] * 3  # staff see what was asked for


def test_a_language_with_replies_is_switched_to(assistant, monkeypatch):
    import kiosk.assistant

    monkeypatch.setattr(kiosk.assistant, "available_languages", lambda: ["en", "es"])
    chosen = assistant.turn("Spanish please")
    assert chosen.card["code"] == "es" and chosen.answer == "Okay, Spanish it is."
    listed = assistant.turn("change the language")
    assert "English and Spanish" in listed.answer and listed.card["languages"] == ["en", "es"]
