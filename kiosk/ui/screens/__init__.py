"""One module per screen, each with a .kv file of the same name; KioskApp loads them on first show.

Every module exposes `SCREEN`, a KioskScreen subclass.
"""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    @property
    def app(self):
        return App.get_running_app()

    def prepare(self, **options) -> None:
        """Options passed by `app.show(name, ...)` before the screen becomes current."""

    def before_end(self, reason: str) -> None:
        """The session is about to end: last chance to hand something to the controller."""

    def clear(self) -> None:
        """Forget everything the customer said, typed or showed (the screen may be dropped after)."""
