"""The kiosk's durable record: sessions, turns, escalations to staff and feedback.

Every write is its own committed transaction before the method returns, so anything the
kiosk has told a customer (above all "staff are on their way, ticket A-042") is on disk.
Whatever text arrives (speech transcripts, pasted junk, NUL bytes, lone surrogates) is
cleaned and bounded before it is stored (`kiosk.storage.text`), and always bound as a
parameter.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from kiosk.storage.db import rollback_quietly, storage_errors
from kiosk.storage.text import (  # the first three are re-exported: they used to be defined here
    REPLACEMENT_CHARACTER,  # noqa: F401
    TRUNCATION_MARK,  # noqa: F401
    clean_text,
    to_json,
)

# Outcomes the dialogue may record for a turn; add new ones here (the schema only checks
# that the value is a short lower_snake_case word).
TURN_OUTCOMES = frozenset({"answered", "clarify", "ask_slot", "escalated", "rejected"})
ESCALATION_STATUSES = ("open", "claimed", "resolved")
# No I or O: on a printed or spoken ticket they are mistaken for 1 and 0.
_TICKET_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_TICKETS_PER_LETTER = 999
# Fixed width, so stored timestamps sort as text in time order.
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# float32 softmax outputs can land a hair outside [0, 1]; that is not a caller bug.
_CONFIDENCE_SLACK = 1e-5


class EscalationStateError(Exception):
    """A ticket cannot make the requested move from the status it is in."""

    def __init__(self, ticket: Ticket, action: str) -> None:
        self.ticket = ticket
        self.action = action
        holder = f" by {ticket.claimed_by}" if ticket.status == "claimed" else ""
        super().__init__(f"ticket {ticket.number} is {ticket.status}{holder}, so it cannot be {action}")


class TicketNotFoundError(LookupError):
    """No escalation has that id."""


class SessionNotFoundError(LookupError):
    """No session has that id (it never existed or retention has deleted it)."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time could be local or UTC; guessing would shift retention by hours.
        raise ValueError(f"timestamp {moment!r} must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime(_TIMESTAMP_FORMAT)


def parse_timestamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, _TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)


def ticket_number(ticket_id: int) -> str:
    """Short label for a ticket id: 1 -> "A-001", 999 -> "A-999", 1000 -> "B-001".

    It is a label for people, not a key: after 23,976 tickets the letters wrap around,
    which is harmless because only a handful of tickets are open at any time.
    """
    if ticket_id < 1:
        raise ValueError(f"ticket ids start at 1, got {ticket_id}")
    block, offset = divmod(ticket_id - 1, _TICKETS_PER_LETTER)
    return f"{_TICKET_LETTERS[block % len(_TICKET_LETTERS)]}-{offset + 1:03d}"


@dataclass(frozen=True)
class Ticket:
    """An escalation to staff as the staff console and the customer screen see it."""

    id: int
    number: str  # e.g. "A-042": what the customer is told and staff call out
    reason: str
    status: str
    session_id: str | None
    context: dict
    created_at: datetime
    claimed_at: datetime | None
    claimed_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Ticket:
        plain = ("id", "reason", "status", "session_id", "claimed_by", "resolved_by", "resolution")
        times = ("created_at", "claimed_at", "resolved_at")
        return cls(
            number=ticket_number(row["id"]),
            context=json.loads(row["context_json"]),
            **{name: row[name] for name in plain},
            **{name: parse_timestamp(row[name]) for name in times},
        )

    def as_dict(self) -> dict:
        """JSON-friendly: timestamps as ISO-8601 UTC strings."""
        return {
            name: format_timestamp(value) if isinstance(value, datetime) else value
            for name, value in vars(self).items()
        }


class Journal:
    """Reads and writes the kiosk's records on a connection from `open_database`.

    One Journal may be shared between threads (customer loop, staff console): a lock keeps
    each BEGIN ... COMMIT on the shared connection from interleaving with another.
    """

    def __init__(
        self, conn: sqlite3.Connection, clock: Callable[[], datetime] = utc_now, max_text_chars: int = 2000
    ) -> None:
        if conn.isolation_level is not None:
            raise ValueError("the connection must use isolation_level=None; open it with open_database()")
        with storage_errors(conn, "checking the connection"):
            foreign_keys_on = conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        if not foreign_keys_on:
            # Retention relies on ON DELETE CASCADE to remove turns and feedback.
            raise ValueError("the connection must have foreign_keys=ON; open it with open_database()")
        if max_text_chars < 10:
            raise ValueError(f"max_text_chars={max_text_chars} is too small to keep any meaning")
        self._conn = conn
        self._clock = clock
        self._max_chars = max_text_chars
        self._lock = threading.RLock()

    # -- sessions and turns -------------------------------------------------------------

    def start_session(self, kiosk_id: str, language: str) -> str:
        session_id = uuid.uuid4().hex
        with self._write("starting a session") as cur:
            cur.execute(
                "INSERT INTO sessions (id, kiosk_id, language, started_at) VALUES (?, ?, ?, ?)",
                (session_id, self._required(kiosk_id, "kiosk_id"), self._required(language, "language"),
                 self._now()),
            )
        return session_id

    def end_session(self, session_id: str, reason: str) -> None:
        """Mark a session ended. Ending it again keeps the first end time and reason:
        a time-out and a "goodbye" can race, and the first one is what happened."""
        reason = self._required(reason, "reason")
        with self._write("ending a session") as cur:
            self._require_session(cur, session_id)
            cur.execute(
                "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
                (self._now(), reason, session_id),
            )

    def record_turn(
        self,
        session_id: str,
        *,
        text: str, intent: str | None, confidence: float | None, slots: dict,
        answer: str, latency_ms: float, outcome: str,
    ) -> int:
        """Store one customer request and the kiosk's reply; return the turn's id."""
        if outcome not in TURN_OUTCOMES:
            raise ValueError(f"unknown turn outcome {outcome!r}; expected one of {sorted(TURN_OUTCOMES)}")
        latency = float(latency_ms)
        if not math.isfinite(latency) or latency < 0:
            raise ValueError(f"latency_ms must be a finite number >= 0, got {latency_ms!r}")
        row = (
            self._clean(text),
            None if intent is None else self._clean(intent),
            self._confidence(confidence),
            to_json(slots, self._max_chars),
            self._clean(answer),
            latency,
            outcome,
        )
        with self._write("recording a turn") as cur:
            self._require_session(cur, session_id)
            (seq,) = cur.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
            ).fetchone()
            cur.execute(
                "INSERT INTO turns (session_id, seq, created_at, text, intent, confidence, slots_json,"
                " answer, latency_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, seq, self._now(), *row),
            )
            return int(cur.lastrowid)

    def session_turns(self, session_id: str) -> list[dict]:
        """The session's turns in order; `created_at` is a datetime, `slots` a dict."""
        with self._read("reading a session's turns") as cur:
            rows = cur.execute(
                "SELECT id, seq, created_at, text, intent, confidence, slots_json, answer, latency_ms,"
                " outcome FROM turns WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
        turns = []
        for row in rows:
            turn = dict(row)
            turn["created_at"] = parse_timestamp(turn["created_at"])
            turn["slots"] = json.loads(turn.pop("slots_json"))
            turns.append(turn)
        return turns

    # -- escalations ----------------------------------------------------------------------

    def open_escalation(self, session_id: str | None, reason: str, context: dict) -> Ticket:
        """Create an open ticket. When this returns, the ticket is committed to disk."""
        values = (self._required(reason, "reason"), to_json(context, self._max_chars))
        with self._write("opening an escalation") as cur:
            if session_id is not None:
                self._require_session(cur, session_id)
            cur.execute(
                "INSERT INTO escalations (session_id, reason, context_json, created_at) VALUES (?, ?, ?, ?)",
                (session_id, *values, self._now()),
            )
            return self._load_ticket(cur, int(cur.lastrowid))

    def claim_escalation(self, ticket_id: int, staff: str) -> Ticket:
        """A member of staff takes an open ticket; anything else is an EscalationStateError."""
        staff = self._required(staff, "staff")
        with self._write("claiming an escalation") as cur:
            ticket = self._load_ticket(cur, ticket_id)
            if ticket.status != "open":
                raise EscalationStateError(ticket, "claimed")
            cur.execute(
                "UPDATE escalations SET status = 'claimed', claimed_at = ?, claimed_by = ? WHERE id = ?",
                (self._now(), staff, ticket_id),
            )
            return self._load_ticket(cur, ticket_id)

    def resolve_escalation(self, ticket_id: int, staff: str, resolution: str) -> Ticket:
        """Close an open or claimed ticket (staff may resolve one they never claimed)."""
        staff = self._required(staff, "staff")
        resolution = self._clean(resolution)
        with self._write("resolving an escalation") as cur:
            ticket = self._load_ticket(cur, ticket_id)
            if ticket.status == "resolved":
                raise EscalationStateError(ticket, "resolved again")
            cur.execute(
                "UPDATE escalations SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolution = ?"
                " WHERE id = ?",
                (self._now(), staff, resolution, ticket_id),
            )
            return self._load_ticket(cur, ticket_id)

    def get_escalation(self, ticket_id: int) -> Ticket | None:
        with self._read("reading an escalation") as cur:
            row = cur.execute("SELECT * FROM escalations WHERE id = ?", (ticket_id,)).fetchone()
        return None if row is None else Ticket.from_row(row)

    def list_escalations(self, status: str | None = None) -> list[Ticket]:
        """Tickets oldest first, optionally only those with one status."""
        if status is not None and status not in ESCALATION_STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {ESCALATION_STATUSES}")
        with self._read("listing escalations") as cur:
            rows = cur.execute(
                "SELECT * FROM escalations WHERE ?1 IS NULL OR status = ?1 ORDER BY id", (status,)
            ).fetchall()
        return [Ticket.from_row(row) for row in rows]

    # -- feedback and retention -----------------------------------------------------------

    def record_feedback(self, session_id: str, rating: int, comment: str | None = None) -> int:
        _check_rating(rating)
        comment = None if comment is None else self._clean(comment)
        with self._write("recording feedback") as cur:
            self._require_session(cur, session_id)
            cur.execute(
                "INSERT INTO feedback (session_id, created_at, rating, comment) VALUES (?, ?, ?, ?)",
                (session_id, self._now(), int(rating), comment),
            )
            return int(cur.lastrowid)

    def amend_feedback(self, feedback_id: int, rating: int, comment: str | None = None) -> None:
        """Change a visit's rating or reason (a reason given after the rating was stored)."""
        _check_rating(rating)
        comment = None if comment is None else self._clean(comment)
        with self._write("amending feedback") as cur:
            cur.execute("UPDATE feedback SET rating = ?, comment = ? WHERE id = ?",
                        (int(rating), comment, int(feedback_id)))
            if cur.rowcount == 0:
                raise KeyError(f"no feedback {feedback_id}: it may have been purged by the retention policy")

    def purge_before(self, cutoff: datetime) -> int:
        """Delete sessions that ended before `cutoff`, with their turns and feedback.

        Sessions with a ticket that is not resolved yet are kept: staff may still need the
        conversation. Tickets themselves are kept (their session link becomes NULL).
        Returns the number of sessions deleted.
        """
        cutoff_text = format_timestamp(cutoff)
        with self._write("deleting old sessions") as cur:
            cur.execute(
                "DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?"
                " AND NOT EXISTS (SELECT 1 FROM escalations AS e"
                "                 WHERE e.session_id = sessions.id AND e.status <> 'resolved')",
                (cutoff_text,),
            )
            return cur.rowcount

    # -- helpers --------------------------------------------------------------------------

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Cursor]:
        """One committed transaction. BEGIN IMMEDIATE takes the write lock up front, so
        read-then-write steps (next turn number, ticket status) cannot race another writer."""
        with self._lock, storage_errors(self._conn, doing):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._cursor()
                self._conn.execute("COMMIT")
            except BaseException:
                rollback_quietly(self._conn)
                raise

    @contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Cursor]:
        with self._lock, storage_errors(self._conn, doing):
            yield self._cursor()

    def _cursor(self) -> sqlite3.Cursor:
        # Row access by name on our own cursor only: the connection belongs to the caller,
        # and other code sharing it should not find its row type changed.
        cursor = self._conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor

    def _load_ticket(self, cur: sqlite3.Cursor, ticket_id: int) -> Ticket:
        row = cur.execute("SELECT * FROM escalations WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise TicketNotFoundError(f"there is no ticket with id {ticket_id}")
        return Ticket.from_row(row)

    @staticmethod
    def _require_session(cur: sqlite3.Cursor, session_id: str) -> None:
        if cur.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFoundError(f"there is no session {session_id!r}")

    def _now(self) -> str:
        return format_timestamp(self._clock())

    def _clean(self, text: str) -> str:
        return clean_text(text, self._max_chars)

    def _required(self, text: str, what: str) -> str:
        cleaned = self._clean(text).strip()
        if not cleaned:
            raise ValueError(f"{what} must not be empty")
        return cleaned

    @staticmethod
    def _confidence(confidence: float | None) -> float | None:
        if confidence is None:
            return None
        value = float(confidence)  # also accepts numpy scalars from the model
        if not math.isfinite(value) or not -_CONFIDENCE_SLACK <= value <= 1 + _CONFIDENCE_SLACK:
            raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
        return min(max(value, 0.0), 1.0)


def _check_rating(rating: int) -> None:
    # bool is an int in Python, but True is not a star rating.
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValueError(f"rating must be a whole number from 1 to 5, got {rating!r}")
