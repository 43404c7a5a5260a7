"""Answer cards: the kiosk's answer sentence plus the facts of its `card` dict, laid out to be read
at a glance — aisle and price for a product, the week's hours, an order's status and pickup place,
whether a return is still possible and until when.

`build_card(answer, card, actions)` returns a Panel sized to its content. `actions` lets a card offer
the next step (tap a suggested reply, open the keyboard, scan); untrusted text (a scanned code's
payload) is only ever shown as plain text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from kivy.app import App
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk.dialogue.answers import clock_time
from kiosk.ui.aisle_map import map_for
from kiosk.ui.icons import Icon
from kiosk.ui.widgets import Chip, Flow, Panel, Pill, Text


@dataclass
class CardActions:
    submit: Callable[[str], None] = lambda text: None  # say this for the customer (source "tile")
    keyboard: Callable[[str], None] = lambda mode: None  # open the keyboard ("text" | "numbers")
    scan: Callable[[], None] = lambda: None  # go to the Scan screen
    labels: dict[str, str] | None = None  # intent → how to name it ("our opening hours")


ORDER_STATUS = {  # status → (label, pill background role, pill text role)
    "processing": ("Being prepared", "warning_soft", "warning"),
    "ready_for_pickup": ("Ready to collect", "success_soft", "success"),
    "collected": ("Collected", "surface_alt", "text"),
    "out_for_delivery": ("Out for delivery", "primary_soft", "primary_soft_ink"),
    "delivered": ("Delivered", "surface_alt", "text"),
    "cancelled": ("Cancelled", "danger_soft", "danger"),
    "refunded": ("Refunded", "surface_alt", "text"),
}
TOPICS = {
    "payment_methods": "Ways to pay", "price_match": "Price matching", "warranty": "Warranty & repairs",
    "exchange": "Exchanges", "refund": "Refunds", "restrooms": "Restrooms", "parking": "Parking",
    "wifi": "Wi-Fi", "loyalty_points": "Harbor Rewards", "gift_card_balance": "Gift cards",
    "delivery_info": "Home delivery", "promotions": "Current offers", "feedback": "Feedback", "help": "Help",
}
HEADERS = {  # kind → (icon, heading)
    "product": ("tag", "Product"), "products": ("tag", "Products"), "hours": ("clock", "Opening hours"),
    "order": ("box", "Your order"), "return": ("return", "Returns"), "handoff": ("people", "Help is coming"),
    "info": ("info", "Information"), "choice": ("chat", "Which one?"), "question": ("chat", "One more thing"),
    "id_document": ("id", "ID document"), "scan": ("scan", "Code read"), "goodbye": ("store", "Goodbye"),
    "department": ("pin", "Department"), "departments": ("pin", "Departments"),
    "service": ("store", "Service"), "services": ("store", "Our services"),
}


def _t():
    return App.get_running_app().theme


def hours_text(open_: str | None, close: str | None, closed: bool) -> str:
    if closed or not open_ or not close:
        return "Closed"
    return f"{clock_time(dt.time.fromisoformat(open_))} – {clock_time(dt.time.fromisoformat(close))}"


def nice_date(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d:%A}, {d:%B} {d.day}, {d.year}"


def _vbox(**kw) -> BoxLayout:
    t = _t()
    box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=kw.pop("spacing", t.gap), **kw)
    box.bind(minimum_height=box.setter("height"))
    return box


def _stack(**kw) -> Flow:
    t = _t()
    return Flow(spacing=kw.pop("spacing", t.gap * 0.7), **kw)


def _stat(label: str, value: str, role: str = "text", bg: str = "surface_alt", size: str = "fs_xl",
          tight: bool = False) -> Panel:
    """A boxed fact: small caption over a large value (AISLE / 7)."""
    t = _t()
    box = Panel(orientation="vertical", bg_role=bg, elevated=False, size_hint_y=None,
                padding=(t.pad * 0.8, t.pad * (0.3 if tight else 0.5)), spacing=t.unit * 2)
    cap = Text(text=label.upper(), role="muted", size_role="fs_xs", bold=True)
    val = Text(text=value, role=role, size_role=size, bold=True)
    box.add_widget(cap)
    box.add_widget(val)
    box.bind(minimum_height=box.setter("height"))
    return box


def _row(label: str, value: str, *, bold_value: bool = False) -> BoxLayout:
    """Label on the left, value on the right, wrapping as needed."""
    t = _t()
    row = BoxLayout(size_hint_y=None, spacing=t.gap)
    left = Text(text=label, role="muted", size_role="fs_s", size_hint_x=0.38)
    right = Text(text=value, size_role="fs_m", bold=bold_value, size_hint_x=0.62)
    row.add_widget(left)
    row.add_widget(right)

    def fit(*_):
        row.height = max(left.height, right.height, t.fs_m * 1.6)
    left.bind(height=fit)
    right.bind(height=fit)
    fit()
    return row


def _banner(ok: bool, text: str) -> Panel:
    t = _t()
    p = Panel(bg_role="success_soft" if ok else "danger_soft", elevated=False, size_hint_y=None,
              padding=(t.pad * 0.8, t.pad * 0.6), spacing=t.gap)
    icon = Icon(name="check" if ok else "close", size_hint=(None, None), size=(t.fs_xl, t.fs_xl),
                color=t.success if ok else t.danger, pos_hint={"center_y": 0.5})
    label = Text(text=text, role="success" if ok else "danger", size_role="fs_l", bold=True)
    p.add_widget(icon)
    p.add_widget(label)
    label.bind(height=lambda *_: setattr(p, "height", label.height + t.pad * 1.2))
    p.height = label.height + t.pad * 1.2
    return p


def _grid(cols: int, children: list[Widget]) -> GridLayout:
    """Boxes side by side, all as tall as the tallest."""
    t = _t()
    grid = GridLayout(cols=cols, size_hint_y=None, spacing=t.gap)

    def equalize(*_):
        tallest = max((c.minimum_height for c in children), default=0)
        for c in children:
            c.height = tallest
    for child in children:
        child.unbind(minimum_height=child.setter("height"))
        child.bind(minimum_height=equalize)
        grid.add_widget(child)
    grid.bind(minimum_height=grid.setter("height"))
    equalize()
    return grid


def _chip(text: str, on_press: Callable[[], None], icon: str = "", variant: str = "soft") -> Chip:
    t = _t()
    chip = Chip(text=text, icon=icon, variant=variant, size_hint=(None, None), height=t.touch * 1.05,
                font_size=t.fs_s, auto_width=True)
    chip.bind(on_release=lambda *_: on_press())
    return chip


def _add_map(body, aisles: list[str]) -> None:
    """The store map with these aisles highlighted, when the store's layout is known and has them."""
    aisle_map = map_for(aisles)
    if aisle_map is not None:
        body.add_widget(aisle_map)


# -- per kind ------------------------------------------------------------------------------------
def _product(card, body, actions):
    stock = card.get("stock")
    in_stock = isinstance(stock, int) and stock > 0
    aisle = str(card.get("aisle", "—"))
    aisle_map = map_for([aisle])
    tight = aisle_map is not None  # smaller facts beside the map: the whole answer fits without scrolling
    size = "fs_m" if tight else "fs_xl"
    stock_text = f"{stock} in stock" if in_stock else "Out of stock"
    stock_role = "success" if in_stock else "danger"
    where = "Aisle" if aisle.isdigit() else "Where"
    stats = [_stat(where, aisle, "primary_soft_ink", "primary_soft", size, tight),
             _stat("Price", card.get("price", "—"), size=size, tight=tight),
             _stat("Stock", stock_text, stock_role, f"{stock_role}_soft", "fs_m" if tight else "fs_l", tight)]
    department = Text(text=f"Department: {card['department']}", role="muted", size_role="fs_s") \
        if card.get("department") else None
    if aisle_map is None:
        body.add_widget(Text(text=card.get("name", ""), size_role="fs_xl", bold=True))
        body.add_widget(_grid(3, stats))
        if department is not None:
            body.add_widget(department)
    else:  # the answer sentence names the product already
        body.add_widget(_beside([aisle_map] + ([department] if department else []), stats))


def _beside(left: list[Widget], right: list[Widget], shares: tuple[float, float] = (0.66, 0.34)) -> BoxLayout:
    """Two stacks side by side (the map and its caption; the facts), as tall as the taller one."""
    t = _t()
    row = BoxLayout(size_hint_y=None, spacing=t.gap)
    columns = tuple(BoxLayout(orientation="vertical", size_hint=(share, None), spacing=t.gap * 0.5,
                              pos_hint={"top": 1}) for share in shares)

    def fit(*_):
        for column in columns:
            column.height = column.minimum_height
        row.height = max(column.height for column in columns)
    for column, widgets in zip(columns, (left, right)):
        for widget in widgets:
            column.add_widget(widget)
        column.bind(minimum_height=fit)
        row.add_widget(column)
    fit()
    return row


def _products(card, body, actions):
    t = _t()
    items = card.get("items", [])
    aisle_map = map_for([str(item.get("aisle", "")) for item in items])  # one map for all
    tight = aisle_map is not None  # the list beside the map: where to go is seen without scrolling
    panels = []
    for item in items:
        p = Panel(orientation="vertical", bg_role="surface_alt", elevated=False, size_hint_y=None,
                  padding=(t.pad * (0.6 if tight else 0.8), t.pad * 0.5), spacing=t.unit * 4)
        p.add_widget(Text(text=item.get("name", ""), size_role="fs_m" if tight else "fs_l", bold=True))
        stock = item.get("stock") or 0
        gap = "  ·  " if tight else "   ·   "
        line = f"Aisle {item.get('aisle')}{gap}{item.get('price')}{gap}" + (
            f"{stock} in stock" if stock > 0 else "out of stock")
        p.add_widget(Text(text=line, role="muted" if stock > 0 else "danger",
                          size_role="fs_s" if tight else "fs_m"))
        p.bind(minimum_height=p.setter("height"))
        panels.append(p)
    if aisle_map is None:
        for p in panels:
            body.add_widget(p)
    else:
        body.add_widget(_beside([aisle_map], panels, shares=(0.56, 0.44)))


def _hours(card, body, actions):
    t = _t()
    if "week" not in card:  # "on Saturdays": the usual hours for one weekday
        body.add_widget(_stat(f"{card.get('weekday', '')}s", hours_text(card.get("open"), card.get("close"),
                                                                     card.get("closed", False)),
                              "danger" if card.get("closed") else "primary_soft_ink",
                              "danger_soft" if card.get("closed") else "primary_soft"))
        return
    day = dt.date.fromisoformat(card["day"]) if card.get("day") else None
    label = f"{day:%A}, {day:%B} {day.day}" if day else ""
    status = hours_text(card.get("open"), card.get("close"), card.get("closed", False))
    top = [_stat(label or "Today", status, "danger" if card.get("closed") else "primary_soft_ink",
                 "danger_soft" if card.get("closed") else "primary_soft")]
    body.add_widget(_grid(1, top))
    if card.get("holiday"):
        body.add_widget(Pill(text=card["holiday"], icon="calendar", bg_role="warning_soft", fg_role="warning"))
    table = _vbox(spacing=0)
    for i, entry in enumerate(card.get("week", [])):
        row = BoxLayout(size_hint_y=None, height=max(t.fs_m * 1.9, t.unit * 34), padding=(t.pad * 0.6, 0))
        current = entry.get("day") == label
        from kivy.graphics import Color, RoundedRectangle
        if current:
            with row.canvas.before:
                Color(*t.primary_soft)
                rect = RoundedRectangle(radius=[t.radius * 0.6])
            row.bind(pos=lambda w, *_, r=rect: setattr(r, "pos", w.pos),
                     size=lambda w, *_, r=rect: setattr(r, "size", w.size))
        name = entry.get("day", "")
        if entry.get("holiday"):
            name += f"  ({entry['holiday']})"
        hours = hours_text(entry.get("open"), entry.get("close"), entry.get("closed", False))
        role = "primary_soft_ink" if current else "text"
        row.add_widget(Text(text=name, role=role, size_role="fs_m", bold=current, size_hint_x=0.62,
                            shorten=True, shorten_from="right"))
        row.add_widget(Text(text=hours, role="danger" if hours == "Closed" else role, size_role="fs_m",
                            bold=True, halign="right", size_hint_x=0.38))
        table.add_widget(row)
    body.add_widget(table)


def _order(card, body, actions):
    label, bg, fg = ORDER_STATUS.get(card.get("status", ""), (card.get("status", "").replace("_", " ").title(),
                                                              "surface_alt", "text"))
    head = Flow(spacing=_t().gap)
    head.add_widget(Pill(text=f"Order {card.get('number', '')}", icon="box", bg_role="surface_alt",
                         size_role="fs_m"))
    head.add_widget(Pill(text=label, bg_role=bg, fg_role=fg, size_role="fs_m"))
    body.add_widget(head)
    if card.get("pickup_location"):
        body.add_widget(_stat("Pick up at", card["pickup_location"], "primary_soft_ink", "primary_soft"))
    body.add_widget(_row("Placed on", nice_date(card.get("placed_on"))))
    items = card.get("items") or []
    if items:
        body.add_widget(_row("Items", "\n".join(f"{i.get('quantity', 1)} × {i.get('name', '')}" for i in items)))


def _return(card, body, actions):
    ok = bool(card.get("eligible"))
    body.add_widget(_banner(ok, "You can return it" if ok else "Past the return window"))
    if card.get("product"):
        body.add_widget(_row("Product", card["product"], bold_value=True))
    body.add_widget(_row("Bought on", nice_date(card.get("purchase_date"))))
    body.add_widget(_row("Return by" if ok else "Window ended", nice_date(card.get("deadline")), bold_value=True))
    if card.get("window_days"):
        body.add_widget(_row("Return window", f"{card['window_days']} days"))
    receipt = card.get("receipt") or {}
    if receipt.get("number") or receipt.get("total"):
        parts = [p for p in (receipt.get("number") and f"No. {receipt['number']}",
                             receipt.get("total") and f"total {receipt['total']}") if p]
        body.add_widget(_row("Receipt", ", ".join(parts)))


def _handoff(card, body, actions):
    if card.get("ticket"):
        body.add_widget(_stat("Your ticket", card["ticket"], "primary_soft_ink", "primary_soft"))
    if card.get("desk"):
        body.add_widget(_row("Or visit", card["desk"][0].upper() + card["desk"][1:]))


def _info(card, body, actions):
    items = card.get("items") or []
    if items:
        box = _stack()
        for item in items:
            box.add_widget(Pill(text=item, bg_role="surface_alt", size_role="fs_m"))
        body.add_widget(box)


def _choice(card, body, actions):
    """Which one: two intents the model could not tell apart, or the products a name fits."""
    labels = actions.labels or {}
    names = [p["name"] for p in card.get("products", []) if p.get("name")]
    texts = names or [labels[o][0].upper() + labels[o][1:] for o in card.get("options", []) if o in labels]
    if texts:
        box = _stack()
        for text in texts:
            box.add_widget(_chip(text, lambda text=text: actions.submit(text)))
        body.add_widget(box)


def _question(card, body, actions):
    slot = card.get("slot")
    box = _stack()
    if slot == "order_number":
        box.add_widget(_chip("Type the number", lambda: actions.keyboard("numbers"), "keyboard", "primary"))
        box.add_widget(_chip("Scan the order code", actions.scan, "scan"))
    elif slot == "product":
        box.add_widget(_chip("Type the name", lambda: actions.keyboard("text"), "keyboard", "primary"))
        box.add_widget(_chip("Scan the barcode", actions.scan, "scan"))
    elif slot == "date":
        for text in ("Today", "Yesterday", "Last week", "Last month"):
            box.add_widget(_chip(text, lambda text=text: actions.submit(text.lower())))
        box.add_widget(_chip("Type a date", lambda: actions.keyboard("text"), "keyboard"))
        box.add_widget(_chip("Scan the receipt", actions.scan, "scan"))
    else:
        return
    body.add_widget(box)


def _id_document(card, body, actions):
    if not card.get("valid"):
        body.add_widget(_banner(False, "Could not read the document"))
        return
    expired = bool(card.get("expired"))
    body.add_widget(_banner(not expired, "Expired" if expired else "Valid document"))
    if card.get("given_name"):
        body.add_widget(Text(text=f"Thank you, {card['given_name']}.", size_role="fs_l", bold=True))
    body.add_widget(_row("Expired on" if expired else "Valid until", nice_date(card.get("expiry")), bold_value=True))
    if card.get("adult") is not None:
        body.add_widget(_row("Age 18 or over", "Yes" if card["adult"] else "No"))


def _scan(card, body, actions):
    text = (card.get("text") or "").strip()
    if text:
        body.add_widget(_row("It says", text[:240] + ("…" if len(text) > 240 else "")))


def _department(card, body, actions):
    aisles = card.get("aisles") or []
    if aisles:
        where = ("Aisle " if len(aisles) == 1 else "Aisles ") + ", ".join(aisles) if aisles[0].isdigit() else aisles[0]
        body.add_widget(_stat(card.get("name", "Where"), where, "primary_soft_ink", "primary_soft"))
        _add_map(body, aisles)


def _names(card, body, actions, phrase):
    box = _stack()
    for name in card.get("names", []):
        box.add_widget(_chip(name, lambda name=name: actions.submit(phrase.format(name=name))))
    body.add_widget(box)


def _service(card, body, actions):
    if card.get("location"):
        body.add_widget(_stat("Where", card["location"], "primary_soft_ink", "primary_soft"))


KINDS: dict[str, Callable[[dict, BoxLayout, CardActions], None]] = {
    "product": _product, "products": _products, "hours": _hours, "order": _order, "return": _return,
    "handoff": _handoff, "info": _info, "choice": _choice, "question": _question,
    "id_document": _id_document, "scan": _scan, "department": _department, "service": _service,
    "departments": lambda c, b, a: _names(c, b, a, "where is the {name} department"),
    "services": lambda c, b, a: _names(c, b, a, "tell me about {name}"),
}


def build_card(answer: str, card: dict[str, Any] | None, actions: CardActions | None = None) -> Panel:
    """The answer as a card: heading, the sentence the kiosk says, then the facts."""
    t = _t()
    card = card or {}
    actions = actions or CardActions()
    kind = card.get("kind", "")
    icon, heading = HEADERS.get(kind, ("chat", "Answer"))
    if kind == "info" and card.get("topic") in TOPICS:
        heading = TOPICS[card["topic"]]
    panel = Panel(orientation="vertical", size_hint_y=None, padding=(t.pad * 1.2, t.pad), spacing=t.gap)
    panel.card_kind = kind
    panel.bind(minimum_height=panel.setter("height"))
    head = BoxLayout(size_hint_y=None, height=t.fs_s * 1.8, spacing=t.unit * 8)
    head.add_widget(Icon(name=icon, size_hint=(None, None), size=(t.fs_l, t.fs_l), color=t.primary,
                         pos_hint={"center_y": 0.5}))
    head.add_widget(Text(text=heading.upper(), role="primary", size_role="fs_s", bold=True,
                         pos_hint={"center_y": 0.5}))
    panel.add_widget(head)
    panel.add_widget(Text(text=answer, size_role="fs_l" if len(answer) < 140 else "fs_m"))
    build = KINDS.get(kind)
    if build is not None:
        build(card, panel, actions)
    return panel
