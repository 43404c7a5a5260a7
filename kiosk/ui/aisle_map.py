"""A small store map for answer cards: the aisles as shelves, the asked-for one highlighted, and
"You are here" at the entrance, so a customer sees where to walk rather than only a number.

The layout is derived from the store profile (the departments' aisles) by a pure function and kept
as normalised rectangles (0..1, origin bottom-left as in Kivy), so it is tested without a window.
Kivy is imported only when `AisleMap` is first used: the test process and the layout code must not
load Kivy (it reads its config and takes over logging on import).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from kiosk.storedata.profile import StoreProfile

if TYPE_CHECKING:
    from kivy.uix.widget import Widget

# and AisleMap, made on first use (see __getattr__ at the end)
__all__ = ["Place", "StoreLayout", "layout_for", "map_for", "running_layout", "store_layout"]

PER_ROW = 12  # more shelves than this in a row and, at 800x480, a shelf gets narrower than its number
MIN_CELLS = 6  # a store with few aisles still shows shelf-shaped shelves, not wide blocks
SIDE = 0.19  # share of the width for the areas that are not numbered aisles ("Garden Centre")
# Heights in units of the map's width: the aspect then follows from the number of rows.
TOP, ROW, GAP, FRONT, MARGIN = 0.03, 0.125, 0.045, 0.13, 0.02
SHELF = 0.74  # a shelf's share of its cell; the rest is the walkway between shelves
DOOR = 0.07  # half the entrance's width


@dataclass(frozen=True)
class Place:
    """A named rectangle on the map: a shelf ("7") or an area ("Garden Centre")."""

    name: str
    x: float
    y: float
    w: float
    h: float
    row: int = 0  # shelves: 0 is the back row; areas span all rows and use the front walkway

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    def overlaps(self, other: Place) -> bool:
        return (self.x < other.x + other.w and other.x < self.x + self.w
                and self.y < other.y + other.h and other.y < self.y + self.h)


@dataclass(frozen=True)
class StoreLayout:
    aspect: float  # height / width the map is drawn at
    shelves: tuple[Place, ...]  # numbered aisles in numeric order, rows from the back (top) to the front
    areas: tuple[Place, ...]  # other places, stacked in a column on the right
    here: tuple[float, float]  # the kiosk, beside the entrance
    door: tuple[float, float]  # x range of the entrance, a gap in the bottom wall
    walkways: tuple[float, ...]  # y of the walkway in front of (below) each row; the last is the front

    def place(self, name: str) -> Place | None:
        key = name.strip().casefold()
        return next((p for p in (*self.shelves, *self.areas) if p.name.casefold() == key), None)

    def known(self, names: Iterable[str]) -> tuple[str, ...]:
        """The names that are on the map, spelled as the map spells them, without repeats."""
        found = (self.place(str(n)) for n in names)
        return tuple(dict.fromkeys(p.name for p in found if p is not None))

    def route(self, name: str) -> tuple[tuple[float, float], ...]:
        """A walk from "You are here" to the place: up to the front walkway, along it, and (for a back
        row) up the gap beside the shelf to the walkway in front of its row. Empty for an unknown place."""
        target = self.place(name)
        if target is None:
            return ()
        hx, hy = self.here
        front = self.walkways[-1]
        points = [(hx, hy), (hx, front)]
        if target in self.shelves and target.row < len(self.walkways) - 1:  # a back row: through the front
            gx = target.x - target.w / SHELF * (1 - SHELF) / 2  # the middle of the gap left of the shelf
            points += [(gx, front), (gx, self.walkways[target.row]), (target.cx, self.walkways[target.row])]
        else:
            points.append((target.cx, front))
        points.append((target.cx, target.y))
        return tuple(p for i, p in enumerate(points) if i == 0 or p != points[i - 1])


def layout_for(names: Iterable[str], entrance: str = "centre") -> StoreLayout:
    """Numbered aisles as shelves left to right (wrapped into rows of at most PER_ROW), other areas
    in a column on the right, the entrance and the kiosk at the bottom: below the middle of the
    shelves, or at the "left" or "right" end of the front wall."""
    names = [n.strip() for n in names if n and n.strip()]
    numbers = sorted(dict.fromkeys(n for n in names if n.isdigit()), key=int)
    others = list(dict.fromkeys(n for n in names if not n.isdigit()))
    rows = max(1, math.ceil(len(numbers) / PER_ROW))
    per_row = math.ceil(len(numbers) / rows) if numbers else 0
    height = TOP + rows * ROW + (rows - 1) * GAP + FRONT
    right = 1 - MARGIN - (SIDE if others else 0)
    cells = max(per_row, MIN_CELLS)
    cell = (right - MARGIN) / cells
    left = MARGIN + (cells - per_row) * cell / 2  # a short row sits in the middle
    shelves = []
    for k, name in enumerate(numbers):
        row, col = divmod(k, per_row)
        top = height - TOP - row * (ROW + GAP)
        shelves.append(Place(name, left + (col + (1 - SHELF) / 2) * cell, (top - ROW) / height, cell * SHELF,
                             ROW / height, row))
    walkways = [(height - TOP - r * (ROW + GAP) - ROW - GAP / 2) / height for r in range(rows - 1)]
    walkways.append(FRONT * 0.72 / height)
    areas = []
    if others:
        bottom, top = FRONT, height - TOP
        each = (top - bottom - (len(others) - 1) * 0.02) / len(others)
        for i, name in enumerate(others):
            y = top - (i + 1) * each - i * 0.02
            areas.append(Place(name, right + 0.025, y / height, 1 - MARGIN - right - 0.025, each / height))
    if entrance == "left":
        hx = MARGIN + DOOR + 0.03
    elif entrance == "right":
        hx = 1 - MARGIN - DOOR - 0.03  # the front walkway runs below the areas' column too
    else:
        hx = (MARGIN + right) / 2
    return StoreLayout(aspect=height, shelves=tuple(shelves), areas=tuple(areas),
                       here=(hx, FRONT * 0.34 / height), door=(hx - DOOR, hx + DOOR),
                       walkways=tuple(walkways))


def store_layout(profile: StoreProfile) -> StoreLayout:
    return layout_for((aisle for department in profile.departments for aisle in department.aisles),
                      entrance=profile.map.entrance)


_cached: tuple[StoreProfile, StoreLayout] | None = None


def running_layout() -> StoreLayout | None:
    """The layout of the running app's store (controller.assistant.answerer.profile, the same for the
    StillController and KioskRuntime), or None when there is no store profile to be found."""
    global _cached
    from kivy.app import App

    try:
        profile = App.get_running_app().controller.assistant.answerer.profile
    except Exception:  # noqa: BLE001 - no app, no controller, a stand-in controller: no map
        return None
    if not isinstance(profile, StoreProfile):
        return None
    if _cached is None or _cached[0] is not profile:
        _cached = (profile, store_layout(profile))
    return _cached[1]


def map_for(aisles: Iterable[str]) -> Widget | None:
    """A map highlighting these aisles, or None (no store layout, or none of them is on it)."""
    layout = running_layout()
    known = layout.known(aisles) if layout is not None else ()
    return _widget_class()(layout=layout, highlight=list(known)) if known else None


@functools.cache
def _widget_class() -> type:
    from kivy.app import App
    from kivy.core.text import Label as CoreLabel
    from kivy.graphics import (
        Color,
        Ellipse,
        Line,
        PopMatrix,
        PushMatrix,
        Rectangle,
        RoundedRectangle,
        Translate,
    )
    from kivy.properties import ListProperty, ObjectProperty
    from kivy.uix.widget import Widget

    textures: dict[tuple, Any] = {}

    def texture(text: str, size: float, width: float | None = None):
        # Rendered white once and tinted by the Color before it, so a theme change re-uses it.
        key = (text, round(size), round(width) if width else None)
        if key not in textures:
            label = CoreLabel(text=text, font_size=size, bold=True, color=(1, 1, 1, 1), halign="center",
                              text_size=(width, None) if width else (None, None))
            label.refresh()
            textures[key] = label.texture
        return textures[key]

    class AisleMap(Widget):
        """Draws a StoreLayout: `highlight` names the shelves or areas to show in the primary colour."""

        layout = ObjectProperty(None, allownone=True)
        highlight = ListProperty([])

        def __init__(self, **kwargs):
            kwargs.setdefault("size_hint_y", None)
            super().__init__(**kwargs)
            self._shift: Translate | None = None
            App.get_running_app().theme.bind(version=self._redraw)
            # Drawn at the origin and moved by a Translate: scrolling the card moves it without
            # rebuilding the map on every frame.
            self.bind(pos=self._move, size=self._redraw, layout=self._redraw, highlight=self._redraw)
            self.bind(width=self._fit, layout=self._fit)
            self._fit()

        def _fit(self, *_):
            self.height = self.width * (self.layout.aspect if self.layout else 0)

        def _move(self, *_):
            if self._shift is not None:
                self._shift.xy = self.pos

        def _redraw(self, *_):
            self.canvas.clear()
            self._shift = None
            if self.layout is None or self.width < 2:
                return
            t = App.get_running_app().theme
            x0, y0, w, h = 0.0, 0.0, self.width, self.height
            lit = {n.casefold() for n in self.highlight}
            with self.canvas:
                PushMatrix()
                self._shift = Translate(*self.pos)
                line = max(1.0, t.unit * 1.5)
                Color(*(t.outline if t.high_contrast else t.mix(t.outline, t.muted, 0.35)))
                d0, d1 = (x0 + self.layout.door[0] * w, x0 + self.layout.door[1] * w)
                e = line / 2
                Line(points=[d1, y0 + e, x0 + w - e, y0 + e, x0 + w - e, y0 + h - e, x0 + e, y0 + h - e,
                             x0 + e, y0 + e, d0, y0 + e], width=line)
                if len(lit) == 1:  # one place: show the way there
                    Color(*t.primary)
                    path = self.layout.route(next(iter(lit)))
                    Line(points=[v for px, py in path for v in (x0 + px * w, y0 + py * h)],
                         width=max(1.0, t.unit * 1.6), joint="round", cap="round")
                for group, wrap in ((self.layout.shelves, False), (self.layout.areas, True)):
                    size = self._type_size(t, group, wrap)  # one size per group: "9" as big as "21"
                    for place in group:
                        self._place(t, place, place.name.casefold() in lit, size, wrap)
                self._here(t)
                PopMatrix()

        def _type_size(self, t, places: tuple[Place, ...], wrap: bool) -> float:
            size = t.fs_xs
            while size > t.fs_xs * 0.6 and any(self._overflows(t, p, size, wrap) for p in places):
                size *= 0.92  # a crowded map: smaller type rather than numbers spilling over
            return size

        def _overflows(self, t, place: Place, size: float, wrap: bool) -> bool:
            pw, ph = place.w * self.width, place.h * self.height
            tex = texture(place.name, size, pw - t.unit * 6 if wrap else None)
            # Wrapping breaks inside a word that is wider than the place ("Garde/n"): smaller type.
            longest = max(place.name.split(), key=len, default="")
            too_wide = wrap and texture(longest, size).width > pw - t.unit * 6
            return too_wide or tex.width > pw - 2 or tex.height > ph - 2

        def _place(self, t, place: Place, on: bool, size: float, wrap: bool) -> None:
            px, py = place.x * self.width, place.y * self.height  # from the map's corner (see _shift)
            pw, ph = place.w * self.width, place.h * self.height
            radius = min(pw * 0.22, t.unit * 5)
            Color(*(t.primary if on else t.surface_alt))
            RoundedRectangle(pos=(px, py), size=(pw, ph), radius=[radius])
            if t.high_contrast and not on:  # surface_alt is near-black there: outline the shelf
                Color(*t.outline)
                Line(rounded_rectangle=(px, py, pw, ph, radius), width=1)
            tex = texture(place.name, size, pw - t.unit * 6 if wrap else None)
            Color(*(t.primary_ink if on else (t.text if wrap else t.muted)))
            Rectangle(texture=tex, size=tex.size, pos=(round(px + (pw - tex.width) / 2),
                                                       round(py + (ph - tex.height) / 2)))

        def _here(self, t) -> None:
            hx, hy = self.layout.here[0] * self.width, self.layout.here[1] * self.height
            r = t.unit * 5
            Color(*t.text)
            Ellipse(pos=(hx - r, hy - r), size=(2 * r, 2 * r))
            tex = texture("You are here", t.fs_xs)
            gap = r + t.unit * 6
            # Beside the dot, on the side with room: a kiosk at the right end has none to its right.
            x = hx + gap if hx + gap + tex.width <= self.width else hx - gap - tex.width
            pos = (round(x), round(hy - tex.height / 2))
            Rectangle(texture=tex, size=tex.size, pos=pos)

    return AisleMap


def __getattr__(name: str) -> Any:
    # `AisleMap` is built on first use (PEP 562), so importing this module does not import Kivy.
    if name == "AisleMap":
        return _widget_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
