"""The kiosk's shared vocabulary: frozen values passed between stages, logged, and used in tests.

Each stage (understanding → dialogue decision → answer → turn result) hands the next one of
these; `as_dict()` gives the JSON form used by `kiosk ask --json`, the logs and the journal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from kiosk.nlu.model import IntentScore
from kiosk.nlu.slots import Slots


class Outcome(str, Enum):
    ANSWERED = "answered"
    CLARIFY = "clarify"  # asked which of two intents was meant
    ASK_SLOT = "ask_slot"  # asked for something the answer needs (order number, product, date)
    ESCALATED = "escalated"  # handed over to staff
    REJECTED = "rejected"  # not understood or not something the kiosk handles


@dataclass(frozen=True)
class ProductRef:
    """A catalogue product as the dialogue remembers it (the catalogue stays the source of truth)."""

    sku: str
    name: str
    score: float = 100.0


@dataclass(frozen=True)
class Understanding:
    """What the kiosk made of one utterance, before any decision."""

    text: str
    intent: str | None  # None: out of scope or nothing recognisable
    confidence: float
    alternatives: tuple[IntentScore, ...]
    slots: Slots
    products: tuple[ProductRef, ...] = ()  # best first; several when the text fits several equally
    department: str | None = None
    service: str | None = None
    known_features: int = 0
    oos_confidence: float = 0.0  # probability the model gave to "not a shop request"
    weekday: int | None = None  # "on Saturdays": a weekday in general (0 = Monday), not one date

    def probability(self, intent: str) -> float:
        return next((a.confidence for a in self.alternatives if a.intent == intent), 0.0)


@dataclass(frozen=True)
class Decision:
    """What the dialogue decided to do with an utterance; the answerer carries it out."""

    kind: str  # answer | clarify | ask_slot | escalate | reject | repeat | cancel | end
    intent: str | None = None
    product: ProductRef | None = None
    candidates: tuple[ProductRef, ...] = ()  # for "which one?" questions about products
    options: tuple[str, ...] = ()  # intents offered when clarifying
    slot: str | None = None  # the slot asked for
    reason: str | None = None  # why escalating or rejecting
    slots: Slots = field(default_factory=Slots)
    department: str | None = None
    service: str | None = None
    weekday: int | None = None


@dataclass(frozen=True)
class Reply:
    """An answer ready to show and say: the text plus a structured card for the screen."""

    text: str
    card: dict[str, Any] = field(default_factory=dict)
    ok: bool = True  # False: the answer could not be given (order not found, bad barcode…)
    retry_slot: str | None = None  # the slot to ask for again when not ok
    offer_handoff: bool = False  # the reply ends with "shall I call a team member?"


@dataclass(frozen=True)
class TurnResult:
    session_id: str
    text: str
    intent: str | None
    confidence: float
    alternatives: tuple[IntentScore, ...]
    slots: dict[str, Any]
    answer: str
    card: dict[str, Any]
    outcome: Outcome
    state: str
    escalation: dict[str, Any] | None
    latency_ms: float
    session_ended: bool
    at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcome"] = self.outcome.value
        out["alternatives"] = [{"intent": a.intent, "confidence": round(a.confidence, 4)}
                               for a in self.alternatives]
        out["confidence"] = round(self.confidence, 4)
        out["latency_ms"] = round(self.latency_ms, 2)
        out["at"] = self.at.isoformat()
        return out


@dataclass(frozen=True)
class ScanFacts:
    """What a scan means to the conversation, stripped of pixels and of anything not needed.

    Made by `kiosk.vision.scan` from what the camera read; the dialogue only ever sees this.
    An ID document contributes its validity and expiry, plus the given name for the greeting —
    never the document number or birth date.
    """

    kind: str  # product | order | receipt | id_document | code | nothing
    gtin: str | None = None  # a product barcode as EAN-13 digits
    invalid_gtin: str | None = None  # shaped like a product code, check digit wrong
    order_number: str | None = None
    purchase_date: dt.date | None = None  # from a receipt
    total: str | None = None  # as printed, normalised ("12.50")
    receipt_number: str | None = None
    store_name: str | None = None
    id_valid: bool | None = None  # an MRZ was found: do its check digits pass?
    id_expiry: dt.date | None = None
    id_given_name: str | None = None
    id_adult: bool | None = None  # 18 or over today (None when not computable)
    text: str = ""  # untrusted payload or OCR text, shown as plain text only

    def describe(self) -> str:
        """What the journal records for the scan: its kind and what the kiosk acted on, no personal data."""
        if self.kind == "product":
            return f"[scan] product barcode {self.gtin or self.invalid_gtin}"
        if self.kind == "order":
            return f"[scan] order code {self.order_number}"
        if self.kind == "receipt":
            parts = [p for p in (self.receipt_number and f"no. {self.receipt_number}",
                                 self.purchase_date and self.purchase_date.isoformat(),
                                 self.total and f"total {self.total}") if p]
            return "[scan] receipt " + ", ".join(parts)
        if self.kind == "id_document":
            return "[scan] ID document " + ("(valid)" if self.id_valid else "(unreadable)")
        return f"[scan] {self.kind}"


# --- Customer presence (kiosk.vision.presence) ------------------------------------------------------
# Times are those of the frames that caused them (seconds: time.monotonic() for a live camera,
# media time for a file). Only counts and timings travel: never an image or a crop.


@dataclass(frozen=True)
class CustomerArrived:
    t: float
    reason: str = "face"  # "face": in k of the last n detections; "motion": sustained person-sized motion


@dataclass(frozen=True)
class CustomerApproaching:
    t: float
    distance_m: float  # rough: from the face's width in the frame, the camera's field of view


@dataclass(frozen=True)
class CustomerLeft:
    t: float
    dwell_s: float  # from arrival to the last moment the customer was seen


PresenceEvent = CustomerArrived | CustomerApproaching | CustomerLeft


# --- Runtime → screen (kiosk.runtime) ----------------------------------------------------------------
# What the workers tell the touchscreen app. The app receives them on its own thread only
# (Clock.schedule_once); every one is also one log line. Presence events above travel the same way.


@dataclass(frozen=True)
class DeviceStatus:
    device: str  # "camera" | "microphone" | "speaker"
    # "live" | "starting" (loading a model) | "off" (not configured / absent) | "reconnecting" | "failed"
    state: str
    detail: str = ""  # for the technician's log and a discreet note on screen


@dataclass(frozen=True)
class ListeningChanged:
    listening: bool  # the microphone indicator: on while audio is being taken in for recognition


@dataclass(frozen=True)
class AudioLevel:
    dbfs: float  # loudness of the latest audio, for the level meter (about 10 a second)


@dataclass(frozen=True)
class PartialTranscript:
    text: str  # what the customer has said so far in this utterance


@dataclass(frozen=True)
class Answered:
    """The kiosk's answer to one request, however it was made."""

    source: str  # "speech" | "typed" | "tile" | "scan" | "system"
    answer: str
    card: dict[str, Any]
    turn: TurnResult | None  # None when nothing usable was heard (answer says "didn't catch that")
    heard: str | None = None  # the transcript, for speech


@dataclass(frozen=True)
class ScanGuidance:
    hint: str | None  # kiosk.vision.document HINT_* key; None when there is nothing to ask


@dataclass(frozen=True)
class HandoffUpdate:
    ticket: dict[str, Any]  # Ticket.as_dict(): number, status ("open" | "claimed" | "resolved"), staff, times


@dataclass(frozen=True)
class SessionEnded:
    reason: str  # "idle" | "goodbye" | "customer_left" | "replaced" | "shutdown"


@dataclass(frozen=True)
class WorkerRestarted:
    worker: str  # "camera" | "audio" | …
    error: str
    restarts: int


RuntimeEvent = (PresenceEvent | DeviceStatus | ListeningChanged | AudioLevel | PartialTranscript | Answered
                | ScanGuidance | HandoffUpdate | SessionEnded | WorkerRestarted)
