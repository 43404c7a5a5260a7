"""Opening, configuring and migrating the kiosk's SQLite database.

Every sqlite3 failure anywhere in kiosk.storage goes through `storage_errors`, so the
service logs one kind of exception (StorageError) whose message tells a technician what
is wrong and what to do, instead of a bare "file is not a database".
"""

from __future__ import annotations

import errno
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kiosk.errors import KioskError

MEMORY = ":memory:"
# STRICT tables (3.37) and built-in JSON functions (3.38 makes them always present).
MIN_SQLITE_VERSION = (3, 38, 0)
BUSY_TIMEOUT_MS = 5000
MIGRATIONS_PACKAGE = "kiosk.storage"
MIGRATIONS_FOLDER = "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Written by 0001_initial.sql ("KIOS"), so a kiosk never adopts some other program's database.
KIOSK_APPLICATION_ID = 0x4B494F53

# Primary SQLite result codes (the low byte of an extended code).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26


class StorageError(KioskError):
    """The database cannot be used; the message says which file and what to do about it."""


@dataclass(frozen=True)
class Migration:
    version: int
    filename: str
    sql: str


def database_location(conn: sqlite3.Connection) -> str:
    """The file behind a connection, for error messages (":memory:" if there is none)."""
    try:
        for _seq, name, filename in conn.execute("PRAGMA database_list"):
            if name == "main":
                return filename or MEMORY
    except sqlite3.Error:
        pass  # closed or broken connection: a vaguer message is better than a second error
    return "the kiosk database"


def _describe(exc: sqlite3.Error | OSError, location: str) -> str:
    where = Path(location).parent if location != MEMORY else Path(".")
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return f"disk full: free space on {where}"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"cannot write to {where}: make it writable by the kiosk service user"
        return f"cannot use {location}: {exc.strerror or exc}"
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    message = str(exc)
    if primary == _SQLITE_FULL or "disk is full" in message:
        return f"disk full: free space on {where} (writing {location})"
    if primary in (_SQLITE_NOTADB, _SQLITE_CORRUPT) or "not a database" in message or "malformed" in message:
        return (
            f"database {location} is corrupt or not a kiosk database: move it aside and "
            "restart (a new empty database will be created)"
        )
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return (
            f"database {location} stayed locked for over {BUSY_TIMEOUT_MS // 1000} s: "
            "check that only one kiosk service is running"
        )
    if primary == _SQLITE_READONLY:
        return f"database {location} is read-only: make it and {where} writable by the kiosk service user"
    if primary == _SQLITE_CANTOPEN:
        return f"cannot open database {location}: check that {where} exists and is writable"
    if primary == _SQLITE_IOERR:
        return f"I/O error on {location}: check the disk (dmesg) and free space on {where}"
    return f"database {location}: {message}"


@contextmanager
def storage_errors(
    target: sqlite3.Connection | str | Path, doing: str | None = None
) -> Iterator[None]:
    """Turn sqlite3/OS errors raised inside the block into a StorageError.

    `target` names the database in the message (a connection is resolved to its file only
    when something fails). `doing` adds what was being attempted, e.g. which migration.
    """
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        location = database_location(target) if isinstance(target, sqlite3.Connection) else str(target)
        message = _describe(exc, location)
        if doing:
            message = f"{message} (while {doing})"
        raise StorageError(message) from exc


def open_database(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed), configure, check and migrate the kiosk database."""
    location = str(path)
    in_memory = location == MEMORY
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        needed = ".".join(map(str, MIN_SQLITE_VERSION))
        raise StorageError(
            f"this Python uses SQLite {sqlite3.sqlite_version}, the kiosk needs {needed} or newer: "
            "install the kiosk on a newer OS image or a Python built with a newer SQLite"
        )
    if not in_memory:
        with storage_errors(location, "creating its directory"):
            Path(location).parent.mkdir(parents=True, exist_ok=True)
    with storage_errors(location, "opening it"):
        # isolation_level=None: the sqlite3 module must not open transactions behind our
        # back; every write says BEGIN IMMEDIATE ... COMMIT itself. check_same_thread=False
        # because the staff console and the customer loop share it (callers serialise).
        conn = sqlite3.connect(
            location,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    try:
        _configure(conn, location, in_memory)
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, location: str, in_memory: bool) -> None:
    with storage_errors(location, "opening it"):
        # Set first: every later statement may have to wait for another writer.
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        if not in_memory:
            # WAL lets the staff console read while the kiosk writes. Some filesystems
            # (network mounts) silently refuse it, so check what we actually got.
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(
                    f"database {location} refused WAL journaling (journal_mode is {mode}): "
                    "put it on a local disk, not a network or FAT filesystem"
                )
        # FULL fsyncs the WAL at every commit. NORMAL would be faster but may lose the last
        # commits on a power cut, and an escalation we have acknowledged to a customer
        # ("staff are on their way, ticket A-042") must survive a crash or power cut.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # A flipped bit in a page is only noticed when that page is read, which could be
        # mid-conversation. Checking at start-up (once per boot; the DB is kept small by
        # retention) turns it into a clear message for the technician instead.
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StorageError(
                f"database {location} is corrupt ({problems[0]}): move it aside and restart "
                "(a new empty database will be created)"
            )


def load_migrations(
    package: str = MIGRATIONS_PACKAGE, folder: str = MIGRATIONS_FOLDER
) -> list[Migration]:
    """All NNNN_name.sql files shipped in the package, in version order."""
    migrations: list[Migration] = []
    for entry in resources.files(package).joinpath(folder).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        migrations.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions) or not migrations:
        # A packaging bug, not something a technician can fix on site.
        raise StorageError(f"broken kiosk build: migration files are missing or numbered twice {versions}")
    return migrations


def schema_version(conn: sqlite3.Connection) -> int:
    with storage_errors(conn, "reading the schema version"):
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] | None = None) -> int:
    """Apply every migration newer than the database's user_version; return the new version.

    Each migration runs in its own transaction together with its user_version bump, so a
    database is always exactly at some version, never half-way through one.
    """
    known = sorted(migrations, key=lambda m: m.version) if migrations is not None else load_migrations()
    latest = max((m.version for m in known), default=0)
    current = schema_version(conn)
    _check_belongs_to_kiosk(conn, current)
    if current > latest:
        raise StorageError(
            f"database {database_location(conn)} was created by a newer kiosk (schema {current}, "
            f"this build knows {latest}): install the newer kiosk build, or move the database "
            "aside and restart"
        )
    for migration in known:
        if migration.version > current:
            _apply(conn, migration)
            current = migration.version
    return current


def _check_belongs_to_kiosk(conn: sqlite3.Connection, current: int) -> None:
    with storage_errors(conn, "checking whose database it is"):
        application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        has_tables = conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchone() is not None
    foreign = application_id not in (0, KIOSK_APPLICATION_ID) or (current == 0 and has_tables)
    if foreign:
        raise StorageError(
            f"database {database_location(conn)} belongs to another program, not the kiosk: "
            "check the configured database path, or move that file aside and restart"
        )


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    doing = f"applying migration {migration.filename}; it was rolled back"
    with storage_errors(conn, doing):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process (a second kiosk service or a
            # maintenance script) may have applied it while we waited.
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) < migration.version:
                for statement in split_sql_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            rollback_quietly(conn)
            raise


def rollback_quietly(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open, without hiding the error that got us here.

    SQLite rolls back on its own after some errors (disk full, for one), so there may be
    nothing left to roll back.
    """
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def split_sql_statements(script: str) -> list[str]:
    """Split a migration into single statements.

    `executescript` cannot be used: it COMMITs any open transaction first, which would
    separate a migration from its user_version bump. Migration files must therefore not
    contain BEGIN/COMMIT themselves.
    """
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        for piece in re.split(r"(?<=;)", line):
            pending += piece
            if pending.rstrip().endswith(";") and sqlite3.complete_statement(pending):
                statements.append(pending.strip())
                pending = ""
    if pending.strip() and not _only_comments(pending):
        statements.append(pending.strip())
    return statements


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())
