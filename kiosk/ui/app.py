"""KioskApp: the screens, the routing of runtime events to them, idle timeout and privacy clearing.

* Screens are loaded on first show: `kiosk.ui.screens.<name>` (.py) and its .kv beside it.
* The runtime calls our `subscribe` callback from its own threads; the callback only hands the
  event to `Clock.schedule_once`, and `handle` runs on the UI thread. The UI never waits on the
  controller: every call returns at once and its result arrives as another event.
* Voice and touch drive the same transitions: an answer that opened a hand-off shows the Hand-off
  screen whether it was asked for by button or by voice; a goodbye shows Feedback.
* Idle (no touch, no speech, no answer for `dialogue.idle_timeout_s`) on any screen, or the session
  ending in the runtime (the customer left the camera's view), returns to Attract with everything
  the customer said or showed removed: the screens that held it are dropped, not just emptied.
  Touches are passed on (`controller.touched`), so the runtime's timers see the customer too.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, DictProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition

from kiosk import paths
from kiosk.config import UiSection
from kiosk.events import (
    Answered,
    AudioLevel,
    CustomerApproaching,
    CustomerArrived,
    DeviceStatus,
    HandoffUpdate,
    ListeningChanged,
    PartialTranscript,
    ScanGuidance,
    SessionEnded,
    WorkerRestarted,
)
from kiosk.ui.theme import Theme
from kiosk.ui.transition import CrossFade

log = logging.getLogger("kiosk.ui")

SCREENS = ("attract", "welcome", "conversation", "scan", "handoff", "feedback")
# Screens that never show anything the customer said or showed: kept when a session ends.
KEEP_ON_RESET = frozenset({"attract", "welcome"})
LIVE_UPDATE_S = 0.1  # the level meter and the words being heard are redrawn at most this often
HANDOFF_IDLE_FACTOR = 3.0  # waiting for staff (a ticket is open) is not being idle: a longer limit


class KioskApp(App):
    theme = ObjectProperty(None)
    store_name = StringProperty("")
    current = StringProperty("attract")
    camera_state = StringProperty("off")
    microphone_state = StringProperty("off")
    hands_free = BooleanProperty(False)  # the camera seeing someone opens the microphone
    listens_without_camera = BooleanProperty(False)  # ...and a greeting does when the camera is down
    speaker_state = StringProperty("off")
    listening = BooleanProperty(False)
    audio_level = NumericProperty(0.0)  # 0..1 for the level meter
    partial = StringProperty("")  # what the customer is saying right now
    scan_hint = StringProperty("")  # ScanGuidance key, "" for none
    ticket = DictProperty({})  # the open hand-off ticket, {} when there is none
    ticket_number = StringProperty("")
    dimmed = BooleanProperty(False)
    idle_warning = BooleanProperty(False)
    idle_left = NumericProperty(0)
    language = StringProperty("en")

    def __init__(self, controller: Any, ui: UiSection | None = None, *, idle_timeout_s: float = 90.0,
                 language: str = "en", now: Callable[[], float] = time.monotonic, transitions: bool = True,
                 start_controller: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.controller = controller
        self.ui = ui or UiSection()
        self.idle_timeout_s = float(idle_timeout_s)
        self.language = language
        self.now = now
        self.transitions = transitions
        self.start_controller = start_controller  # `kiosk run`: start the runtime once we listen
        self.theme = Theme(large_text=self.ui.large_text, high_contrast=self.ui.high_contrast)
        self.title = "Kiosk"
        self._kv_loaded: set[str] = set()
        self._last_activity = now()
        self._ui_ended: tuple[str, float] | None = None  # (reason, when) of the last end() we asked for
        self.responses = self._load_responses(language)
        self._live_pending: dict[str, Any] = {}
        self._live_shown_at = 0.0
        self._live_event = None

    def on_ticket(self, _app, ticket) -> None:
        self.ticket_number = str(ticket.get("number") or "")

    # -- start-up --------------------------------------------------------------------------------
    def build(self):
        from kiosk.ui import widgets  # noqa: F401 - registers the shared kv rules

        Builder.load_file(str(Path(__file__).with_name("app.kv")))
        self.theme.fit(Window.size)
        Window.bind(size=lambda _w, size: self.theme.fit(size))
        Window.bind(on_touch_down=self._touched)
        self.theme.bind(bg=self._paint_background)
        self._paint_background(self.theme, self.theme.bg)
        try:
            self.store_name = self.controller.store_name
        except Exception:  # noqa: BLE001 - a name is nice to have, never a reason not to start
            self.store_name = ""
        self.title = self.store_name or "Kiosk"
        from kivy.factory import Factory

        root = Factory.KioskRoot()
        self.root_widget = root
        self.sm = root.ids.sm
        self.sm.transition = CrossFade(duration=0.18) if self.transitions else NoTransition()
        self.show("attract")
        self.controller.subscribe(self._from_runtime)
        if self.start_controller:
            self.controller.start()  # after subscribe: its DeviceStatus events must reach us
        self.camera_state = "live" if _safe(lambda: self.controller.camera_live) else self.camera_state
        self.microphone_state = "live" if _safe(lambda: self.controller.microphone_live) else self.microphone_state
        self.hands_free = bool(_safe(lambda: self.controller.hands_free))
        self.listens_without_camera = bool(_safe(lambda: self.controller.listens_without_camera))
        Clock.schedule_interval(self._tick, 0.5)
        return root

    @staticmethod
    def _paint_background(_theme, bg) -> None:
        Window.clearcolor = list(bg)

    def _load_responses(self, language: str):
        from kiosk.dialogue.answers import load_responses

        try:
            return load_responses(paths.ASSETS_DIR / "responses" / f"{language}.yaml")
        except Exception:  # noqa: BLE001 - unknown language: English
            return load_responses(paths.ASSETS_DIR / "responses" / "en.yaml")

    def say(self, key: str, default: str = "", **fields) -> str:
        """A text from the reply templates (the same words the kiosk speaks)."""
        try:
            return self.responses.say(key, store=self.store_name, **fields)
        except (KeyError, IndexError):
            return default

    # -- screens ---------------------------------------------------------------------------------
    def screen(self, name: str):
        """The screen called `name`, loading its module and .kv the first time."""
        if self.sm.has_screen(name):
            return self.sm.get_screen(name)
        module = importlib.import_module(f"kiosk.ui.screens.{name}")
        kv = str(Path(module.__file__).with_suffix(".kv"))
        if kv not in self._kv_loaded:
            Builder.load_file(kv)
            self._kv_loaded.add(kv)
        screen = module.SCREEN(name=name)
        self.sm.add_widget(screen)
        return screen

    def show(self, name: str, **options):
        screen = self.screen(name)
        if options:
            screen.prepare(**options)
        if self.sm.current != name:
            self.sm.current = name
            log.info("screen %s", name)  # with the runtime's event lines: the session as it went
        self.current = name
        if name != "attract":
            self.dimmed = False
        return screen

    # -- runtime events --------------------------------------------------------------------------
    def _from_runtime(self, event) -> None:
        """The subscribe callback: runs on a runtime thread, only hands the event over."""
        Clock.schedule_once(partial(self._dispatch_event, event), 0)

    def _dispatch_event(self, event, *_dt) -> None:
        try:
            self.handle(event)
        except Exception:  # one bad event must not take the kiosk down
            log.exception("UI could not handle %r", event)

    def handle(self, event) -> None:
        if isinstance(event, Answered):
            self._answered(event)
        elif isinstance(event, PartialTranscript):
            self.activity()
            self._live_update(partial=event.text)
            if event.text and self.current in ("attract", "welcome"):
                self.show("conversation")  # the runtime opened the session for what it heard
        elif isinstance(event, ListeningChanged):
            self.listening = event.listening
            if event.listening:
                self.activity()
            else:
                self._live_pending.pop("audio_level", None)
                self.audio_level = 0.0
        elif isinstance(event, AudioLevel):
            from kiosk.ui.widgets import LevelMeter

            self._live_update(audio_level=LevelMeter.from_dbfs(event.dbfs))
        elif isinstance(event, HandoffUpdate):
            self._handoff_update(dict(event.ticket))
        elif isinstance(event, ScanGuidance):
            self.scan_hint = event.hint or ""
            if event.hint not in (None, "show_document"):
                self.activity()  # someone is holding something up to the camera
        elif isinstance(event, DeviceStatus):
            if event.device in ("camera", "microphone", "speaker"):
                setattr(self, f"{event.device}_state", event.state)
            if event.device == "microphone" and event.state != "live":
                self.listening = False
        elif isinstance(event, CustomerArrived):
            if self.current == "attract":
                self.wake()
            else:
                self.activity()
        elif isinstance(event, CustomerApproaching):
            if self.current == "attract":
                self.dimmed = False
                self._last_activity = self.now()
        elif isinstance(event, SessionEnded):
            self._session_ended(event.reason)
        elif isinstance(event, WorkerRestarted):
            log.info("runtime worker %s restarted (%s)", event.worker, event.error)

    def _live_update(self, **values) -> None:
        """The level meter (10 a second) and the words being heard (5 a second) arrive unaligned, and
        each change redraws the whole window: shown together, at most every LIVE_UPDATE_S, they cost
        one redraw where they cost two. The first after a pause is shown at once."""
        self._live_pending.update(values)
        wait = self._live_shown_at + LIVE_UPDATE_S - time.monotonic()
        if wait <= 0:
            self._show_live()
        elif self._live_event is None:
            self._live_event = Clock.schedule_once(self._show_live, wait)

    def _show_live(self, *_dt) -> None:
        self._live_event = None
        self._live_shown_at = time.monotonic()
        values, self._live_pending = self._live_pending, {}
        for name, value in values.items():
            setattr(self, name, value)

    def _answered(self, ev: Answered) -> None:
        self.activity()
        self._live_pending.pop("partial", None)  # words still on their way: the answer replaces them
        self.partial = ""
        card = ev.card or {}
        kind = card.get("kind")
        turn = ev.turn
        outcome = getattr(getattr(turn, "outcome", None), "value", getattr(turn, "outcome", None))
        if kind == "handoff" or outcome == "escalated":
            ticket = dict(turn.escalation) if turn is not None and turn.escalation else {}
            ticket.setdefault("number", card.get("ticket"))
            ticket.setdefault("status", "open")
            if card.get("desk"):
                ticket.setdefault("desk", card["desk"])
            self._open_handoff(ticket, ev.answer)
            return
        if kind == "open_scan":  # "I want to scan my receipt"
            self.show("scan")
            return
        if kind == "language" and card.get("code") and card["code"] != self.language:
            self.choose_language(card["code"])  # "Spanish please": as if tapped on the Welcome screen
        if kind == "display":  # "make the text bigger": the same switches as the buttons at the top
            setting = card.get("setting")
            if setting in ("large_text", "normal_text"):
                self.theme.large_text = setting == "large_text"
            elif setting in ("high_contrast", "normal_contrast"):
                self.theme.high_contrast = setting == "high_contrast"
        if kind in ("rating", "rating_reason"):  # said on the Feedback screen: already stored
            if self.current == "feedback":
                feedback = self.screen("feedback")
                if kind == "rating":
                    feedback.rated(card.get("stars"))
                else:
                    feedback.reasoned(card.get("reason"))
            return
        if kind == "goodbye" or (turn is not None and turn.session_ended):
            self.show("feedback", goodbye=ev.answer)
            return
        if ev.source == "scan" and self.current == "scan":
            self.screen("scan").show_result(ev)
            return
        self.show("conversation").show_answer(ev)

    def _open_handoff(self, ticket: dict, answer: str = "") -> None:
        merged = dict(self.ticket) if self.ticket.get("number") == ticket.get("number") else {}
        merged.update({k: v for k, v in ticket.items() if v is not None})
        self.ticket = merged
        self.show("handoff", ticket=merged, answer=answer)

    def _handoff_update(self, ticket: dict) -> None:
        status = ticket.get("status")
        if status == "resolved":
            ours = not self.ticket or self.ticket.get("number") == ticket.get("number")
            if not ours:
                return
            self.ticket = {}
            if self.current == "handoff":
                if ticket.get("resolved_by") == "customer":
                    self.show("conversation")
                else:  # a team member helped: ask how it went
                    self.show("feedback", goodbye="")
            return
        self.activity()
        self._open_handoff(ticket)

    def _session_ended(self, reason: str) -> None:
        if reason == "replaced":
            return
        if self._ui_ended is not None:
            asked, when = self._ui_ended
            if asked == reason and self.now() - when < 5.0:
                return  # the echo of an end() this app asked for: already handled
        if reason == "goodbye":
            if self.current in ("conversation", "welcome", "scan", "handoff"):
                self.show("feedback", goodbye=self.say("goodbye"))
            return
        if self.current != "attract":
            self.forget_customer()

    # -- customer actions (called by screens) ----------------------------------------------------
    def wake(self) -> None:
        """A touch or an arrival on Attract: open a session and greet."""
        self.dimmed = False
        self.activity()
        self.controller.begin()
        self.show("welcome")

    def submit(self, text: str, source: str = "typed") -> None:
        text = text.strip()
        if text:
            self.activity()
            self.controller.submit_text(text, source=source)

    def request_staff(self) -> None:
        self.activity()
        self.controller.request_staff()

    def cancel_handoff(self) -> None:
        self.activity()
        self.controller.cancel_handoff()

    def toggle_listening(self) -> None:
        self.activity()
        if self.listening:
            self.controller.stop_listening()
        else:
            self.controller.start_listening()

    def choose_language(self, code: str) -> None:
        self.activity()
        self.language = code
        self.responses = self._load_responses(code)
        self.controller.set_language(code)

    def toggle_large_text(self) -> None:
        self.activity()
        self.theme.large_text = not self.theme.large_text

    def toggle_high_contrast(self) -> None:
        self.activity()
        self.theme.high_contrast = not self.theme.high_contrast

    def finish(self) -> None:
        """The customer is done (Finish button): ask for feedback."""
        self.activity()
        self.show("feedback", goodbye="")

    def end_session(self, reason: str) -> None:
        """End the customer's session ourselves (idle, goodbye after feedback, customer left)."""
        for screen in list(self.sm.screens):
            screen.before_end(reason)
        if self.listening:
            self.controller.stop_listening()
        self._ui_ended = (reason, self.now())
        self.controller.end(reason)
        self.forget_customer()

    def forget_customer(self) -> None:
        """Back to Attract with nothing of the customer left on screen or in a widget."""
        self.sm.transition, saved = NoTransition(), self.sm.transition
        self.show("attract")
        self.sm.transition = saved
        for screen in list(self.sm.screens):
            screen.clear()
            if screen.name not in KEEP_ON_RESET:
                self.sm.remove_widget(screen)
        self._live_pending.clear()
        self.partial = ""
        self.scan_hint = ""
        self.ticket = {}
        self.listening = False
        self.audio_level = 0.0
        self.idle_warning = False
        self.theme.large_text = self.ui.large_text
        self.theme.high_contrast = self.ui.high_contrast
        if self.language != "en":
            self.language = "en"
            self.responses = self._load_responses("en")
        self._last_activity = self.now()

    # -- idle, dimming, presence -----------------------------------------------------------------
    def activity(self) -> None:
        """The customer did something on screen. The runtime owns the session's timers (idle,
        customer left after the camera lost them), so it hears of it too."""
        self._last_activity = self.now()
        self.idle_warning = False
        _safe(self.controller.touched)

    def _touched(self, _window, touch) -> None:
        if self.dimmed:
            self.dimmed = False
        self.activity()  # returns None: the touch goes on to the widgets

    def idle_limit(self) -> float:
        waiting = self.current == "handoff" or bool(self.ticket_number)
        return self.idle_timeout_s * (HANDOFF_IDLE_FACTOR if waiting else 1.0)

    def _tick(self, *_dt) -> None:
        now = self.now()
        idle = now - self._last_activity
        if self.current == "attract":
            self.idle_warning = False
            if not self.dimmed and idle >= self.ui.dim_after_s:
                self.dimmed = True
            return
        limit = self.idle_limit()
        if idle >= limit:
            self.end_session("idle")
            return
        warn = min(15.0, limit * 0.25)
        warning = idle >= limit - warn
        if warning:  # the countdown is text on screen: changing it while hidden redraws the window each second
            self.idle_left = math.ceil(limit - idle)
        self.idle_warning = warning


def _safe(get: Callable[[], Any]) -> Any:
    try:
        return get()
    except Exception:  # noqa: BLE001 - a property that fails reads as "no"
        return None
