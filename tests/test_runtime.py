"""The runtime the touchscreen drives: real text core, camera files written with cv2.VideoWriter,
espeak-ng speech through a FileSource standing in for the microphone, the real journal."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import pytest
from conftest import Clock, shared_dataset
from make_scenes import shop_scene, write_video

from kiosk.events import (
    Answered,
    AudioLevel,
    CustomerArrived,
    CustomerLeft,
    DeviceStatus,
    HandoffUpdate,
    ListeningChanged,
    PartialTranscript,
    ScanGuidance,
    SessionEnded,
    WorkerRestarted,
)
from kiosk.runtime.core import KioskRuntime
from kiosk.vision.camera import CameraStatus, FileFrameSource, Frame

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

W, H = 640, 480


class Recorder:
    """The subscriber: keeps every event and the thread it arrived on."""

    def __init__(self) -> None:
        self.events: list = []
        self.threads: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            self.events.append(event)
            self.threads.append(threading.current_thread().name)
            self._cond.notify_all()

    def wait_for(self, match, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((e for e in self.events if match(e)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such event within {timeout} s; got {self.names()}")
                self._cond.wait(left)

    def of(self, kind) -> list:
        with self._cond:
            return [e for e in self.events if isinstance(e, kind)]

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def index(self, event) -> int:
        return next(i for i, e in enumerate(self.events) if e is event)


def with_sections(config, **sections):
    return config.model_copy(update={name: getattr(config, name).model_copy(update=values)
                                     for name, values in sections.items()})


@pytest.fixture
def runtimes():
    """Makes runtimes; each one is stopped at the end and must leave no thread behind."""
    made: list[tuple[KioskRuntime, Recorder]] = []

    def make(config, assistant, **kwargs) -> tuple[KioskRuntime, Recorder]:
        runtime = KioskRuntime(config, assistant, **kwargs)
        return adopt(runtime)

    def adopt(runtime: KioskRuntime) -> tuple[KioskRuntime, Recorder]:
        recorder = Recorder()
        runtime.subscribe(recorder)
        made.append((runtime, recorder))
        return runtime, recorder

    make.adopt = adopt
    yield make
    for runtime, _ in made:
        runtime.stop()
        assert [t.name for t in runtime.threads() if t.is_alive()] == []


@pytest.fixture
def no_devices(config):
    return with_sections(config, camera={"source": "none"}, audio={"source": "none"}, tts={"enabled": False})


def build(config, clock, tmp_path):
    from kiosk.app import build_assistant

    return build_assistant(config, clock=clock, database=str(tmp_path / "k.db"))


# --- typing, buttons, hand-off ---------------------------------------------------------------------

class GatedClock(Clock):
    """The shop's clock, held shut on demand: a turn in progress then waits on the core thread."""

    def __init__(self, start):
        super().__init__(start)
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self):
        assert self.gate.wait(10), "the test never opened the gate"
        return self.now


def test_typed_request_returns_at_once_and_is_answered_on_the_core_thread(no_devices, clock, tmp_path, runtimes):
    gated = GatedClock(clock.now)
    runtime, events = runtimes(no_devices, build(no_devices, gated, tmp_path))
    runtime.start()
    gated.gate.clear()  # the core thread will be stuck inside the turn until the gate opens
    began = time.monotonic()
    runtime.submit_text("where are the restrooms")
    runtime.submit_text("what are your opening hours", source="tile")
    assert time.monotonic() - began < 0.1  # queued, not answered
    time.sleep(0.2)
    assert events.of(Answered) == []  # both calls returned before any answer existed
    gated.gate.set()
    typed = events.wait_for(lambda e: isinstance(e, Answered) and e.source == "typed")
    tile = events.wait_for(lambda e: isinstance(e, Answered) and e.source == "tile")
    assert typed.turn.intent == "restrooms" and "restroom" in typed.answer.lower()
    assert tile.turn.intent == "store_hours"
    assert events.index(typed) < events.index(tile)  # answered in the order asked
    assert {events.threads[events.index(a)] for a in (typed, tile)} == {"kiosk-core"}


def test_staff_button_claim_on_the_staff_console_and_cancel(no_devices, clock, tmp_path, runtimes, caplog):
    caplog.set_level("INFO", logger="kiosk.events")
    assistant = build(no_devices, clock, tmp_path)
    runtime, events = runtimes(no_devices, assistant, handoff_poll_s=0.2)
    runtime.start()
    runtime.begin()
    runtime.request_staff()
    answered = events.wait_for(lambda e: isinstance(e, Answered))
    opened = events.wait_for(lambda e: isinstance(e, HandoffUpdate))
    assert answered.source == "system" and answered.card["kind"] == "handoff"
    assert opened.ticket["status"] == "open" and opened.ticket["number"] == answered.card["ticket"] == "A-001"
    assert events.index(answered) < events.index(opened)

    # The staff console (another thread, same journal) takes the ticket.
    assistant.journal.claim_escalation(opened.ticket["id"], "Sam")
    claimed = events.wait_for(lambda e: isinstance(e, HandoffUpdate) and e.ticket["status"] == "claimed", 5)
    assert claimed.ticket["claimed_by"] == "Sam" and claimed.ticket["number"] == "A-001"

    runtime.cancel_handoff()
    resolved = events.wait_for(lambda e: isinstance(e, HandoffUpdate) and e.ticket["status"] == "resolved")
    assert resolved.ticket["resolved_by"] == "customer"
    cancelled = [e for e in events.of(Answered) if e.turn and e.turn.intent == "cancel"]
    assert len(cancelled) == 1 and "cancelled" in cancelled[0].answer
    assert assistant.journal.get_escalation(opened.ticket["id"]).status == "resolved"
    time.sleep(0.5)  # the resolved ticket is no longer polled: no repeats
    assert [e.ticket["status"] for e in events.of(HandoffUpdate)] == ["open", "claimed", "resolved"]
    # One log line per event: its name and short fields, not what the customer was told.
    lines = [r.getMessage() for r in caplog.records if r.name == "kiosk.events"]
    assert "HandoffUpdate ticket=A-001 status=claimed" in lines
    assert len(lines) == len(events.events)
    assert not any("team member" in line for line in lines)


def test_idle_session_ends_but_not_while_staff_are_coming(no_devices, clock, tmp_path, runtimes):
    runtime, events = runtimes(no_devices, build(no_devices, clock, tmp_path), idle_timeout_s=0.6)
    runtime.start()
    runtime.submit_text("where are the restrooms")
    events.wait_for(lambda e: isinstance(e, SessionEnded))
    assert events.of(SessionEnded)[0].reason == "idle"
    runtime.request_staff()
    events.wait_for(lambda e: isinstance(e, HandoffUpdate))
    time.sleep(1.2)
    assert len(events.of(SessionEnded)) == 1  # a customer waiting for staff is not timed out


def test_touches_keep_the_session_open_until_they_stop(no_devices, clock, tmp_path, runtimes):
    """A customer typing on the on-screen keyboard makes no request for a while; their touches
    (controller.touched) still count as being there."""
    runtime, events = runtimes(no_devices, build(no_devices, clock, tmp_path), idle_timeout_s=0.6)
    runtime.start()
    runtime.submit_text("where are the restrooms")
    events.wait_for(lambda e: isinstance(e, Answered))
    for _ in range(8):  # 1.6 s of touches, each well inside the 0.6 s idle limit
        runtime.touched()
        time.sleep(0.2)
    assert events.of(SessionEnded) == []
    assert events.wait_for(lambda e: isinstance(e, SessionEnded)).reason == "idle"  # then they stop


def test_without_camera_and_microphone_typing_still_works(no_devices, tmp_path, runtimes):
    from kiosk.app import build_runtime

    runtime, events = runtimes.adopt(build_runtime(no_devices, database=str(tmp_path / "k.db")))
    runtime.start()
    runtime.start_listening()  # buttons a kiosk without the device shows greyed out: harmless
    runtime.start_scan()
    runtime.submit_text("where are the restrooms")
    answered = events.wait_for(lambda e: isinstance(e, Answered))
    assert answered.turn.intent == "restrooms"
    states = {e.device: e.state for e in events.of(DeviceStatus)}
    assert states["camera"] == "off" and states["microphone"] == "off"
    events.wait_for(lambda e: isinstance(e, DeviceStatus) and e.device == "speaker")
    assert {e.device: e.state for e in events.of(DeviceStatus)}["speaker"] == "off"  # tts.enabled = false
    assert not runtime.camera_live and not runtime.microphone_live and runtime.preview() is None
    assert runtime.store_name and runtime.quick_actions[0] == ("Opening hours", "what are your opening hours")


# --- camera ----------------------------------------------------------------------------------------

def test_order_code_held_up_while_scanning(config, clock, tmp_path, runtimes):
    from make_codes import on_paper, symbol

    from kiosk.app import build_scanner
    from kiosk.vision.live import LiveScan

    sheet, _ = on_paper([symbol("QR", "ORDER:846078")])
    held = shop_scene()
    top, left = (H - sheet.shape[0]) // 2, (W - sheet.shape[1]) // 2
    held[top:top + sheet.shape[0], left:left + sheet.shape[1]] = sheet
    video = write_video(tmp_path / "order.avi", [shop_scene()] * 10 + [held] * 30)
    runtime, events = runtimes(config, build(config, clock, tmp_path),
                               camera_factory=lambda: FileFrameSource(video),
                               live_scan_factory=lambda: LiveScan(build_scanner(config)))
    runtime.start_scan()  # the Scan screen is showing
    runtime.start()
    answered = events.wait_for(lambda e: isinstance(e, Answered), timeout=30)
    assert answered.source == "scan"
    assert answered.turn.intent == "order_status"
    assert answered.card["kind"] == "order" and answered.card["number"] == "846078"
    guidance = events.of(ScanGuidance)
    assert guidance and events.index(guidance[0]) < events.index(answered)
    assert events.threads[events.index(answered)] == "kiosk-core"
    ended = events.wait_for(lambda e: isinstance(e, DeviceStatus) and e.device == "camera" and e.state == "off")
    assert "end of video" in ended.detail  # a file that ends idles the worker: no restarts
    assert events.of(WorkerRestarted) == []


def visit_video(tmp_path: Path) -> Path:
    """A customer stands at the kiosk for 3 s (the astronaut's face, ~94 px wide), then 6 s of nobody."""
    astronaut = cv2.imread(str(shared_dataset("faces", "skimage", "astronaut.png")))[40:300, 110:340]
    with_face = shop_scene()
    h, w = astronaut.shape[:2]
    with_face[(H - h) // 2:(H - h) // 2 + h, (W - w) // 2:(W - w) // 2 + w] = astronaut
    return write_video(tmp_path / "visit.avi", [with_face] * 30 + [shop_scene()] * 60)


def test_customer_arrives_and_leaves_from_a_video(config, clock, tmp_path, runtimes):
    from kiosk.app import build_presence

    video = visit_video(tmp_path)
    tuned = with_sections(config, presence={"keepalive_s": 1.0})
    assistant = build(config, clock, tmp_path)
    runtime, events = runtimes(config, assistant, camera_factory=lambda: FileFrameSource(video),
                               presence_factory=lambda: build_presence(tuned), leave_grace_s=0.3)
    # What the app does on CustomerArrived: open a session.
    runtime.subscribe(lambda e: runtime.begin() if isinstance(e, CustomerArrived) else None)
    runtime.start()
    left = events.wait_for(lambda e: isinstance(e, CustomerLeft), timeout=30)
    arrived = events.of(CustomerArrived)[0]
    assert events.index(arrived) < events.index(left)
    assert arrived.t == pytest.approx(1.0) and arrived.reason == "face"
    assert 4.5 <= left.t <= 6.5  # the face is gone at 3.0 s; leave_after_s is 3 s
    ended = events.wait_for(lambda e: isinstance(e, SessionEnded))
    assert ended.reason == "customer_left"
    assert events.index(ended) > events.index(left)


class FlakyFrames:
    """A FrameSource whose driver fails once, on the 3rd read, as an unplugged camera's might."""

    def __init__(self) -> None:
        self.reads = 0
        self.image = shop_scene()

    def read(self, timeout: float = 0.0) -> Frame | None:
        self.reads += 1
        if self.reads == 3:
            raise OSError("VIDIOC_DQBUF: No such device")
        time.sleep(0.02)
        return Frame(self.image, self.reads, self.reads / 10)

    def status(self) -> CameraStatus:
        return CameraStatus("flaky", "open", self.reads)

    def close(self) -> None:
        pass


def test_a_camera_that_fails_once_is_restarted(config, clock, tmp_path, runtimes):
    frames = FlakyFrames()
    runtime, events = runtimes(config, build(config, clock, tmp_path), camera_factory=lambda: frames)
    runtime.start()
    restarted = events.wait_for(lambda e: isinstance(e, WorkerRestarted))
    assert restarted.worker == "camera" and restarted.restarts == 1 and "No such device" in restarted.error
    deadline = time.monotonic() + 5
    while frames.reads < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert frames.reads >= 20  # the worker came back and keeps reading
    assert runtime.camera_live and runtime.preview() is not None
    assert len(events.of(WorkerRestarted)) == 1


# --- microphone ----------------------------------------------------------------------------------

def speech_file(tmp_path: Path, text: str, *, after_s: float = 1.5) -> Path:
    from kiosk.speech.synth import in_room, synthesize, write_wav

    path = tmp_path / "speech.wav"
    write_wav(path, in_room(synthesize(text), before_s=0.6, after_s=after_s))
    return path


def room_tone(tmp_path: Path, seconds: float = 30.0) -> Path:
    from kiosk.speech.synth import in_room, write_wav

    path = tmp_path / "room.wav"
    write_wav(path, in_room(b"", before_s=seconds, after_s=0.0))
    return path


def test_spoken_request_push_to_talk(config, clock, tmp_path, runtimes):
    from kiosk.app import build_speech_engine
    from kiosk.audio.wavfile import FileSource
    from kiosk.runtime.workers import PacedSource

    wav = speech_file(tmp_path, "where are the restrooms")
    assistant = build(config, clock, tmp_path)
    runtime, events = runtimes(
        config, assistant, microphone_factory=lambda: PacedSource(FileSource(wav)),
        speech_engine_factory=lambda: build_speech_engine(config, assistant, engine="pocketsphinx"))
    began = time.monotonic()
    runtime.start()
    runtime.start_listening()
    assert time.monotonic() - began < 0.5  # PocketSphinx loads on the audio thread, not the caller's
    answered = events.wait_for(lambda e: isinstance(e, Answered), timeout=60)
    assert answered.source == "speech" and answered.turn is not None
    assert answered.turn.intent == "restrooms" and "restroom" in answered.heard
    assert events.threads[events.index(answered)] == "kiosk-audio"
    opened = events.wait_for(lambda e: isinstance(e, ListeningChanged) and e.listening)
    partials = events.of(PartialTranscript)
    live = events.wait_for(lambda e: isinstance(e, DeviceStatus) and e.state == "live")
    assert live.device == "microphone" and events.index(live) < events.index(opened)
    assert partials and events.index(opened) < events.index(partials[0]) < events.index(answered)
    assert len(events.of(AudioLevel)) >= 10  # ~10 a second while listening
    # One utterance per press: listening closes again by itself.
    closed = events.wait_for(lambda e: isinstance(e, ListeningChanged) and not e.listening)
    assert events.index(closed) > events.index(opened)


def test_stop_is_prompt_with_every_worker_running(config, clock, tmp_path, runtimes):
    from kiosk.app import build_presence, build_speaker, build_speech_engine
    from kiosk.audio.wavfile import FileSource
    from kiosk.runtime.workers import PacedSource

    room = room_tone(tmp_path)
    video = write_video(tmp_path / "scene.avi", [shop_scene()] * 20)
    assistant = build(config, clock, tmp_path)
    runtime, events = runtimes(
        config, assistant, microphone_factory=lambda: PacedSource(FileSource(room)),
        speech_engine_factory=lambda: build_speech_engine(config, assistant, engine="pocketsphinx"),
        camera_factory=lambda: FileFrameSource(video, realtime=True, loop=True),
        presence_factory=lambda: build_presence(config),
        speaker_factory=lambda mute: build_speaker(with_sections(config, tts={"enabled": False}), mute=mute))
    runtime.start()
    runtime.begin()
    deadline = time.monotonic() + 30
    while not (runtime.camera_live and runtime.microphone_live) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runtime.camera_live and runtime.microphone_live
    runtime.start_listening()
    events.wait_for(lambda e: isinstance(e, ListeningChanged) and e.listening)
    # A technician's `top -H` shows which worker is busy, not a column of "python" (Linux: 15 bytes).
    os_names = {(task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir()}
    assert os_names >= {"kiosk-core", "kiosk-camera", "kiosk-audio", "kiosk-speaker", "kiosk-housekeep"}
    began = time.monotonic()
    runtime.stop()
    assert time.monotonic() - began < 2.0
    assert [t.name for t in runtime.threads() if t.is_alive()] == []
    assert {t.name for t in runtime.threads()} >= {"kiosk-core", "kiosk-camera", "kiosk-audio",
                                                   "kiosk-speaker", "kiosk-housekeeping"}
    assert events.of(SessionEnded)[-1].reason == "shutdown"
    assert events.of(WorkerRestarted) == []


def test_hands_free_listens_while_the_camera_sees_a_customer(config, clock, tmp_path, runtimes):
    from kiosk.app import build_presence, build_speech_engine
    from kiosk.audio.wavfile import FileSource
    from kiosk.runtime.workers import PacedSource

    video = visit_video(tmp_path)
    room = room_tone(tmp_path)
    hands_free = with_sections(config, endpoint={"mode": "hands_free"}, presence={"keepalive_s": 1.0})
    assistant = build(config, clock, tmp_path)
    runtime, events = runtimes(
        hands_free, assistant, camera_factory=lambda: FileFrameSource(video),
        presence_factory=lambda: build_presence(hands_free),
        microphone_factory=lambda: PacedSource(FileSource(room)),
        speech_engine_factory=lambda: build_speech_engine(config, assistant, engine="pocketsphinx"))
    assert runtime.hands_free  # what the Attract screen reads to offer "say hello"
    runtime.start()
    closed = events.wait_for(lambda e: isinstance(e, ListeningChanged) and not e.listening, timeout=30)
    opened = events.wait_for(lambda e: isinstance(e, ListeningChanged) and e.listening)
    arrived, left = events.of(CustomerArrived)[0], events.of(CustomerLeft)[0]
    assert events.index(arrived) < events.index(opened) < events.index(closed)
    assert events.index(left) < events.index(closed)


def test_hands_free_without_a_camera_wakes_on_a_greeting(config, clock, tmp_path, runtimes):
    from kiosk.app import build_speech_engine
    from kiosk.audio.wavfile import FileSource
    from kiosk.runtime.workers import PacedSource
    from kiosk.speech.synth import in_room, synthesize, write_wav

    wav = tmp_path / "speech.wav"
    write_wav(wav, b"".join([in_room(synthesize("where are the restrooms"), before_s=0.6, after_s=1.5),
                             in_room(synthesize("hello"), before_s=0.3, after_s=1.5),
                             in_room(synthesize("where are the restrooms"), before_s=0.3, after_s=12.0)]))
    hands_free = with_sections(config, endpoint={"mode": "hands_free"}, camera={"source": "none"})
    assistant = build(config, clock, tmp_path)
    runtime, events = runtimes(
        hands_free, assistant, microphone_factory=lambda: PacedSource(FileSource(wav), speed=2.0),
        speech_engine_factory=lambda: build_speech_engine(config, assistant, engine="pocketsphinx"))
    assert runtime.listens_without_camera  # what the Attract screen reads to offer "say hello"
    runtime.start()
    answered = [events.wait_for(lambda e: isinstance(e, Answered), timeout=60)]
    answered.append(events.wait_for(lambda e: isinstance(e, Answered) and e is not answered[0], timeout=60))
    assert [a.turn.intent for a in answered] == ["greet", "restrooms"]  # the passer-by's was dropped
    opened = events.wait_for(lambda e: isinstance(e, ListeningChanged) and e.listening)
    assert events.index(opened) < events.index(answered[0])  # listening before anyone is seen or taps
    before_visit = events.events[:events.index(answered[0])]
    # Nothing of what was said before the visit reached the screen, not even the level meter.
    assert not [e for e in before_visit if isinstance(e, (PartialTranscript, AudioLevel))]
    assert [e for e in events.events[events.index(answered[0]):] if isinstance(e, PartialTranscript)]
    # The visit ends; the cleared Attract screen is told again that the microphone still listens.
    runtime.end("idle")
    ended = events.wait_for(lambda e: isinstance(e, SessionEnded))
    events.wait_for(lambda e: isinstance(e, ListeningChanged) and e.listening
                    and events.index(e) > events.index(ended))


def test_a_camera_that_fails_leaves_hands_free_listening_for_a_greeting(config, clock, tmp_path, runtimes):
    from kiosk.app import build_speech_engine
    from kiosk.audio.wavfile import FileSource
    from kiosk.runtime.workers import PacedSource
    from kiosk.vision.camera import CameraError

    def broken_camera():
        raise CameraError("/dev/video0: no such device")

    room = room_tone(tmp_path, seconds=4.0)
    assistant = build(config, clock, tmp_path)
    for listen in (False, True):
        hands_free = with_sections(config, endpoint={"mode": "hands_free", "listen_without_camera": listen})
        runtime, events = runtimes(
            hands_free, assistant, camera_factory=broken_camera,
            microphone_factory=lambda: PacedSource(FileSource(room), speed=4.0),
            speech_engine_factory=lambda: build_speech_engine(config, assistant, engine="pocketsphinx"))
        runtime.start()
        def status(device, state):
            return lambda e: isinstance(e, DeviceStatus) and (e.device, e.state) == (device, state)

        events.wait_for(status("camera", "failed"))
        events.wait_for(status("microphone", "off"), timeout=60)  # the file is over
        assert bool(events.of(ListeningChanged)) == listen, events.names()
        assert runtime.listens_without_camera == listen
        runtime.stop()


def test_the_microphone_is_muted_while_the_kiosk_speaks(config, clock, tmp_path, runtimes):
    from kiosk.app import build_speech_engine
    from kiosk.audio.speaker import Speaker
    from kiosk.audio.wavfile import FileSource
    from kiosk.runtime.workers import PacedSource
    from kiosk.speech.synth import espeak_binary

    espeak_binary()  # the test needs espeak-ng, like the kiosk's speaker

    class RoomMicrophone(PacedSource):
        """Room tone standing in for the microphone, recording what the speaker asks of it."""

        def __init__(self, path: Path):
            super().__init__(FileSource(path))
            self.mutes: list[bool] = []

        def set_muted(self, muted: bool) -> None:
            self.mutes.append(muted)

    microphone = RoomMicrophone(room_tone(tmp_path))
    assistant = build(config, clock, tmp_path)
    # espeak-ng renders the reply into `cat` instead of a sound card: the same process, no noise.
    runtime, events = runtimes(
        config, assistant, microphone_factory=lambda: microphone,
        speech_engine_factory=lambda: build_speech_engine(config, assistant, engine="pocketsphinx"),
        speaker_factory=lambda mute: Speaker(mute=mute, player=["cat"]))
    runtime.start()
    events.wait_for(lambda e: isinstance(e, DeviceStatus) and e.device == "microphone" and e.state == "live")
    speaker = events.wait_for(lambda e: isinstance(e, DeviceStatus) and e.device == "speaker")
    assert speaker.state == "live", speaker.detail
    runtime.submit_text("where are the restrooms")
    events.wait_for(lambda e: isinstance(e, Answered))
    deadline = time.monotonic() + 10
    while microphone.mutes != [True, False] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert microphone.mutes == [True, False]


ALSA_SCENARIO = """
import fcntl, json, os, sys, threading, time
import numpy as np
sys.path.insert(0, {tests!r})
from conftest import ROOT, Clock, TODAY
from kiosk.audio.alsa import write_file_microphone
from kiosk.speech.synth import in_room, synthesize

HOME = os.environ["HOME"]
FIFO = os.path.join(HOME, "mic.fifo")
os.mkfifo(FIFO)
writer = os.open(FIFO, os.O_RDWR)  # a writer must exist before PyAudio enumerates the devices
fcntl.fcntl(writer, 1031, 1 << 20)
write_file_microphone(HOME, FIFO)
speech = in_room(synthesize("where are the restrooms"), before_s=0.2, after_s=1.2)
say = threading.Event()
done = threading.Event()

def microphone():
    # A microphone delivers all the time, in real time: room tone, and the customer when asked.
    tone = np.random.default_rng(1).normal(0, 10, 480).astype("<i2").tobytes()
    while not done.is_set():
        if say.is_set():
            say.clear()
            for i in range(0, len(speech), 960):
                os.write(writer, speech[i:i + 960])
                time.sleep(0.03)
        os.write(writer, tone)
        time.sleep(0.03)

threading.Thread(target=microphone, daemon=True).start()
from kiosk.app import build_runtime
from kiosk.config import load_config
from kiosk.events import Answered, ListeningChanged

config = load_config(ROOT / "tests" / "data" / "test_config.toml")
config = config.model_copy(update={{
    "camera": config.camera.model_copy(update={{"source": "none"}}),
    "audio": config.audio.model_copy(update={{"device": "kioskmic"}}),
    "speech": config.speech.model_copy(update={{"engine": "pocketsphinx"}}),
    "tts": config.tts.model_copy(update={{"enabled": False}})}})
import datetime as dt
runtime = build_runtime(config, clock=Clock(dt.datetime.combine(TODAY, dt.time(12)).astimezone()),
                        database=os.path.join(HOME, "k.db"))
events = []
runtime.subscribe(events.append)
runtime.start()
deadline = time.monotonic() + 60
while not runtime.microphone_live and time.monotonic() < deadline:
    time.sleep(0.05)
live = runtime.microphone_live
runtime.start_listening()
while not any(isinstance(e, ListeningChanged) and e.listening for e in events) and time.monotonic() < deadline:
    time.sleep(0.05)
say.set()
while not any(isinstance(e, Answered) for e in events) and time.monotonic() < deadline:
    time.sleep(0.05)
answers = [e for e in events if isinstance(e, Answered)]
began = time.monotonic()
runtime.stop()  # the audio thread is inside a read on the live microphone right now
stop_s = time.monotonic() - began
alive = [t.name for t in runtime.threads() if t.is_alive()]
done.set()
print("RESULT " + json.dumps(dict(
    live=live, stop_s=stop_s, alive=alive, names=[type(e).__name__ for e in events],
    intent=answers[0].turn.intent if answers and answers[0].turn else None,
    heard=answers[0].heard if answers else None)))
"""


def test_real_microphone_through_alsa(tmp_path):
    """PyAudio, PortAudio and ALSA are real; the microphone is ALSA's file plugin on a FIFO
    (kiosk.audio.alsa), which needs a fresh process with its own HOME."""
    import json
    import os
    import subprocess
    import sys

    pytest.importorskip("pyaudio")
    from conftest import ROOT

    script = tmp_path / "scenario.py"
    script.write_text(ALSA_SCENARIO.format(tests=str(ROOT / "tests")), encoding="utf-8")
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=str(ROOT), PULSE_SERVER="unix:/nonexistent")
    done = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and results, f"scenario failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    result = json.loads(results[-1][len("RESULT "):])
    assert result["live"], result["names"]
    assert result["intent"] == "restrooms" and "restroom" in result["heard"], result
    assert "PartialTranscript" in result["names"] and "AudioLevel" in result["names"]
    assert result["stop_s"] < 2.0 and result["alive"] == [], result
