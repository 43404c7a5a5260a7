"""Attract: the store's name and "Tap or say hello" ("Tap to start" when a voice cannot wake it: no
microphone, push-to-talk, or no working camera with endpoint.listen_without_camera off); dims when
nobody is around, wakes on a touch or when the camera sees someone arrive (the app opens the
session and shows Welcome), or when a greeting is answered (the app shows the Conversation)."""

from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import NumericProperty

from kiosk.ui.screens import KioskScreen


class AttractScreen(KioskScreen):
    pulse = NumericProperty(0.0)

    def on_enter(self, *_):
        self._animate()

    def on_leave(self, *_):
        Animation.cancel_all(self, "pulse")

    def _animate(self, *_):
        Animation.cancel_all(self, "pulse")
        self.pulse = 0.0
        anim = Animation(pulse=1.0, duration=2.4, t="out_quad") + Animation(pulse=0.0, duration=0)
        anim.repeat = True
        anim.start(self)

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos) and self.app.current == "attract":
            self.app.wake()
            return True
        return super().on_touch_down(touch)


SCREEN = AttractScreen
