"""Welcome: greets the customer, offers the three ways in (ask, scan, a person) and the language."""

from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior

from kiosk.dialogue.languages import LANGUAGE_NAMES, available_languages
from kiosk.ui.screens import KioskScreen
from kiosk.ui.widgets import KButton, Panel


class OptionCard(ButtonBehavior, Panel):
    title = StringProperty("")
    subtitle = StringProperty("")
    icon = StringProperty("")
    tone = StringProperty("primary")  # primary | accent
    want = NumericProperty(0)  # the height its content needs (the row takes the tallest)


class WelcomeScreen(KioskScreen):
    languages = ListProperty([])

    def on_kv_post(self, *_):
        self.languages = available_languages()
        box = self.ids.languages
        for code in self.languages:
            button = KButton(text=LANGUAGE_NAMES.get(code, code), icon="globe" if code == self.languages[0] else "",
                             size_hint=(None, None), font_size=self.app.theme.fs_m)
            button.code = code
            button.bind(on_release=lambda b: self.app.choose_language(b.code))
            self.app.bind(language=lambda _a, lang, b=button: setattr(b, "selected", lang == b.code))
            button.selected = self.app.language == code
            self.app.theme.bind(version=lambda *_a, b=button: self._size_language(b))
            self._size_language(button)
            box.add_widget(button)

    def _size_language(self, button):
        t = self.app.theme
        button.font_size = t.fs_m
        button.height = t.touch * 1.1
        button.auto_width = True

    def ask(self):
        self.app.activity()
        self.app.show("conversation")

    def scan(self):
        self.app.activity()
        self.app.show("scan")

    def person(self):
        self.app.request_staff()


SCREEN = WelcomeScreen
