"""Conversation: what the customer is saying (live), the answer as a card, quick-action tiles, the
on-screen keyboard, push-to-talk, Scan, and "Talk to a person" — always on screen."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.events import Answered
from kiosk.ui.cards import CardActions, build_card
from kiosk.ui.keyboard import OnScreenKeyboard
from kiosk.ui.screens import KioskScreen
from kiosk.ui.widgets import Panel, Text, Tile

TILE_ICONS = (("hour", "clock"), ("open", "clock"), ("find", "tag"), ("product", "tag"), ("price", "tag"),
              ("order", "box"), ("return", "return"), ("restroom", "pin"), ("toilet", "pin"),
              ("park", "pin"), ("wifi", "info"), ("pay", "info"), ("deliver", "box"))
HEARD_PREFIX = {"speech": "You said", "typed": "You typed", "tile": "You asked", "scan": "You scanned"}


def tile_icon(label: str) -> str:
    low = label.lower()
    return next((icon for key, icon in TILE_ICONS if key in low), "chat")


class ConversationScreen(KioskScreen):
    keyboard_open = BooleanProperty(False)
    heard = StringProperty("")  # "You said: …" line above the answer
    has_answer = BooleanProperty(False)
    kb_mode = StringProperty("text")

    def on_kv_post(self, *_):
        self.keyboard = OnScreenKeyboard()
        self.keyboard.bind(on_enter=lambda _kb, text: self._typed(text))
        self.ids.kb_slot.add_widget(self.keyboard)
        self.keyboard.target = self.ids.typed
        # Held here: kv ids are weak, and one of the two is always out of the tree (see _place).
        self._body, self._kb_panel = self.ids.body, self.ids.kb_panel
        self._place()
        self._build_tiles()
        self._show_intro()
        self.app.theme.bind(version=self._restyle_cards)

    # -- tiles -----------------------------------------------------------------------------------
    def _build_tiles(self):
        grid = self.ids.tiles
        grid.clear_widgets()
        try:
            actions = list(self.app.controller.quick_actions)
        except Exception:  # noqa: BLE001 - the configured tiles, then
            actions = list(self.app.ui.quick_actions)
        for label, phrase in actions[:6]:
            tile = Tile(text=label, phrase=phrase, icon=tile_icon(label), variant="secondary", align="left")
            tile.bind(on_release=lambda t: self.app.submit(t.phrase, source="tile"))
            grid.add_widget(tile)

    # -- the answer ------------------------------------------------------------------------------
    def _actions(self) -> CardActions:
        return CardActions(submit=lambda text: self.app.submit(text, source="tile"),
                           keyboard=self.open_keyboard, scan=lambda: self.app.show("scan"),
                           labels=dict(self.app.responses.intent_labels))

    def _show_intro(self):
        thread = self.ids.thread
        thread.clear_widgets()
        t = self.app.theme
        intro = Panel(orientation="vertical", size_hint_y=None, padding=(t.pad * 1.2, t.pad), spacing=t.gap)
        intro.bind(minimum_height=intro.setter("height"))
        intro.add_widget(Text(text="How can I help?", size_role="fs_xxl", bold=True))
        intro.add_widget(Text(text="Tap a topic, press Talk and ask out loud, or type your question.",
                              role="muted", size_role="fs_l"))
        intro.add_widget(Text(text="For example: “Where are the paint rollers?”  “Is order 380554 ready?”  "
                                   "“Can I still return a drill I bought last week?”",
                              role="muted", size_role="fs_m"))
        thread.add_widget(intro)
        self.has_answer = False
        self._last = None

    def show_answer(self, ev: Answered) -> None:
        self.close_keyboard()
        self._last = ev
        self._render(ev)

    def _render(self, ev: Answered) -> None:
        thread = self.ids.thread
        thread.clear_widgets()
        said = ev.heard if ev.source == "speech" else (ev.turn.text if ev.turn is not None else "")
        if said and said.startswith("[scan] "):
            said = said[len("[scan] "):]
        prefix = HEARD_PREFIX.get(ev.source)
        self.heard = f"{prefix}: “{said}”" if (prefix and said) else ""
        if self.heard:
            thread.add_widget(Text(text=self.heard, role="muted", size_role="fs_m", halign="right",
                                   italic=True))
        thread.add_widget(build_card(ev.answer, ev.card, self._actions()))
        self.has_answer = True
        Clock.schedule_once(lambda *_: setattr(self.ids.scroll, "scroll_y", 1), 0)

    def _restyle_cards(self, *_):
        # Cards are built with the sizes of the moment: rebuild them when the theme changes.
        if self._last is not None:
            self._render(self._last)
        elif self.ids.thread.children:
            self._show_intro()

    # -- keyboard --------------------------------------------------------------------------------
    def on_keyboard_open(self, *_):
        self._place()

    def _place(self) -> None:
        """Only one of the answer area and the keyboard is in the tree: a widget moved off screen
        or made transparent is still drawn (its 40 keys cost the UI thread on every frame)."""
        area = self.ids.area
        shown, hidden = (self._kb_panel, self._body) if self.keyboard_open else (self._body, self._kb_panel)
        if hidden.parent is area:
            area.remove_widget(hidden)
        if shown.parent is None:
            area.add_widget(shown)

    def open_keyboard(self, mode: str = "text") -> None:
        self.app.activity()
        self.keyboard.mode = self.kb_mode = "numbers" if mode == "numbers" else "text"
        self.keyboard_open = True
        self.ids.typed.focus = True

    def close_keyboard(self) -> None:
        self.keyboard_open = False
        self.ids.typed.focus = False

    def _typed(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self.ids.typed.text = ""
        self.keyboard.shift = True
        self.close_keyboard()
        self.app.submit(text, source="typed")

    # -- leaving and privacy ---------------------------------------------------------------------
    def on_leave(self, *_):
        self.close_keyboard()

    def clear(self) -> None:
        self.ids.typed.text = ""
        self.heard = ""
        self.close_keyboard()
        self._show_intro()


SCREEN = ConversationScreen
