"""Every screen in a representative state, rendered offscreen to PNG from REAL answers.

`StillController` implements the Controller protocol on top of a real Assistant (store data, intent
model, journal), synchronously and without devices; `Driver` runs the real KioskApp frame by frame.
`kiosk screenshots` runs `render` once per window size, each in its own process (Kivy has one window
per process, and an offscreen window cannot be resized reliably).

Run as a module for one size: python -m kiosk.ui.screenshots --out DIR --size 1280x800
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kiosk.events import (
    Answered,
    AudioLevel,
    CustomerArrived,
    DeviceStatus,
    HandoffUpdate,
    ListeningChanged,
    PartialTranscript,
    ScanFacts,
    ScanGuidance,
    SessionEnded,
)

DEFAULT_SIZES = ("1280x800", "800x480", "1080x1920")


class StillController:
    """The Controller protocol answered synchronously by a real Assistant; no camera, no microphone
    unless asked to pretend (screenshots). Every call is recorded in `calls` for tests."""

    def __init__(self, assistant, *, quick_actions: list[tuple[str, str]] | None = None,
                 camera: bool = False, microphone: bool = False, frame: np.ndarray | None = None,
                 hands_free: bool = True, listens_without_camera: bool = False):
        self.assistant = assistant
        self.hands_free = hands_free
        self.listens_without_camera = listens_without_camera
        self.calls: list[tuple] = []
        self._callback: Callable | None = None
        self._quick = [tuple(q) for q in (quick_actions or [])]
        self._camera = camera
        self._microphone = microphone
        self.frame = frame
        self.listening = False

    # -- lifecycle ---------------------------------------------------------------------------
    def subscribe(self, callback) -> None:
        self._callback = callback

    def emit(self, event) -> None:
        if self._callback is not None:
            self._callback(event)

    def start(self) -> None:
        self.calls.append(("start",))
        self.emit(DeviceStatus("camera", "live" if self._camera else "off"))
        self.emit(DeviceStatus("microphone", "live" if self._microphone else "off"))

    def stop(self) -> None:
        self.calls.append(("stop",))
        self.assistant.end("shutdown")

    # -- the customer ------------------------------------------------------------------------
    def begin(self) -> None:
        self.calls.append(("begin",))
        self.assistant.begin()

    def end(self, reason: str) -> None:
        self.calls.append(("end", reason))
        had = self.assistant.session_id is not None
        self.assistant.end(reason)
        if had:
            self.emit(SessionEnded(reason))

    def touched(self) -> None:
        self.calls.append(("touched",))

    def set_language(self, language: str) -> None:
        self.calls.append(("set_language", language))

    def submit_text(self, text: str, *, source: str = "typed") -> None:
        self.calls.append(("submit_text", text, source))
        self.respond(lambda: self.assistant.turn(text), source)

    def start_listening(self) -> None:
        self.calls.append(("start_listening",))
        if self._microphone and not self.listening:
            self.listening = True
            self.emit(ListeningChanged(True))

    def stop_listening(self) -> None:
        self.calls.append(("stop_listening",))
        if self.listening:
            self.listening = False
            self.emit(ListeningChanged(False))

    def start_scan(self) -> None:
        self.calls.append(("start_scan",))

    def stop_scan(self) -> None:
        self.calls.append(("stop_scan",))

    def request_staff(self) -> None:
        self.calls.append(("request_staff",))
        self.respond(self.assistant.request_staff, "system")

    def cancel_handoff(self) -> None:
        self.calls.append(("cancel_handoff",))
        self.respond(self.assistant.cancel_handoff, "system")

    def feedback(self, rating: int, reason: str | None = None) -> None:
        self.calls.append(("feedback", rating, reason))
        self.assistant.feedback(rating, reason)  # the current visit, or the one just ended

    def ask_rating(self, asked: bool = True) -> None:
        self.calls.append(("ask_rating", asked))
        self.assistant.ask_rating(asked)

    def ask_reason(self, stars: int | None) -> None:
        self.calls.append(("ask_reason", stars))
        self.assistant.ask_reason(stars)

    # -- what the screen shows ---------------------------------------------------------------
    def preview(self) -> np.ndarray | None:
        return self.frame if self._camera else None

    @property
    def camera_live(self) -> bool:
        return self._camera

    @property
    def microphone_live(self) -> bool:
        return self._microphone

    @property
    def store_name(self) -> str:
        return self.assistant.answerer.profile.name

    @property
    def quick_actions(self) -> list[tuple[str, str]]:
        return list(self._quick)

    # -- helpers for screenshots and tests (not part of the protocol) ------------------------
    def respond(self, make_turn: Callable, source: str, heard: str | None = None) -> None:
        """Run one turn and emit what the runtime would: Answered, then any change to the ticket."""
        before = self.assistant.ticket
        turn = make_turn()
        self.emit(Answered(source, turn.answer, turn.card, turn, heard=heard))
        after = self.assistant.ticket
        if after is not None and (before is None or before.id != after.id):
            self.emit(HandoffUpdate(after.as_dict()))
        elif before is not None and (after is None or after.status == "resolved"):
            ticket = self.assistant.journal.get_escalation(before.id)
            if ticket is not None and ticket.status == "resolved":
                self.emit(HandoffUpdate(ticket.as_dict()))

    def said(self, text: str) -> None:
        """As if the customer had said `text` (the runtime's speech path, without audio)."""
        self.emit(PartialTranscript(text))
        self.respond(lambda: self.assistant.turn(text), "speech", heard=text)

    def scanned(self, facts: ScanFacts) -> None:
        self.respond(lambda: self.assistant.scanned(facts), "scan")

    def claim(self, staff: str) -> dict:
        """A team member claims the open ticket (what the staff console would do)."""
        ticket = self.assistant.journal.claim_escalation(self.assistant.ticket.id, staff)
        self.emit(HandoffUpdate(ticket.as_dict()))
        return ticket.as_dict()


def sample_frame(width: int = 640, height: int = 480) -> np.ndarray:
    """A stand-in camera picture: an order slip with its QR code held up in front of a shop wall."""
    import cv2

    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    wall = (np.array([120, 128, 122], np.float32) * (1 - y) + np.array([70, 78, 84], np.float32) * y)
    img = np.broadcast_to(wall, (height, width, 3)).astype(np.uint8).copy()
    cv2.rectangle(img, (0, int(height * 0.78)), (width, height), (58, 74, 92), -1)  # the counter
    slip = np.full((300, 230, 3), 246, np.uint8)
    cv2.putText(slip, "HARBOR LANE", (18, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (40, 40, 40), 2, cv2.LINE_AA)
    cv2.putText(slip, "Order pickup slip", (18, 58), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (90, 90, 90), 1, cv2.LINE_AA)
    try:
        import zxingcpp

        qr = np.array(zxingcpp.create_barcode("ORDER-846078", zxingcpp.BarcodeFormat.QRCode).to_image(scale=5))
        qr = cv2.resize(qr, (150, 150), interpolation=cv2.INTER_NEAREST)
        slip[76:226, 40:190] = qr[:, :, None]
    except Exception:  # noqa: BLE001, S110 - no zxing writer: a slip without its code will do
        pass
    cv2.putText(slip, "ORDER 846078", (30, 262), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (30, 30, 30), 2, cv2.LINE_AA)
    src = np.float32([[0, 0], [230, 0], [230, 300], [0, 300]])
    cx, cy = width * 0.5, height * 0.47
    dst = np.float32([[cx - 112, cy - 150], [cx + 118, cy - 140], [cx + 110, cy + 152], [cx - 118, cy + 144]])
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(slip, m, (width, height))
    mask = cv2.warpPerspective(np.full((300, 230), 255, np.uint8), m, (width, height)) > 0
    shadow = cv2.GaussianBlur(mask.astype(np.float32), (31, 31), 0)
    img = (img * (1 - 0.35 * np.roll(shadow, (8, 6), (0, 1)))[:, :, None]).astype(np.uint8)
    img[mask] = warped[mask]
    # fingers at the slip's lower edge
    for dx in (-60, -25, 10):
        cv2.ellipse(img, (int(cx + dx), int(cy + 150)), (17, 30), 0, 0, 360, (120, 150, 200), -1, cv2.LINE_AA)
    return img


class Driver:
    """Runs a KioskApp without a main loop: frames advance when the test or script says so."""

    def __init__(self, app):
        self.app = app

    def start(self):
        self.app._run_prepare()
        self.pump(6)
        return self

    def pump(self, frames: int = 4) -> None:
        from kivy.base import EventLoop

        for _ in range(frames):
            EventLoop.idle()

    def settle(self) -> None:
        self.pump(8)

    def shot(self, path: Path) -> Path:
        from kivy.core.window import Window

        self.settle()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = Window.screenshot(name=str(path.with_name(path.stem + "-tmp.png")))
        os.replace(written, path)
        return path

    def stop(self) -> None:
        from kivy.core.window import Window

        self.app.stop()
        Window.close()


def build_app(config, assistant, *, camera: bool = True, microphone: bool = True, now=None):
    from kiosk.ui.app import KioskApp

    controller = StillController(assistant, quick_actions=config.ui.quick_actions, camera=camera,
                                 microphone=microphone, frame=sample_frame() if camera else None)
    app = KioskApp(controller, config.ui, idle_timeout_s=config.dialogue.idle_timeout_s,
                   language=config.kiosk.language, transitions=False, **({"now": now} if now else {}))
    return app, controller


def render(out: Path, size: tuple[int, int], config, clock=None) -> list[Path]:
    """Render every screen state at one window size; Kivy must already be configured for `size`."""
    from kiosk.app import build_assistant

    kwargs: dict[str, Any] = {"database": ":memory:"}
    if clock is not None:
        kwargs["clock"] = clock
    assistant = build_assistant(config, **kwargs)
    app, ctl = build_app(config, assistant)
    d = Driver(app).start()
    ctl.start()
    tag = f"{size[0]}x{size[1]}"
    written: list[Path] = []

    def shot(screen: str, state: str) -> None:
        written.append(d.shot(out / f"{screen}-{state}-{tag}.png"))

    shot("attract", "idle")
    ctl.emit(CustomerArrived(t=0.0))
    d.pump()
    shot("welcome", "greeting")
    app.show("conversation")
    shot("conversation", "start")
    ctl.start_listening()
    ctl.emit(AudioLevel(-19.0))
    ctl.emit(PartialTranscript("how much is the claw"))
    shot("conversation", "listening")
    ctl.stop_listening()
    ctl.said("how much is the claw hammer")
    shot("conversation", "product")
    ctl.submit_text("what are your opening hours", source="tile")
    shot("conversation", "hours")
    ctl.submit_text("I want to return a drill", source="tile")
    d.pump()
    ctl.said("I bought it last tuesday")
    shot("conversation", "return")
    ctl.submit_text("is order 380554 ready", source="typed")
    shot("conversation", "order")
    conversation = app.screen("conversation")
    conversation.open_keyboard("text")
    conversation.ids.typed.text = "Where are the paint rol"
    shot("conversation", "keyboard")
    conversation.close_keyboard()
    ctl.said("how much is the claw hammer")
    app.theme.large_text = True
    shot("conversation", "large-text")
    app.theme.large_text = False
    app.theme.high_contrast = True
    shot("conversation", "high-contrast")
    app.theme.high_contrast = False

    app.show("scan")
    ctl.emit(ScanGuidance("hold_still"))
    shot("scan", "live")
    ctl.scanned(ScanFacts("order", order_number="846078"))
    shot("scan", "result")
    ctl.emit(DeviceStatus("camera", "off"))
    app.screen("scan").clear_result()
    shot("scan", "no-camera")
    ctl.emit(DeviceStatus("camera", "live"))

    app.show("conversation")
    ctl.request_staff()
    d.pump()
    handoff = app.screen("handoff")
    handoff._since[handoff.number] -= 83  # the wait so far, as it would have ticked on a kiosk
    handoff._tick()
    shot("handoff", "waiting")
    ctl.claim("Sam")
    shot("handoff", "claimed")

    ctl.said("bye")
    shot("feedback", "rate")
    app.screen("feedback").rate(5)
    shot("feedback", "reason")
    app.screen("feedback").send("Quick answers")
    shot("feedback", "thanks")
    d.stop()
    return written


# -- command line -------------------------------------------------------------------------------
def render_sizes(out: Path, sizes: list[str], *, config_file: str | None = None, date: str | None = None,
                 timeout_s: float = 300.0) -> list[Path]:
    """Each size in its own process; returns every PNG written."""
    import subprocess

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in sizes:
        cmd = [sys.executable, "-m", "kiosk.ui.screenshots", "--out", str(out), "--size", size]
        if config_file:
            cmd += ["--config", config_file]
        if date:
            cmd += ["--date", date]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"screenshots at {size} failed:\n{done.stderr[-4000:]}")
        written += [Path(line) for line in done.stdout.splitlines() if line.endswith(".png")]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.ui.screenshots")
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", required=True)
    parser.add_argument("--config")
    parser.add_argument("--date")
    args = parser.parse_args(argv)

    from kiosk.ui import configure_kivy, parse_size

    size = parse_size(args.size)
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kiosk-kivy-"))
    configure_kivy(size, fullscreen=False, offscreen=True)
    from kiosk.cli import _clock, _load_config

    config = _load_config(args)
    started = time.monotonic()
    for path in render(Path(args.out), size, config, _clock(args)):
        print(path)
    print(f"rendered {args.size} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
