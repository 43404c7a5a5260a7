"""Colours, type sizes and spacing, recomputed when the window or the customer's choices change.

Everything the .kv rules size or colour comes from `app.theme`, so the large-text and
high-contrast switches (and a rotation of the screen) restyle every widget through Kivy bindings.
Sizes are in pixels, already multiplied by `unit`: dp(1) scaled with the window, so an 800×480
panel and a 1920×1080 screen both show the same layout at a comfortable size.
"""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.graphics.texture import Texture
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty
from kivy.utils import get_color_from_hex as hexc

# The calm default: light surfaces, one teal for the primary action, warm amber for "a person".
NORMAL = {
    "bg": "#EEF2F5", "surface": "#FFFFFF", "surface_alt": "#E3E9EE", "outline": "#D3DCE3",
    "text": "#14202B", "muted": "#546474", "primary": "#0A6B66", "primary_ink": "#FFFFFF",
    "primary_soft": "#D5EDEA", "primary_soft_ink": "#07514D",
    "accent": "#FBE7D3", "accent_ink": "#7A3306", "accent_strong": "#B4541A",
    "success": "#1D7A3A", "success_soft": "#DCF1E2", "danger": "#B42318", "danger_soft": "#FCE3E0",
    "warning": "#8A5A00", "warning_soft": "#FFF1C2", "live": "#D92D20",
    "attract_top": "#0C4B47", "attract_bottom": "#062A28", "attract_ink": "#FFFFFF",
    "attract_muted": "#A9D3CF", "shadow": "#0F1E2E30", "scrim": "#000000A8",
}
# High contrast: black and white with yellow for what can be pressed; outlines on every surface.
HIGH_CONTRAST = {
    "bg": "#000000", "surface": "#000000", "surface_alt": "#141414", "outline": "#FFFFFF",
    "text": "#FFFFFF", "muted": "#FFFFFF", "primary": "#FFD60A", "primary_ink": "#000000",
    "primary_soft": "#000000", "primary_soft_ink": "#FFD60A",
    "accent": "#00E0FF", "accent_ink": "#000000", "accent_strong": "#00E0FF",
    "success": "#5CFF8A", "success_soft": "#000000", "danger": "#FF7A6E", "danger_soft": "#000000",
    "warning": "#FFD60A", "warning_soft": "#000000", "live": "#FF5247",
    "attract_top": "#000000", "attract_bottom": "#000000", "attract_ink": "#FFFFFF",
    "attract_muted": "#FFFFFF", "shadow": "#00000000", "scrim": "#000000D0",
}

# Base type scale in units (×1.3 with large text).
TYPE = {"fs_xs": 14, "fs_s": 16, "fs_m": 19, "fs_l": 24, "fs_xl": 31, "fs_xxl": 42, "fs_huge": 64,
        "fs_display": 88}


class Theme(EventDispatcher):
    unit = NumericProperty(1.0)  # pixels per design unit
    large_text = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    portrait = BooleanProperty(False)
    compact = BooleanProperty(False)  # the short side is small: tighter spacing, fewer lines
    narrow = BooleanProperty(False)  # under 560 units wide (a small portrait screen)
    text_scale = NumericProperty(1.0)
    version = NumericProperty(0)  # bumped on every restyle: widgets that colour themselves bind to it

    fs_xs = NumericProperty(14)
    fs_s = NumericProperty(16)
    fs_m = NumericProperty(19)
    fs_l = NumericProperty(24)
    fs_xl = NumericProperty(31)
    fs_xxl = NumericProperty(42)
    fs_huge = NumericProperty(64)
    fs_display = NumericProperty(88)

    gap = NumericProperty(12)  # between widgets
    pad = NumericProperty(16)  # inside panels and at the window edge
    radius = NumericProperty(16)
    bar_h = NumericProperty(56)  # top bar
    button_h = NumericProperty(60)  # every pressable thing is at least this tall (≥ 48 dp)
    min_touch = NumericProperty(48)  # 48 dp: the floor for anything pressable
    touch = NumericProperty(52)  # small controls (top bar, chips): the floor, scaled with the window
    tile_h = NumericProperty(76)
    border = NumericProperty(0)  # outline width: 0 normally, 2 units in high contrast

    bg = ColorProperty()
    surface = ColorProperty()
    surface_alt = ColorProperty()
    outline = ColorProperty()
    text = ColorProperty()
    muted = ColorProperty()
    primary = ColorProperty()
    primary_ink = ColorProperty()
    primary_soft = ColorProperty()
    primary_soft_ink = ColorProperty()
    accent = ColorProperty()
    accent_ink = ColorProperty()
    accent_strong = ColorProperty()
    success = ColorProperty()
    success_soft = ColorProperty()
    danger = ColorProperty()
    danger_soft = ColorProperty()
    warning = ColorProperty()
    warning_soft = ColorProperty()
    live = ColorProperty()
    attract_top = ColorProperty()
    attract_bottom = ColorProperty()
    attract_ink = ColorProperty()
    attract_muted = ColorProperty()
    shadow = ColorProperty()
    scrim = ColorProperty()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._size = (1280, 800)
        self.bind(large_text=self._restyle, high_contrast=self._restyle)
        self._restyle()

    def fit(self, size: tuple[int, int]) -> None:
        """Adapt to the window: called at start and on every resize or rotation."""
        self._size = (int(size[0]), int(size[1]))
        self._restyle()

    def _restyle(self, *_):
        w, h = self._size
        short = min(w, h)
        # 480 px short side = 1 unit per dp; larger screens scale up to twice that.
        self.unit = u = dp(1) * max(1.0, min(2.0, short / (540 * dp(1))))
        self.portrait = h > w
        self.compact = short / u < 520
        self.narrow = w / u < 560
        self.text_scale = ts = 1.3 if self.large_text else 1.0
        for name, size in TYPE.items():
            setattr(self, name, round(size * u * ts))
        self.gap = round((10 if self.compact else 14) * u)
        self.pad = round((14 if self.compact else 20) * u)
        self.radius = round(14 * u)
        self.bar_h = round((58 if self.compact else 64) * u + (6 * u if self.large_text else 0))
        self.min_touch = round(48 * dp(1))
        self.touch = max(self.min_touch, round(50 * u))
        self.button_h = max(self.min_touch, round((56 if self.compact else 64) * u * (1.12 if self.large_text else 1)))
        self.tile_h = max(self.min_touch, round((68 if self.compact else 84) * u * (1.15 if self.large_text else 1)))
        self.border = round(2 * u) if self.high_contrast else 0
        palette = HIGH_CONTRAST if self.high_contrast else NORMAL
        for name, value in palette.items():
            setattr(self, name, hexc(value))
        self.version += 1

    def get(self, name: str, _version=None):
        """A colour or size by name; kv rules pass `app.theme.version` so they re-evaluate on restyle."""
        return getattr(self, name)

    @staticmethod
    def mix(color, other, t: float):
        """Blend two colours (pressed states)."""
        return [a + (b - a) * t for a, b in zip(color, other)]

    def button_colors(self, variant: str, pressed: bool = False, selected: bool = False):
        """(background, foreground, outline) for a button style."""
        hc = self.high_contrast
        styles = {
            "primary": (self.primary, self.primary_ink, self.primary),
            "secondary": (self.surface, self.text, self.outline),
            "soft": (self.primary_soft, self.primary_soft_ink, self.outline if hc else self.primary_soft),
            "accent": (self.accent, self.accent_ink, self.accent),
            "ghost": ([0, 0, 0, 0], self.text, [0, 0, 0, 0]),
            "danger": (self.danger_soft, self.danger, self.danger if hc else self.danger_soft),
            "live": (self.live, [1, 1, 1, 1], self.live),
            "on_dark": ([1, 1, 1, 0.14], self.attract_ink, [1, 1, 1, 0.5] if hc else [1, 1, 1, 0.14]),
        }
        bg, fg, line = styles.get(variant, styles["secondary"])
        if selected:
            bg, fg, line = self.primary, self.primary_ink, self.primary
        if pressed:
            if hc:
                bg, fg = fg, bg  # inverted while held: unmistakable
            else:
                bg = self.mix(bg, [0, 0, 0, 1], 0.12) if bg[3] > 0 else [0, 0, 0, 0.08]
        return list(bg), list(fg), list(line)


_GRADIENTS: dict[tuple, Texture] = {}


def gradient(top, bottom) -> Texture:
    """A vertical gradient texture (bottom row first, as OpenGL draws it), cached by its colours."""
    key = (tuple(round(c, 3) for c in top), tuple(round(c, 3) for c in bottom))
    if key not in _GRADIENTS:
        n = 64
        data = bytearray()
        for i in range(n):
            t = i / (n - 1)
            data += bytes(int(255 * (b + (a - b) * t)) for a, b in zip(top[:3], bottom[:3])) + b"\xff"
        tex = Texture.create(size=(1, n), colorfmt="rgba")
        tex.blit_buffer(bytes(data), colorfmt="rgba", bufferfmt="ubyte")
        _GRADIENTS[key] = tex
    return _GRADIENTS[key]
