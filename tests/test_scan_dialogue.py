"""What the customer shows the camera drives the same conversation as what they say."""

from __future__ import annotations

import datetime as dt

from kiosk.events import ScanFacts


def test_scanned_product_barcode_answers_its_price(assistant):
    result = assistant.scanned(ScanFacts("product", gtin="0025175616535"))
    assert result.intent == "price_check"
    assert "Stanley 16 oz Claw Hammer" in result.answer and "$14.98" in result.answer
    assert result.card["kind"] == "product" and result.card["sku"] == "TH-1001"


def test_unknown_and_invalid_barcodes_say_so(assistant):
    unknown = assistant.scanned(ScanFacts("product", gtin="4006381333931"))
    assert "4006381333931" in unknown.answer and unknown.card.get("kind") != "product"
    bad = assistant.scanned(ScanFacts("product", invalid_gtin="0025175616536"))
    assert "doesn't look right" in bad.answer


def test_scanned_order_code_gives_the_order_status(assistant):
    result = assistant.scanned(ScanFacts("order", order_number="846078"))
    assert result.intent == "order_status"
    assert result.card["kind"] == "order" and result.card["number"] == "846078"


def test_order_code_answers_the_question_the_kiosk_just_asked(assistant):
    asked = assistant.turn("where can I pick up my order")
    assert asked.card.get("slot") == "order_number"
    result = assistant.scanned(ScanFacts("order", order_number="846078"))
    assert result.intent == "order_pickup" and result.card["number"] == "846078"


def test_barcode_answers_which_product_for_a_stock_question(assistant):
    asked = assistant.turn("do you have it in stock")
    assert asked.card.get("slot") == "product"
    result = assistant.scanned(ScanFacts("product", gtin="0016609953616"))
    assert result.intent == "stock_check"
    assert "Estwing" in result.answer and "86" in result.answer


def test_receipt_starts_a_return_with_its_date_and_total(assistant):
    facts = ScanFacts("receipt", purchase_date=dt.date(2026, 11, 10), total="42.97",
                      receipt_number="R-1187", store_name="Harbor Lane Hardware")
    result = assistant.scanned(facts)
    assert result.intent == "return_item"
    assert result.card["kind"] == "return" and result.card["purchase_date"] == "2026-11-10"
    assert result.card["eligible"] is True
    assert result.card["receipt"] == {"number": "R-1187", "total": "42.97", "store": "Harbor Lane Hardware"}
    assert "November 10" in result.answer


def test_receipt_without_a_date_asks_for_it(assistant):
    result = assistant.scanned(ScanFacts("receipt", total="9.99"))
    assert result.card.get("slot") == "date"


def test_id_document_is_checked_and_nothing_personal_is_journaled(assistant):
    facts = ScanFacts("id_document", id_valid=True, id_expiry=dt.date(2031, 5, 2), id_given_name="Anna",
                      id_adult=True)
    result = assistant.scanned(facts)
    assert "valid until May 2, 2031" in result.answer
    assert result.card["valid"] is True and result.card["expired"] is False
    assert result.card["given_name"] == "Anna"  # on the screen only
    turns = assistant.journal.session_turns(assistant.session_id)
    assert turns[-1]["text"] == "[scan] ID document (valid)"
    assert "Anna" not in str(turns[-1])


def test_expired_id_says_when_it_expired(assistant):
    result = assistant.scanned(ScanFacts("id_document", id_valid=True, id_expiry=dt.date(2024, 1, 31)))
    assert "expired on January 31, 2024" in result.answer and result.card["expired"] is True


def test_unreadable_id_asks_again_then_calls_staff(assistant):
    first = assistant.scanned(ScanFacts("id_document", id_valid=False))
    assert "couldn't read" in first.answer and first.escalation is None
    second = assistant.scanned(ScanFacts("id_document", id_valid=False))
    assert second.escalation is not None and second.outcome.value == "escalated"


def test_foreign_qr_code_is_not_acted_on(assistant):
    result = assistant.scanned(ScanFacts("code", text="https://evil.example/pay"))
    assert "isn't one of ours" in result.answer
    assert result.card == {"kind": "scan", "text": "https://evil.example/pay"}


def test_rating_after_goodbye_is_stored_with_the_visit_that_ended(assistant):
    """The Feedback screen follows a spoken goodbye, which has already closed the session."""
    assistant.turn("where are the restrooms")
    session = assistant.session_id
    bye = assistant.turn("goodbye")
    assert bye.session_ended and assistant.session_id is None
    assistant.feedback(5, "quick")
    rows = assistant.journal._conn.execute("SELECT session_id, rating, comment FROM feedback").fetchall()
    assert [tuple(r) for r in rows] == [(session, 5, "quick")]


def test_with_retention_zero_an_ended_visit_cannot_be_rated(config, clock, tmp_path):
    """Retention 0 forgets the visit when it ends: there is nothing left to attach a rating to."""
    import pytest

    from kiosk.app import build_assistant

    forgetful = config.model_copy(update={"storage": config.storage.model_copy(update={"retention_days": 0})})
    assistant = build_assistant(forgetful, clock=clock, database=str(tmp_path / "k.db"))
    assistant.turn("where are the restrooms")
    assert assistant.turn("goodbye").session_ended
    with pytest.raises(RuntimeError, match="no customer session"):
        assistant.feedback(4)
