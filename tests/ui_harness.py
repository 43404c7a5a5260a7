"""Run a touchscreen-app scenario in a fresh process with a real offscreen Kivy window.

Kivy makes one window per process and reads its size at start, so every scenario is its own
`python` process (like tests/test_microphone.py). The prelude builds the real app around a
StillController backed by the real Assistant (demo store, committed model, a journal in the
scenario's own directory), or around the real runtime (`runtime=True`: build_runtime without
devices), and defines helpers: `wait_until(predicate)` pumps frames until the runtime's events
arrive, `tap(widget)` presses with a real touch at the
widget's position, `texts()` lists every string the window shows, `advance(seconds)` moves the
app's idle clock, `report(**values)` hands results back to the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import datetime as dt, json, os, sys
W, H = {w}, {h}
from kiosk.ui import configure_kivy
configure_kivy((W, H), fullscreen=False, offscreen=True)
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.tests.common import UnitTestTouch
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.scrollview import ScrollView
from kivy.uix.textinput import TextInput
from kiosk.config import load_config
from kiosk.app import build_assistant
from kiosk.events import *
from kiosk.ui.screenshots import Driver, build_app

config = load_config({config!r}, check_files=True)
config = config.model_copy(update={{"dialogue": config.dialogue.model_copy(update={{"idle_timeout_s": 90.0}})}})
TODAY = dt.date(2026, 11, 23)
wall = lambda: dt.datetime.combine(TODAY, dt.time(12)).astimezone()
assistant = build_assistant(config, clock=wall, database=os.path.join(os.environ["HOME"], "kiosk.db"))
mono = [1000.0]
if {runtime}:
    # The real runtime (kiosk.app.build_runtime) without devices: no camera, no microphone, silent.
    from kiosk.app import build_runtime
    from kiosk.ui.app import KioskApp
    assistant.end("unused")
    quiet = config.model_copy(update={{
        "camera": config.camera.model_copy(update={{"source": "none"}}),
        "audio": config.audio.model_copy(update={{"source": "none"}}),
        "tts": config.tts.model_copy(update={{"enabled": False}})}})
    ctl = build_runtime(quiet, clock=wall, database=os.path.join(os.environ["HOME"], "runtime.db"))
    assistant = ctl.assistant
    app = KioskApp(ctl, quiet.ui, idle_timeout_s=90.0, transitions={transitions}, start_controller=True,
                   now=lambda: mono[0])
    d = Driver(app).start()
else:
    app, ctl = build_app(config, assistant, camera={camera}, microphone={microphone}, now=lambda: mono[0])
    d = Driver(app).start()
    ctl.start()
d.pump()

def wait_until(predicate, timeout=10.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d.pump(2)
        if predicate():
            return True
    raise AssertionError(f"timed out; screen {{app.current}}; texts {{texts()[:30]}}")

def tap(widget):
    assert widget.get_root_window() is not None, f"{{widget}} is not on screen"
    x, y = widget.to_window(widget.x + widget.width / 2, widget.y + widget.height / 2)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    d.pump(1)
    touch.touch_up()
    d.pump(4)

def widgets():
    for child in Window.children:
        yield from child.walk(restrict=True)

def texts():
    out = []
    for w in widgets():
        text = getattr(w, "text", None)
        if isinstance(text, str) and text.strip():
            out.append(text)
    return out

def find_button(text):
    for w in widgets():
        if isinstance(w, ButtonBehavior) and getattr(w, "text", None) == text and w.opacity > 0 and not w.disabled:
            return w
    raise LookupError(f"no button {{text!r}} on screen; texts: {{texts()[:40]}}")

def advance(seconds):
    mono[0] += seconds
    d.pump(40)  # the app checks idle twice a second

def calls(name):
    return [c for c in ctl.calls if c[0] == name]  # StillController only

def report(**values):
    print("RESULT " + json.dumps(values, default=str), flush=True)
"""


def run_ui(tmp_path: Path, body: str, *, size: tuple[int, int] = (1280, 800), camera: bool = False,
           microphone: bool = True, runtime: bool = False, transitions: bool = False,
           timeout: float = 120.0) -> dict:
    """`transitions`: the screens fade as in `kiosk run` (runtime scenarios only); off, a screen
    change is complete when `show` returns."""
    script = tmp_path / "scenario.py"
    prelude = PRELUDE.format(w=size[0], h=size[1], camera=camera, microphone=microphone, runtime=runtime,
                             transitions=transitions,
                             config=str(ROOT / "tests" / "data" / "test_config.toml"))
    script.write_text(prelude + textwrap.dedent(body), encoding="utf-8")
    env = dict(os.environ, HOME=str(tmp_path), KIVY_HOME=str(tmp_path / ".kivy"), PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, str(script)], check=False, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and results, f"scenario failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return json.loads(results[-1][len("RESULT "):])
