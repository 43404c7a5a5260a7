-- Schema 1: customer sessions, their turns, escalations to staff, and feedback.
--
-- Runs inside one transaction opened by kiosk.storage.db (with the user_version bump),
-- so this file must not contain BEGIN/COMMIT.
--
-- Timestamps are ISO-8601 UTC text with a fixed width, 'YYYY-MM-DDTHH:MM:SS.ffffffZ',
-- so comparing them as text orders them in time (retention relies on this).
-- There is deliberately no "ended_at >= started_at" check: kiosks without a battery clock
-- jump in time when NTP syncs, and refusing to record a session for that would lose data.

-- "KIOS": marks the file as a kiosk database (checked before migrating).
PRAGMA application_id = 1263095635;

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),  -- uuid4 hex
    kiosk_id    TEXT NOT NULL CHECK (length(kiosk_id) > 0),
    language    TEXT NOT NULL CHECK (length(language) > 0),
    started_at  TEXT NOT NULL CHECK (started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'),
    ended_at    TEXT CHECK (ended_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'),
    end_reason  TEXT,
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
) STRICT;

-- Retention scans ended sessions by end time.
CREATE INDEX sessions_by_end ON sessions (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE turns (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq >= 1),  -- 1, 2, 3 ... within the session
    created_at  TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'),
    text        TEXT NOT NULL,
    intent      TEXT,  -- NULL when the model was not run (e.g. empty input)
    confidence  REAL CHECK (confidence BETWEEN 0.0 AND 1.0),
    slots_json  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(slots_json) AND json_type(slots_json) = 'object'),
    answer      TEXT NOT NULL,
    latency_ms  REAL NOT NULL CHECK (latency_ms >= 0.0),
    -- The allowed values live in kiosk.storage.journal.TURN_OUTCOMES, so the dialogue code
    -- can add one without a schema migration; here we only keep the column tidy.
    outcome     TEXT NOT NULL CHECK (length(outcome) BETWEEN 1 AND 32 AND outcome NOT GLOB '*[^a-z_]*'),
    UNIQUE (session_id, seq)  -- also the index for reading a session's turns in order
) STRICT;

CREATE TABLE escalations (
    -- AUTOINCREMENT: ticket numbers are shown to customers and staff, so an id must never
    -- be handed out twice, even after the newest rows are deleted.
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL when staff were called without a customer session (e.g. the help button);
    -- set to NULL when retention deletes a session whose ticket was resolved.
    session_id   TEXT REFERENCES sessions (id) ON DELETE SET NULL,
    reason       TEXT NOT NULL CHECK (length(reason) > 0),
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'resolved')),
    context_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(context_json) AND json_type(context_json) = 'object'),
    created_at   TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'),
    claimed_at   TEXT CHECK (claimed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'),
    claimed_by   TEXT CHECK (length(claimed_by) > 0),
    resolved_at  TEXT CHECK (resolved_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'),
    resolved_by  TEXT CHECK (length(resolved_by) > 0),
    resolution   TEXT,
    CHECK ((claimed_at IS NULL) = (claimed_by IS NULL)),
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL) AND (resolved_at IS NULL) = (resolution IS NULL)),
    -- Status and timestamps must tell the same story. A ticket may be resolved straight
    -- from open (staff handled it at the desk), so claimed_at may stay NULL then.
    CHECK (status <> 'open' OR (claimed_at IS NULL AND resolved_at IS NULL)),
    CHECK (status <> 'claimed' OR (claimed_at IS NOT NULL AND resolved_at IS NULL)),
    CHECK (status <> 'resolved' OR resolved_at IS NOT NULL)
) STRICT;

-- The staff queue: tickets by status, oldest first.
CREATE INDEX escalations_by_status ON escalations (status, id);
-- Retention asks "does this session still have an unresolved ticket?"
CREATE INDEX escalations_by_session ON escalations (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z'),
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT
) STRICT;

CREATE INDEX feedback_by_session ON feedback (session_id);
