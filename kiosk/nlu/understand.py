"""One utterance → Understanding: intent model, slots, and what in the store it names."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import replace

from kiosk.events import ProductRef, Understanding
from kiosk.nlu.model import IntentModel
from kiosk.nlu.slots import Slots, extract_slots
from kiosk.storedata.catalog import Catalog
from kiosk.storedata.profile import StoreProfile

# Intents whose answer depends on which product the customer means.
PRODUCT_AWARE = frozenset({"find_product", "price_check", "stock_check", "return_item",
                           "exchange_item", "warranty_repair"})
# Intents about the future ("are you open on sunday") rather than the past ("I bought it on sunday").
FUTURE_INTENTS = frozenset({"store_hours"})
# Product matches within this many points of the best are equally plausible ("drill" → 3 drills).
TIE_POINTS = 4.0
# A catalogue match this good is the product's name or alias as written (look-alikes score ~80).
EXACT_PRODUCT_SCORE = 95.0
# What the model makes of a "where is <a service>" question it has not seen: "where's my online
# order" stays an order question, "where's the service desk" is not a complaint.
PLACE_MISREAD = frozenset({None, "find_department", "complaint", "help"})
# A question about where something is or how to get there ("how do I find the way out").
_WHERE = re.compile(r"^(?:excuse me |hi |hello |sorry |um |so )?(?:can you tell me |could you tell me )?"
                    r"(?:where(?:'s| is| are| do i find| can i find)|which way"
                    r"|how (?:do|can|would) i (?:get|find|leave)|how to (?:get|find))\b", re.IGNORECASE)
# A greeting at the start of an utterance ("hi, how much is the drill"): what wakes a kiosk that
# listens before a visit (kiosk.speech.listener), and what a request may begin with.
GREETING_LEAD = re.compile(r"^(?:hello|hallo|hi|hiya|hey|good (?:morning|afternoon|evening|day)|excuse me)"
                           r"(?: there| kiosk)?\b[\s,.!]*", re.IGNORECASE)
# What the model makes of a request that begins with a greeting: the greeting, not the request.
_GREETING_MISREAD = frozenset({None, "greet", "repeat"})
# "How do I get out", "how do I leave the store": the way out, whatever the profile calls it.
_WAY_OUT = re.compile(r"\b(?:get out|go out|leave (?:the |this )?(?:store|shop|building|place)"
                      r"|how (?:do|can) i leave(?: here| now)?[?.!]*$)", re.IGNORECASE)
MAX_TEXT_CHARS = 2000
_WEEKLY = re.compile(r"\b(mon|tues|wednes|thurs|fri|satur|sun)days\b", re.IGNORECASE)
_WEEKDAY_STEMS = ("mon", "tues", "wednes", "thurs", "fri", "satur", "sun")


def names_a_product(products: tuple[ProductRef, ...]) -> bool:
    """Whether one of the catalogue's matches is a product named as written, not a look-alike."""
    return any(p.score >= EXACT_PRODUCT_SCORE for p in products)


def clean_text(text: str) -> str:
    """What is left of raw input once control characters and invalid Unicode are removed."""
    text = text[:MAX_TEXT_CHARS].encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def _phrase_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    phrases = sorted({p.lower().strip() for p in phrases if p.strip()}, key=len, reverse=True)
    if not phrases:
        return None
    # Whole words, with an optional plural "s" so "toilet seats" finds "toilet seat".
    return re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")s?\b")


def _weekly(text: str) -> int | None:
    """The weekday of "are you open on Sundays": a question about the usual week."""
    match = _WEEKLY.search(text)
    return _WEEKDAY_STEMS.index(match.group(1).lower()) if match else None


class Understander:
    def __init__(self, model: IntentModel, catalog: Catalog, profile: StoreProfile, top_k: int = 3):
        self.model = model
        self.catalog = catalog
        self.profile = profile
        self.top_k = top_k
        self._departments = [(d.name, _phrase_pattern([d.name, *d.keywords])) for d in profile.departments]
        self._services = [(s.name, _phrase_pattern([s.name, *s.keywords])) for s in profile.services]

    @staticmethod
    def _match(table, text: str) -> tuple[str | None, int]:
        """The entry whose phrase matches most specifically (longest), and that phrase's length."""
        lowered = text.lower()
        best, best_len = None, 0
        for name, pattern in table:
            m = pattern.search(lowered) if pattern is not None else None
            if m and len(m.group(1)) > best_len:
                best, best_len = name, len(m.group(1))
        return best, best_len

    def places(self, text: str) -> tuple[str | None, str | None]:
        """(department, service) named in the text; when both match, the more specific wins."""
        department, d_len = self._match(self._departments, text)
        service, s_len = self._match(self._services, text)
        if department and service and d_len != s_len:
            return (department, None) if d_len > s_len else (None, service)
        return department, service

    def products(self, text: str) -> tuple[ProductRef, ...]:
        matches = self.catalog.find_in_text(text, limit=3)
        if not matches:
            return ()
        best = matches[0].score
        return tuple(ProductRef(m.product.sku, m.product.name, m.score)
                     for m in matches if m.score >= best - TIE_POINTS)

    def understand(self, text: str, today: dt.date, *, expecting: str | None = None) -> Understanding:
        text = clean_text(text)
        prediction = self.model.predict(text, top_k=self.top_k)
        top = prediction.top
        intent = None if prediction.out_of_scope or top is None else top.intent
        confidence = top.confidence if top else 0.0
        lead = GREETING_LEAD.match(text)
        if lead and intent in _GREETING_MISREAD and len(text[lead.end():].split()) >= 2:
            # "hi, how much is the cordless drill" read as a bare "hello": answer the request.
            request = self.understand(text[lead.end():], today, expecting=expecting)
            if request.intent not in _GREETING_MISREAD:
                return replace(request, text=text)
        prefer = "future" if intent in FUTURE_INTENTS else "past"
        slots = extract_slots(text, today, expecting=expecting, prefer=prefer,
                              date_order=self.profile.date_order) if text else Slots()
        wants_product = (intent in PRODUCT_AWARE or intent is None or confidence < 0.5
                         or expecting in ("product", "product_choice"))
        products = self.products(text) if text and wants_product and not slots.ean else ()
        department, service = self.places(text)
        if not department and not service and _WAY_OUT.search(text):
            service = self._match(self._services, "exit")[0]  # the service the profile calls the exit
        if intent == "find_product" and (department or service) \
                and not names_a_product(products):
            # "where's the timber yard": the model hears "where is the <thing>", but the thing is a
            # place the profile names, and the catalogue only finds look-alikes ("timer"). A
            # product named as written still wins: "where are the light bulbs" wants the bulbs.
            intent = "store_services" if service else "find_department"
        elif service and not department and (intent == "find_department" or _WHERE.match(text)) \
                and intent in PLACE_MISREAD and not names_a_product(products):
            # "where's the entrance", "how do I get to the service desk": a place the profile lists
            # as a service, asked about as a department or in words the model reads otherwise
            # ("service" sounds like a complaint to it).
            intent = "store_services"
        return Understanding(
            text=text,
            intent=intent,
            confidence=confidence,
            alternatives=prediction.intents,
            slots=slots,
            products=products,
            department=department,
            service=service,
            known_features=prediction.known_features,
            oos_confidence=prediction.oos_confidence,
            weekday=_weekly(text),
        )
