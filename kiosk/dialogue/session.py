"""The customer session as a pure state machine: no I/O, no clock, no store data.

`on_understood` turns an utterance's understanding into a Decision; the caller carries it out
(looks things up, answers) and reports back with `on_replied`, which may turn a failed answer
into another question or a hand-off. Everything the session remembers lives in `Session`, a
frozen value, so every transition can be tested (and replayed) on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from kiosk.events import Decision, ProductRef, Reply, Understanding
from kiosk.nlu.slots import Slots


class State(str, Enum):
    IDLE = "idle"  # no customer session
    READY = "ready"  # listening for a request
    CLARIFYING = "clarifying"  # asked "A or B?"
    ASKING_SLOT = "asking_slot"  # asked for an order number, a product, a date
    OFFERING_HANDOFF = "offering_handoff"  # asked "shall I call a team member?"
    ESCALATED = "escalated"  # a team member has been called


# Intents whose answer is about one product, and which slot each one cannot do without.
PRODUCT_INTENTS = frozenset({"find_product", "price_check", "stock_check"})
REQUIRED_SLOT = {
    "find_product": "product",
    "price_check": "product",
    "stock_check": "product",
    "order_status": "order_number",
    "order_pickup": "order_number",
    "return_item": "date",
}
CONVERSATIONAL = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "repeat", "cancel", "help"})
ESCALATING = {"talk_to_person": "customer_request", "complaint": "complaint"}
# Intent pairs that give the same answer once the place is known: no need to ask which.
_SAME_ANSWER_WITH_A_PLACE = frozenset({"find_department", "store_services"})
# Replies to "which one?" that pick by position.
# Bare "one"/"two" are left out on purpose: "no, the wrong one" must not pick the first.
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "other": 1, "third": 2, "3rd": 2, "last": -1}
_ORDINAL_WORDS = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\b")


@dataclass(frozen=True)
class Policy:
    clarify_margin: float = 0.12
    max_failed_attempts: int = 2


@dataclass(frozen=True)
class Session:
    state: State = State.IDLE
    product: ProductRef | None = None  # what "it" and "they" refer to
    order_number: str | None = None
    purchase_date_iso: str | None = None
    last_intent: str | None = None
    last_reply: str | None = None
    pending: Decision | None = None  # the decision waiting for a slot or a clarification
    options: tuple[str, ...] = ()  # intents offered while clarifying
    candidates: tuple[ProductRef, ...] = ()  # products offered while asking which one
    referents: tuple[ProductRef, ...] = ()  # products the last answer listed: what "they" means
    failures: int = 0
    escalated: bool = False
    turns: int = 0

    @property
    def expecting(self) -> str | None:
        """The slot the kiosk has just asked for, so slot extraction can accept a bare answer."""
        if self.state is State.ASKING_SLOT and self.pending is not None:
            return self.pending.slot
        return None


def start() -> Session:
    return Session(state=State.READY)


def _pick_ordinal(text: str, items: tuple) -> object | None:
    match = _ORDINAL_WORDS.search(text.lower())
    if not match or not items:
        return None
    index = _ORDINALS[match.group(1)]
    return items[index] if -len(items) <= index < len(items) else None


def _merge_slots(base: Slots, new: Slots) -> Slots:
    """Slots heard now win; slots heard earlier in the same request fill the gaps."""
    values = {k: getattr(new, k) if getattr(new, k) is not None else getattr(base, k)
              for k in base.__dataclass_fields__}
    return Slots(**values)


def _with_context(session: Session, decision: Decision) -> Decision:
    """Fill what the customer left implicit from earlier turns ("how much is it?")."""
    slots = decision.slots
    if slots.order_number is None and session.order_number and decision.intent in ("order_status", "order_pickup", "refund_status"):
        slots = replace(slots, order_number=session.order_number)
    product, candidates = decision.product, decision.candidates
    if product is None and decision.intent in PRODUCT_INTENTS | {"return_item", "exchange_item", "warranty_repair"}:
        if not slots.ean and not candidates:
            if session.product is not None:
                product = session.product
            elif decision.intent in PRODUCT_INTENTS:
                candidates = session.referents
    return replace(decision, slots=slots, product=product, candidates=candidates)


def _missing_slot(decision: Decision) -> str | None:
    need = REQUIRED_SLOT.get(decision.intent or "")
    if need == "product":
        # Price, place and stock of a few close matches are all answered at once ("they").
        has = (decision.product is not None or decision.slots.ean or decision.slots.invalid_ean
               or decision.candidates)
        return None if has else "product"
    if need == "order_number":
        return None if decision.slots.order_number else "order_number"
    if need == "date":
        return None if decision.slots.date else "date"
    return None


def _request(u: Understanding, intent: str) -> Decision:
    products = u.products
    product, candidates = None, ()
    if len(products) == 1:
        product = products[0]
    elif len(products) > 1:
        candidates = products
    return Decision("answer", intent=intent, product=product, candidates=candidates,
                    slots=u.slots, department=u.department, service=u.service, weekday=u.weekday)


def _fail(session: Session, policy: Policy, reason: str) -> tuple[Session, Decision]:
    failures = session.failures + 1
    if failures >= policy.max_failed_attempts:
        return (replace(session, state=State.ESCALATED, failures=0, escalated=True, pending=None),
                Decision("escalate", reason=reason))
    return replace(session, failures=failures, state=State.READY, pending=None), Decision("reject", reason=reason)


def _settle(session: Session, decision: Decision, policy: Policy) -> tuple[Session, Decision]:
    """Decide between answering now and asking for what is missing."""
    decision = _with_context(session, decision)
    if decision.intent in ESCALATING:
        return (replace(session, state=State.ESCALATED, escalated=True, pending=None, failures=0),
                replace(decision, kind="escalate", reason=ESCALATING[decision.intent]))
    missing = _missing_slot(decision)
    if missing:
        asked = replace(decision, kind="ask_slot", slot=missing)
        return (replace(session, state=State.ASKING_SLOT, pending=asked,
                        candidates=decision.candidates), asked)
    return replace(session, state=State.READY, pending=None, candidates=(), options=()), decision


def _conversational(session: Session, intent: str) -> tuple[Session, Decision] | None:
    if intent == "goodbye":
        return replace(session, state=State.IDLE), Decision("end", intent=intent)
    if intent == "cancel":
        # Cancel drops the question in progress (and a pending hand-off) but keeps the customer.
        return (replace(session, state=State.READY, pending=None, options=(), candidates=(),
                        escalated=False, failures=0),
                Decision("cancel", intent=intent, reason="handoff" if session.escalated else None))
    if intent == "repeat":
        return session, Decision("repeat", intent=intent)
    if session.state is State.OFFERING_HANDOFF and intent in ("affirm", "deny"):
        if intent == "affirm":
            return (replace(session, state=State.ESCALATED, escalated=True, pending=None),
                    Decision("escalate", intent=intent, reason="customer_accepted_offer"))
        return replace(session, state=State.READY), Decision("answer", intent="deny")
    if intent == "deny" and session.state in (State.ASKING_SLOT, State.CLARIFYING):
        return (replace(session, state=State.READY, pending=None, options=(), candidates=()),
                Decision("answer", intent="deny"))
    if intent in ("greet", "thanks", "help", "affirm", "deny"):
        return replace(session, state=State.ESCALATED if session.escalated else State.READY,
                       pending=None), Decision("answer", intent=intent)
    return None


def on_understood(session: Session, u: Understanding, policy: Policy = Policy()) -> tuple[Session, Decision]:
    session = replace(session, turns=session.turns + 1)
    if session.state is State.IDLE:
        session = replace(start(), turns=session.turns)

    # A bare answer to the question the kiosk just asked ("no" and "never mind" drop it).
    if session.state is State.ASKING_SLOT and session.pending is not None and u.intent not in ("deny", "cancel"):
        resolved = _resolve_pending(session, u)
        if resolved is not None:
            return _settle(session, resolved, policy)
    if session.state is State.CLARIFYING:
        chosen = _resolve_clarification(session, u)
        if chosen is not None:
            return _settle(replace(session, options=()), replace(session.pending, intent=chosen), policy)

    intent = u.intent
    # A fragment naming a product right after a product question continues it ("and the hammer?").
    if u.products and session.last_intent in PRODUCT_INTENTS and (intent is None or u.confidence < 0.5):
        intent = session.last_intent
    if intent is None:
        if u.slots.ean or u.slots.invalid_ean:
            intent = "price_check"  # a barcode on its own is a price check
        elif session.state is State.ASKING_SLOT and session.pending is not None:
            return _fail_question(session, policy)
        else:
            reason = ("no_words" if not u.known_features else
                      "out_of_scope" if u.oos_confidence >= 0.5 else "not_understood")
            return _fail(session, policy, reason)
    if intent in CONVERSATIONAL:
        handled = _conversational(session, intent)
        if handled is not None:
            return handled

    # Two intents nearly tied: ask rather than guess.
    alts = [a for a in u.alternatives if a.intent not in CONVERSATIONAL]
    place_settles_it = ({a.intent for a in alts[:2]} <= _SAME_ANSWER_WITH_A_PLACE
                        and (u.department or u.service))
    if (len(alts) >= 2 and intent == alts[0].intent and intent != session.last_intent
            and alts[0].confidence - alts[1].confidence < policy.clarify_margin and not place_settles_it):
        options = (alts[0].intent, alts[1].intent)
        pending = _request(u, intent)
        return (replace(session, state=State.CLARIFYING, options=options, pending=pending),
                Decision("clarify", intent=intent, options=options))

    return _settle(replace(session, failures=0), _request(u, intent), policy)


def _fail_question(session: Session, policy: Policy) -> tuple[Session, Decision]:
    """The customer's reply did not answer the kiosk's question: ask again, then hand over."""
    failures = session.failures + 1
    if failures >= policy.max_failed_attempts:
        return (replace(session, state=State.ESCALATED, escalated=True, failures=0, pending=None),
                Decision("escalate", intent=session.pending.intent, reason="slot_not_understood"))
    return replace(session, failures=failures), session.pending


def _resolve_pending(session: Session, u: Understanding) -> Decision | None:
    """Fill the pending request's missing slot from this utterance, if it supplies it."""
    pending = session.pending
    assert pending is not None
    # A clearly different request (not just the missing detail) is handled as new.
    if u.intent and u.intent not in CONVERSATIONAL and u.intent != pending.intent and u.confidence >= 0.6:
        if not (pending.slot == "order_number" and u.slots.order_number) and not (
                pending.slot in ("product", "product_choice") and (u.products or u.slots.ean)
                and u.intent in PRODUCT_INTENTS):
            return None
    slots = _merge_slots(pending.slots, u.slots)
    if pending.slot == "order_number" and u.slots.order_number:
        return replace(pending, kind="answer", slots=slots)
    if pending.slot == "date" and u.slots.date:
        product = pending.product or (u.products[0] if u.products else None)
        return replace(pending, kind="answer", slots=slots, product=product)
    if pending.slot == "product_choice":
        pick = _pick_ordinal(u.text, session.candidates)
        if pick is None:
            skus = {c.sku for c in session.candidates}
            pick = next((p for p in u.products if p.sku in skus), None)
        if pick is None and len(u.products) == 1:
            pick = u.products[0]
        if pick is not None:
            return replace(pending, kind="answer", product=pick, candidates=(), slots=slots)
    if pending.slot == "product" and (u.products or u.slots.ean):
        return replace(pending, kind="answer", slots=slots,
                       product=u.products[0] if len(u.products) == 1 else None,
                       candidates=u.products if len(u.products) > 1 else ())
    return None


def _resolve_clarification(session: Session, u: Understanding) -> str | None:
    options = session.options
    if u.intent == "affirm":
        return options[0]
    picked = _pick_ordinal(u.text, options)
    if picked is not None:
        return str(picked)
    # Which of the offered intents does the reply lean to? ("the price" → price_check)
    scores = {o: u.probability(o) for o in options}
    best = max(options, key=lambda o: scores[o])
    if scores[best] > 0 and (u.intent in options or u.intent is None or u.confidence < 0.5):
        return best
    return None


def on_replied(session: Session, decision: Decision, reply: Reply, policy: Policy = Policy()) -> tuple[Session, Decision | None]:
    """Record what was answered; a failed answer asks again, and fails over to staff."""
    remembered = replace(session, last_reply=reply.text,
                         last_intent=decision.intent if decision.kind in ("answer", "ask_slot") else session.last_intent)
    if decision.product is not None:
        remembered = replace(remembered, product=decision.product, referents=())
    elif decision.candidates and decision.kind == "answer":
        remembered = replace(remembered, product=None, referents=decision.candidates)
    if decision.slots.order_number:
        remembered = replace(remembered, order_number=decision.slots.order_number)
    if decision.slots.date:
        remembered = replace(remembered, purchase_date_iso=decision.slots.date.isoformat())
    if reply.ok:
        if reply.offer_handoff:
            remembered = replace(remembered, state=State.OFFERING_HANDOFF)
        return remembered, None
    failures = session.failures + 1
    if failures >= policy.max_failed_attempts:
        return (replace(remembered, state=State.ESCALATED, escalated=True, failures=0, pending=None),
                Decision("escalate", intent=decision.intent, reason="answer_failed"))
    if reply.retry_slot:
        cleared = replace(decision.slots, **{reply.retry_slot: None}) if hasattr(decision.slots, reply.retry_slot) else decision.slots
        asked = replace(decision, kind="ask_slot", slot=reply.retry_slot, slots=cleared,
                        product=None if reply.retry_slot == "product" else decision.product)
        return replace(remembered, state=State.ASKING_SLOT, pending=asked, failures=failures), None
    return replace(remembered, failures=failures), None


def on_idle(session: Session) -> Session:
    """Idle timeout: forget everything about the customer."""
    return Session()
