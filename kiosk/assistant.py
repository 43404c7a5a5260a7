"""The text core: a customer's words in, an answer (or a hand-off to staff) out, every turn recorded.

The Assistant owns one customer session at a time. It runs understanding, asks the pure
session machine what to do, carries the decision out against the store's data, and records the
turn; a hand-off is committed to the journal *before* the customer is told their ticket number.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import replace
from typing import Any, Callable

from kiosk.dialogue import session as machine
from kiosk.dialogue.answers import Answerer
from kiosk.dialogue.commands import Command, kiosk_command
from kiosk.dialogue.languages import ENGLISH_NAMES, available_languages, language_asked, spoken_names
from kiosk.dialogue.rating import SpokenRating, SpokenReason, spoken_rating, spoken_reason
from kiosk.dialogue.scanned import understanding_from_scan
from kiosk.events import Decision, Outcome, Reply, ScanFacts, TurnResult, Understanding
from kiosk.nlu.model import IntentScore
from kiosk.nlu.slots import Slots
from kiosk.nlu.understand import Understander, clean_text
from kiosk.storage.journal import Journal, Ticket

log = logging.getLogger("kiosk.session")

# Journaled for the kiosk's own commands (sentence patterns, not intents of the model).
SCAN_INTENT = "scan_document"  # "I want to scan my receipt"
DISPLAY_INTENT = "display_setting"  # "make the text bigger"
LANGUAGE_INTENT = "choose_language"  # "Spanish please"
_OUTCOME = {"clarify": Outcome.CLARIFY, "ask_slot": Outcome.ASK_SLOT, "escalate": Outcome.ESCALATED,
            "reject": Outcome.REJECTED}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Assistant:
    def __init__(self, understander: Understander, answerer: Answerer, journal: Journal, *,
                 policy: machine.Policy = machine.Policy(), kiosk_id: str = "kiosk-1",
                 language: str = "en", retention_days: int = 30,
                 clock: Callable[[], dt.datetime] = _now):
        self.understander = understander
        self.answerer = answerer
        self.journal = journal
        self.policy = policy
        self.kiosk_id = kiosk_id
        self.language = language
        self.retention_days = retention_days
        self.clock = clock
        self.session = machine.Session()
        self.session_id: str | None = None
        self._just_ended: str | None = None  # the session a Feedback screen after goodbye rates
        self._rating_asked = False  # the Feedback screen's question is up: "four" is an answer to it
        self._reason_asked: int | None = None  # then "what stood out?" about this many stars
        self._feedback: tuple[str, int] | None = None  # (session, row): one rating per visit
        self.ticket: Ticket | None = None

    # -- session lifecycle ---------------------------------------------------------------------
    def begin(self) -> str:
        """A customer arrived (or typed): start a fresh session."""
        if self.session_id is not None:
            self.end("replaced")
        # Retention is enforced as customers come and go, so no extra job has to remember it.
        self.purge_expired()
        self.session_id = self.journal.start_session(self.kiosk_id, self.language)
        self._just_ended = None  # a new customer cannot rate the previous one's visit
        self._rating_asked, self._reason_asked, self._feedback = False, None, None
        self.session = machine.start()
        self.ticket = None
        log.info("session %s started", self.session_id)
        return self.session_id

    def end(self, reason: str) -> None:
        """Close the session and forget the customer (goodbye, idle timeout, shutdown)."""
        if self.session_id is None:
            return
        self.journal.end_session(self.session_id, reason)
        log.info("session %s ended: %s", self.session_id, reason)
        self._just_ended = self.session_id if self.retention_days > 0 else None
        self.session_id, self.session, self.ticket = None, machine.Session(), None
        if self.retention_days == 0:
            self.journal.purge_before(self.clock() + dt.timedelta(seconds=1))

    def idle(self) -> None:
        self.end("idle")

    def purge_expired(self) -> int:
        return self.journal.purge_before(self.clock() - dt.timedelta(days=self.retention_days))

    def feedback(self, rating: int, comment: str | None = None) -> int:
        """Rate the current session, or the one that just ended: the Feedback screen comes after
        the customer said goodbye. With retention 0 an ended session is already gone, and so is
        the chance to rate it (nothing about the customer outlives the visit)."""
        session_id = self.session_id or self._just_ended
        if session_id is None:
            raise RuntimeError("no customer session to attach feedback to")
        if self._feedback is not None and self._feedback[0] == session_id:
            # A visit is rated once: a reason given after a spoken rating completes that rating.
            try:
                self.journal.amend_feedback(self._feedback[1], rating, comment)
                return self._feedback[1]
            except KeyError:
                pass  # purged meanwhile by the retention policy: what the customer said is stored anew
        row = self.journal.record_feedback(session_id, rating, comment)
        self._feedback = (session_id, row)
        return row

    def ask_rating(self, asked: bool = True) -> None:
        """The Feedback screen is asking "how was your visit?" (or stopped asking): while it asks,
        a spoken rating answers it instead of starting a new request."""
        self._rating_asked = asked
        if asked:
            self._reason_asked = None

    def ask_reason(self, stars: int | None) -> None:
        """The Feedback screen asks what stood out about a rating of `stars` (None: stopped asking).
        While it asks, a spoken reason ("it was too slow") or "no thanks" answers it."""
        self._reason_asked = stars if stars else None
        if stars:
            self._rating_asked = False

    @property
    def rating_asked(self) -> bool:
        """The Feedback screen's question is up (the recogniser listens for an answer to it)."""
        return self._rating_asked

    @property
    def feedback_question(self) -> str | None:
        """"rating" or "reason" while the Feedback screen asks one (the recogniser expects an answer
        to it), else None."""
        return "rating" if self._rating_asked else "reason" if self._reason_asked else None

    # -- one turn ------------------------------------------------------------------------------
    def turn(self, text: str) -> TurnResult:
        started = time.perf_counter()
        cleaned = clean_text(text) if isinstance(text, str) else ""
        if self._rating_asked and (self.session_id or self._just_ended):
            rating = spoken_rating(cleaned)
            if rating is not None:
                return self._rated(rating, cleaned, started)
        if self._reason_asked and (self.session_id or self._just_ended):
            reason = spoken_reason(cleaned)
            if reason is not None:
                return self._reasoned(reason, cleaned, started)
        if self.session_id is None:
            self.begin()
        now = self.clock()
        command = kiosk_command(cleaned)
        if command is not None:
            return self._kiosk_command(command, cleaned, started, now)
        if not cleaned:
            # Nothing to understand: say so, but an empty submit is not a failed attempt.
            u = self.understander.understand("", now.date())
            decision, reply = Decision("reject", reason="no_words"), Reply(self.answerer.r.say("no_words"))
            return self._record(u, decision, reply, cleaned, started, now)
        u = self.understander.understand(cleaned, now.date(), expecting=self.session.expecting)
        return self._respond(u, cleaned, started, now)

    def _kiosk_command(self, command: Command, text: str, started: float, now: dt.datetime) -> TurnResult:
        """ "I want to scan my receipt", "make the text bigger": the screen acts on it. The session
        machine is left as it was, so a question still pending ("your order number?") is still the
        one the scan (or the next words) answers."""
        if command == "scan":
            intent, reply = SCAN_INTENT, Reply(self.answerer.r.say("open_scan"), card={"kind": "open_scan"})
        elif command == "language":
            intent, reply = LANGUAGE_INTENT, self._language_reply(text)
        else:
            intent = DISPLAY_INTENT
            reply = Reply(self.answerer.r.say(command), card={"kind": "display", "setting": command})
        u = Understanding(text=text, intent=intent, confidence=1.0, alternatives=(IntentScore(intent, 1.0),),
                          slots=Slots(), known_features=1)
        return self._record(u, Decision("answer", intent=intent), reply, text, started, now)

    def _language_reply(self, text: str) -> Reply:
        """"Spanish please": the screen switches to a language that has replies (card "code"); one
        without them gets a plain answer and the way to a person, not "I didn't get that"."""
        asked = language_asked(text) or None
        have = available_languages()
        fields = {"languages": spoken_names(have), "language": ENGLISH_NAMES.get(asked or "", asked)}
        if asked is None:
            key = "language_list" if len(have) > 1 else "language_only"
        elif asked == self.language:
            key = "language_current"
        else:
            key = "language_chosen" if asked in have else "language_unavailable"
        card = {"kind": "language", "code": asked if asked in have else None, "languages": have}
        return Reply(self.answerer.r.say(key, **fields), card=card)

    def _rated(self, rating: SpokenRating, text: str, started: float) -> TurnResult:
        """A spoken answer to the Feedback screen, stored like a tapped one. The question is then
        answered, so a later "five" is a request again; "what stood out?" is asked next."""
        session_id = self.session_id or self._just_ended
        assert session_id is not None
        self._rating_asked = False
        if rating.stars is not None:
            self.feedback(rating.stars)
            self._reason_asked = rating.stars  # asked now, so a quick "too slow" is not a request
            answer = self.answerer.r.say("rated", stars=rating.stars)
        else:
            answer = self.answerer.r.say("rating_skipped", store=self.answerer.profile.name)
        log.info("session %s rated by voice: %s", session_id, rating.stars or "skipped")
        card = {"kind": "rating", "stars": rating.stars}
        return self._feedback_turn(session_id, text, answer, card, started)

    def _reasoned(self, reason: SpokenReason, text: str, started: float) -> TurnResult:
        """A spoken answer to "what stood out?": the reason goes with the rating, which is stored
        now if it was tapped (or left as it is for "no thanks")."""
        session_id = self.session_id or self._just_ended
        assert session_id is not None and self._reason_asked is not None
        stars, self._reason_asked = self._reason_asked, None
        self.feedback(stars, reason.reason)
        answer = self.answerer.r.say("reason_given" if reason.reason else "rating_sent",
                                     store=self.answerer.profile.name)
        log.info("session %s gave a reason by voice: %s", session_id, reason.reason or "none")
        card = {"kind": "rating_reason", "stars": stars, "reason": reason.reason}
        return self._feedback_turn(session_id, text, answer, card, started)

    def _feedback_turn(self, session_id: str, text: str, answer: str, card: dict[str, Any],
                       started: float) -> TurnResult:
        # Not a turn of the conversation: the journal has the rating, and the words are not kept.
        return TurnResult(
            session_id=session_id, text=text, intent="feedback", confidence=1.0, alternatives=(), slots={},
            answer=answer, card=card, outcome=Outcome.ANSWERED,
            state=self.session.state.value, escalation=None,
            latency_ms=(time.perf_counter() - started) * 1000.0, session_ended=False, at=self.clock())

    def scanned(self, facts: ScanFacts) -> TurnResult:
        """The customer showed the camera something: answer it like a request that names it.

        The journal gets `facts.describe()`, never what an ID document says about its holder."""
        started = time.perf_counter()
        if self.session_id is None:
            self.begin()
        now = self.clock()
        u = understanding_from_scan(facts)
        if facts.kind in ("product", "order", "receipt"):
            result = self._respond(u, facts.describe(), started, now)
        else:
            # Nothing the dialogue asks about: say what was read, and keep the session as it was.
            decision = Decision("answer", intent=u.intent)
            reply = self.answerer.scan_reply(facts)
            self.session, follow_up = machine.on_replied(self.session, decision, reply, self.policy)
            if follow_up is not None:
                handoff = self._carry_out(follow_up)
                reply, decision = replace(handoff, text=reply.text + " " + handoff.text), follow_up
            result = self._record(u, decision, reply, facts.describe(), started, now)
        if facts.kind == "receipt" and result.card.get("kind") == "return":
            # The return check shows what the receipt said, so the customer can confirm it.
            card = dict(result.card, receipt={"number": facts.receipt_number, "total": facts.total,
                                              "store": facts.store_name})
            result = replace(result, card=card)
        return result

    # -- buttons on the screen -------------------------------------------------------------------
    def request_staff(self) -> TurnResult:
        """The "talk to a person" button: a hand-off now, decided by the session machine exactly as
        the spoken request is, so the ticket, the session state and the journal agree."""
        self.refresh_ticket()  # staff may have closed the last ticket: then a new one is opened
        return self._button("talk_to_person", "[button] talk to a person")

    def cancel_handoff(self) -> TurnResult:
        """The customer no longer needs staff: the session machine's "cancel" (which resolves an
        open ticket as cancelled by the customer), as if they had said "never mind"."""
        self.refresh_ticket()
        return self._button("cancel", "[button] cancel the call for staff")

    def refresh_ticket(self) -> None:
        """Re-read the session's ticket: staff claim and resolve it on their console, not here."""
        if self.ticket is not None:
            self.ticket = self.journal.get_escalation(self.ticket.id) or self.ticket

    def _button(self, intent: str, text: str) -> TurnResult:
        # A tap is unambiguous: full confidence, no slots, nothing for the model to guess.
        started = time.perf_counter()
        if self.session_id is None:
            self.begin()
        now = self.clock()
        u = Understanding(text=text, intent=intent, confidence=1.0,
                          alternatives=(IntentScore(intent, 1.0),), slots=Slots(), known_features=1)
        return self._respond(u, text, started, now)

    def _respond(self, u: Understanding, text: str, started: float, now: dt.datetime) -> TurnResult:
        self.session, decision = machine.on_understood(self.session, u, self.policy)
        reply = self._carry_out(decision)
        self.session, follow_up = machine.on_replied(self.session, decision, reply, self.policy)
        if follow_up is not None:  # the answer failed once too often: hand over
            handoff = self._carry_out(follow_up)
            reply = replace(handoff, text=reply.text + " " + handoff.text)
            decision = follow_up
        return self._record(u, decision, reply, text, started, now)

    def _record(self, u: Understanding, decision: Decision, reply: Reply, text: str, started: float,
                now: dt.datetime) -> TurnResult:
        assert self.session_id is not None
        session_id = self.session_id
        outcome = _OUTCOME.get(decision.kind, Outcome.ANSWERED)
        latency_ms = (time.perf_counter() - started) * 1000.0
        slots = self._slots_dict(u, decision)
        self.journal.record_turn(session_id, text=text, intent=decision.intent or u.intent,
                                 confidence=u.confidence, slots=slots, answer=reply.text,
                                 latency_ms=latency_ms, outcome=outcome.value)
        log.info("session %s turn: intent=%s conf=%.2f outcome=%s %.1fms", session_id, u.intent,
                 u.confidence, outcome.value, latency_ms)
        ended = decision.kind == "end"
        result = TurnResult(
            session_id=session_id, text=text, intent=decision.intent or u.intent, confidence=u.confidence,
            alternatives=u.alternatives, slots=slots, answer=reply.text, card=reply.card,
            outcome=outcome, state=self.session.state.value,
            escalation=self.ticket.as_dict() if self.ticket is not None else None,
            latency_ms=latency_ms, session_ended=ended, at=now)
        if ended:
            self.end("goodbye")
        return result

    def _carry_out(self, decision: Decision) -> Reply:
        if decision.kind == "escalate":
            return self._escalate(decision)
        if (decision.kind == "cancel" and decision.reason == "handoff" and self.ticket is not None
                and self.ticket.status != "resolved"):  # staff closed it already: nothing to cancel
            self.ticket = self.journal.resolve_escalation(self.ticket.id, "customer",
                                                          "cancelled by the customer at the kiosk")
        return self.answerer.reply(decision, last_reply=self.session.last_reply)

    def _escalate(self, decision: Decision) -> Reply:
        if self.ticket is None or self.ticket.status == "resolved":
            context = {"reason": decision.reason, "intent": decision.intent,
                       "recent_turns": self._recent_turns(), "product": decision.product.name if decision.product else None,
                       "slots": decision.slots.as_dict()}
            # Committed to disk before the customer hears the ticket number.
            self.ticket = self.journal.open_escalation(self.session_id, decision.reason or "unknown", context)
            log.info("session %s escalated: ticket %s (%s)", self.session_id, self.ticket.number, decision.reason)
        return self.answerer.reply(decision, ticket=self.ticket.number)

    def _recent_turns(self) -> list[dict[str, Any]]:
        turns = self.journal.session_turns(self.session_id) if self.session_id else []
        return [{"text": t["text"], "intent": t["intent"], "answer": t["answer"]} for t in turns[-5:]]

    @staticmethod
    def _slots_dict(u: Understanding, decision: Decision) -> dict[str, Any]:
        out = decision.slots.as_dict() if decision.slots else {}
        out.update({k: v for k, v in u.slots.as_dict().items() if k not in out})
        product = decision.product or (u.products[0] if len(u.products) == 1 else None)
        if product is not None:
            out["product"] = {"sku": product.sku, "name": product.name}
        if u.department:
            out["department"] = u.department
        if u.service:
            out["service"] = u.service
        return out
