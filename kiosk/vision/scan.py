"""What a picture holds: codes, an ID document's MRZ, a receipt, plain text — and what it means.

`Scanner.scan(image)` runs the readers cheapest first. Barcodes take a few milliseconds; when a
product or order code is found, the kiosk already knows what to do, so OCR (hundreds of
milliseconds) is skipped unless `thorough=True` (what `kiosk scan` uses, to print everything).
`ScanResult.facts()` is what the conversation receives (`kiosk.events.ScanFacts`): the meaning,
without pixels and without an ID holder's document number or birth date.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.events import ScanFacts
from kiosk.vision.codes import DEFAULT_ORDER_PATTERN, Code, Payload, classify_payload, read_codes, to_gtin13
from kiosk.vision.mrz import MrzResult
from kiosk.vision.mrz_reader import read_mrz
from kiosk.vision.ocr import Ocr
from kiosk.vision.receipt import ReceiptResult, read_receipt

PRODUCT_FORMATS = frozenset({"EAN-13", "EAN-8", "UPC-A", "UPC-E"})
# Below this many characters OCR output is noise from a photo of a product or a hand.
MIN_TEXT_CHARS = 12


@dataclass(frozen=True)
class ScanResult:
    kind: str  # product | order | code | id_document | receipt | text | nothing
    codes: tuple[Code, ...] = ()
    payloads: tuple[Payload, ...] = ()  # one per code, same order: what each code's text means
    mrz: MrzResult | None = None
    receipt: ReceiptResult | None = None
    text: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # stage → ms

    def facts(self, today: dt.date | None = None) -> ScanFacts:
        """The meaning of the scan for the conversation (see the module docstring)."""
        today = today or dt.date.today()
        if self.kind == "id_document" and self.mrz is not None:
            fields = self.mrz.fields
            given = fields.get("given_names") or ()
            given = given if isinstance(given, str) else " ".join(given)
            birth, expiry = fields.get("birth_date"), fields.get("expiry_date")
            adult = None if birth is None else _age(birth, today) >= 18
            return ScanFacts("id_document", id_valid=self.mrz.valid, id_expiry=expiry,
                             id_given_name=given.split(" ")[0].title() if given else None, id_adult=adult)
        if self.kind == "receipt" and self.receipt is not None:
            f = self.receipt.fields
            return ScanFacts("receipt", purchase_date=f.date, total=f.total, receipt_number=f.receipt_number,
                             store_name=f.store_name, text=f.text)
        for code, payload in zip(self.codes, self.payloads):
            if self.kind == "product" and payload.kind == "product":
                return ScanFacts("product", gtin=payload.value)
            if self.kind == "product" and code.format in PRODUCT_FORMATS:
                gtin = to_gtin13(code)
                if gtin:
                    return ScanFacts("product", gtin=gtin)
                return ScanFacts("product", invalid_gtin=code.text)
            if self.kind == "order" and payload.kind == "order":
                return ScanFacts("order", order_number=payload.value)
        if self.kind == "code" and self.payloads:
            return ScanFacts("code", text=self.payloads[0].value)
        return ScanFacts("nothing", text=self.text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "codes": [dict(c.as_dict(), meaning={"kind": p.kind, "value": p.value, "truncated": p.truncated})
                      for c, p in zip(self.codes, self.payloads)],
            "mrz": self.mrz.as_dict() if self.mrz is not None else None,
            "receipt": self.receipt.as_dict() if self.receipt is not None else None,
            "text": self.text,
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class Scanner:
    """Runs the readers on one picture. `ocr` may be None (no Tesseract): codes still work."""

    def __init__(self, ocr: Ocr | None, *, order_pattern: str = DEFAULT_ORDER_PATTERN,
                 date_order: str = "DMY"):
        self.ocr = ocr
        self.order_pattern = order_pattern
        self.date_order = date_order  # how the store's own receipts print dates: "DMY" or "MDY"

    def scan(self, image: np.ndarray, *, thorough: bool = False) -> ScanResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()

        def lap(stage: str, t0: float) -> None:
            timings[stage] = (time.perf_counter() - t0) * 1000.0

        t0 = time.perf_counter()
        codes = read_codes(image)
        payloads = tuple(self.meaning(c) for c in codes)
        lap("codes", t0)
        from_codes = code_kind(codes, payloads)
        if self.ocr is None or (from_codes in ("product", "order") and not thorough):
            timings["total"] = (time.perf_counter() - started) * 1000.0
            return ScanResult(from_codes, codes, payloads, timings=timings)

        t0 = time.perf_counter()
        mrz = read_mrz(image, self.ocr)
        lap("mrz", t0)
        receipt, text = None, ""
        if mrz is None or thorough:
            t0 = time.perf_counter()
            receipt = read_receipt(image, self.ocr, date_order=self.date_order)
            text = receipt.fields.text.strip()
            lap("ocr", t0)
        kind = _overall_kind(from_codes, mrz, receipt, text)
        if kind != "receipt" and receipt is not None and not (receipt.fields.date or receipt.fields.total):
            receipt = None  # no receipt fields: what was read is plain text, reported as `text`
        timings["total"] = (time.perf_counter() - started) * 1000.0
        return ScanResult(kind, codes, payloads, mrz, receipt, text, timings)

    def meaning(self, code: Code) -> Payload:
        if code.format in PRODUCT_FORMATS:
            gtin = to_gtin13(code)
            # An EAN-8 has no 13-digit form; it is still a product code, looked up as printed.
            return Payload("product", gtin or code.text) if code.valid else Payload("text", code.text)
        return classify_payload(code.text, self.order_pattern)


def code_kind(codes: tuple[Code, ...], payloads: tuple[Payload, ...]) -> str:
    kinds = [p.kind for p in payloads]
    if "order" in kinds:
        return "order"
    if "product" in kinds or any(c.format in PRODUCT_FORMATS for c in codes):
        return "product"  # a product barcode with a bad check digit still means "this product"
    return "code" if codes else "nothing"


def _overall_kind(from_codes: str, mrz: MrzResult | None, receipt: ReceiptResult | None, text: str) -> str:
    """An ID document outranks everything on it; a receipt with a date or total outranks a
    barcode printed on it (receipts often carry one) except an order code, which is exact."""
    if mrz is not None:
        return "id_document"
    if from_codes == "order":
        return "order"
    if receipt is not None and (receipt.fields.date or receipt.fields.total):
        return "receipt"
    if from_codes != "nothing":
        return from_codes
    return "text" if len(text) >= MIN_TEXT_CHARS else "nothing"
