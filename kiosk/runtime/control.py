"""What the touchscreen asks of the runtime, and nothing more.

The UI holds a `Controller` and calls it from its own thread. Every method returns at once: the
work happens on a runtime thread and its result comes back as an event (`kiosk.events`
RuntimeEvent) through the callback the UI registered with `subscribe`, which the UI hands to
`Clock.schedule_once` — so the UI thread never waits on I/O or inference.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from kiosk.events import RuntimeEvent

EventCallback = Callable[[RuntimeEvent], None]


class Controller(Protocol):
    # -- lifecycle ---------------------------------------------------------------------------
    def subscribe(self, callback: EventCallback) -> None:
        """Where events go. Called from runtime threads: the callback must only hand them on."""

    def start(self) -> None:
        """Start the workers (camera, audio, hand-off watch); devices that are absent are reported
        as DeviceStatus(state="off") and the kiosk runs without them."""

    def stop(self) -> None:
        """Stop every worker and close the devices; ends the customer session ("shutdown")."""

    # -- the customer ------------------------------------------------------------------------
    def begin(self) -> None:
        """A customer is here (touch, or the app reacting to CustomerArrived): open a session."""

    def end(self, reason: str) -> None:
        """Forget the customer ("idle", "goodbye", "customer_left"); emits SessionEnded."""

    def touched(self) -> None:
        """The customer touched the screen (typing, scrolling, "I'm still here"): they are here,
        so the runtime's idle and customer-left timers start again. Cheap: called on every touch."""

    def set_language(self, language: str) -> None:
        """The customer's choice on the Welcome screen (only "en" has content for now)."""

    def submit_text(self, text: str, *, source: str = "typed") -> None:
        """A typed request, or a quick-action tile's phrase (source "tile"); emits Answered."""

    def start_listening(self) -> None:
        """Push-to-talk pressed (or the conversation opened in hands-free mode)."""

    def stop_listening(self) -> None:
        """Push-to-talk released / leaving the conversation; an utterance in progress is finished."""

    def start_scan(self) -> None:
        """The Scan screen is showing: guide (ScanGuidance) and read what is held up (Answered)."""

    def stop_scan(self) -> None:
        """Leaving the Scan screen."""

    def request_staff(self) -> None:
        """The "talk to a person" button: opens a ticket at once; emits Answered + HandoffUpdate."""

    def cancel_handoff(self) -> None:
        """The customer no longer needs staff; emits Answered + HandoffUpdate(status "resolved")."""

    def feedback(self, rating: int, reason: str | None = None) -> None:
        """1–5 and an optional reason, stored with the session."""

    def ask_rating(self, asked: bool = True) -> None:
        """The Feedback screen asks "how was your visit?" (True) or stopped asking (False). While it
        asks, the microphone listens and a spoken rating is stored; emits Answered with a card of
        kind "rating" ({"stars": 1..5, or None for "no thanks"})."""

    def ask_reason(self, stars: int | None) -> None:
        """The Feedback screen asks what stood out about a rating of `stars` (None: stopped asking).
        A spoken reason is stored with the rating; emits Answered with a card of kind
        "rating_reason" ({"stars": n, "reason": one of the offered reasons, or None for "no thanks"})."""

    # -- what the screen shows ---------------------------------------------------------------
    def preview(self) -> np.ndarray | None:
        """The newest camera frame (BGR) for the Scan screen's preview, or None. Kept in memory
        only, replaced by the next frame; never written anywhere."""

    @property
    def camera_live(self) -> bool: ...

    @property
    def microphone_live(self) -> bool: ...

    @property
    def hands_free(self) -> bool:
        """The microphone opens on its own when the camera sees a customer (endpoint.mode
        "hands_free"), so "say hello" can wake the kiosk; otherwise speaking needs a tap first."""

    @property
    def listens_without_camera(self) -> bool:
        """Hands-free, and the microphone listens for a greeting whenever the camera is not
        working (endpoint.listen_without_camera), so "say hello" wakes the kiosk without one."""

    @property
    def store_name(self) -> str: ...

    @property
    def quick_actions(self) -> list[tuple[str, str]]:
        """(label, phrase) for the Conversation screen's tiles, most common intents first."""
