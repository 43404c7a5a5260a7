"""Feedback: a 1–5 rating and an optional reason, one tap each → controller.feedback(rating, reason);
then thanks, controller.end("goodbye") and back to Attract. The stars are stored as soon as they
are tapped (or said), so skipping the reason or walking away keeps them; a reason, or another
star, changes that one rating.

Both questions can be answered aloud too: while one is on screen the controller is told
(ask_rating / ask_reason), and the core stores what was said and answers with a "rating" or
"rating_reason" card, which arrives here as rated() or reasoned()."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import NumericProperty, OptionProperty, StringProperty

from kiosk.dialogue.rating import BAD_REASONS, GOOD_REASONS
from kiosk.ui.screens import KioskScreen
from kiosk.ui.widgets import Chip

RATING_WORDS = ("Poor", "Fair", "Good", "Very good", "Excellent")
THANKS_S = 4.0  # the thank-you stays this long, then the session ends
UNANSWERED_S = 30.0  # nobody rates (a voice-only customer walked off): end the session after this


class FeedbackScreen(KioskScreen):
    phase = OptionProperty("rate", options=["rate", "reason", "thanks"])
    rating = NumericProperty(0)
    goodbye = StringProperty("")
    thanks_text = StringProperty("")

    def on_kv_post(self, *_):
        self._stored = 0  # the stars the core has stored for this visit (0: none yet)
        self._end_event = None
        self._wait_event = None
        self.app.theme.bind(version=lambda *_: self._build_reasons())

    def on_rating(self, *_):
        for i in range(1, 6):
            star = self.ids.get(f"star{i}")
            if star is not None:
                star.icon_filled = i <= self.rating
                star.variant = "soft" if i <= self.rating else "secondary"

    def prepare(self, goodbye: str = "", **_):
        if self.phase != "thanks":
            self.goodbye = goodbye or ""

    def on_enter(self, *_):
        if self._wait_event is None and self.phase != "thanks":
            self._wait_event = Clock.schedule_once(lambda *_: self._thank(), UNANSWERED_S)
        if self.phase == "rate":
            self._tell("ask_rating", True)  # a rating can be said as well as tapped

    def on_leave(self, *_):
        if self.phase == "reason":
            self._tell("ask_reason", None)
        else:
            self._tell("ask_rating", False)

    def _tell(self, method: str, value) -> None:
        """Tell the controller which question is up, so a spoken answer to it is expected."""
        try:
            getattr(self.app.controller, method)(value)
        except Exception:  # noqa: BLE001 - voice is a second way to answer, never a reason to fail
            pass

    def rated(self, stars: int | None) -> None:
        """The customer said their rating (or "no thanks"); the controller has stored it and now
        asks what stood out, which can be said or tapped too."""
        self.app.activity()
        if not stars:
            self._tell("ask_rating", False)
            self._thank()
            return
        self._stored = int(stars)
        self._offer_reasons(int(stars))

    def reasoned(self, reason: str | None) -> None:
        """The customer said what stood out (or "no thanks"); the controller has stored it."""
        self.app.activity()
        self._stored = int(self.rating)
        self._thank()

    def _stop_waiting(self):
        if self._wait_event is not None:
            self._wait_event.cancel()
            self._wait_event = None

    def rate(self, rating: int) -> None:
        self.app.activity()
        self._store(rating, None)
        self._offer_reasons(rating)

    def _store(self, rating: int, reason: str | None) -> None:
        if rating and (self._stored != rating or reason):
            self._stored = int(rating)
            self.app.controller.feedback(int(rating), reason)

    def _offer_reasons(self, rating: int) -> None:
        self._stop_waiting()
        self._wait_event = Clock.schedule_once(lambda *_: self._thank(), UNANSWERED_S)
        self.rating = rating
        self._tell("ask_reason", rating)  # what is said next is a reason, not a rating
        self.phase = "reason"
        self._build_reasons()

    def _build_reasons(self):
        box = self.ids.reasons
        box.clear_widgets()
        if self.phase != "reason":
            return
        t = self.app.theme
        for reason in (GOOD_REASONS if self.rating >= 4 else BAD_REASONS):
            chip = Chip(text=reason, variant="soft", size_hint=(None, None), height=t.button_h, font_size=t.fs_m,
                        auto_width=True)
            chip.reason = reason
            chip.bind(on_release=lambda c: self.send(c.reason))
            box.add_widget(chip)

    def send(self, reason: str | None = None) -> None:
        """A reason chip: it completes the rating, which was stored when its star was tapped or said."""
        self._store(int(self.rating), reason)
        self._thank()

    def skip(self) -> None:
        self._thank()

    def _thank(self) -> None:
        self.app.activity()
        self._stop_waiting()
        if self.phase == "reason":
            self._tell("ask_reason", None)
        self.thanks_text = "Thank you for your feedback!" if self._stored else "Thank you!"
        self.phase = "thanks"
        self.ids.reasons.clear_widgets()
        if self._end_event is None:
            self._end_event = Clock.schedule_once(lambda *_: self.app.end_session("goodbye"), THANKS_S)

    def clear(self) -> None:
        self._stop_waiting()
        if self._end_event is not None:
            self._end_event.cancel()
            self._end_event = None
        self._stored = 0
        self.rating = 0
        self.goodbye = ""
        self.phase = "rate"
        self.ids.reasons.clear_widgets()


SCREEN = FeedbackScreen
