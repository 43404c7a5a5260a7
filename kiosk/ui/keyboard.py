"""The on-screen keyboard: big keys typing into a TextInput, a numbers page for order numbers."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, OptionProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk.ui.widgets import KButton

# Rows of keys; "<shift>", "<bksp>", "<abc>", "<123>", "<space>", "<send>" are actions and
# "<gap:w>" an empty slot w keys wide. Wide screens get QWERTY; a narrow portrait screen (under 560
# units) gets 7 keys a row in alphabetical order, so every key stays at least 48 dp wide.
WIDE = {
    "text": [list("qwertyuiop") + ["<bksp>"], ["<gap:0.7>"] + list("asdfghjkl'") + ["<gap:0.7>"],
             ["<shift>"] + list("zxcvbnm,?"), ["<123>", "<space>", ".", "<send>"]],
    "numbers": [list("1234567890") + ["<bksp>"], ["<gap:0.7>"] + list("-/:;()$&@\"") + ["<gap:0.7>"],
                ["<gap:1.7>"] + list("#%+=.,?!") + ["<gap:1.7>"], ["<abc>", "<space>", "<send>"]],
}
NARROW = {
    "text": [list("abcdefg"), list("hijklmn"), list("opqrstu"), ["<shift>"] + list("vwxyz") + ["<bksp>"],
             ["<123>", "<space>", "'", "<send>"]],
    "numbers": [list("1234567"), list("890-/:;"), list("()$&@,."), list("?!#%+=") + ["<bksp>"],
                ["<abc>", "<space>", "<send>"]],
}
WEIGHTS = {"<bksp>": 1.4, "<shift>": 2.4, "<123>": 1.4, "<abc>": 1.4, "<space>": 5.0, "<send>": 2.6}


class Key(KButton):
    pass


class OnScreenKeyboard(BoxLayout):
    """Types into `target`; `on_enter` fires with the text when Send is pressed."""

    target = ObjectProperty(None, allownone=True)
    mode = OptionProperty("text", options=["text", "numbers"])
    shift = BooleanProperty(True)  # capital at the start of a sentence

    __events__ = ("on_enter",)

    def __init__(self, **kwargs):
        kwargs.setdefault("orientation", "vertical")
        super().__init__(**kwargs)
        self.theme = App.get_running_app().theme
        self.theme.bind(version=self._build)
        self.bind(mode=self._build, shift=self._relabel)
        self._build()

    def on_enter(self, text: str):
        pass

    # -- layout ----------------------------------------------------------------------------------
    def _key(self, label: str, *, icon: str = "", variant: str = "secondary", weight: float = 1.0,
             action=None, text_value: str | None = None) -> Key:
        t = self.theme
        key = Key(text=label, icon=icon, variant=variant, font_size=t.fs_l, bold=False, size_hint_x=weight,
                  icon_scale=1.1, radius=t.radius * 0.6)
        key.value = text_value if text_value is not None else label
        key.bind(on_release=action or self._type)
        return key

    def _build(self, *_):
        t = self.theme
        self.clear_widgets()
        self.spacing = t.unit * 6
        layout = (NARROW if t.narrow else WIDE)[self.mode]
        self._letter_keys: list[Key] = []
        for specs in layout:
            row = BoxLayout(spacing=t.unit * (4 if t.narrow else 6))
            for spec in specs:
                row.add_widget(self._make(spec, narrow=t.narrow))
            self.add_widget(row)
        self._relabel()

    def _make(self, spec: str, *, narrow: bool) -> Widget:
        if spec.startswith("<gap:"):
            return Widget(size_hint_x=float(spec[5:-1]))
        weight = WEIGHTS.get(spec, 1.0)
        if narrow and spec in ("<shift>", "<bksp>"):
            weight = 1.0
        elif narrow and spec == "<space>":
            weight = 3.6  # leaves the apostrophe beside it a full key wide
        if spec == "<bksp>":
            return self._key("", icon="backspace", weight=weight, action=self._backspace, variant="soft")
        if spec == "<shift>":
            return self._key("", icon="shift", weight=weight, action=self._toggle_shift,
                             variant="soft" if self.shift else "secondary")
        if spec == "<123>":
            return self._key("123", weight=weight, variant="soft", action=self._numbers)
        if spec == "<abc>":
            return self._key("ABC", weight=weight, variant="soft", action=self._letters)
        if spec == "<space>":
            return self._key("space", weight=weight + (1 if self.mode == "numbers" else 0), text_value=" ")
        if spec == "<send>":
            send = self._key("Send", icon="enter", weight=weight, variant="primary", action=self._send)
            send.font_size = self.theme.fs_m
            self.send_key = send
            return send
        key = self._key(spec)
        self._letter_keys.append(key)
        return key

    def _relabel(self, *_):
        for key in self._letter_keys:
            if key.value.isalpha():
                key.text = key.value.upper() if self.shift else key.value

    # -- actions ---------------------------------------------------------------------------------
    def press(self, label: str) -> None:
        """Press the key showing `label` (for tests and voice-free scripted use)."""
        for key in self.walk(restrict=True):
            if isinstance(key, Key) and (key.text == label or key.value == label):
                key.trigger_action(0)
                return
        raise KeyError(label)

    def _type(self, key: Key):
        if self.target is None:
            return
        value = key.text if key.value.isalpha() else key.value
        self.target.insert_text(value)
        if self.shift and value.isalpha():
            self.shift = False
        self._build_shift_key()

    def _build_shift_key(self):
        for key in self.walk(restrict=True):
            if isinstance(key, Key) and key.icon == "shift":
                key.variant = "soft" if self.shift else "secondary"

    def _toggle_shift(self, *_):
        self.shift = not self.shift
        self._build_shift_key()

    def _backspace(self, *_):
        if self.target is not None and self.target.text:
            self.target.do_backspace()
            if not self.target.text:
                self.shift = True
                self._build_shift_key()

    def _numbers(self, *_):
        self.mode = "numbers"

    def _letters(self, *_):
        self.mode = "text"

    def _send(self, *_):
        if self.target is None:
            return
        text = self.target.text.strip()
        if text:
            self.dispatch("on_enter", text)
