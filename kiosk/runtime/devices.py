"""The camera and microphone loops the runtime supervises (see workers.Worker), and the Assistant
proxy through which the Listener's turns run on the core thread.

Each loop owns its device and its pure state machines (presence tracker and LiveScan; Listener and
end-pointer): nothing else touches them, so they need no locks. Controller calls reach a loop as
flags (camera) or commands drained between audio reads (microphone), never as direct calls.
Devices are opened inside the loop, so a slow PyAudio enumeration or PocketSphinx load (~2 s)
never holds up the screen.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from typing import Any, Callable

import numpy as np

from kiosk.audio.endpoint import Endpointer
from kiosk.audio.source import AudioError, AudioSource, SourceStatus
from kiosk.errors import KioskError
from kiosk.events import (
    AudioLevel,
    DeviceStatus,
    ListeningChanged,
    PartialTranscript,
    RuntimeEvent,
    ScanGuidance,
)
from kiosk.runtime.workers import CoreLoop, CoreStopped, level_dbfs
from kiosk.speech.listener import READ_SAMPLES, Heard, Listener
from kiosk.vision.camera import CameraError, CameraStatus, Frame, FrameSource
from kiosk.vision.live import LiveScan
from kiosk.vision.scan import ScanResult

log = logging.getLogger("kiosk.runtime")

Emit = Callable[[RuntimeEvent], None]
# CameraStatus.state / SourceStatus.state → DeviceStatus.state
_CAMERA_STATE = {"open": "live", "connecting": "reconnecting", "disconnected": "reconnecting",
                 "ended": "off", "closed": "off"}
_AUDIO_STATE = {"open": "live", "reconnecting": "reconnecting", "ended": "off", "closed": "off"}
_NO_HINT = object()  # no ScanGuidance sent yet in this scan
_LEVEL_SAMPLES = 1600  # one AudioLevel per 0.1 s of audio


class CameraWorker:
    """Newest frame for the preview, presence events, and live scanning while the Scan screen shows."""

    def __init__(self, open_source: Callable[[], FrameSource], *, emit: Emit,
                 on_presence: Callable[[Any], None], on_scan_result: Callable[[ScanResult], None],
                 presence_factory: Callable[[], Any] | None = None,
                 live_scan_factory: Callable[[], LiveScan] | None = None, read_timeout_s: float = 0.2):
        self._open_source = open_source
        self._emit, self._on_presence, self._on_scan_result = emit, on_presence, on_scan_result
        self._presence_factory, self._live_scan_factory = presence_factory, live_scan_factory
        self._read_timeout_s = read_timeout_s
        self._source: FrameSource | None = None
        self._presence: Any = None
        self._presence_ready = False
        self._live: LiveScan | None = None
        self._scanning = threading.Event()
        self._scan_reset = threading.Event()
        self._frame_lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self._state: str | None = None
        self._hint: object = _NO_HINT
        self._last_t = 0.0

    # -- controller side (any thread) -------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self._state == "live"

    def preview(self) -> np.ndarray | None:
        with self._frame_lock:
            return self._latest

    def start_scan(self) -> None:
        self._scan_reset.set()  # each visit to the Scan screen starts a fresh capture
        self._scanning.set()

    def stop_scan(self) -> None:
        self._scanning.clear()

    def reset_scan(self) -> None:
        """A new customer: the last one's result must not keep the scanner quiet."""
        self._scan_reset.set()

    def close(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()
        with self._frame_lock:
            self._latest = None

    # -- the loop (camera thread) ---------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        if self._source is None:
            try:
                self._source = self._open_source()
            except CameraError as exc:  # a missing or unreadable file will not fix itself: say so, idle
                self._report("failed", str(exc))
                stop.wait()
                return
        if not self._presence_ready:
            self._presence_ready = True
            try:
                self._presence = self._presence_factory() if self._presence_factory else None
            except Exception as exc:  # no face model: scanning and the preview still work
                log.warning("presence is off: %s", exc)
        source = self._source
        try:
            while not stop.is_set():
                frame = source.read(self._read_timeout_s)
                status = source.status()
                self._report_status(status)
                if frame is None:
                    if status.state in ("ended", "closed"):
                        self._ended()
                        stop.wait()
                        return
                    continue
                self._on_frame(frame)
        finally:
            if stop.is_set():
                self.close()  # closed here, on the thread that reads it (OpenCV is not thread-safe)

    def _on_frame(self, frame: Frame) -> None:
        with self._frame_lock:
            self._latest = frame.image  # memory only; replaced by the next frame
        self._last_t = frame.t
        if self._presence is not None:
            for event in self._presence.update(frame.image, frame.t):
                self._on_presence(event)
        if self._scanning.is_set() and self._live_scan_factory is not None:
            self._scan(frame)

    def _scan(self, frame: Frame) -> None:
        if self._live is None:
            self._live = self._live_scan_factory()  # OCR set-up: only once somebody scans
        if self._scan_reset.is_set():
            self._scan_reset.clear()
            self._live.reset()
            self._hint = _NO_HINT
        update = self._live.feed(frame.image, frame.t)
        if update.result is not None:
            self._hint = None
            self._on_scan_result(update.result)
        elif update.hint != self._hint:
            self._hint = update.hint
            self._emit(ScanGuidance(update.hint))

    def _ended(self) -> None:
        if self._presence is not None:
            for event in self._presence.finish(self._last_t):  # nobody stays in front of an ended video
                self._on_presence(event)

    def _report_status(self, status: CameraStatus) -> None:
        state = _CAMERA_STATE.get(status.state, "reconnecting")
        detail = status.detail or ("connecting" if status.state == "connecting" else "")
        self._report(state, detail)

    def _report(self, state: str, detail: str) -> None:
        if state != self._state:  # changes only: a retry's new countdown is not news
            self._state = state
            self._emit(DeviceStatus("camera", state, detail))


class TurnFailed(KioskError):
    """The text core raised while answering a spoken request (logged on the core thread)."""


class CoreBoundAssistant:
    """What the Listener uses of the Assistant, with every call that touches it run on the core thread.

    The Listener asks the understander about n-best alternatives and then runs `turn()`; both are
    the model and the session, owned by the core thread. `answerer` (reply templates, read only) and
    `clock` (a pure function) are safe from any thread and are passed through.
    """

    def __init__(self, assistant: Any, core: CoreLoop):
        self._assistant, self._core = assistant, core
        self.answerer = assistant.answerer
        self.clock = assistant.clock
        self.understander = _CoreBoundUnderstander(assistant.understander, core)

    @property
    def feedback_question(self) -> str | None:
        return self._assistant.feedback_question  # plain values set by the core thread: safe to read

    @property
    def visit_open(self) -> bool:
        """A customer's session is open, or the Feedback screen still asks about the one that ended."""
        return self._assistant.session_id is not None or self._assistant.feedback_question is not None

    def turn(self, text: str) -> Any:
        try:
            return self._core.call(lambda: self._assistant.turn(text))
        except CoreStopped:
            raise
        except Exception as exc:
            log.exception("a spoken turn failed")
            raise TurnFailed(str(exc)) from exc


class _CoreBoundUnderstander:
    def __init__(self, understander: Any, core: CoreLoop):
        self._understander, self._core = understander, core

    def understand(self, *args: Any, **kwargs: Any) -> Any:
        return self._core.call(lambda: self._understander.understand(*args, **kwargs))


class AudioWorker:
    """Microphone → end-pointer → recogniser → (core thread) text core; levels, partials, answers.

    Push-to-talk: "open" opens one utterance, "close" ends it. Hands-free: listening is on while a
    customer is present (camera) or the conversation is open (start_listening), whichever holds;
    with `listen_without_camera` it is on all the time the camera is not working ("camera" command),
    and before a visit starts only a greeting is answered (Listener.wake_only).
    """

    def __init__(self, open_source: Callable[[], AudioSource], make_engine: Callable[[], Any],
                 endpointer: Endpointer, assistant: CoreBoundAssistant, *, emit: Emit,
                 on_heard: Callable[[Heard], None], on_failed: Callable[[], None],
                 on_activity: Callable[[], None], hands_free: bool = False, grammar: bool = True,
                 retry_max_s: float = 10.0, listen_without_camera: bool = False,
                 camera_working: bool = False):
        self._open_source, self._make_engine = open_source, make_engine
        self._endpointer, self._assistant = endpointer, assistant
        self._emit, self._on_heard, self._on_failed, self._on_activity = emit, on_heard, on_failed, on_activity
        self._hands_free, self._grammar, self._retry_max_s = hands_free, grammar, retry_max_s
        self._commands: queue.SimpleQueue[tuple[str, bool]] = queue.SimpleQueue()
        self._source_lock = threading.Lock()
        self._source: AudioSource | None = None
        self._muted = False
        self._engine: Any = None
        self._listener: Listener | None = None
        self._state: str | None = None
        self._listening: bool | None = False
        self._ui_listening = self._present = False
        self._listen_without_camera = listen_without_camera and hands_free
        self._camera_working = camera_working
        self._level_sum, self._level_n = 0.0, 0

    # -- controller side (any thread) ----------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self._state == "live"

    @property
    def listens_without_camera(self) -> bool:
        return self._listen_without_camera

    def command(self, name: str, value: bool = True) -> None:
        """"open" | "close" | "present" (value) | "camera" (value: it works) | "reset": applied
        before the next audio is read."""
        self._commands.put((name, value))

    def set_muted(self, muted: bool) -> None:
        """The kiosk is speaking: the microphone must not hear it (MicrophoneSource drops that audio)."""
        with self._source_lock:
            self._muted = muted
            source = self._source
        if source is not None and hasattr(source, "set_muted"):
            source.set_muted(muted)

    def interrupt(self) -> None:
        """Stopping: close the source, which wakes a read blocked on a silent or muted microphone."""
        with self._source_lock:
            source = self._source
        if source is not None:
            source.close()

    def close(self) -> None:
        with self._source_lock:
            source, self._source = self._source, None
        if source is not None:
            source.close()

    # -- the loop (audio thread) -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        if self._engine is None:
            self._report("starting", "loading speech recognition")
            try:
                self._engine = self._make_engine()
            except Exception as exc:  # no usable model (or library): retrying will not load it either
                log.exception("speech recognition is off")
                self._report("failed", f"speech recognition could not start: {exc}")
                stop.wait()  # typing and the buttons still work
                return
        source = self._source or self._open(stop)
        if source is None:
            return
        if self._listener is None:
            self._listener = self._new_listener()
        self._report_status(source.status())  # live before listening can open on it
        self._want_listening()  # hands-free without a camera: listening from the start
        self._check_listening()
        while not stop.is_set():
            self._apply_commands()
            pcm = source.read(READ_SAMPLES)
            if stop.is_set():
                return
            status = source.status()
            self._report_status(status)
            if not pcm:
                if status.state in ("ended", "closed"):  # a file standing in for the microphone is over
                    self._guarded(self._listener.flush)
                    self._check_listening()
                    stop.wait()
                    return
                continue  # a microphone reconnecting: keep waiting
            if self._endpointer.listening and not self._wake_only():
                self._meter(pcm)  # nothing shows the level before a visit: no redraws for it
            self._guarded(lambda chunk=pcm: self._listener.push(chunk))
            self._check_listening()

    def _new_listener(self) -> Listener:
        return Listener(self._engine, self._assistant, self._endpointer, grammar=self._grammar,
                        on_partial=self._partial, on_speech_start=self._on_activity,
                        wake_only=self._wake_only)

    def _wake_only(self) -> bool:
        """Listening although nobody has started a visit: only a greeting may start one."""
        return (self._listen_without_camera and not (self._present or self._ui_listening)
                and not self._assistant.visit_open)

    def _open(self, stop: threading.Event) -> AudioSource | None:
        delay = 0.5
        while not stop.is_set():
            try:
                source = self._open_source()
            except AudioError as exc:  # unplugged (or not yet plugged in): keep trying, typing works meanwhile
                self._report("reconnecting", f"{exc}; retrying")
                stop.wait(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            with self._source_lock:
                self._source = source
                muted = self._muted
            if muted and hasattr(source, "set_muted"):
                source.set_muted(True)
            return source
        return None

    def _guarded(self, step: Callable[[], Any]) -> None:
        """Run a Listener step; hand every finished utterance on, and survive a failed turn."""
        try:
            result = step()
        except TurnFailed:
            self._on_failed()
            return
        for heard in (result if isinstance(result, list) else [result] if result is not None else []):
            self._on_heard(heard)

    def _apply_commands(self) -> None:
        assert self._listener is not None
        while True:
            try:
                name, value = self._commands.get_nowait()
            except queue.Empty:
                break
            if name == "present":
                self._present = value
            elif name == "camera":
                self._camera_working = value
            elif name == "open":
                self._ui_listening = True
                if not self._hands_free:
                    self._endpointer.open()
            elif name == "close":
                self._ui_listening = False
                if not self._hands_free:
                    self._endpointer.close()
                    self._guarded(self._listener.flush)  # released mid-sentence: answer what was said
            elif name == "reset":  # the session ended: stop listening, drop any half utterance
                self._ui_listening = False
                self._listener = self._new_listener()  # a fresh Listener holds no recognition stream
                if not self._hands_free:
                    self._endpointer.close()
                elif self._endpointer.listening:
                    self._listening = None  # still listening for a greeting: the cleared screen is told again
            self._want_listening()
            self._check_listening()  # per command: a quick open-then-close is still shown

    def _want_listening(self) -> None:
        if not self._hands_free:
            return
        nobody_can_be_seen = self._listen_without_camera and not self._camera_working
        want = self._present or self._ui_listening or nobody_can_be_seen
        if want != self._endpointer.listening:
            self._endpointer.set_present(want)
            if not want:
                self._guarded(self._listener.flush)

    def _check_listening(self) -> None:
        listening = self._endpointer.listening
        if listening != self._listening:
            self._listening = listening
            self._level_sum, self._level_n = 0.0, 0
            self._emit(ListeningChanged(listening))

    def _meter(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        self._level_sum += float(np.dot(samples, samples))
        self._level_n += samples.size
        if self._level_n >= _LEVEL_SAMPLES:
            mean = self._level_sum / self._level_n
            dbfs = 10.0 * math.log10(mean / (32768.0 * 32768.0)) if mean > 0 else -math.inf
            self._level_sum, self._level_n = 0.0, 0
            self._emit(AudioLevel(level_dbfs(dbfs)))

    def _partial(self, text: str) -> None:
        self._on_activity()
        self._emit(PartialTranscript(text))

    def _report_status(self, status: SourceStatus) -> None:
        state = _AUDIO_STATE.get(status.state, "reconnecting")
        self._report(state, status.detail or ("end of the audio file" if status.state == "ended" else ""))

    def poll_status(self) -> None:
        """From the housekeeping thread: a microphone that is reconnecting blocks its reader, so the
        loop alone would never get to say so."""
        with self._source_lock:
            source = self._source
        if source is not None and self._listener is not None:
            self._report_status(source.status())

    def _report(self, state: str, detail: str) -> None:
        with self._source_lock:  # the loop and poll_status both report
            changed, self._state = state != self._state, state
        if changed:
            self._emit(DeviceStatus("microphone", state, detail))
