"""Touchscreen app benchmark: start-up, UI frame time with every worker busy, whole-app memory.

    .venv/bin/python bench/app.py          # writes bench/results/app.json

Each measurement runs `kiosk run`'s own wiring (build_runtime + KioskApp) in a fresh process,
offscreen (SDL's offscreen driver, Mesa llvmpipe: the GPU is the CPU here), 1280×800:
- start-up: from the moment the process is launched to the Attract screen drawn, with the
  demo store, the intent model and the runtime (the speech engine loads in the background);
  baseline: a bare Kivy app (one label) started the same way, in the same run;
- frame time: intervals between drawn frames over 20 s while the camera worker runs presence on
  a walk-by video at its real pace and the audio worker decodes looped shop requests with
  PocketSphinx, listening hands-free — on the Conversation screen, and on the Scan screen, where
  the camera preview is drawn and live scanning runs too; baseline: the same screens with
  camera and microphone off;
- UI thread CPU per frame (time.thread_time): what the UI itself spends, as against waiting for the
  GIL, the renderer's threads or a free core; whole-window redraws per second; and the CPU each
  thread used in the run, by name (the runtime names its threads, see name_os_thread);
- peak RSS (VmHWM) of the whole app with PocketSphinx loaded — the app's process plus any child
  process it starts — after the busy run. Measured twice:
  with Mesa's llvmpipe (the renderer the frame times come from) and with softpipe, which has no
  LLVM shader compiler: on this VM llvmpipe's JIT alone holds ~650 MB (the app's Python heap is
  ~20 MB), memory a Pi's GPU driver does not spend. Baseline in the same run: a bare Kivy window
  (one label) under softpipe; the difference is what the kiosk itself adds.
Like `kiosk run`, each child fixes glibc's mmap threshold first (kiosk.runtime.memory);
KIOSK_BENCH_MALLOC=glibc leaves glibc's own policy, to compare.
Needs ../shared/datasets (vtest.avi) for the busy camera; espeak-ng for the speech.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "app.json"
VIDEO = ROOT.parent / "shared" / "datasets" / "faces" / "opencv_samples" / "vtest.avi"
SIZE = (1280, 800)
BUSY_S = 20.0
RUNS = 3
REQUESTS = ["where are the restrooms", "how much is the claw hammer", "what time do you close today",
            "where is my order two nine three four", "do you sell paint brushes"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _peak_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_split_mb() -> dict[str, float]:
    """Resident memory now, by kind: anonymous (heaps, textures in RAM) and file-backed (the code
    of the libraries, shared with any other process that maps them; the kernel can drop it)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("RssAnon", "RssFile", "RssShmem"):
            out[key] = round(int(line.split()[1]) / 1024, 1)
    return out


def _children_peak_rss_mb() -> float:
    """The speech process (and any other child) counts too: it is part of the app."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid():
                total += _peak_rss_mb(stat.parent.name)
        except (OSError, IndexError, ValueError):
            continue
    return total


def _thread_cpu_s() -> dict[str, float]:
    """CPU seconds used so far by each of this process's threads, summed by thread name."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = name.rstrip("0123456789:-") or name  # llvmpipe-0, llvmpipe-1 … count as one
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def _speech_file(folder: Path) -> Path:
    """The shop requests, spoken by espeak-ng with pauses, looped to cover the busy run."""
    from kiosk.speech.synth import in_room, synthesize, write_wav

    pcm = b"".join(in_room(synthesize(text), before_s=0.8, after_s=1.5) for text in REQUESTS)
    loops = int(BUSY_S * 2 * 16000 * 2 / len(pcm)) + 2
    path = folder / "requests.wav"
    write_wav(path, pcm * loops)
    return path


def _summary(runs: list[dict]) -> dict:
    """Medians over the runs, and each run's p95 so the spread is visible."""
    keys = ("frame_ms_p50", "frame_ms_p95", "ui_cpu_ms_p50", "ui_cpu_ms_p95", "slow_frames_ui_cpu_ms_median",
            "peak_rss_mb")
    out = {f"median_{k}": round(statistics.median(r[k] for r in runs), 2) for k in keys}
    out["median_draws_per_s"] = round(statistics.median(r.get("draws", 0) for r in runs) / BUSY_S, 1)
    out["runs_frame_ms_p95"] = [r["frame_ms_p95"] for r in runs]
    # Where the two cores went during the median run: the renderer's threads, each worker, the UI.
    middle = sorted(runs, key=lambda r: r["frame_ms_p95"])[len(runs) // 2]
    out["median_run_thread_cpu_s"] = middle.get("thread_cpu_s", {})
    out["frames_per_run"] = [r["frames"] for r in runs]
    return out


# -- child processes ---------------------------------------------------------------------------
def _heap_policy() -> None:
    """As `kiosk run` does first (kiosk.runtime.memory); KIOSK_BENCH_MALLOC=glibc keeps glibc's own."""
    from kiosk.runtime.memory import return_large_blocks

    if os.environ.get("KIOSK_BENCH_MALLOC", "fixed") == "fixed":
        return_large_blocks()


def child_bare(launched: float) -> dict:
    from kiosk.ui import configure_kivy

    _heap_policy()  # the same as the app's, so the difference is the kiosk's own

    configure_kivy(SIZE, fullscreen=False, offscreen=True)
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.label import Label

    out: dict = {}

    class Bare(App):
        def build(self):
            Clock.schedule_once(self.drawn, 0)
            return Label(text="kiosk")

        def drawn(self, _dt):
            out["startup_s"] = time.time() - launched
            Clock.schedule_once(lambda _dt: self.stop(), 0.5)  # a few frames drawn: its memory is in

    Bare().run()
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return out


def child_app(launched: float, mode: str, speech: str | None = None) -> dict:
    from kiosk.ui import configure_kivy

    _heap_policy()

    configure_kivy(SIZE, fullscreen=False, offscreen=True)
    from kivy.clock import Clock

    from kiosk.app import build_runtime
    from kiosk.config import load_config
    from kiosk.ui.app import KioskApp

    config = load_config(ROOT / "tests" / "data" / "test_config.toml")
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-bench-app-"))
    busy = mode == "busy"
    # KIOSK_BENCH_ONLY=camera|audio keeps one worker busy, to see which one costs frames.
    only = os.environ.get("KIOSK_BENCH_ONLY", "")
    camera_busy, audio_busy = busy and only != "audio", busy and only != "camera"
    config = config.model_copy(update={
        "camera": config.camera.model_copy(update={"source": "file", "file": VIDEO, "realtime": True,
                                                   "loop": True} if camera_busy else {"source": "none"}),
        "audio": config.audio.model_copy(update={"source": "file", "file": Path(speech)} if audio_busy
                                         else {"source": "none"}),
        "endpoint": config.endpoint.model_copy(update={"mode": "hands_free"}),
        "tts": config.tts.model_copy(update={"enabled": False}),
    })
    if os.environ.get("KIOSK_BENCH_OPEN_WORDS"):  # e.g. 0: PocketSphinx's open pass knows all its words
        config = config.model_copy(update={"speech": config.speech.model_copy(
            update={"open_words": int(os.environ["KIOSK_BENCH_OPEN_WORDS"])})})
    runtime = build_runtime(config, database=str(tmp / "kiosk.db"))
    # KIOSK_BENCH_TRANSITIONS=0: instant screen changes, to see what the fades cost; =kivy: Kivy's
    # own FadeTransition instead of the kiosk's CrossFade (kiosk.ui.transition says why it went).
    if os.environ.get("KIOSK_BENCH_TRANSITIONS") == "kivy":
        from kivy.uix.screenmanager import FadeTransition

        import kiosk.ui.app as ui_app

        ui_app.CrossFade = FadeTransition
    app = KioskApp(runtime, config.ui, idle_timeout_s=3600, language="en", start_controller=True,
                   transitions=os.environ.get("KIOSK_BENCH_TRANSITIONS", "1") != "0")
    out: dict = {}
    frames: list[float] = []
    cpu: list[float] = []  # the UI thread's own CPU time per frame: its work, not its waiting
    state = {"last": None, "until": None, "cpu": 0.0, "threads": {}}

    def on_frame(_dt):
        now, used = time.perf_counter(), time.thread_time()
        if state["last"] is not None and state["until"] is not None:
            frames.append((now - state["last"]) * 1000.0)
            cpu.append((used - state["cpu"]) * 1000.0)
        state["last"], state["cpu"] = now, used
        if "startup_s" not in out and app.current == "attract":
            out["startup_s"] = time.time() - launched
            Clock.schedule_once(start_measuring, 1.0)
        if state["until"] is not None and now >= state["until"]:
            app.stop()
            out["rss_now_mb"] = _rss_split_mb()
            ended = _thread_cpu_s()
            out["thread_cpu_s"] = dict(sorted(((k, round(v - state["threads"].get(k, 0.0), 2))
                                               for k, v in ended.items()), key=lambda kv: -kv[1])[:8])

    screen = os.environ.get("KIOSK_BENCH_SCREEN", "scan")

    def back_to_screen(_dt):
        # An answer to what was heard opens Conversation; the customer goes back to the screen
        # measured (on Scan: the preview and live scanning run only while it shows).
        if app.current != screen:
            app.show(screen)

    def start_measuring(_dt):
        app.wake()  # a customer arrives: a session, then Conversation → Scan with its preview
        app.show(screen)
        Clock.schedule_interval(back_to_screen, 1.0)
        runtime.start_listening()
        # Give PocketSphinx time to load before the clock starts (it loads in the background).
        Clock.schedule_once(lambda _dt: state.update(until=time.perf_counter() + BUSY_S,
                                                     threads=_thread_cpu_s()), 4.0)

    from kivy.core.window import Window

    def on_flip(*_):
        if state["until"] is not None:
            out["draws"] = out.get("draws", 0) + 1

    Window.bind(on_flip=on_flip)
    Clock.schedule_interval(on_frame, 0)
    try:
        app.run()
        children_mb = _children_peak_rss_mb()
    finally:
        runtime.stop()
    out.update(frames=len(frames), frame_ms_p50=round(_percentile(frames, 0.5), 2) if frames else None,
               frame_ms_p95=round(_percentile(frames, 0.95), 2) if frames else None,
               ui_cpu_ms_p50=round(_percentile(cpu, 0.5), 2) if cpu else None,
               ui_cpu_ms_p95=round(_percentile(cpu, 0.95), 2) if cpu else None,
               slow_frames_ui_cpu_ms_median=round(statistics.median(
                   c for f, c in zip(frames, cpu) if f > 33) if any(f > 33 for f in frames) else 0, 2),
               peak_rss_mb=round(_peak_rss_mb() + children_mb, 1), child_processes_mb=round(children_mb, 1))
    return out


def _run_child(*args: str, renderer: str = "llvmpipe", screen: str = "scan") -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "GALLIUM_DRIVER": renderer, "KIOSK_BENCH_SCREEN": screen}
    env.pop("DISPLAY", None)
    launched = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", str(launched), *args], capture_output=True,
                          text=True, env=env, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"bench child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        launched, kind = float(sys.argv[2]), sys.argv[3]
        result = child_bare(launched) if kind == "bare" else child_app(launched, kind, *sys.argv[4:])
        print(json.dumps(result))
        return 0
    if not VIDEO.is_file():
        print(f"{VIDEO} is absent: the busy camera needs the shared datasets", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        speech = _speech_file(Path(tmp))
        bare = [_run_child("bare") for _ in range(3)]
        bare_soft = _run_child("bare", renderer="softpipe")
        quiet = [_run_child("quiet") for _ in range(3)]
        # Three runs each, alternating: frame times on a shared 2-core VM vary from run to run.
        busy_runs: dict[str, list[dict]] = {"conversation": [], "scan": []}
        for _ in range(RUNS):
            for screen, runs in busy_runs.items():
                runs.append(_run_child("busy", str(speech), screen=screen))
        busy_soft = _run_child("busy", str(speech), renderer="softpipe")
    result = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
                   "offscreen Mesa (llvmpipe; softpipe for the second memory figure)",
        "startup_s_bare_kivy_median": round(statistics.median(r["startup_s"] for r in bare), 2),
        "startup_s_kiosk_median": round(statistics.median(r["startup_s"] for r in quiet), 2),
        "quiet": {k: quiet[0][k] for k in ("frame_ms_p50", "frame_ms_p95", "peak_rss_mb")},
        "busy_conversation": _summary(busy_runs["conversation"]),
        "busy_scan": _summary(busy_runs["scan"]),
        "busy_softpipe": busy_soft,
        # What the window itself costs under the same renderer: Kivy, SDL and Mesa with one label.
        "bare_kivy_softpipe_peak_rss_mb": bare_soft["peak_rss_mb"],
        "app_own_peak_rss_mb_softpipe": round(busy_soft["peak_rss_mb"] - bare_soft["peak_rss_mb"], 1),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
