"""Turn a dialogue Decision into a Reply: templates filled from the store's own data.

Every fact in an answer (hours, aisles, prices, stock, order status, return windows) comes from
the store profile, the catalogue or the order book; the wording comes from
`assets/responses/<language>.yaml`, so a store can change what the kiosk says without code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from kiosk.errors import KioskError
from kiosk.events import Decision, Reply, ScanFacts
from kiosk.storedata.catalog import Catalog, Product
from kiosk.storedata.orders import OrderBook
from kiosk.storedata.profile import StoreProfile, hours_on

# Answers whose text is the store's own FAQ entry, keyed by intent.
FAQ_INTENTS = {
    "restrooms": "restrooms", "parking": "parking", "wifi": "wifi", "loyalty_points": "loyalty",
    "gift_card_balance": "gift_cards", "delivery_info": "delivery", "promotions": "promotions",
    "feedback": "feedback", "help": "help",
}
# Balances and member accounts live in systems the offline kiosk cannot reach: a person can.
OFFER_HANDOFF = frozenset({"gift_card_balance", "loyalty_points", "warranty_repair"})
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ELECTRICAL_DEPARTMENTS = frozenset({"Electrical & Lighting", "Home Electronics"})


class ResponsesError(KioskError):
    pass


@dataclass(frozen=True)
class Responses:
    language: str
    templates: dict[str, str]
    intent_labels: dict[str, str]

    def say(self, key: str, **fields: Any) -> str:
        return self.templates[key].format(**fields)

    def label(self, intent: str) -> str:
        return self.intent_labels.get(intent, intent.replace("_", " "))


def load_responses(path: Path) -> Responses:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Responses(str(doc["language"]), dict(doc["templates"]), dict(doc.get("intent_labels") or {}))
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ResponsesError(f"{path}: cannot load reply templates: {exc}") from None


def money(cents: int, currency: str = "$") -> str:
    return f"{currency}{cents // 100:,}.{cents % 100:02d}"


def clock_time(t: dt.time) -> str:
    """7 am, 8:30 pm: how people say times."""
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour} {suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d} {suffix}"


def long_date(d: dt.date, today: dt.date | None = None) -> str:
    """"Tuesday, March 3"; the year is added when the date is not within half a year of today."""
    text = f"{d:%A}, {d:%B} {d.day}"
    return f"{text}, {d.year}" if today is not None and abs((d - today).days) > 182 else text


class Answerer:
    def __init__(self, profile: StoreProfile, catalog: Catalog, orders: OrderBook,
                 responses: Responses, today: Callable[[], dt.date]):
        self.profile = profile
        self.catalog = catalog
        self.orders = orders
        self.r = responses
        self.today = today

    # -- entry point -------------------------------------------------------------------------
    def reply(self, decision: Decision, *, last_reply: str | None = None, ticket: str | None = None) -> Reply:
        kind = decision.kind
        if kind == "repeat":
            return Reply(last_reply or self.r.say("nothing_to_repeat"))
        if kind == "cancel":
            return Reply(self.r.say("cancel_handoff" if decision.reason == "handoff" else "cancel"))
        if kind == "end":
            return Reply(self.r.say("goodbye", store=self.profile.name), card={"kind": "goodbye"})
        if kind == "reject":
            key = "no_words" if decision.reason == "no_words" else (
                "out_of_scope" if decision.reason == "out_of_scope" else "not_understood")
            return Reply(self.r.say(key))
        if kind == "escalate":
            key = {"complaint": "escalate_complaint", "not_understood": "escalate_not_understood",
                   "no_words": "escalate_not_understood", "out_of_scope": "escalate_not_understood"}.get(decision.reason or "", "escalate")
            return Reply(self.r.say(key, handoff=self.profile.handoff.message, ticket=ticket or "?"),
                         card={"kind": "handoff", "ticket": ticket, "desk": self.profile.handoff.desk})
        if kind == "clarify":
            a, b = decision.options
            return Reply(self.r.say("clarify", a=self.r.label(a), b=self.r.label(b)),
                         card={"kind": "choice", "options": list(decision.options)})
        if kind == "ask_slot":
            return self._ask(decision)
        return self._answer(decision)

    def _ask(self, decision: Decision) -> Reply:
        slot = decision.slot
        if slot == "product_choice":
            names = [c.name for c in decision.candidates[:3]]
            choices = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
            # The names go on the card too: the screen offers each as a button to tap.
            return Reply(self.r.say("ask_product_choice", choices=choices),
                         card={"kind": "choice", "options": [c.sku for c in decision.candidates[:3]],
                               "products": [{"sku": c.sku, "name": c.name} for c in decision.candidates[:3]]})
        return Reply(self.r.say(f"ask_{slot}"), card={"kind": "question", "slot": slot})

    # -- answers by intent ---------------------------------------------------------------------
    def _answer(self, d: Decision) -> Reply:
        intent = d.intent or ""
        handler = getattr(self, f"_{intent}", None)
        if handler is not None:
            reply = handler(d)
        elif intent in FAQ_INTENTS:
            reply = Reply(self.profile.faq[FAQ_INTENTS[intent]], card={"kind": "info", "topic": intent})
        elif intent == "greet":
            reply = Reply(self.r.say("greet", store=self.profile.name))
        elif intent in ("thanks", "affirm", "deny"):
            reply = Reply(self.r.say(intent))
        else:
            reply = Reply(self.r.say("not_understood"), ok=False)
        if intent in OFFER_HANDOFF and reply.ok and not reply.offer_handoff:
            reply = Reply(reply.text + " " + self.r.say("offer_handoff"), reply.card, offer_handoff=True)
        return reply

    def _store_hours(self, d: Decision) -> Reply:
        today = self.today()
        if d.weekday is not None and d.slots.date is None:
            return self._weekly_hours(d.weekday, today)
        day = d.slots.date or today
        h = hours_on(self.profile, day)
        label = "today" if day == today else long_date(day, self.today())
        week = [{"day": long_date(today + dt.timedelta(days=i)),
                 **self._hours_card(hours_on(self.profile, today + dt.timedelta(days=i)))} for i in range(7)]
        card = {"kind": "hours", "day": day.isoformat(), **self._hours_card(h), "week": week}
        if h.closed:
            key = "hours_closed_holiday" if h.holiday_name else "hours_closed"
            return Reply(self.r.say(key, day=label, holiday=h.holiday_name), card)
        fields = {"day": label, "open": clock_time(h.open), "close": clock_time(h.close), "holiday": h.holiday_name}
        if h.holiday_name:
            return Reply(self.r.say("hours_holiday", **fields), card)
        return Reply(self.r.say("hours_today" if day == today else "hours_day", **fields), card)

    def _weekly_hours(self, weekday: int, today: dt.date) -> Reply:
        usual = list(self.profile.hours.values())[weekday]
        day = WEEKDAY_NAMES[weekday]
        card = {"kind": "hours", "weekday": day, "open": usual.open.strftime("%H:%M") if usual.open else None,
                "close": usual.close.strftime("%H:%M") if usual.close else None, "closed": usual.closed}
        if usual.closed:
            return Reply(self.r.say("hours_weekly_closed", day=day), card)
        return Reply(self.r.say("hours_weekly", day=day, open=clock_time(usual.open),
                                close=clock_time(usual.close)), card)

    @staticmethod
    def _hours_card(h) -> dict[str, Any]:
        return {"open": h.open.strftime("%H:%M") if h.open else None,
                "close": h.close.strftime("%H:%M") if h.close else None,
                "closed": h.closed, "holiday": h.holiday_name}

    def _product(self, d: Decision) -> tuple[Product | None, Reply | None]:
        """The product a request is about, or the reply explaining why there is none."""
        if d.slots.invalid_ean:
            return None, Reply(self.r.say("ean_invalid", ean=d.slots.invalid_ean), ok=False, retry_slot="product")
        if d.slots.ean and d.product is None:
            product = self.catalog.by_ean(d.slots.ean)
            if product is None:
                return None, Reply(self.r.say("ean_unknown", ean=d.slots.ean), ok=False, retry_slot="product")
            return product, None
        product = self.catalog.by_sku(d.product.sku) if d.product else None
        if product is None:
            return None, Reply(self.r.say("product_not_found"), ok=False, retry_slot="product")
        return product, None

    def _product_card(self, p: Product) -> dict[str, Any]:
        return {"kind": "product", "sku": p.sku, "name": p.name, "aisle": p.aisle,
                "department": p.department, "price": money(p.price_cents, self.profile.currency),
                "stock": p.stock, "ean": p.ean}

    def _where(self, p: Product) -> str:
        if p.aisle.isdigit():
            return self.r.say("product_location", name=p.name, aisle=p.aisle, department=p.department)
        return self.r.say("product_location_garden", name=p.name, aisle=p.aisle)

    def _several(self, d: Decision, line: Callable[[Product], str]) -> Reply | None:
        """A few products fit equally ("drill"): answer for each rather than quiz the customer."""
        if d.product is not None or not d.candidates or d.slots.ean or d.slots.invalid_ean:
            return None
        products = [p for p in (self.catalog.by_sku(c.sku) for c in d.candidates[:3]) if p is not None]
        text = self.r.say("several", count=len(products)) + " " + " ".join(line(p) for p in products)
        return Reply(text, {"kind": "products", "items": [self._product_card(p) for p in products]})

    def _find_product(self, d: Decision) -> Reply:
        several = self._several(d, lambda p: self._where(p))
        if several:
            return several
        p, failed = self._product(d)
        if failed:
            return failed
        text = self._where(p) + (self.r.say("out_of_stock_note") if not p.in_stock else "")
        return Reply(text, self._product_card(p))

    def _price_check(self, d: Decision) -> Reply:
        several = self._several(d, lambda p: self.r.say("price", name=p.name, price=money(p.price_cents, self.profile.currency)))
        if several:
            return several
        p, failed = self._product(d)
        if failed:
            return failed
        return Reply(self.r.say("price", name=p.name, price=money(p.price_cents, self.profile.currency)),
                     self._product_card(p))

    def _stock_check(self, d: Decision) -> Reply:
        several = self._several(d, lambda p: self.r.say("stock_line" if p.in_stock else "stock_line_none",
                                                        name=p.name, stock=p.stock))
        if several:
            return several
        p, failed = self._product(d)
        if failed:
            return failed
        card = self._product_card(p)
        if not p.in_stock:
            return Reply(self.r.say("stock_no", name=p.name), card, offer_handoff=False)
        if d.slots.quantity and d.slots.quantity > p.stock:
            return Reply(self.r.say("stock_short", name=p.name, stock=p.stock, quantity=d.slots.quantity), card)
        return Reply(self.r.say("stock_yes", name=p.name, stock=p.stock, aisle=p.aisle), card)

    def _find_department(self, d: Decision) -> Reply:
        if d.department:
            dep = self.profile.department(d.department)
            if dep is not None:
                where = ("aisle " + dep.aisles[0] if len(dep.aisles) == 1 else "aisles " + ", ".join(dep.aisles[:-1]) + " and " + dep.aisles[-1]) if dep.aisles[0].isdigit() else dep.aisles[0]
                return Reply(self.r.say("department", name=dep.name, where=where, description=dep.description),
                             {"kind": "department", "name": dep.name, "aisles": dep.aisles})
        if d.service:
            return self._store_services(d)
        names = ", ".join(dep.name for dep in self.profile.departments)
        return Reply(self.r.say("departments_overview", names=names),
                     {"kind": "departments", "names": [dep.name for dep in self.profile.departments]})

    def _store_services(self, d: Decision) -> Reply:
        service = next((s for s in self.profile.services if s.name == d.service), None)
        if service is not None:
            text = self.r.say("service", name=service.name, description=service.description.rstrip(".") + ".",
                              location=service.location)
            return Reply(text, {"kind": "service", "name": service.name, "location": service.location})
        names = [s.name for s in self.profile.services]
        text = self.r.say("services_overview", names=", ".join(names[:-1]) + " and " + names[-1])
        return Reply(text, {"kind": "services", "names": names})

    def _payment_methods(self, d: Decision) -> Reply:
        methods = self.profile.payment_methods
        return Reply("We accept " + ", ".join(methods[:-1]) + " and " + methods[-1] + ".",
                     {"kind": "info", "topic": "payment_methods", "items": methods})

    def _price_match(self, d: Decision) -> Reply:
        return Reply(self.profile.policies.price_match, {"kind": "info", "topic": "price_match"})

    def _warranty_repair(self, d: Decision) -> Reply:
        return Reply(self.profile.policies.warranty, {"kind": "info", "topic": "warranty"})

    def _exchange_item(self, d: Decision) -> Reply:
        return Reply(self.r.say("exchange", rule=self.profile.policies.exchange_rule),
                     {"kind": "info", "topic": "exchange"})

    def _order(self, d: Decision):
        number = d.slots.order_number or ""
        order = self.orders.get(number)
        if order is None:
            return None, Reply(self.r.say("order_not_found", number=number), ok=False, retry_slot="order_number")
        return order, None

    def _order_card(self, order) -> dict[str, Any]:
        return {"kind": "order", "number": order.number, "status": order.status,
                "pickup_location": order.pickup_location, "placed_on": order.placed_on.isoformat(),
                "items": [{"name": i.name, "quantity": i.quantity} for i in order.items]}

    def _order_status(self, d: Decision) -> Reply:
        order, failed = self._order(d)
        if failed:
            return failed
        when = order.collected_on or order.ready_on or order.placed_on
        text = self.r.say(f"order_{order.status}", number=order.number, location=order.pickup_location or self.profile.handoff.desk,
                          date=long_date(when, self.today()), days=self.profile.policies.refund_processing_days)
        return Reply(text, self._order_card(order))

    def _order_pickup(self, d: Decision) -> Reply:
        order, failed = self._order(d)
        if failed:
            return failed
        if order.status != "ready_for_pickup":
            if order.status in ("processing",):
                return Reply(self.r.say("pickup_not_ready", number=order.number, status="still being prepared"),
                             self._order_card(order))
            return self._order_status(d)
        return Reply(self.r.say("order_ready_for_pickup", number=order.number, location=order.pickup_location),
                     self._order_card(order))

    def _refund_status(self, d: Decision) -> Reply:
        days = self.profile.policies.refund_processing_days
        if d.slots.order_number:
            order = self.orders.get(d.slots.order_number)
            if order is not None and order.status == "refunded":
                return Reply(self.r.say("refund_order", number=order.number, days=days), self._order_card(order))
            if order is not None:
                return self._order_status(d)
        return Reply(self.r.say("refund", days=days), {"kind": "info", "topic": "refund"})

    def _return_item(self, d: Decision) -> Reply:
        policy = self.profile.policies
        product = self.catalog.by_sku(d.product.sku) if d.product else None
        # Several close matches ("a hammer"): the strictest of their return windows applies.
        possible = [product] if product else [p for p in (self.catalog.by_sku(c.sku) for c in d.candidates) if p]
        if product is not None:
            rule = next((r for r in policy.non_returnable if _mentions(product.name, r)), None)
            if rule:
                return Reply(self.r.say("return_not_returnable", name=product.name, rule=rule), offer_handoff=True)
        bought = d.slots.date
        today = self.today()
        if bought > today:
            return Reply(self.r.say("return_future", date=long_date(bought, self.today())), ok=False, retry_slot="date")
        electrical = any(p.department in ELECTRICAL_DEPARTMENTS for p in possible)
        window = policy.return_window_days_electrical if electrical else policy.return_window_days
        deadline = bought + dt.timedelta(days=window)
        days = (today - bought).days
        fields = {"date": long_date(bought, self.today()), "days": days, "window": window, "deadline": long_date(deadline, self.today())}
        card = {"kind": "return", "eligible": today <= deadline, "purchase_date": bought.isoformat(),
                "deadline": deadline.isoformat(), "window_days": window,
                "product": product.name if product else None}
        if today <= deadline:
            return Reply(self.r.say("return_ok", **fields), card)
        return Reply(self.r.say("return_late", **fields) + " " + self.r.say("offer_handoff"), card, offer_handoff=True)


    # -- things shown to the camera that are not a request -----------------------------------
    def scan_reply(self, facts: ScanFacts) -> Reply:
        """An ID document or a code that is not ours: say what it is; untrusted text stays text."""
        if facts.kind == "id_document":
            if not facts.id_valid:
                return Reply(self.r.say("id_unreadable"), {"kind": "id_document", "valid": False}, ok=False)
            expired = facts.id_expiry is not None and facts.id_expiry < self.today()
            key = "id_expired" if expired else "id_valid"
            card = {"kind": "id_document", "valid": True, "expired": expired, "adult": facts.id_adult,
                    "expiry": facts.id_expiry.isoformat() if facts.id_expiry else None,
                    "given_name": facts.id_given_name}
            # The holder's name goes on the screen only: the answer text is journaled.
            expiry = f"{facts.id_expiry:%B} {facts.id_expiry.day}, {facts.id_expiry.year}" if facts.id_expiry else "?"
            return Reply(self.r.say(key, expiry=expiry), card)
        if facts.kind == "code":
            return Reply(self.r.say("scan_other_code"), {"kind": "scan", "text": facts.text})
        return Reply(self.r.say("scan_nothing"), {"kind": "scan", "text": ""}, ok=False)


def _mentions(name: str, rule: str) -> bool:
    """Does a non-returnable rule ("mixed paint", "cut timber") apply to this product name?"""
    words = [w for w in rule.lower().replace(",", " ").split() if len(w) > 3]
    return bool(words) and all(w.rstrip("s") in name.lower() for w in words[:2])
