"""Hand-off: the ticket number, "a team member is on the way", how long the customer has waited,
and the moment staff claim the ticket, who is coming. Cancel → controller.cancel_handoff()."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.screens import KioskScreen


def waited_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class HandoffScreen(KioskScreen):
    number = StringProperty("")
    status = StringProperty("open")
    staff = StringProperty("")
    desk = StringProperty("")
    waited = StringProperty("0:00")
    claimed = BooleanProperty(False)
    cancelling = BooleanProperty(False)
    headline_text = StringProperty("A team member is on the way")

    def on_kv_post(self, *_):
        self._since: dict[str, float] = {}
        self._tick_event = None

    def prepare(self, ticket: dict | None = None, answer: str = "", **_):
        if not ticket:
            return
        number = str(ticket.get("number") or "")
        if number and number != self.number:
            self.cancelling = False
        self.number = number or self.number
        self.status = ticket.get("status") or "open"
        self.claimed = self.status == "claimed"
        self.staff = (ticket.get("claimed_by") or "").strip()
        desk = ticket.get("desk") or self.desk
        self.desk = desk
        self._since.setdefault(self.number, self.app.now())
        self.headline_text = self.headline()
        self._tick()

    def on_enter(self, *_):
        if self._tick_event is None:
            self._tick_event = Clock.schedule_interval(self._tick, 0.5)
        self._tick()

    def on_leave(self, *_):
        if self._tick_event is not None:
            self._tick_event.cancel()
            self._tick_event = None

    def _tick(self, *_):
        since = self._since.get(self.number)
        if since is not None:
            self.waited = waited_text(self.app.now() - since)

    def headline(self) -> str:
        if self.claimed:
            return f"{self.staff} is coming to help you" if self.staff else "A team member is coming to you now"
        return "A team member is on the way"

    def cancel(self):
        self.cancelling = True
        self.app.cancel_handoff()

    def keep_asking(self):
        self.app.show("conversation")

    def clear(self) -> None:
        self.on_leave()
        self.number = self.staff = self.desk = ""
        self.status, self.claimed, self.cancelling, self.waited = "open", False, False, "0:00"
        self.headline_text = self.headline()
        self._since.clear()


SCREEN = HandoffScreen
