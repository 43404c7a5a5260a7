"""Building blocks shared by the screens: text, panels, buttons and tiles, the level meter, indicators.

Colours and sizes are named by role ("text", "muted", "fs_l") and looked up in `app.theme`, so
the large-text and high-contrast switches restyle everything at once. Answer cards live in
`cards.py`, the on-screen keyboard in `keyboard.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from kivy.app import App
from kivy.graphics import BoxShadow, Color, InstructionGroup, Line, RoundedRectangle
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, OptionProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.layout import Layout
from kivy.uix.widget import Widget

from kiosk.ui.icons import Icon

KV = Path(__file__).with_suffix(".kv")


def theme():
    return App.get_running_app().theme


class Text(Label):
    """A label that wraps to its width and is as tall as its text. role/size_role name theme values."""

    role = StringProperty("text")
    size_role = StringProperty("fs_m")


class Panel(BoxLayout):
    """A rounded surface, with a soft shadow (outlined instead in high contrast)."""

    bg_role = StringProperty("surface")
    elevated = BooleanProperty(True)
    outlined = BooleanProperty(True)

    def __init__(self, **kwargs):
        # The shadow is its own instruction group, filled only while the panel is elevated and the
        # theme has shadows. BoxShadow runs its own shader: even an empty one switches programs on
        # every frame, and the Conversation screen had 69 of them, 53 empty (measured: about half
        # the UI thread's drawing time with a software renderer).
        self._shadow = InstructionGroup()
        super().__init__(**kwargs)
        self.canvas.before.insert(0, self._shadow)
        t = theme()
        self.bind(elevated=self._shade, pos=self._shade, size=self._shade)
        t.bind(version=self._shade)
        self._shade()

    def _shade(self, *_):
        t = theme()
        self._shadow.clear()
        if self.elevated and t.shadow[3] > 0 and self.width > 0 and self.height > 0:
            self._shadow.add(Color(*t.shadow))
            self._shadow.add(BoxShadow(pos=self.pos, size=self.size, offset=(0, -t.unit * 3),
                                       blur_radius=t.unit * 16, spread_radius=(-t.unit * 2, -t.unit * 2),
                                       border_radius=[t.radius] * 4))


class Pill(BoxLayout):
    """A small rounded badge: status of an order, "in stock", the ticket on the top bar."""

    text = StringProperty("")
    icon = StringProperty("")
    bg_role = StringProperty("surface_alt")
    fg_role = StringProperty("text")
    size_role = StringProperty("fs_s")


class KButton(ButtonBehavior, Widget):
    """A touch button: optional icon and text, several styles, never smaller than the theme allows.

    Layout reads x/width directly: center_x is a cached alias that may not be updated yet when
    our size callback runs."""

    text = StringProperty("")
    icon = StringProperty("")
    variant = StringProperty("secondary")  # primary | secondary | soft | accent | ghost | danger | live | on_dark
    selected = BooleanProperty(False)
    font_size = NumericProperty(0)  # 0: the theme's body size
    bold = BooleanProperty(True)
    align = OptionProperty("center", options=["center", "left"])
    vertical = BooleanProperty(False)  # icon above the text
    icon_scale = NumericProperty(1.35)
    icon_filled = BooleanProperty(False)
    phrase = StringProperty("")  # what a tile says for the customer
    bg_rgba = ColorProperty([0, 0, 0, 0])
    line_rgba = ColorProperty([0, 0, 0, 0])
    radius = NumericProperty(0)
    auto_width = BooleanProperty(False)  # as wide as its content (chips, pills)
    natural_width = NumericProperty(0)  # the width that shows icon and text on one line

    def __init__(self, **kwargs):
        self._icon = Icon()
        self._label = Label(markup=False, halign="center", valign="middle")
        super().__init__(**kwargs)
        self.add_widget(self._icon)
        self.add_widget(self._label)
        with self.canvas.before:
            self._bg_color = Color(0, 0, 0, 0)
            self._bg = RoundedRectangle()
            self._line_color = Color(0, 0, 0, 0)
            self._line = Line(width=1)
        t = theme()
        t.bind(version=self._restyle)
        self.bind(pos=self._layout, size=self._layout, text=self._layout, icon=self._layout,
                  font_size=self._layout, align=self._layout, vertical=self._layout, bold=self._layout,
                  icon_scale=self._layout, icon_filled=self._layout, auto_width=self._layout,
                  state=self._restyle, variant=self._restyle,
                  selected=self._restyle, disabled=self._restyle)
        self._restyle()

    def on_touch_down(self, touch):
        # Buttons never pass a touch to what lies beneath them.
        return super().on_touch_down(touch) or (self.collide_point(*touch.pos) and not self.disabled)

    def _restyle(self, *_):
        t = theme()
        bg, fg, line = t.button_colors(self.variant, self.state == "down", self.selected)
        if self.disabled:
            bg = [*bg[:3], bg[3] * 0.45]
            fg = [*fg[:3], 0.45]
        self._bg_color.rgba = bg
        self._line_color.rgba = line if (t.high_contrast or self.variant == "secondary") else [0, 0, 0, 0]
        self._line.width = max(1.0, t.border or t.unit)
        self._label.color = fg
        self._icon.color = fg
        self._layout()

    def _layout(self, *_):
        t = theme()
        r = self.radius or t.radius
        self._bg.pos, self._bg.size, self._bg.radius = self.pos, self.size, [r]
        self._line.rounded_rectangle = (self.x, self.y, self.width, self.height, r)
        fs = self.font_size or t.fs_m
        label = self._label
        label.font_size, label.bold, label.text = fs, self.bold, self.text
        icon_size = round(fs * self.icon_scale) if self.icon else 0
        self._icon.name = self.icon
        self._icon.filled = self.icon_filled
        pad = max(t.unit * 10, min(self.height, self.width) * 0.12)
        if self.vertical:
            avail = max(10, self.width - 2 * pad)
            label.halign = "center"
            self._fit_words(avail, fs)
            label.text_size = (avail, None)
            label.texture_update()
            tw, th = label.texture_size
            gap = t.unit * 6 if self.icon and self.text else 0
            total = icon_size + gap + th
            top = (self.y + self.height / 2) + total / 2
            self._icon.size = (icon_size, icon_size)
            self._icon.pos = ((self.x + self.width / 2) - icon_size / 2, top - icon_size)
            label.size = (avail, th)
            label.pos = ((self.x + self.width / 2) - avail / 2, top - icon_size - gap - th)
            return
        gap = t.unit * 10 if self.icon and self.text else 0
        label.text_size = (None, None)
        label.texture_update()
        natural = label.texture_size[0]
        want = round(natural + icon_size + gap + 2 * t.unit * 20)
        if self.natural_width != want:
            self.natural_width = want
        if self.auto_width and abs(self.width - want) > 1:
            self.width = want  # comes back here through the size binding
            return
        avail = max(10, self.width - 2 * pad - icon_size - gap)
        if natural > avail and self._fit_words(avail, fs):
            label.texture_update()
            natural = label.texture_size[0]
        label.halign = "left" if self.align == "left" else "center"
        if natural > avail or self.align == "left":
            label.text_size = (avail, None)  # wrap
            label.texture_update()
        tw, th = label.texture_size
        label.size = (label.text_size[0] or tw, th)
        group = icon_size + gap + label.width if self.text else icon_size
        x0 = self.x + pad if self.align == "left" else (self.x + self.width / 2) - group / 2
        self._icon.size = (icon_size, icon_size)
        self._icon.pos = (x0, (self.y + self.height / 2) - icon_size / 2)
        label.pos = (x0 + icon_size + gap, (self.y + self.height / 2) - th / 2)


    def _fit_words(self, avail: float, fs: float) -> bool:
        """A word wider than the button would be broken mid-word: shrink the text instead (to 60%)."""
        label = self._label
        label.text_size = (None, None)
        label.texture_update()
        core = label._label
        longest = max((core.get_extents(w)[0] for w in self.text.split()), default=0)
        if longest <= avail:
            return False
        label.font_size = max(fs * 0.6, fs * avail / longest * 0.98)
        return True


class Flow(Layout):
    """Fixed-size children in rows that wrap, centred or left-aligned; as tall as its rows."""

    spacing = NumericProperty(8)
    align = OptionProperty("left", options=["left", "center"])

    def __init__(self, **kwargs):
        kwargs.setdefault("size_hint_y", None)
        super().__init__(**kwargs)
        self.bind(width=self._trigger_layout, pos=self._trigger_layout, spacing=self._trigger_layout,
                  children=self._trigger_layout,
                  align=self._trigger_layout)

    def do_layout(self, *_):
        gap = self.spacing
        rows: list[list[Widget]] = [[]]
        used = 0.0
        for child in reversed(self.children):
            if rows[-1] and used + gap + child.width > self.width:
                rows.append([])
                used = 0.0
            used += (gap if rows[-1] else 0) + child.width
            rows[-1].append(child)
        heights = [max((c.height for c in row), default=0) for row in rows]
        total = sum(heights) + gap * max(0, len(rows) - 1)
        if self.height != total:
            self.height = total
        y = self.top
        for row, rh in zip(rows, heights):
            width = sum(c.width for c in row) + gap * max(0, len(row) - 1)
            x = self.x + ((self.width - width) / 2 if self.align == "center" else 0)
            for child in row:
                child.pos = (x, y - rh + (rh - child.height) / 2)
                x += child.width + gap
            y -= rh + gap


class Tile(KButton):
    """A quick-action tile: says its phrase for the customer when tapped."""


class Chip(KButton):
    """A small choice: a feedback reason, a suggested date, a department."""


class LevelMeter(Widget):
    """Five bars that rise with the loudness of what the microphone hears."""

    level = NumericProperty(0.0)  # 0..1
    active = BooleanProperty(False)
    color = ColorProperty([1, 1, 1, 1])

    PROFILE: tuple[float, ...] = (0.45, 0.8, 1.0, 0.8, 0.45)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, level=self._draw, active=self._draw, color=self._draw)
        self._draw()

    @staticmethod
    def from_dbfs(dbfs: float) -> float:
        """-60 dBFS (room) → 0, -10 dBFS (speaking close) → 1."""
        return max(0.0, min(1.0, (dbfs + 60.0) / 50.0))

    def _draw(self, *_):
        # The meter changes ten times a second while listening, and any change redraws the whole
        # window: a level that rounds to the same bars (a quiet room) draws nothing new.
        shown = (tuple(self.pos), tuple(self.size), round(self.level * 12) if self.active else -1,
                 tuple(self.color))
        if shown == getattr(self, "_shown", None):
            return
        self._shown = shown
        self.canvas.clear()
        n = len(self.PROFILE)
        bar_w = self.width / (n * 1.7)
        gap = (self.width - n * bar_w) / max(1, n - 1)
        with self.canvas:
            Color(*self.color[:3], self.color[3] if self.active else self.color[3] * 0.35)
            for i, weight in enumerate(self.PROFILE):
                h = max(bar_w, self.height * (0.18 + 0.82 * self.level * weight if self.active else 0.18))
                RoundedRectangle(pos=(self.x + i * (bar_w + gap), (self.y + self.height / 2) - h / 2), size=(bar_w, h),
                                 radius=[bar_w / 2])


class DeviceIndicator(BoxLayout):
    """Camera / microphone status for the top bar: a clear "on" whenever the device is live."""

    device = StringProperty("camera")  # camera | microphone
    state = StringProperty("off")  # live | off | reconnecting | failed
    listening = BooleanProperty(False)
    dark = BooleanProperty(False)  # on the attract screen's dark background
    compact = BooleanProperty(False)  # icon and dot only (the words stay in `label` for tests and logs)
    label = StringProperty("")
    icon = StringProperty("")
    shown = BooleanProperty(False)
    live = BooleanProperty(False)

    NAMES: ClassVar[dict[str, str]] = {"camera": "Camera", "microphone": "Mic"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bind(device=self._update, state=self._update, listening=self._update)
        self._update()

    def _update(self, *_):
        name = self.NAMES.get(self.device, self.device.title())
        base = "mic" if self.device == "microphone" else "camera"
        self.live = self.state == "live"
        if self.device == "microphone" and self.listening:
            self.label, self.icon = "Listening", base
        elif self.state == "live":
            self.label, self.icon = f"{name} on", base
        elif self.state == "starting":
            self.label, self.icon = f"{name} starting", base
        elif self.state == "reconnecting":
            self.label, self.icon = f"{name} reconnecting", f"{base}-off"
        elif self.state == "failed":
            self.label, self.icon = f"{name} unavailable", f"{base}-off"
        else:
            self.label, self.icon = f"{name} off", f"{base}-off"
        self.shown = True


if KV.name not in Builder.files and str(KV) not in Builder.files:
    Builder.load_file(str(KV))
