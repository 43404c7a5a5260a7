"""Scan: the live camera picture with a guide frame and the runtime's guidance; the runtime captures
on its own and the result arrives as Answered(source="scan"). Without a camera: say so, offer typing.

Preview frames are pulled from `controller.preview()` about 12 times a second into one texture;
they are never stored, and the texture is dropped when the screen is left.
"""

from __future__ import annotations

import cv2
import numpy as np
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.events import Answered
from kiosk.ui.cards import CardActions, build_card
from kiosk.ui.screens import KioskScreen
from kiosk.ui.widgets import KButton

PREVIEW_FPS = 12
HINT_ICONS = {"show_document": "scan", "move_closer": "scan", "straighten": "scan", "hold_still": "check",
              "reduce_glare": "warning"}


class PreviewView(Widget):
    """The camera picture (mirrored unless ui.mirror_preview is off), fitted inside the widget."""

    texture = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.canvas:
            self._color = Color(1, 1, 1, 1)
            self._rect = Rectangle()
        self.bind(pos=self._fit, size=self._fit, texture=self._fit)

    def _fit(self, *_):
        tex = self.texture
        self._rect.texture = tex
        if tex is None:
            self._rect.size = (0, 0)
            return
        tw, th = tex.size
        scale = min(self.width / tw, self.height / th)
        w, h = tw * scale, th * scale
        self._rect.pos = ((self.x + self.width / 2) - w / 2, (self.y + self.height / 2) - h / 2)
        self._rect.size = (w, h)
        self.picture = (self._rect.pos, self._rect.size)


class GuideFrame(Widget):
    """Corner brackets showing where to hold the document; green while it is held well."""

    good = BooleanProperty(False)


class ScanScreen(KioskScreen):
    hint_text = StringProperty("")
    has_result = BooleanProperty(False)
    has_frame = BooleanProperty(False)
    scanning = BooleanProperty(False)

    def on_kv_post(self, *_):
        self._texture: Texture | None = None
        self._uploaded: np.ndarray | None = None  # the camera's frame now on screen (same object)
        self._uploaded_for: tuple[float, float] = (0.0, 0.0)  # and the preview size it was fitted to
        self._event = None
        self._result: Answered | None = None
        self.app.bind(scan_hint=self._hint, camera_state=self._camera_changed)
        self._hint()
        self.bind(has_result=self._buttons)
        self.app.bind(camera_state=self._buttons)
        self._buttons()

    def _buttons(self, *_):
        """Back / Type instead while scanning; Scan another / Done once something was read."""
        row = self.ids.buttons
        row.clear_widgets()
        for key in ("again", "done", "back", "type_instead"):
            self.ids.pop(key, None)
        if self.has_result:
            specs = (("again", "Scan another", "scan", "secondary", self.clear_result),
                     ("done", "Done", "check", "primary", self.done))
        else:
            typing = "secondary" if self.app.camera_state == "live" else "primary"
            specs = (("back", "Back", "back", "secondary", lambda: self.app.show("conversation")),
                     ("type_instead", "Type instead", "keyboard", typing, self.type_instead))
        for key, text, icon, variant, action in specs:
            button = KButton(text=text, icon=icon, variant=variant)
            button.bind(on_release=lambda _b, action=action: action())
            self.ids[key] = button
            row.add_widget(button)

    # -- enter / leave ---------------------------------------------------------------------------
    def on_pre_enter(self, *_):
        self.clear_result()
        self._start()

    def on_leave(self, *_):
        self._stop()
        self.clear_result()  # "Done" took the answer to the conversation; nothing stays here

    def _start(self):
        if self.scanning or self.app.camera_state != "live":
            return
        self.scanning = True
        self.app.controller.start_scan()
        self._event = Clock.schedule_interval(self._pull, 1.0 / PREVIEW_FPS)
        self._pull()

    def _stop(self):
        if self._event is not None:
            self._event.cancel()
            self._event = None
        if self.scanning:
            self.scanning = False
            self.app.controller.stop_scan()
        self._drop_picture()

    def _camera_changed(self, *_):
        if self.app.current != "scan":
            return
        if self.app.camera_state == "live":
            self._start()
        else:
            self._stop()

    # -- the picture -----------------------------------------------------------------------------
    def _pull(self, *_):
        try:
            frame = self.app.controller.preview()
        except Exception:  # noqa: BLE001 - a failed frame is skipped, not fatal
            frame = None
        if frame is None or getattr(frame, "ndim", 0) != 3 or frame.shape[2] != 3:
            return
        view_w, view_h = self.ids.preview.size
        if frame is self._uploaded and (view_w, view_h) == self._uploaded_for:
            # The camera has not delivered a newer frame (its rate is below ours, or it is dim and
            # slow): the same picture again would cost a whole-window redraw for nothing.
            return
        self._uploaded, self._uploaded_for = frame, (view_w, view_h)
        # Shrunk to the pixels it is shown at before upload: less to copy and upload 12 times a
        # second (OpenCV does it without holding the GIL); the frame is never kept either way.
        height, width = frame.shape[:2]
        scale = min(1.0, view_w / width, view_h / height) if view_w > 0 and view_h > 0 else 1.0
        if scale < 0.95:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        # RGBA from OpenCV (vectorised, without the GIL): Kivy converts a "bgr" upload itself on the
        # UI thread (measured, 640x480 alone: 7.5 ms a frame as BGR, 4 ms as RGBA).
        frame = cv2.cvtColor(np.ascontiguousarray(frame, dtype=np.uint8), cv2.COLOR_BGR2RGBA)
        h, w = frame.shape[:2]
        if self._texture is None or self._texture.size != (w, h):
            self._texture = Texture.create(size=(w, h), colorfmt="rgba")
            self._texture.flip_vertical()  # image rows run top-down, OpenGL's bottom-up
            if self.app.ui.mirror_preview:  # a mirror: move left and the picture moves left
                self._texture.flip_horizontal()
        self._texture.blit_buffer(frame.tobytes(), colorfmt="rgba", bufferfmt="ubyte")
        self.ids.preview.texture = None
        self.ids.preview.texture = self._texture
        self.has_frame = True

    def _drop_picture(self):
        self.ids.preview.texture = None
        self._texture = None
        self._uploaded = None
        self.has_frame = False

    # -- guidance and result ---------------------------------------------------------------------
    def _hint(self, *_):
        hint = self.app.scan_hint or "show_document"
        self.hint_text = self.app.say(f"scan_{hint}", default="Hold it up to the camera.")
        self.hint_icon = HINT_ICONS.get(hint, "scan")
        if "guide" in self.ids:
            self.ids.guide.good = hint == "hold_still"

    def show_result(self, ev: Answered) -> None:
        self._result = ev
        slot = self.ids.result_slot
        slot.clear_widgets()
        actions = CardActions(submit=lambda text: self.app.submit(text, source="tile"),
                              keyboard=self.type_instead, scan=self.clear_result,
                              labels=dict(self.app.responses.intent_labels))
        slot.add_widget(build_card(ev.answer, ev.card, actions))
        self.has_result = True

    def clear_result(self, *_):
        self._result = None
        self.ids.result_slot.clear_widgets()
        self.has_result = False

    def done(self):
        ev = self._result
        conversation = self.app.show("conversation")
        if ev is not None:
            conversation.show_answer(ev)

    def type_instead(self, mode: str = "text"):
        self.app.show("conversation").open_keyboard(mode)

    def clear(self) -> None:
        self._stop()
        self.clear_result()


SCREEN = ScanScreen
