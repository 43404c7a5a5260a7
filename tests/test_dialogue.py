"""Multi-turn conversations through the real text core: model, store data, SQLite journal."""

from __future__ import annotations

import yaml
from conftest import DATA


def say(assistant, *texts):
    return [assistant.turn(t) for t in texts]


def test_product_then_price_then_aisle_uses_context(assistant):
    found, price, aisle = say(assistant, "where can I find the claw hammer",
                              "how much is it", "and which aisle is it in again")
    assert found.intent == "find_product" and "aisle" in found.answer
    name = found.card["name"]
    assert price.intent == "price_check" and name in price.answer and "$" in price.answer
    assert aisle.intent == "find_product" and f"aisle {found.card['aisle']}" in aisle.answer


def test_several_matching_products_are_all_answered_and_become_they(assistant):
    first, second = say(assistant, "how much is a cordless drill", "where are they")
    assert first.card["kind"] == "products" and len(first.card["items"]) >= 2
    assert all(item["price"] in first.answer for item in first.card["items"])
    assert second.intent == "find_product" and second.card["kind"] == "products"
    assert {i["sku"] for i in second.card["items"]} == {i["sku"] for i in first.card["items"]}


def test_order_status_with_number_in_second_turn(assistant):
    ask, answer = say(assistant, "where's my online order", "two nine three four")
    assert ask.outcome.value == "ask_slot" and "order number" in ask.answer
    assert answer.intent == "order_status" and answer.slots["order_number"] == "2934"
    assert "2934" in answer.answer and "Collect Point" in answer.answer


def test_unknown_order_number_is_asked_again_then_handed_over(assistant):
    first, second = say(assistant, "what's the status of order 55555", "it's 55556")
    assert "couldn't find order 55555" in first.answer and first.escalation is None
    assert second.outcome.value == "escalated" and second.escalation["status"] == "open"


def test_return_within_window_by_date(assistant):
    r = assistant.turn("I bought a claw hammer last tuesday and want to return it")
    assert r.intent == "return_item"
    assert r.card["eligible"] is True and r.card["purchase_date"] == "2026-11-17"
    assert "6 days ago" in r.answer


def test_return_past_window_offers_a_person(assistant):
    first, second = say(assistant, "can I return something I bought on march 3rd", "yes please")
    assert first.card["eligible"] is False and "past our" in first.answer
    assert "team member" in first.answer
    assert second.outcome.value == "escalated" and second.escalation["reason"] == "customer_accepted_offer"


def test_return_date_asked_for_when_missing(assistant):
    ask, answer = say(assistant, "I want to return a toaster", "I bought it yesterday")
    assert ask.outcome.value == "ask_slot" and "When did you buy it" in ask.answer
    assert answer.card["eligible"] is True and answer.card["purchase_date"] == "2026-11-22"
    # Small electricals have the shorter window.
    assert answer.card["window_days"] == assistant.answerer.profile.policies.return_window_days_electrical


def test_talk_to_person_escalates_with_a_durable_ticket(assistant):
    r = assistant.turn("can I speak to a member of staff please")
    assert r.outcome.value == "escalated"
    ticket = assistant.journal.get_escalation(r.escalation["id"])
    assert ticket.status == "open" and ticket.number in r.answer
    assert ticket.context["reason"] == "customer_request"


def test_two_failed_attempts_escalate(assistant):
    first, second = say(assistant, "will it rain this afternoon", "who won the football last night")
    assert first.outcome.value == "rejected" and first.escalation is None
    assert second.outcome.value == "escalated" and second.escalation is not None


def test_clarifies_when_two_intents_are_close(assistant):
    from kiosk.dialogue import session as machine
    from kiosk.events import Understanding
    from kiosk.nlu.model import IntentScore
    from kiosk.nlu.slots import Slots

    u = Understanding("x", "price_check", 0.41, (IntentScore("price_check", 0.41), IntentScore("stock_check", 0.38)), Slots())
    state, decision = machine.on_understood(machine.start(), u)
    assert decision.kind == "clarify" and decision.options == ("price_check", "stock_check")
    reply = assistant.answerer.reply(decision)
    assert reply.text == "Do you want to know about the price, or whether it's in stock?"
    pick = Understanding("the second", None, 0.2, (), Slots())
    state, decision = machine.on_understood(state, pick)
    assert decision.intent == "stock_check"


def test_goodbye_and_idle_reset_the_session(assistant, clock):
    first = assistant.turn("how much is the claw hammer")
    bye = assistant.turn("bye")
    assert bye.session_ended and assistant.session_id is None
    again = assistant.turn("how much is it")
    assert again.session_id != first.session_id and again.outcome.value == "ask_slot"
    assistant.idle()
    assert assistant.session_id is None and assistant.session.product is None


def test_repeat_and_cancel(assistant):
    hours, repeat = say(assistant, "what time do you close today", "sorry, say that again?")
    assert repeat.answer == hours.answer
    ask, cancel = say(assistant, "I need to return something", "never mind")
    assert ask.outcome.value == "ask_slot" and cancel.intent == "cancel"
    assert assistant.session.pending is None


def test_hours_with_holiday_override(assistant):
    r = assistant.turn("are you open on thanksgiving")
    assert r.intent == "store_hours" and "closed" in r.answer.lower()
    assert r.card["holiday"]


def test_every_turn_is_recorded(assistant):
    say(assistant, "hello", "where are the restrooms")
    turns = assistant.journal.session_turns(assistant.session_id)
    assert [t["intent"] for t in turns] == ["greet", "restrooms"]
    assert all(t["answer"] and t["latency_ms"] >= 0 for t in turns)


def _dialogues():
    return yaml.safe_load((DATA / "dialogues_en.yaml").read_text())["dialogues"]


def test_independent_dialogues_follow_the_conversation(assistant):
    """Multi-turn conversations written apart from the training data; ≥ 90% of turns right."""
    right = total = 0
    wrong = []
    for dialogue in _dialogues():
        assistant.begin()
        for turn in dialogue["turns"]:
            result = assistant.turn(turn["text"])
            total += 1
            if result.intent == turn["intent"]:
                right += 1
            else:
                wrong.append((dialogue["name"], turn["text"], turn["intent"], result.intent))
    assert right / total >= 0.9, wrong


def test_hours_on_a_weekday_in_general_give_the_usual_hours(assistant):
    r = assistant.turn("what time do you open on sundays")
    usual = assistant.answerer.profile.hours["sunday"]
    assert r.card["weekday"] == "Sunday" and r.card["open"] == usual.open.strftime("%H:%M")
    assert r.answer.startswith("On Sundays we're usually open from")


def test_hours_on_a_named_day_use_that_date(assistant):
    r = assistant.turn("are you open tomorrow")
    assert r.card["day"] == "2026-11-24" and "Tuesday, November 24" in r.answer


def test_a_named_place_is_answered_without_asking_which_kind(assistant):
    r = assistant.turn("where's the timber yard")
    assert r.outcome.value == "answered" and "Timber Yard" in r.answer


def test_where_is_the_thing_finds_the_product_or_the_place_it_names(assistant):
    cases = {  # phrasings not in the training data
        "where is the garden hose": ("find_product", "Garden Hose"),
        "where's the drill": ("find_product", "Drill"),
        "where is the toilet seat": ("find_product", "Toilet Seat"),  # a product, not the restrooms
        "excuse me where is the kettle": ("find_product", "Kettle"),
        "where is the lumber": ("store_services", "Timber cutting"),  # the catalogue: "plumbers tape"?
        "where is the key cutting": ("store_services", "Key cutting"),
        "where is the exit": ("store_services", "Entrance and exit"),  # asked "which product?" before
        "where's the entrance": ("store_services", "Entrance and exit"),  # listed the departments
        "where is the customer service desk": ("store_services", "Customer Service desk"),  # not understood
        "where's the service desk": ("store_services", "Customer Service desk"),  # read as a complaint
        "how do I get to the customer service desk": ("store_services", "Customer Service desk"),  # ditto
        "how do I find the way out": ("store_services", "Entrance and exit"),
        "how do I get to the help desk": ("store_services", "Customer Service desk"),  # read as "help"
        "how do I get to the garden centre": ("find_department", "Garden"),
        "how do I get out": ("store_services", "Entrance and exit"),  # not understood before
        "how do I leave the store": ("store_services", "Entrance and exit"),  # ditto
    }
    for text, (intent, named) in cases.items():
        r = assistant.turn(text)
        assistant.end("next customer")
        assert (r.intent, r.outcome.value) == (intent, "answered"), (text, r)
        assert named.lower() in r.answer.lower(), (text, r.answer)


def test_leaving_in_other_senses_is_not_the_way_out(assistant):
    for text in ("how do I leave a review", "I need to get out the receipt"):
        r = assistant.turn(text)
        assistant.end("next customer")
        assert r.intent != "store_services" and "entrance and exit" not in r.answer.lower(), (text, r)


def test_a_request_that_begins_with_a_greeting_is_answered(assistant):
    cases = {  # the model reads these as a bare "hello" and would only greet back
        "hi, how much is the cordless drill": ("price_check", "$"),
        "hello do you have any paint": ("stock_check", "paint"),
        "good morning, what time do you close today": ("store_hours", "8 pm"),
    }
    for text, (intent, shown) in cases.items():
        r = assistant.turn(text)
        assistant.end("next customer")
        assert r.intent == intent and shown.lower() in r.answer.lower(), (text, r)
    for greeting in ("hi there", "hello", "good morning all", "hi kiosk"):  # a greeting alone stays one
        r = assistant.turn(greeting)
        assistant.end("next customer")
        assert r.intent == "greet", (greeting, r)


def test_every_product_in_the_catalogue_can_be_found_by_asking_where_it_is(assistant):
    """"Where is the <one thing>?" for each product, by the name customers use for it (the last alias
    in catalog.csv), in four everyday forms; none of these sentences is in the training data."""
    import csv
    import re

    from conftest import ROOT

    from kiosk.nlu.data import load_dataset

    def norm(text):
        return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()

    training = {norm(e.text) for e in load_dataset(ROOT / "assets" / "intents" / "en").examples}
    rows = csv.DictReader((ROOT / "assets" / "store" / "demo" / "catalog.csv").open())
    things = sorted({r["aliases"].split("|")[-1].strip() for r in rows if r["aliases"].strip()})
    forms = ("where is the {}", "where's the {}", "where is the {} please", "excuse me where is the {}")
    asked = [forms[i % len(forms)].format(t) for i, t in enumerate(things)]
    asked = [a for a in asked if norm(a) not in training]
    located, rejected = [], []
    for text in asked:
        r = assistant.turn(text)
        assistant.end("next customer")
        where = r.intent in ("find_product", "find_department", "store_services")
        if r.outcome.value == "answered" and where:
            located.append(text)
        elif r.outcome.value == "rejected":
            rejected.append(text)
    assert len(asked) >= 300
    # The model before "where is the <thing>" was trained found the product for 40 of 369, rejected 232.
    assert len(located) >= 0.9 * len(asked) and len(rejected) <= 0.05 * len(asked), (len(located), rejected)


def test_retention_forgets_old_conversations_but_keeps_open_tickets(config, clock, tmp_path):
    from kiosk.app import build_assistant

    a = build_assistant(config, clock=clock, database=str(tmp_path / "k.db"))
    quiet = a.turn("where are the restrooms").session_id
    a.end("goodbye")
    helped = a.turn("I'd like to talk to a person").session_id
    a.end("goodbye")
    clock.advance(days=config.storage.retention_days + 1)
    a.begin()  # a new customer: expired sessions are purged
    assert a.journal.session_turns(quiet) == []
    assert a.journal.session_turns(helped)  # its ticket is still open for staff
    assert a.journal.list_escalations(status="open")


def test_zero_retention_forgets_at_goodbye(config, clock, tmp_path):
    from kiosk.app import build_assistant

    config = config.model_copy(update={"storage": config.storage.model_copy(update={"retention_days": 0})})
    a = build_assistant(config, clock=clock, database=str(tmp_path / "k.db"))
    session = a.turn("how much is the claw hammer").session_id
    a.turn("bye")
    assert a.journal.session_turns(session) == []


def test_which_one_question_names_the_products_so_the_screen_can_offer_them(assistant):
    from kiosk.events import Decision, ProductRef

    catalog = assistant.answerer.catalog
    candidates = tuple(ProductRef(p.sku, p.name) for p in (catalog.by_sku("TH-1001"), catalog.by_sku("TH-1002")))
    reply = assistant.answerer.reply(Decision("ask_slot", intent="price_check", slot="product_choice",
                                              candidates=candidates))
    assert reply.card["kind"] == "choice"
    assert [p["name"] for p in reply.card["products"]] == ["Stanley 16 oz Claw Hammer", "Estwing 20 oz Rip Hammer"]
    assert all(p["name"] in reply.text for p in reply.card["products"])
