"""The runtime's threads: one core thread that owns the Assistant, and supervised device workers.

`CoreLoop` is a single-thread executor. Everything that touches the Assistant (typed and spoken
turns, scans, buttons, feedback, session begin/end) is a task on it, so the text core (the intent
model's interpreter, the session machine, the journal's one connection) is only ever used from one
thread, and turns are answered in the order they were asked.

`Worker` runs a device loop in a daemon thread. A loop that raises is logged with its traceback,
reported (`on_restart` → `WorkerRestarted`) and started again after a back-off that doubles up to
`max_backoff_s`; a camera driver that fails once must not take the kiosk down. A loop that returns
is finished (stopped, or nothing left to do: a file source that ended).

`describe()` is the one log line per runtime event (logger "kiosk.events"): the event's name and
short fields. Never frames, audio, transcripts, answers or what an ID document says.
"""

from __future__ import annotations

import ctypes
import logging
import math
import queue
import threading
import time
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from kiosk.audio.source import SAMPLE_RATE, AudioSource, SourceStatus
from kiosk.events import (
    Answered,
    AudioLevel,
    CustomerApproaching,
    CustomerArrived,
    CustomerLeft,
    DeviceStatus,
    HandoffUpdate,
    ListeningChanged,
    PartialTranscript,
    RuntimeEvent,
    ScanGuidance,
    SessionEnded,
    WorkerRestarted,
)

log = logging.getLogger("kiosk.runtime")
event_log = logging.getLogger("kiosk.events")

T = TypeVar("T")


_PR_SET_NAME = 15


def name_os_thread(name: str) -> None:
    """Give the calling thread its name in the operating system too (Linux: 15 bytes), so a
    technician's `top -H`, `ps -L` or py-spy shows "kiosk-camera" instead of "python". Python
    before 3.14 does not; where prctl is missing it is simply skipped."""
    try:
        # The process's own symbols include the C library's (no ldconfig lookup per thread).
        ctypes.CDLL(None).prctl(_PR_SET_NAME, name.encode("ascii", "replace")[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


class CoreStopped(RuntimeError):
    """The core thread is shutting down: the task will not run."""


class CoreLoop:
    """One thread, one queue: tasks run one at a time in submission order."""

    def __init__(self, name: str = "kiosk-core") -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopping = threading.Event()

    def start(self) -> None:
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def on_core(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, fn: Callable[[], T]) -> Future:
        future: Future = Future()
        if self._stopping.is_set():
            future.set_exception(CoreStopped("the kiosk runtime is stopping"))
            return future
        self._queue.put((fn, future))
        return future

    def call(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """Run `fn` on the core thread and wait for its result (directly when already on it)."""
        if self.on_core():
            return fn()
        try:
            return self.submit(fn).result(timeout)
        except CancelledError:
            raise CoreStopped("the kiosk runtime stopped before the task ran") from None

    def stop(self, timeout: float) -> bool:
        """Finish the task in hand, drop the rest; True when the thread has ended."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread.is_alive() and not self.on_core():
            self._thread.join(timeout)
        while True:  # tasks queued behind the stop marker never run: release their waiters
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].cancel()
        return not self._thread.is_alive()

    def _run(self) -> None:
        name_os_thread(self._thread.name)
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, future = item
            if self._stopping.is_set() or not future.set_running_or_notify_cancel():
                future.cancel()
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the waiter; fire-and-forget tasks log their own
                future.set_exception(exc)


class Worker:
    """A supervised daemon thread running `body(stop)`; restarted with back-off when it raises."""

    def __init__(self, name: str, body: Callable[[threading.Event], None], stop: threading.Event, *,
                 on_restart: Callable[[str, str, int], None], first_backoff_s: float = 0.5,
                 max_backoff_s: float = 10.0, healthy_s: float = 30.0) -> None:
        self.name = name
        self.restarts = 0
        self._body = body
        self._stop = stop
        self._on_restart = on_restart
        self._first, self._max, self._healthy = first_backoff_s, max_backoff_s, healthy_s
        self._thread = threading.Thread(target=self._run, name=f"kiosk-{name}", daemon=True)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> bool:
        if self._thread is threading.current_thread():
            return False  # stop() called from this worker (a subscriber): it ends when it returns
        if self._thread.is_alive():
            self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    def _run(self) -> None:
        name_os_thread(self._thread.name)
        delay = self._first
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._body(self._stop)
                return
            except Exception as exc:
                if self._stop.is_set():  # a device closed underneath a read while stopping: not news
                    log.debug("worker %s ended while stopping: %r", self.name, exc)
                    return
                if time.monotonic() - began >= self._healthy:
                    delay = self._first  # it ran well for a while: this is a new problem, retry soon
                self.restarts += 1
                log.error("worker %s failed (restart %d in %.1f s)", self.name, self.restarts, delay,
                          exc_info=True)
                try:
                    self._on_restart(self.name, f"{type(exc).__name__}: {exc}"[:200], self.restarts)
                except Exception:
                    log.exception("reporting the restart of %s failed", self.name)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, self._max)


class SpeakerWorker:
    """Speaks answers on its own thread, newest first: `Speaker.say` waits for an interrupted reply
    to die, which must never hold up the core thread. The Speaker itself is made here too (it runs
    espeak-ng once to check the voice)."""

    _HUSH = object()

    def __init__(self, make_speaker: Callable[[], Any], *, emit: Callable[[RuntimeEvent], None]) -> None:
        self._make_speaker, self._emit = make_speaker, emit
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._speaker: Any = None
        self._closed = False

    def say(self, text: str) -> None:
        if not self._closed:
            self._queue.put(text)

    def hush(self) -> None:
        """Stop talking now (push-to-talk pressed, the customer gone); the microphone is unmuted."""
        if not self._closed:
            self._queue.put(self._HUSH)

    def close(self) -> None:
        self._closed = True
        self._queue.put(None)

    def run(self, stop: threading.Event) -> None:
        if self._speaker is None:
            self._speaker = self._make_speaker()
            status = self._speaker.status()
            state = {"ready": "live", "speaking": "live", "disabled": "off"}.get(status.state, "failed")
            self._emit(DeviceStatus("speaker", state, status.detail))
        speaker = self._speaker
        try:
            while not stop.is_set():
                item = self._queue.get()
                while item is not None:  # only the newest reply (or hush) is worth acting on
                    try:
                        newer = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    item = newer
                if item is None or stop.is_set():
                    return
                if item is self._HUSH:
                    speaker.stop()
                elif speaker.available:
                    speaker.say(str(item), wait=False)
        finally:
            if stop.is_set() or self._closed:
                speaker.close()


class PacedSource:
    """An audio file delivered at a microphone's pace (real time × `speed`).

    A file read as fast as it decodes would be over before anybody tapped "talk"; paced, it
    stands in for a microphone (audio.source = "file") with the same timing the end-pointer,
    the level meter and the customer's push-to-talk see on a kiosk.
    """

    def __init__(self, source: AudioSource, *, speed: float = 1.0) -> None:
        self.source = source
        self.speed = speed
        self._start: float | None = None
        self._samples = 0

    def read(self, samples: int) -> bytes:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._samples / (SAMPLE_RATE * self.speed)
        if due > now:
            time.sleep(due - now)
        data = self.source.read(samples)
        self._samples += len(data) // 2
        return data

    def status(self) -> SourceStatus:
        return self.source.status()

    def close(self) -> None:
        self.source.close()


# --- one log line per event ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Line:
    level: int
    text: str


def describe(event: RuntimeEvent) -> _Line:
    """The log line for an event: name and short, non-personal fields."""
    name = type(event).__name__
    info = logging.INFO
    if isinstance(event, DeviceStatus):
        fields = f"device={event.device} state={event.state}" + (f" detail={event.detail!r}" if event.detail else "")
    elif isinstance(event, ListeningChanged):
        fields = f"listening={event.listening}"
    elif isinstance(event, AudioLevel):
        info, fields = logging.DEBUG, f"dbfs={event.dbfs:.1f}"
    elif isinstance(event, PartialTranscript):
        info, fields = logging.DEBUG, f"chars={len(event.text)}"  # what was said stays in the journal
    elif isinstance(event, Answered):
        turn = event.turn
        ticket = (turn.escalation or {}).get("number") if turn else None
        fields = (f"source={event.source} intent={turn.intent if turn else None} "
                  f"outcome={turn.outcome.value if turn else 'not_heard'} card={event.card.get('kind')}"
                  + (f" ticket={ticket}" if ticket else "")
                  + (f" latency_ms={turn.latency_ms:.0f}" if turn else ""))
    elif isinstance(event, ScanGuidance):
        fields = f"hint={event.hint}"
    elif isinstance(event, HandoffUpdate):
        fields = f"ticket={event.ticket.get('number')} status={event.ticket.get('status')}"
    elif isinstance(event, SessionEnded):
        fields = f"reason={event.reason}"
    elif isinstance(event, WorkerRestarted):
        info, fields = logging.WARNING, f"worker={event.worker} restarts={event.restarts} error={event.error!r}"
    elif isinstance(event, CustomerArrived):
        fields = f"t={event.t:.2f} reason={event.reason}"
    elif isinstance(event, CustomerApproaching):
        fields = f"t={event.t:.2f} distance_m={event.distance_m}"
    elif isinstance(event, CustomerLeft):
        fields = f"t={event.t:.2f} dwell_s={event.dwell_s}"
    else:
        fields = ""
    return _Line(info, f"{name} {fields}".rstrip())


def level_dbfs(dbfs: float) -> float:
    """A meter reading: digital silence is -inf, which JSON and a meter cannot show."""
    return round(max(dbfs, -96.0), 1) if math.isfinite(dbfs) else -96.0


class Emitter:
    """Hands events to the subscribers and writes the event's log line."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[RuntimeEvent], None]] = []

    def subscribe(self, callback: Callable[[RuntimeEvent], None]) -> None:
        self._callbacks.append(callback)

    def __call__(self, event: RuntimeEvent) -> None:
        line = describe(event)
        event_log.log(line.level, "%s", line.text)
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:  # the screen's problem must not stop a worker
                log.exception("event subscriber failed on %s", type(event).__name__)
