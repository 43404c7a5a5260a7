"""The session state machine on its own: hand-made understandings, no model, no store, no I/O."""

from __future__ import annotations

import datetime as dt

from kiosk.dialogue import session as m
from kiosk.events import ProductRef, Reply, Understanding
from kiosk.nlu.model import IntentScore
from kiosk.nlu.slots import Slots

HAMMER = ProductRef("TH-1001", "Claw Hammer")


def heard(intent, confidence=0.9, slots=Slots(), products=(), text="…", known=5, oos=0.0):
    alts = (IntentScore(intent, confidence),) if intent else ()
    return Understanding(text, intent, confidence, alts, slots, products, known_features=known, oos_confidence=oos)


def test_missing_slot_is_asked_for_then_filled_by_a_bare_answer():
    s, d = m.on_understood(m.start(), heard("order_status"))
    assert d.kind == "ask_slot" and d.slot == "order_number" and s.expecting == "order_number"
    s, d = m.on_understood(s, heard(None, 0.1, slots=Slots(order_number="2934")))
    assert d.kind == "answer" and d.intent == "order_status" and d.slots.order_number == "2934"
    assert s.state is m.State.READY


def test_failed_answers_ask_again_then_escalate():
    policy = m.Policy(max_failed_attempts=2)
    s, d = m.on_understood(m.start(), heard("order_status", slots=Slots(order_number="1")))
    s, follow = m.on_replied(s, d, Reply("not found", ok=False, retry_slot="order_number"), policy)
    assert follow is None and s.state is m.State.ASKING_SLOT
    s, d = m.on_understood(s, heard(None, slots=Slots(order_number="2")), policy)
    s, follow = m.on_replied(s, d, Reply("not found", ok=False, retry_slot="order_number"), policy)
    assert follow.kind == "escalate" and s.state is m.State.ESCALATED


def test_pronoun_follow_up_uses_the_remembered_product():
    s, d = m.on_understood(m.start(), heard("find_product", products=(HAMMER,)))
    s, _ = m.on_replied(s, d, Reply("aisle 2"))
    s, d = m.on_understood(s, heard("price_check"))
    assert d.kind == "answer" and d.product == HAMMER


def test_out_of_scope_twice_hands_over_and_says_why():
    s, d = m.on_understood(m.start(), heard(None, known=4, oos=0.9))
    assert d.kind == "reject" and d.reason == "out_of_scope"
    s, d = m.on_understood(s, heard(None, known=4, oos=0.9))
    assert d.kind == "escalate" and s.escalated


def test_offer_of_a_person_accepted_or_declined():
    s, d = m.on_understood(m.start(), heard("warranty_repair"))
    s, _ = m.on_replied(s, d, Reply("covered… shall I call someone?", offer_handoff=True))
    assert s.state is m.State.OFFERING_HANDOFF
    yes_state, yes = m.on_understood(s, heard("affirm"))
    assert yes.kind == "escalate" and yes_state.escalated
    no_state, no = m.on_understood(s, heard("deny"))
    assert no.kind == "answer" and not no_state.escalated


def test_cancel_drops_the_question_and_a_pending_handoff():
    s, _ = m.on_understood(m.start(), heard("talk_to_person"))
    assert s.escalated
    s, d = m.on_understood(s, heard("cancel"))
    assert d.kind == "cancel" and d.reason == "handoff" and not s.escalated and s.pending is None


def test_goodbye_ends_and_idle_forgets():
    s, d = m.on_understood(m.start(), heard("find_product", products=(HAMMER,)))
    s, _ = m.on_replied(s, d, Reply("aisle 2"))
    _, bye = m.on_understood(s, heard("goodbye"))
    assert bye.kind == "end"
    assert m.on_idle(s) == m.Session()


def test_transitions_are_pure():
    """Same state and input, same result: nothing hidden is read or changed."""
    start = m.start()
    u = heard("return_item", slots=Slots(date=dt.date(2026, 11, 17)))
    assert m.on_understood(start, u) == m.on_understood(start, u)
    assert start == m.start()
