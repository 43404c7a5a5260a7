"""`KioskRuntime`: the `Controller` the touchscreen drives, around the text core and the devices.

Threads (all daemons, all joined by `stop()`):
* kiosk-core: the only thread that uses the Assistant. Every Controller call that needs it
  (text, buttons, scans, feedback, begin/end) is queued here and returns at once; the answer
  comes back as an event. The microphone's spoken turns run here too (CoreBoundAssistant).
* kiosk-camera, kiosk-audio: device loops (devices.py), supervised: a crash is logged,
  reported as WorkerRestarted and the loop restarted with back-off.
* kiosk-speaker: speaks answers one at a time, newest first, so a reply never blocks the core;
  the microphone is muted while the kiosk talks.
* kiosk-housekeeping: polls the journal for the open ticket (staff claim and resolve it on
  their console) and runs the customer-left grace and the idle time-out.
Events are handed to the subscribers from whichever thread made them; the subscriber only
forwards them (the UI uses Clock.schedule_once).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import numpy as np

from kiosk.assistant import Assistant
from kiosk.config import Config
from kiosk.events import (
    Answered,
    CustomerApproaching,
    CustomerArrived,
    CustomerLeft,
    DeviceStatus,
    HandoffUpdate,
    RuntimeEvent,
    SessionEnded,
    TurnResult,
    WorkerRestarted,
)
from kiosk.runtime.control import EventCallback
from kiosk.runtime.devices import AudioWorker, CameraWorker, CoreBoundAssistant
from kiosk.runtime.workers import CoreLoop, Emitter, SpeakerWorker, Worker
from kiosk.speech.listener import Heard
from kiosk.storage.journal import Ticket
from kiosk.vision.scan import ScanResult

log = logging.getLogger("kiosk.runtime")

STOP_BUDGET_S = 1.8  # stop() must be over in under 2 s: the app's window closes right after
_TICKET_ORDER = {"open": 0, "claimed": 1, "resolved": 2}
_CAMERA_DOWN = frozenset({"off", "failed", "reconnecting"})  # DeviceStatus states: it sees nobody
# Shown when the text core itself failed (storage full, a bug): the screen must not wait forever.
# The wording is assets/responses/<language>.yaml `internal_error`; this is the last resort when
# even the responses cannot be read.
FAILED_ANSWER = "Sorry, something went wrong on my side. Please ask a team member for help."


class KioskRuntime:
    """Implements kiosk.runtime.control.Controller. Collaborators are passed in (build_runtime wires
    the real ones from the config); a factory that is None means the device is absent."""

    def __init__(self, config: Config, assistant: Assistant, *,
                 microphone_factory: Callable[[], Any] | None = None,
                 speech_engine_factory: Callable[[], Any] | None = None,
                 endpointer: Any = None,
                 camera_factory: Callable[[], Any] | None = None,
                 presence_factory: Callable[[], Any] | None = None,
                 live_scan_factory: Callable[[], Any] | None = None,
                 speaker_factory: Callable[[Callable[[bool], None]], Any] | None = None,
                 leave_grace_s: float = 5.0, handoff_poll_s: float = 1.0,
                 idle_timeout_s: float | None = None, restart_backoff_s: float = 0.5):
        self.config = config
        self.assistant = assistant
        self._leave_grace_s, self._handoff_poll_s = leave_grace_s, handoff_poll_s
        self._idle_timeout_s = idle_timeout_s if idle_timeout_s is not None else config.dialogue.idle_timeout_s
        self._backoff_s = restart_backoff_s
        self._emitter = Emitter()
        self._core = CoreLoop()
        self._stop = threading.Event()
        # Guards the session/hand-off/timer fields below. Re-entrant: a subscriber may call back into
        # the runtime from inside an event sent while it is held.
        self._lock = threading.RLock()
        self._session_open = False
        self._watching: int | None = None  # id of the ticket whose status is polled
        self._ticket_seen: tuple[int, str] | None = None  # last HandoffUpdate sent: (id, status)
        self._customer_present = False
        self._leave_at: float | None = None
        self._last_activity = time.monotonic()
        self._devices: dict[str, str] = {}
        self._workers: list[Worker] = []
        self._started = self._stopped = False
        self.speaker = None if speaker_factory is None else SpeakerWorker(
            lambda: speaker_factory(self._mute), emit=self._send)
        self.camera = None if camera_factory is None else CameraWorker(
            camera_factory, emit=self._send, on_presence=self._on_presence, on_scan_result=self._on_scan,
            presence_factory=presence_factory, live_scan_factory=live_scan_factory)
        self.audio = None
        if microphone_factory is not None and speech_engine_factory is not None:
            if endpointer is None:
                from kiosk.app import build_endpointer
                endpointer = build_endpointer(config)
            self.audio = AudioWorker(
                microphone_factory, speech_engine_factory, endpointer, CoreBoundAssistant(assistant, self._core),
                emit=self._send, on_heard=self._on_heard, on_failed=self._on_spoken_failure,
                on_activity=self._touch, hands_free=config.endpoint.mode == "hands_free",
                grammar=config.speech.grammar, retry_max_s=config.audio.reconnect_max_s,
                listen_without_camera=config.endpoint.listen_without_camera,
                camera_working=self.camera is not None)

    # -- lifecycle ------------------------------------------------------------------------------------
    def subscribe(self, callback: EventCallback) -> None:
        self._emitter.subscribe(callback)

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._core.start()
        if self.camera is None:
            self._send(DeviceStatus("camera", "off", 'no camera configured (camera.source = "none")'))
        else:
            self._add_worker("camera", self.camera.run)
        if self.audio is None:
            self._send(DeviceStatus("microphone", "off", 'no microphone configured (audio.source = "none")'))
        else:
            self._add_worker("audio", self.audio.run)
        if self.speaker is None:
            self._send(DeviceStatus("speaker", "off", "spoken replies are not configured"))
        else:
            self._add_worker("speaker", self.speaker.run)
        self._add_worker("housekeeping", self._housekeeping)
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        if not self._started or self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + STOP_BUDGET_S
        try:  # the customer's session ends while the core still runs (it is recorded as "shutdown")
            self._core.call(lambda: self._end_session("shutdown", always=False), timeout=0.5)
        except Exception as exc:
            log.warning("could not end the session cleanly on shutdown: %s", exc)
        self._stop.set()
        if self.speaker is not None:
            self.speaker.close()  # wakes its thread, which stops playback on its way out
        if self.audio is not None:
            self.audio.interrupt()  # a read waiting on a silent (or muted) microphone returns now
        self._core.stop(max(0.1, deadline - time.monotonic()))
        for worker in self._workers:
            worker.join(deadline - time.monotonic())
        for device in (self.camera, self.audio):
            if device is not None:
                device.close()
        stuck = [t.name for t in self.threads() if t.is_alive()]
        if stuck:  # daemons: they cannot keep the process alive, but a technician should know
            log.warning("runtime threads still running after stop(): %s", ", ".join(stuck))

    def threads(self) -> list[threading.Thread]:
        return [self._core.thread, *(w.thread for w in self._workers)]

    # -- the customer ----------------------------------------------------------------------------------
    def begin(self) -> None:
        self._touch()
        if self.camera is not None:
            self.camera.reset_scan()
        self._post("begin", self._begin_on_core)

    def end(self, reason: str) -> None:
        self._post("end", lambda: self._end_session(reason, always=True))

    def touched(self) -> None:
        self._touch()

    def set_language(self, language: str) -> None:
        self._touch()
        if language != self.assistant.language:  # one language of replies is loaded (config kiosk.language)
            log.info("language %r chosen; replies stay in %r (no other content yet)", language,
                     self.assistant.language)

    def submit_text(self, text: str, *, source: str = "typed") -> None:
        self._touch()
        self._post("turn", lambda: self._answer_on_core(source, lambda: self.assistant.turn(text)))

    def start_listening(self) -> None:
        self._touch()
        if self.audio is None:
            return
        if self.config.endpoint.mode != "hands_free":
            self._hush()  # pressing "talk" interrupts the kiosk (and unmutes the microphone)
        self.audio.command("open")

    def stop_listening(self) -> None:
        if self.audio is not None:
            self.audio.command("close")

    def start_scan(self) -> None:
        self._touch()
        if self.camera is not None:
            self.camera.start_scan()

    def stop_scan(self) -> None:
        if self.camera is not None:
            self.camera.stop_scan()

    def request_staff(self) -> None:
        self._touch()
        self._post("staff", lambda: self._answer_on_core("system", self.assistant.request_staff))

    def cancel_handoff(self) -> None:
        self._touch()
        self._post("cancel", lambda: self._answer_on_core("system", self.assistant.cancel_handoff))

    def feedback(self, rating: int, reason: str | None = None) -> None:
        self._touch()
        self._post("feedback", lambda: self.assistant.feedback(rating, reason))

    def ask_rating(self, asked: bool = True) -> None:
        self._post("ask rating", lambda: self.assistant.ask_rating(asked))
        if asked and self.audio is not None:
            # No hush, unlike the talk button: the kiosk is still saying goodbye (the microphone is
            # muted while it speaks), and the answer comes after.
            self.audio.command("open")

    def ask_reason(self, stars: int | None) -> None:
        self._post("ask reason", lambda: self.assistant.ask_reason(stars))
        if stars and self.audio is not None:
            self.audio.command("open")

    # -- what the screen shows -------------------------------------------------------------------------
    def preview(self) -> np.ndarray | None:
        return self.camera.preview() if self.camera is not None else None

    @property
    def camera_live(self) -> bool:
        return self._devices.get("camera") == "live"

    @property
    def microphone_live(self) -> bool:
        return self._devices.get("microphone") == "live"

    @property
    def hands_free(self) -> bool:
        return self.config.endpoint.mode == "hands_free"

    @property
    def listens_without_camera(self) -> bool:
        return self.audio is not None and self.audio.listens_without_camera

    @property
    def store_name(self) -> str:
        return self.assistant.answerer.profile.name

    @property
    def quick_actions(self) -> list[tuple[str, str]]:
        return [tuple(pair) for pair in self.config.ui.quick_actions]

    # -- core-thread work ------------------------------------------------------------------------------
    def _post(self, what: str, task: Callable[[], Any]) -> None:
        def guarded() -> None:
            try:
                task()
            except Exception:  # one failed request must not stop the core thread
                log.exception("%s failed", what)
        self._core.submit(guarded)

    def _begin_on_core(self) -> None:
        had = self.assistant.session_id is not None
        self.assistant.begin()
        self._forget_customer(session_open=True)
        if had:
            self._send(SessionEnded("replaced"))

    def _end_session(self, reason: str, *, always: bool) -> None:
        had = self.assistant.session_id is not None
        if had:
            self.assistant.end(reason)
        self._forget_customer(session_open=False)
        self._hush()
        if self.audio is not None:
            self.audio.command("reset")
        if self.camera is not None:
            self.camera.reset_scan()
        if had or always:
            self._send(SessionEnded(reason))

    def _forget_customer(self, *, session_open: bool) -> None:
        with self._lock:
            self._session_open = session_open
            self._watching = self._ticket_seen = self._leave_at = None

    def _answer_on_core(self, source: str, act: Callable[[], TurnResult]) -> None:
        try:
            result = act()
        except Exception:
            log.exception("answering a %s request failed", source)
            self._send(Answered(source, self._failed_answer(), {}, None))
            self._say(self._failed_answer())
            return
        self._send(Answered(source, result.answer, result.card, result))
        self._say(result.answer)
        self._after_turn(result)

    def _after_turn(self, result: TurnResult) -> None:
        """Hand-off and goodbye bookkeeping after an answer was sent (core thread)."""
        self._session_open = self.assistant.session_id is not None
        if result.escalation is not None:
            # The journal, not the turn's copy, says where the ticket is: staff may have claimed it.
            ticket = self.assistant.journal.get_escalation(result.escalation["id"])
            if ticket is not None:
                self._track(ticket)
        if result.session_ended:  # "goodbye": the Assistant has closed the session itself
            self._forget_customer(session_open=self.assistant.session_id is not None)
            if self.audio is not None:
                self.audio.command("reset")
            self._send(SessionEnded("goodbye"))

    def _track(self, ticket: Ticket, *, polled: bool = False) -> bool:
        """Send HandoffUpdate when the ticket moved on; True when it did."""
        with self._lock:
            if polled and self._watching != ticket.id:
                return False  # the session ended (or the ticket closed) while the poll was reading
            seen = self._ticket_seen
            if seen is not None and seen[0] == ticket.id and \
                    _TICKET_ORDER.get(ticket.status, 0) <= _TICKET_ORDER.get(seen[1], 0):
                return False  # nothing new, or a poll that read it before the core changed it
            self._ticket_seen = (ticket.id, ticket.status)
            self._watching = None if ticket.status == "resolved" else ticket.id
            self._send(HandoffUpdate(ticket.as_dict()))  # under the lock: updates stay in order
            return True

    # -- events from the devices -----------------------------------------------------------------------
    def _send(self, event: RuntimeEvent) -> None:
        if isinstance(event, DeviceStatus):
            self._devices[event.device] = event.state
            if event.device == "camera" and self.audio is not None:
                # Without a working camera nobody can be seen arriving: a hands-free kiosk listens.
                self.audio.command("camera", event.state not in _CAMERA_DOWN)
        self._emitter(event)

    def _on_presence(self, event: Any) -> None:
        self._send(event)
        if isinstance(event, (CustomerArrived, CustomerApproaching)):
            with self._lock:
                self._customer_present, self._leave_at = True, None
                self._last_activity = time.monotonic()
            if self.audio is not None:
                self.audio.command("present", True)
        elif isinstance(event, CustomerLeft):
            with self._lock:
                self._customer_present = False
                self._leave_at = time.monotonic() + self._leave_grace_s
            if self.audio is not None:
                self.audio.command("present", False)

    def _on_scan(self, result: ScanResult) -> None:
        self._touch()

        def answer() -> TurnResult:  # the shop's date when the answer is made, on the core thread
            return self.assistant.scanned(result.facts(self.assistant.clock().date()))

        self._post("scan", lambda: self._answer_on_core("scan", answer))

    def _on_heard(self, heard: Heard) -> None:
        """A spoken utterance is over (audio thread); its turn already ran on the core thread."""
        self._touch()
        text = heard.transcript.text or None
        turn = heard.turn
        self._send(Answered("speech", heard.answer, turn.card if turn else {}, turn, heard=text))
        self._say(heard.answer)
        if turn is not None:
            self._post("after speech", lambda: self._after_turn(turn))

    def _on_spoken_failure(self) -> None:
        self._send(Answered("speech", self._failed_answer(), {}, None))
        self._say(self._failed_answer())

    def _failed_answer(self) -> str:
        try:
            return self.assistant.answerer.r.say("internal_error")
        except Exception:  # the responses themselves are the problem
            return FAILED_ANSWER

    def _touch(self) -> None:
        """The customer did something: they are here, whatever the camera thinks."""
        with self._lock:
            self._last_activity = time.monotonic()
            self._leave_at = None

    # -- speaker and housekeeping threads ----------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self.speaker is not None:
            self.speaker.say(text)

    def _hush(self) -> None:
        if self.speaker is not None:
            self.speaker.hush()

    def _mute(self, muted: bool) -> None:
        if self.audio is not None:
            self.audio.set_muted(muted)

    def _housekeeping(self, stop: threading.Event) -> None:
        next_poll = 0.0
        while not stop.wait(0.2):
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + self._handoff_poll_s
                self._poll_ticket()
            if self.audio is not None:
                self.audio.poll_status()
            self._check_timers(now)

    def _poll_ticket(self) -> None:
        with self._lock:
            ticket_id = self._watching
        if ticket_id is None:
            return
        ticket = self.assistant.journal.get_escalation(ticket_id)  # the journal serialises its connection
        if ticket is not None and self._track(ticket, polled=True):
            # The Assistant's own copy must follow, or "talk to a person" again would reuse a closed ticket.
            self._post("refresh ticket", self.assistant.refresh_ticket)

    def _check_timers(self, now: float) -> None:
        with self._lock:
            handoff_open = self._watching is not None
            left = self._leave_at is not None and now >= self._leave_at
            if left:
                self._leave_at = None
            idle = (self._session_open and not self._customer_present and not handoff_open
                    and now - self._last_activity >= self._idle_timeout_s)
            if idle:
                self._last_activity = now  # asked once; the core decides
        if left and not handoff_open and self._session_open:
            self._post("customer left", lambda: self._end_session("customer_left", always=False))
        elif idle:
            self._post("idle", lambda: self._end_session("idle", always=False))

    def _add_worker(self, name: str, body: Callable[[threading.Event], None]) -> None:
        self._workers.append(Worker(name, body, self._stop, on_restart=self._restarted,
                                    first_backoff_s=self._backoff_s))

    def _restarted(self, worker: str, error: str, restarts: int) -> None:
        self._send(WorkerRestarted(worker, error, restarts))
