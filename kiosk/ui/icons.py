"""Line icons drawn with Kivy graphics on a 24×24 grid (no icon font needed, crisp at any size)."""

from __future__ import annotations

import math

from kivy.graphics import Color, Ellipse, Line, Mesh, RoundedRectangle
from kivy.properties import BooleanProperty, ColorProperty, StringProperty
from kivy.uix.widget import Widget


class Icon(Widget):
    name = StringProperty("")
    color = ColorProperty([0, 0, 0, 1])
    filled = BooleanProperty(False)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bind(pos=self.redraw, size=self.redraw, name=self.redraw, color=self.redraw, filled=self.redraw)
        self.redraw()

    # -- drawing helpers on the 24-unit grid (y up) -----------------------------------------
    def _setup(self):
        s = min(self.width, self.height)
        self._k = s / 24.0
        self._ox = self.x + (self.width - s) / 2
        self._oy = self.y + (self.height - s) / 2
        self._lw = max(1.1, 1.9 * self._k / 2)

    def p(self, x, y):
        return self._ox + x * self._k, self._oy + y * self._k

    def pts(self, *xy):
        out = []
        for i in range(0, len(xy), 2):
            out.extend(self.p(xy[i], xy[i + 1]))
        return out

    def line(self, *xy, close=False):
        Line(points=self.pts(*xy), width=self._lw, close=close, cap="round", joint="round")

    def circle(self, cx, cy, r, start=0, end=360, fill=False):
        x, y = self.p(cx, cy)
        rk = r * self._k
        if fill:
            Ellipse(pos=(x - rk, y - rk), size=(2 * rk, 2 * rk), angle_start=start, angle_end=end)
        else:
            Line(circle=(x, y, rk, start, end), width=self._lw, cap="round")

    def rect(self, x0, y0, x1, y1, r=2, fill=False):
        (ax, ay), (bx, by) = self.p(x0, y0), self.p(x1, y1)
        if fill:
            RoundedRectangle(pos=(ax, ay), size=(bx - ax, by - ay), radius=[r * self._k])
        else:
            Line(rounded_rectangle=(ax, ay, bx - ax, by - ay, r * self._k), width=self._lw)

    def polygon(self, *xy):
        pts = self.pts(*xy)
        cx = sum(pts[0::2]) / (len(pts) / 2)
        cy = sum(pts[1::2]) / (len(pts) / 2)
        vertices = [cx, cy, 0, 0]
        for i in range(0, len(pts), 2):
            vertices += [pts[i], pts[i + 1], 0, 0]
        vertices += [pts[0], pts[1], 0, 0]
        n = len(vertices) // 4
        Mesh(vertices=vertices, indices=list(range(n)), mode="triangle_fan")

    def redraw(self, *_):
        self.canvas.clear()
        if not self.name or self.width <= 0:
            return
        self._setup()
        draw = getattr(self, f"_i_{self.name.replace('-', '_')}", None)
        with self.canvas:
            Color(*self.color)
            if draw is not None:
                draw()

    # -- the icons ---------------------------------------------------------------------------
    def _i_mic(self):
        self.rect(9, 10, 15, 21.5, r=3, fill=self.filled)
        if not self.filled:
            self.rect(9, 10, 15, 21.5, r=3)
        self.circle(12, 14, 6.5, 90, 270)
        self.line(12, 7.5, 12, 4)
        self.line(8.5, 3.5, 15.5, 3.5)

    def _i_mic_off(self):
        self._i_mic()
        self.line(4, 21, 20, 3)

    def _i_camera(self):
        self.rect(2.5, 5, 21.5, 17.5, r=2.5)
        self.line(8, 17.5, 9.5, 20, 14.5, 20, 16, 17.5)
        self.circle(12, 11.3, 3.8)

    def _i_camera_off(self):
        self._i_camera()
        self.line(4, 21, 20, 3)

    def _i_keyboard(self):
        self.rect(1.5, 5.5, 22.5, 18.5, r=2)
        for row, y in enumerate((14.8, 11.6)):
            for i in range(6):
                x = 5 + i * 2.8 + (1.2 if row else 0)
                if x < 20:
                    self.circle(x, y, 0.75, fill=True)
        self.line(7.5, 8.5, 16.5, 8.5)

    def _i_scan(self):
        for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
            cx, cy = 12 - sx * 9, 12 - sy * 9
            self.line(cx, cy + sy * 5, cx, cy, cx + sx * 5, cy)
        self.line(6, 12, 18, 12)

    def _i_person(self):
        self.circle(12, 16, 4.2, fill=self.filled)
        if not self.filled:
            self.circle(12, 16, 4.2)
        self.circle(12, 3, 8, -90, 90)

    def _i_people(self):
        self.circle(9, 15.5, 3.5)
        self.circle(9, 3.5, 6.5, -90, 90)
        self.circle(16.8, 15.5, 3, 300, 420)
        self.line(18, 9, 20, 8.2, 21.5, 5.5)

    def _i_check(self):
        self.line(4.5, 12, 9.5, 7, 19.5, 17.5)

    def _i_close(self):
        self.line(6, 6, 18, 18)
        self.line(6, 18, 18, 6)

    def _i_star(self):
        pts = []
        for i in range(10):
            a = math.pi / 2 + i * math.pi / 5
            r = 10.5 if i % 2 == 0 else 4.6
            pts += [12 + r * math.cos(a), 11.3 + r * math.sin(a)]
        if self.filled:
            self.polygon(*pts)
        self.line(*pts, close=True)

    def _i_clock(self):
        self.circle(12, 12, 9.5)
        self.line(12, 17, 12, 12, 15.5, 10)

    def _i_back(self):
        self.line(15, 4, 7, 12, 15, 20)

    def _i_forward(self):
        self.line(9, 4, 17, 12, 9, 20)

    def _i_globe(self):
        self.circle(12, 12, 9.5)
        self.line(2.5, 12, 21.5, 12)
        Line(ellipse=(*self.p(7.8, 2.5), 8.4 * self._k, 19 * self._k), width=self._lw)

    def _i_tag(self):
        self.line(3, 13, 3, 21, 11, 21, 21, 11, 13, 3, close=True)
        self.circle(7.5, 16.5, 1.6)

    def _i_pin(self):
        self.circle(12, 14.5, 6.5, -130, 130)
        self.line(7, 10.3, 12, 2.5, 17, 10.3)
        self.circle(12, 14.5, 2.3)

    def _i_box(self):
        self.line(3, 16, 3, 4, 21, 4, 21, 16)
        self.rect(2, 16, 22, 20.5, r=1)
        self.line(9.5, 11, 14.5, 11)

    def _i_calendar(self):
        self.rect(3, 3, 21, 19, r=2)
        self.line(3, 14, 21, 14)
        self.line(8, 17, 8, 21.5)
        self.line(16, 17, 16, 21.5)
        for x in (8, 12, 16):
            self.circle(x, 9, 0.9, fill=True)

    def _i_return(self):
        self.line(9, 20, 4, 15, 9, 10)
        self.line(4, 15, 15, 15)
        self.circle(15, 10, 5, 0, 180)
        self.line(20, 10, 20, 10)
        self.line(15, 5, 9, 5)

    def _i_id(self):
        self.rect(1.5, 4.5, 22.5, 19.5, r=2)
        self.circle(8, 13.8, 2.4)
        self.line(4.5, 8, 11.5, 8)
        self.line(14, 14.5, 19.5, 14.5)
        self.line(14, 10.5, 19.5, 10.5)

    def _i_info(self):
        self.circle(12, 12, 9.5)
        self.line(12, 7, 12, 12.5)
        self.circle(12, 16, 1.1, fill=True)

    def _i_bag(self):
        self.line(4, 16, 5, 3, 19, 3, 20, 16, close=True)
        self.circle(12, 16, 4, 270, 450)

    def _i_backspace(self):
        self.line(8, 5, 21, 5, 21, 19, 8, 19, 2.5, 12, close=True)
        self.line(11.5, 9, 17, 15)
        self.line(11.5, 15, 17, 9)

    def _i_enter(self):
        self.line(19, 18, 19, 10, 5, 10)
        self.line(9.5, 14.5, 5, 10, 9.5, 5.5)

    def _i_shift(self):
        self.line(12, 20, 3.5, 11, 8, 11, 8, 4, 16, 4, 16, 11, 20.5, 11, close=True)

    def _i_contrast(self):
        self.circle(12, 12, 9.5)
        self.circle(12, 12, 9.5, 0, 180, fill=True)

    def _i_text_size(self):
        self.line(2, 5, 7, 19, 12, 5)
        self.line(3.8, 10, 10.2, 10)
        self.line(13, 5, 16.5, 14.5, 20, 5)
        self.line(14.3, 8.5, 18.7, 8.5)

    def _i_warning(self):
        self.line(12, 21, 2, 3.5, 22, 3.5, close=True)
        self.line(12, 14.5, 12, 10)
        self.circle(12, 7, 1, fill=True)

    def _i_store(self):
        self.line(3, 11, 3, 3, 21, 3, 21, 11)
        self.line(2, 15, 4, 20.5, 20, 20.5, 22, 15, 2, 15)
        self.rect(9, 3, 15, 9.5, r=0.8)

    def _i_chat(self):
        self.line(3, 20, 21, 20, 21, 8, 10, 8, 5, 3.5, 6, 8, 3, 8, close=True)

    def _i_hourglass(self):
        self.line(6, 21, 18, 21)
        self.line(6, 3, 18, 3)
        self.line(7, 21, 7, 18, 12, 12, 7, 6, 7, 3)
        self.line(17, 21, 17, 18, 12, 12, 17, 6, 17, 3)
