"""The durable store: real SQLite files, a real crashing child process, a real size limit."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.storage.db import (
    Migration,
    StorageError,
    load_migrations,
    migrate,
    open_database,
    schema_version,
)
from kiosk.storage.journal import (
    EscalationStateError,
    Journal,
    SessionNotFoundError,
    TicketNotFoundError,
    ticket_number,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
LATEST_SCHEMA = max(m.version for m in load_migrations())
T0 = datetime(2025, 3, 14, 15, 0, tzinfo=timezone.utc)


class SteppingClock:
    """A clock the test moves by hand, so stored timestamps are predictable."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A directory that does not exist yet, like /var/lib/kiosk on a fresh install.
    return tmp_path / "var" / "lib" / "kiosk" / "kiosk.db"


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def conn(db_path: Path):
    connection = open_database(db_path)
    yield connection
    connection.close()


@pytest.fixture
def journal(conn: sqlite3.Connection, clock: SteppingClock) -> Journal:
    return Journal(conn, clock=clock)


def record(journal: Journal, session_id: str, text: str = "where is the paint?", **overrides) -> int:
    fields = dict(
        text=text, intent="find_product", confidence=0.93, slots={"product": "paint"},
        answer="Paint is in aisles 4-5.", latency_ms=41.5, outcome="answered",
    )
    fields.update(overrides)
    return journal.record_turn(session_id, **fields)


def count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# -- opening and migrating -----------------------------------------------------------------


def test_file_database_is_created_in_wal_mode_with_durable_settings(conn, db_path):
    assert db_path.exists()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert LATEST_SCHEMA >= 1
    assert schema_version(conn) == LATEST_SCHEMA


def test_reopening_is_idempotent_and_keeps_data(db_path, clock):
    first = open_database(db_path)
    ticket = Journal(first, clock=clock).open_escalation(None, "help button pressed", {"aisle": 13})
    first.close()
    for _ in range(2):
        again = open_database(db_path)
        assert schema_version(again) == LATEST_SCHEMA
        assert [t.number for t in Journal(again).list_escalations()] == [ticket.number]
        again.close()


def test_in_memory_database_works(clock):
    memory = open_database(":memory:")
    journal = Journal(memory, clock=clock)
    session = journal.start_session("kiosk-1", "en")
    record(journal, session)
    assert [t["text"] for t in journal.session_turns(session)] == ["where is the paint?"]
    assert schema_version(memory) == LATEST_SCHEMA


def test_database_from_a_newer_kiosk_is_refused_with_advice(db_path):
    open_database(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA user_version = 7")
    raw.close()
    with pytest.raises(StorageError) as error:
        open_database(db_path)
    message = str(error.value)
    assert f"schema 7, this build knows {LATEST_SCHEMA}" in message
    assert "newer kiosk" in message and str(db_path) in message


def test_garbage_file_gives_storage_error_naming_the_file(db_path):
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is a receipt printer log, not a database\n" * 200)
    with pytest.raises(StorageError) as error:
        open_database(db_path)
    assert str(db_path) in str(error.value)
    assert "move it aside" in str(error.value)


def test_corrupt_pages_are_caught_when_opening(db_path, clock):
    conn = open_database(db_path)
    journal = Journal(conn, clock=clock)
    session = journal.start_session("kiosk-1", "en")
    for i in range(300):
        record(journal, session, text=f"turn {i} " + "x" * 300)
    conn.close()
    data = bytearray(db_path.read_bytes())
    page = 4096
    data[3 * page: 12 * page] = b"\x5a" * (9 * page)  # scribble over pages, keep the header
    db_path.write_bytes(bytes(data))
    with pytest.raises(StorageError) as error:
        open_database(db_path)
    assert "corrupt" in str(error.value) and str(db_path) in str(error.value)


def test_another_programs_database_is_not_adopted(db_path):
    db_path.parent.mkdir(parents=True)
    other = sqlite3.connect(db_path)
    other.execute("CREATE TABLE playlist (song TEXT)")
    other.commit()
    other.close()
    with pytest.raises(StorageError, match="belongs to another program"):
        open_database(db_path)


def test_failing_migration_rolls_back_and_names_its_file(conn, journal):
    session = journal.start_session("kiosk-1", "en")
    broken = Migration(
        2, "0002_add_stock.sql", "CREATE TABLE stock (sku TEXT);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    after = Migration(3, "0003_more.sql", "CREATE TABLE later (x INTEGER);")
    with pytest.raises(StorageError) as error:
        migrate(conn, [*load_migrations(), broken, after])
    assert "0002_add_stock.sql" in str(error.value)
    assert "rolled back" in str(error.value)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    assert "stock" not in tables and "later" not in tables
    assert schema_version(conn) == LATEST_SCHEMA
    assert not conn.in_transaction
    # The database is still fully usable, and a correct migration applies afterwards,
    # including a trigger body and a string that both contain semicolons.
    record(journal, session)
    fixed = Migration(2, "0002_add_stock.sql", textwrap.dedent("""
        -- stock levels; one row per SKU
        CREATE TABLE stock (sku TEXT PRIMARY KEY, note TEXT DEFAULT 'a; b');
        CREATE TRIGGER stock_note AFTER INSERT ON stock BEGIN
            UPDATE stock SET note = 'c; d' WHERE sku = NEW.sku;
        END;
    """))
    assert migrate(conn, [*load_migrations(), fixed]) == 2
    conn.execute("INSERT INTO stock (sku) VALUES ('PAINT-1')")
    assert conn.execute("SELECT note FROM stock").fetchone()[0] == "c; d"


# -- durability ----------------------------------------------------------------------------

CRASHING_CHILD = textwrap.dedent("""
    import sys, time
    from kiosk.storage.db import open_database
    from kiosk.storage.journal import Journal

    journal = Journal(open_database(sys.argv[1]))
    session = journal.start_session("kiosk-front-1", "en")
    ticket = journal.open_escalation(
        session, "customer asked for staff", {"transcript": ["I need a key cut"], "aisle": 1}
    )
    print("ACK", ticket.number, flush=True)
    time.sleep(60)
""")


def test_acknowledged_escalation_survives_the_process_being_killed(db_path):
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_CHILD, str(db_path)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as child:
        watchdog = threading.Timer(30, child.kill)  # never hang the suite if the child stalls
        watchdog.start()
        try:
            line = child.stdout.readline()
            child.send_signal(signal.SIGKILL)  # no chance to close, checkpoint or flush anything
            child.wait(timeout=10)
        finally:
            watchdog.cancel()
            child.kill()
        child_errors = child.stderr.read()
    assert line.startswith("ACK "), child_errors
    assert child.returncode == -signal.SIGKILL
    # The WAL was never checkpointed: the ticket has to be recovered from it.
    assert db_path.with_name(db_path.name + "-wal").stat().st_size > 0
    number = line.split()[1]

    reopened = open_database(db_path)
    tickets = Journal(reopened).list_escalations("open")
    reopened.close()
    assert [t.number for t in tickets] == [number]
    assert tickets[0].status == "open"
    assert tickets[0].context == {"transcript": ["I need a key cut"], "aisle": 1}


def test_disk_full_is_reported_as_such_and_earlier_rows_survive(conn, journal, db_path):
    session = journal.start_session("kiosk-1", "en")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 4}")  # a tiny "disk" for this connection
    stored = 0
    with pytest.raises(StorageError) as error:
        for i in range(1000):
            record(journal, session, text=f"turn {i}: " + "where are the hinges? " * 70)
            stored += 1
    message = str(error.value)
    assert "disk full" in message and "free space" in message and str(db_path.parent) in message
    assert stored > 0
    assert not conn.in_transaction
    turns = journal.session_turns(session)
    assert [t["seq"] for t in turns] == list(range(1, stored + 1))
    assert turns[0]["text"].startswith("turn 0: where are the hinges?")


# -- escalations ---------------------------------------------------------------------------


def test_ticket_moves_open_claimed_resolved_and_not_backwards(journal, clock):
    session = journal.start_session("kiosk-1", "en")
    ticket = journal.open_escalation(session, "wants timber cut", {"intent": "service_timber"})
    assert (ticket.status, ticket.created_at, ticket.session_id) == ("open", T0, session)

    clock.advance(minutes=2)
    claimed = journal.claim_escalation(ticket.id, "Sam")
    assert (claimed.status, claimed.claimed_by) == ("claimed", "Sam")
    assert claimed.claimed_at == T0 + timedelta(minutes=2)
    with pytest.raises(EscalationStateError, match=f"{ticket.number} is claimed by Sam"):
        journal.claim_escalation(ticket.id, "Alex")

    clock.advance(minutes=5)
    resolved = journal.resolve_escalation(ticket.id, "Alex", "cut two boards at the Timber Yard")
    assert (resolved.status, resolved.resolved_by, resolved.claimed_by) == ("resolved", "Alex", "Sam")
    assert resolved.resolved_at == T0 + timedelta(minutes=7)
    with pytest.raises(EscalationStateError):
        journal.resolve_escalation(ticket.id, "Alex", "again")
    with pytest.raises(EscalationStateError):
        journal.claim_escalation(ticket.id, "Alex")
    assert journal.get_escalation(ticket.id) == resolved


def test_open_ticket_can_be_resolved_directly_and_queues_filter_by_status(journal):
    first = journal.open_escalation(None, "help button pressed", {})
    second = journal.open_escalation(None, "price check", {"sku": "HL-4410"})
    done = journal.resolve_escalation(first.id, "Sam", "answered at the desk")
    assert done.status == "resolved" and done.claimed_at is None
    assert [t.id for t in journal.list_escalations("open")] == [second.id]
    assert [t.id for t in journal.list_escalations("resolved")] == [first.id]
    assert [t.id for t in journal.list_escalations()] == [first.id, second.id]
    with pytest.raises(ValueError):
        journal.list_escalations("pending")


def test_unknown_tickets_and_sessions_are_reported(journal):
    assert journal.get_escalation(999) is None
    with pytest.raises(TicketNotFoundError):
        journal.claim_escalation(999, "Sam")
    with pytest.raises(SessionNotFoundError):
        journal.open_escalation("0" * 32, "help", {})
    with pytest.raises(SessionNotFoundError):
        record(journal, "0" * 32)


def test_ticket_numbers_are_short_and_never_handed_out_twice(conn, journal):
    assert [ticket_number(i) for i in (1, 42, 999, 1000)] == ["A-001", "A-042", "A-999", "B-001"]
    first = journal.open_escalation(None, "help", {})
    conn.execute("DELETE FROM escalations WHERE id = ?", (first.id,))
    second = journal.open_escalation(None, "help", {})
    assert second.number != first.number
    assert second.as_dict()["number"] == second.number


def test_ticket_as_dict_is_json_friendly(journal):
    ticket = journal.open_escalation(None, "help", {"items": ["hinge", "screws"], "price": 4.5})
    decoded = json.loads(json.dumps(ticket.as_dict()))
    assert decoded["created_at"] == "2025-03-14T15:00:00.000000Z"
    assert decoded["context"] == {"items": ["hinge", "screws"], "price": 4.5}
    assert decoded["status"] == "open" and decoded["claimed_at"] is None


# -- turns, text and feedback --------------------------------------------------------------


def test_huge_dirty_text_is_truncated_cleaned_and_read_back(conn, journal):
    session = journal.start_session("kiosk-1", "en")
    dirty = ("tap\x00washer 😀 line\r\nnext\ttab \ud83d \x1b[31m" * 4000)[:100_000]
    record(journal, session, text=dirty, slots={"note": "bad\x00byte", "qty": float("nan")})
    ticket = journal.open_escalation(session, "reason\x00", {"transcript": dirty})

    (turn,) = journal.session_turns(session)
    text = turn["text"]
    assert len(text) == 2000 and text.endswith("…")
    assert "\x00" not in text and "\x1b" not in text and "\r" not in text
    assert "😀" in text and "line\nnext\ttab" in text and "\ufffd" in text
    assert turn["slots"] == {"note": "bad\ufffdbyte", "qty": None}
    assert len(ticket.context["transcript"]) == 2000 and "\x00" not in ticket.context["transcript"]
    assert ticket.reason == "reason\ufffd"
    # What is on disk is valid UTF-8 (the sqlite3 CLI and backups can read it).
    stored = conn.execute("SELECT CAST(text AS BLOB) FROM turns").fetchone()[0]
    assert stored.decode("utf-8") == text


def test_sql_looking_text_is_stored_verbatim(conn, journal):
    session = journal.start_session("kiosk-1", "en")
    nasty = "Robert'); DROP TABLE turns;-- and 100% of ' OR '1'='1"
    record(journal, session, text=nasty, answer=nasty, slots={nasty: nasty})
    record(journal, session, text="still here?")
    turns = journal.session_turns(session)
    assert [t["text"] for t in turns] == [nasty, "still here?"]
    assert turns[0]["answer"] == nasty and turns[0]["slots"] == {nasty: nasty}


def test_turns_are_numbered_in_order_even_from_two_threads(journal):
    session = journal.start_session("kiosk-1", "en")

    def speak(who: str) -> None:
        for i in range(25):
            record(journal, session, text=f"{who} {i}")

    threads = [threading.Thread(target=speak, args=(who,)) for who in ("customer", "staff")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    turns = journal.session_turns(session)
    assert [t["seq"] for t in turns] == list(range(1, 51))
    expected = [f"{who} {i}" for who in ("customer", "staff") for i in range(25)]
    assert sorted(t["text"] for t in turns) == sorted(expected)


def test_bad_turn_values_are_rejected_before_anything_is_written(conn, journal):
    session = journal.start_session("kiosk-1", "en")
    bad_values = [
        dict(outcome="answerd"), dict(confidence=1.7), dict(latency_ms=-3.0), dict(latency_ms=float("nan"))
    ]
    for bad in bad_values:
        with pytest.raises(ValueError):
            record(journal, session, **bad)
    assert count(conn, "turns") == 0
    record(journal, session, confidence=1.0000001, intent=None)  # float32 softmax rounding is fine
    assert journal.session_turns(session)[0]["confidence"] == 1.0


@pytest.mark.parametrize("rating", [0, 6, -1, 3.5, True, "5", None])
def test_feedback_outside_one_to_five_is_rejected(conn, journal, rating):
    session = journal.start_session("kiosk-1", "en")
    with pytest.raises(ValueError):
        journal.record_feedback(session, rating)
    assert count(conn, "feedback") == 0


def test_feedback_one_to_five_is_stored(conn, journal):
    session = journal.start_session("kiosk-1", "en")
    journal.record_feedback(session, 1, "could not find hinges")
    journal.record_feedback(session, 5)
    rows = conn.execute("SELECT rating, comment FROM feedback ORDER BY id").fetchall()
    assert rows == [(1, "could not find hinges"), (5, None)]


def test_feedback_can_be_amended_but_not_with_a_bad_rating_or_after_it_is_gone(conn, journal):
    session = journal.start_session("kiosk-1", "en")
    row = journal.record_feedback(session, 2)
    journal.amend_feedback(row, 3, "Too slow")
    with pytest.raises(ValueError):
        journal.amend_feedback(row, 9)
    assert conn.execute("SELECT rating, comment FROM feedback").fetchall() == [(3, "Too slow")]
    with pytest.raises(KeyError, match="retention"):
        journal.amend_feedback(row + 1, 4)


def test_ending_a_session_twice_keeps_the_first_reason(conn, journal, clock):
    session = journal.start_session("kiosk-1", "en")
    journal.end_session(session, "goodbye")
    clock.advance(minutes=1)
    journal.end_session(session, "timeout")
    row = conn.execute("SELECT ended_at, end_reason FROM sessions WHERE id = ?", (session,)).fetchone()
    assert row == ("2025-03-14T15:00:00.000000Z", "goodbye")


# -- retention -----------------------------------------------------------------------------


def test_purge_deletes_old_sessions_but_keeps_those_staff_still_need(conn, journal, clock):
    def ended_session(escalation: str | None = None) -> str:
        session = journal.start_session("kiosk-1", "en")
        record(journal, session)
        journal.record_feedback(session, 4)
        if escalation is not None:
            ticket = journal.open_escalation(session, "needs staff", {})
            if escalation == "resolved":
                journal.resolve_escalation(ticket.id, "Sam", "done")
        journal.end_session(session, "goodbye")
        return session

    old_plain = ended_session()
    old_open_ticket = ended_session("open")
    old_resolved_ticket = ended_session("resolved")
    still_running = journal.start_session("kiosk-1", "en")
    clock.advance(days=40)
    recent = ended_session()

    assert journal.purge_before(T0 + timedelta(days=30)) == 2
    remaining = {row[0] for row in conn.execute("SELECT id FROM sessions")}
    assert remaining == {old_open_ticket, still_running, recent}
    assert journal.session_turns(old_plain) == [] and journal.session_turns(old_resolved_ticket) == []
    assert len(journal.session_turns(old_open_ticket)) == 1
    assert count(conn, "feedback") == 2  # old_open_ticket's and recent's
    # The resolved ticket stays in the staff record, no longer tied to a session.
    assert [t.session_id for t in journal.list_escalations("resolved")] == [None]
    with pytest.raises(ValueError):
        journal.purge_before(datetime(2025, 1, 1))  # naive: local or UTC? refuse to guess
