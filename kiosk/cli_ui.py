"""Touchscreen verbs: `kiosk run` (the kiosk itself) and `kiosk screenshots` (every screen to PNG)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Callable

from kiosk.errors import KioskError

EXIT_OK = 0


def _size(text: str) -> tuple[int, int]:
    from kiosk.ui import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise KioskError(str(exc)) from None


def cmd_run(args: argparse.Namespace, load_config: Callable, make_clock: Callable) -> int:
    from kiosk.runtime.memory import return_large_blocks

    return_large_blocks()  # before anything big is loaded (kiosk.runtime.memory says why)
    config = load_config(args)
    size = _size(args.size or config.ui.size)
    fullscreen = config.ui.fullscreen and not args.windowed and not args.size
    logging.basicConfig(level="DEBUG" if args.verbose else config.logging.level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from kiosk.ui import configure_kivy

    configure_kivy(size, fullscreen=fullscreen, quiet=not args.verbose, multisamples=config.ui.multisamples)
    try:
        from kiosk.app import build_runtime
    except ImportError:
        raise KioskError("the runtime core (kiosk.app.build_runtime) is not installed in this build") from None
    runtime = build_runtime(config, clock=make_clock(args))
    from kiosk.ui.app import KioskApp

    app = KioskApp(runtime, config.ui, idle_timeout_s=config.dialogue.idle_timeout_s,
                   language=config.kiosk.language, start_controller=True)

    def stop(_signum, _frame) -> None:
        # systemd stops the service with SIGTERM, a technician with Ctrl-C: both are a normal
        # shutdown (session ended "shutdown", devices closed), not an error.
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        app.run()
    finally:
        runtime.stop()
    return EXIT_OK


def cmd_screenshots(args: argparse.Namespace, load_config: Callable) -> int:
    from kiosk.ui.screenshots import DEFAULT_SIZES, render_sizes

    load_config(args)  # a bad config fails here with its own message, not inside a child process
    sizes = args.size or list(DEFAULT_SIZES)
    for size in sizes:
        _size(size)
    try:
        written = render_sizes(Path(args.out), sizes, config_file=args.config, date=args.date)
    except RuntimeError as exc:
        raise KioskError(str(exc)) from None
    for path in written:
        print(path)
    print(f"{len(written)} screenshots in {args.out}", file=sys.stderr)
    return EXIT_OK


def add_ui_parsers(sub: argparse._SubParsersAction, with_runtime: Callable, load_config: Callable,
                   make_clock: Callable) -> None:
    run = with_runtime(sub.add_parser("run", help="the kiosk: the touchscreen app with camera, microphone "
                                                  "and speaker"))
    run.add_argument("--windowed", action="store_true", help="a window instead of full screen (ui.size)")
    run.add_argument("--size", help="window size WxH, e.g. 800x480 or 1080x1920 (implies --windowed)")
    run.set_defaults(func=lambda a: cmd_run(a, load_config, make_clock))

    shots = with_runtime(sub.add_parser("screenshots", help="render every screen to PNG, offscreen, "
                                                            "from real answers"))
    shots.add_argument("--out", required=True, help="directory for <screen>-<state>-<WxH>.png")
    shots.add_argument("--size", action="append", metavar="WxH",
                       help="window size; repeat for several (default: 1280x800, 800x480 and 1080x1920)")
    shots.set_defaults(func=lambda a: cmd_screenshots(a, load_config))
