"""The touchscreen app (Kivy): screens driven by runtime events, every task by touch or by voice.

Kivy reads its settings when it is first imported and makes one window per process, so
`configure_kivy` must run before anything imports `kivy.core.window`; nothing in this package
imports Kivy at module level except the modules that are only loaded after it (app, screens,
widgets).
"""

from __future__ import annotations

import os
import tempfile


def parse_size(text: str) -> tuple[int, int]:
    """"1280x800" → (1280, 800)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 1280x800") from None
    if not (320 <= w <= 7680 and 240 <= h <= 4320):
        raise ValueError(f"size {text!r} is out of range")
    return w, h


def configure_kivy(size: tuple[int, int], *, fullscreen: bool, offscreen: bool = False,
                   quiet: bool = True, multisamples: int = 0) -> None:
    """Kivy settings for the kiosk; call once, before Kivy's window exists.

    `offscreen`: no display (screenshots, tests): SDL renders through Mesa EGL into memory.
    Kivy's own config and logs go to a private directory, never to ~/.kivy.
    """
    os.environ["KIVY_NO_ARGS"] = "1"  # our command line is ours, not Kivy's
    # Kivy logs through Python logging like the rest of the kiosk, and leaves stderr alone.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_HOME", os.path.join(tempfile.gettempdir(), f"kiosk-kivy-{os.getuid()}"))
    if quiet:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    if offscreen:
        os.environ.pop("DISPLAY", None)
        os.environ.pop("WAYLAND_DISPLAY", None)
    import logging

    class _Probes(logging.Filter):
        """Kivy's start-up probes for things a kiosk does not use (libmtdev, X clipboard tools)."""

        NOISE = ("MTDev", "Cutbuffer", "xclip", "xsel", "configuration version", "Upgrading configuration")

        def filter(self, record: logging.LogRecord) -> bool:
            return not any(n in str(record.msg) for n in self.NOISE)

    for name in ("kivy", ""):
        logging.getLogger(name).addFilter(_Probes())
    from kivy.config import Config

    w, h = size
    Config.set("graphics", "width", str(w))
    Config.set("graphics", "height", str(h))
    Config.set("graphics", "resizable", "1")
    # Kivy asks for 2x MSAA by default. Every edge the kiosk draws is either axis-aligned or a
    # rounded corner, and MSAA multiplies the cost of every pixel of every layer: measured with
    # Mesa's software renderer, a full Conversation screen took 159 ms to draw with 2x and 61 ms
    # without (docs/benchmarks.md). A GPU pays it too, less visibly; `ui.multisamples` brings it back.
    Config.set("graphics", "multisamples", str(multisamples))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    # The app brings its own keyboard; a physical one (technicians) still types into text fields.
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("kivy", "exit_on_escape", "0" if fullscreen else "1")
    Config.set("kivy", "log_level", "warning" if quiet else "info")
    # No right-click red dots on a touchscreen; no multitouch emulation.
    Config.set("input", "mouse", "mouse,disable_multitouch")
