"""What the customer showed the camera, as an Understanding the session machine already handles.

A scan is unambiguous where speech is not, so it arrives with full confidence and the slot
filled: a product barcode is a price check, an order code asks for that order's status, a
receipt starts a return with its purchase date, an ID document is checked. When the kiosk has
just asked for something ("What's your order number?"), the scanned value answers that question
through the same pending-slot path as a spoken answer.
"""

from __future__ import annotations

from kiosk.events import ScanFacts, Understanding
from kiosk.nlu.model import IntentScore
from kiosk.nlu.slots import Slots

INTENT_FOR_SCAN = {
    "product": "price_check",
    "order": "order_status",
    "receipt": "return_item",
    "id_document": "id_document",
    "code": "scan_other",
    "nothing": "scan_other",
}


def understanding_from_scan(facts: ScanFacts) -> Understanding:
    intent = INTENT_FOR_SCAN.get(facts.kind, "scan_other")
    slots = Slots(order_number=facts.order_number, date=facts.purchase_date,
                  date_text=facts.purchase_date.isoformat() if facts.purchase_date else None,
                  ean=facts.gtin, invalid_ean=facts.invalid_gtin)
    return Understanding(text=facts.describe(), intent=intent, confidence=1.0,
                         alternatives=(IntentScore(intent, 1.0),), slots=slots, known_features=1)
