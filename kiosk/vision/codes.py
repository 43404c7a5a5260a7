"""Barcodes and QR codes from a camera frame or a still, with zxing-cpp.

Only the symbologies a shop meets are switched on (EAN/UPC on products, Code 128 on shelf labels
and receipts, QR/PDF417/Data Matrix on order slips): every extra format is one more way for
wood grain or a patterned shirt to come out as a "code".

EAN/UPC results follow the GS1 and ZXing (Java) conventions, not zxing-cpp 3's own text:
an EAN-13 starting with "0" is the very same bar pattern as a UPC-A and is reported as
"UPC-A" with its 12 digits; a UPC-E is reported with the 8 digits printed under it.
`to_gtin13` turns any of them into the 13-digit key the catalogue's `ean` column uses.

Everything decoded is untrusted: `Code.text` is the payload as decoded, and `classify_payload`
is the only way it should reach the rest of the kiosk.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

import cv2
import numpy as np
import zxingcpp

from kiosk.errors import KioskError
from kiosk.gtin import gtin_check_digit, is_valid_gtin, upce_to_upca  # noqa: F401 - part of this API

CodeFormat = Literal["EAN-13", "EAN-8", "UPC-A", "UPC-E", "Code128", "QR", "PDF417", "DataMatrix"]
PayloadKind = Literal["product", "order", "url", "text"]

_F = zxingcpp.BarcodeFormat
# QR is asked for as Model 1/2 only: the QRCode family would also switch on Micro QR and rMQR,
# whose small symbols have little error correction and more false positives.
_FORMATS = zxingcpp.BarcodeFormats([_F.EAN13, _F.EAN8, _F.UPCA, _F.UPCE, _F.Code128, _F.QRCodeModel1,
                                    _F.QRCodeModel2, _F.PDF417, _F.DataMatrix])
# zxing's format → our stable name. PDF417 cannot be asked for without MicroPDF417, so a
# MicroPDF417, having no name here, is dropped after decoding. EAN-13/UPC-A are told apart by digits.
_NAMES: dict[zxingcpp.BarcodeFormat, CodeFormat] = {
    _F.EAN13: "EAN-13", _F.UPCA: "EAN-13", _F.EAN8: "EAN-8", _F.UPCE: "UPC-E",
    _F.Code128: "Code128", _F.QRCode: "QR", _F.QRCodeModel1: "QR", _F.QRCodeModel2: "QR",
    _F.PDF417: "PDF417", _F.CompactPDF417: "PDF417", _F.DataMatrix: "DataMatrix",
}

# Second pass: contrast-limited equalisation lifts dim, low-contrast or glare-washed photos, and
# doubling a small image gives zxing's binariser more than ~1.5 px per module. Measured on ZXing's
# black-box sets it adds 3 EAN-13, 11 UPC-A, 1 QR and 1 PDF417 reads and no false positive. Frames
# larger than this already have big enough modules, and a 2× copy of one costs ~4× the decode time.
_UPSCALE_MAX_SIDE = 1024
_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

MAX_PAYLOAD_CHARS = 2000
DEFAULT_ORDER_PATTERN = r"^(?:ORDER[:#-]?\s*)?(\d{4,8})$"
# Control (Cc) and format (Cf: bidi overrides, zero-width) characters, lone surrogates (Cs) and
# line/paragraph separators can hide or reorder text on screen and in logs; "\n" is kept so that a
# vCard or a note stays readable, after "\r\n", "\r" and tabs are normalised below.
_STRIPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


class CodeReadError(KioskError):
    """The array handed to read_codes is not an image; the message says what was expected."""


@dataclass(frozen=True)
class Code:
    """One decoded symbol.

    `valid` means the payload's integrity is checked: for EAN/UPC the GTIN check digit is
    recomputed here; Code 128 carries a checksum and QR/PDF417/Data Matrix Reed-Solomon error
    correction, which zxing verifies before it reports a symbol at all.
    `corners` are the 4 points top-left, top-right, bottom-right, bottom-left in image pixels.
    """

    format: CodeFormat
    text: str
    valid: bool
    corners: tuple[tuple[int, int], ...]

    def as_dict(self) -> dict[str, object]:
        return {"format": self.format, "text": self.text, "valid": self.valid,
                "corners": [list(point) for point in self.corners]}


@dataclass(frozen=True)
class Payload:
    """What an untrusted payload is, for the kiosk to act on. `value` must still be escaped
    wherever it is shown; a "url" is only ever displayed, never fetched or opened."""

    kind: PayloadKind
    value: str
    truncated: bool = False


# --- Product codes ------------------------------------------------------------------------------

def to_gtin13(code: Code) -> str | None:
    """The catalogue key of a product code: EAN-13 as is, UPC-A and UPC-E as "0" + 12 digits.

    None for an EAN-8 (a GTIN-8 is its own number space with no 13-digit form: look it up by
    `code.text`), for other formats, and for any code whose check digit does not verify.
    """
    if not code.valid:
        return None
    if code.format == "EAN-13":
        return code.text
    if code.format == "UPC-A":
        return "0" + code.text
    if code.format == "UPC-E":
        return "0" + upce_to_upca(code.text)
    return None


# --- Reading -------------------------------------------------------------------------------------

def _checked(image: np.ndarray) -> np.ndarray:
    """A contiguous gray or BGR uint8 array zxing accepts, or CodeReadError saying what is wrong."""
    if not isinstance(image, np.ndarray):
        raise CodeReadError(f"read_codes needs a numpy image array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise CodeReadError(f"read_codes needs 8-bit pixels (uint8), got dtype {image.dtype}; "
                            "load pictures with kiosk.vision.image.load_image")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
        raise CodeReadError(f"read_codes needs a height×width gray or height×width×3 BGR image, "
                            f"got an array of shape {image.shape}")
    if image.size == 0:
        raise CodeReadError(f"read_codes got an empty image (shape {image.shape})")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


def _code(barcode: zxingcpp.Barcode, scale: float) -> Code | None:
    name = _NAMES.get(barcode.format)
    if name is None:
        return None
    text = barcode.text
    if name == "EAN-13":
        # zxing-cpp 3 spells a UPC-A as 13 digits with a leading 0, whichever of the two it names.
        if len(text) == 13 and text.startswith("0"):
            name, text = "UPC-A", text[1:]
        valid = is_valid_gtin(text)
    elif name == "UPC-E":
        # zxing-cpp 3 gives the expanded 13 digits as text and the printed 8 in `extra`.
        extra = barcode.extra if isinstance(barcode.extra, dict) else {}
        text = str(extra.get("UPCE", text))
        try:
            valid = len(text) == 8 and is_valid_gtin(upce_to_upca(text))
        except ValueError:
            valid = False
    elif name == "EAN-8":
        valid = is_valid_gtin(text)
    else:
        valid = True
    p = barcode.position
    corners = tuple((round(pt.x / scale), round(pt.y / scale))
                    for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
    return Code(name, text, valid, corners)


def _decode(image: np.ndarray, scale: float = 1.0) -> tuple[Code, ...]:
    # TextMode.Plain keeps the payload as encoded (control characters, binary bytes as Latin-1),
    # as ZXing reports it; the default HRI mode rewrites it (e.g. "<GS>", GS1 brackets).
    barcodes = zxingcpp.read_barcodes(image, formats=_FORMATS, text_mode=zxingcpp.TextMode.Plain)
    codes = (_code(barcode, scale) for barcode in barcodes)
    return tuple(code for code in codes if code is not None)


def read_codes(image: np.ndarray, *, second_pass: bool = True) -> tuple[Code, ...]:
    """Every shop code in a BGR or gray uint8 image, in zxing's order; () when there is none.

    `second_pass=False` skips the enhanced retry (28 ms on a picture with no code): the live
    camera looks several times a second and gets another frame soon anyway."""
    image = _checked(image)
    codes = _decode(image)
    if codes or not second_pass:
        return codes
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    enhanced = _CLAHE.apply(gray)
    scale = 1.0
    if max(enhanced.shape) <= _UPSCALE_MAX_SIDE:
        scale = 2.0
        enhanced = cv2.resize(enhanced, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return _decode(enhanced, scale)


# --- Payloads ------------------------------------------------------------------------------------

def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(ch for ch in text
                    if ch == "\n" or unicodedata.category(ch) not in _STRIPPED_CATEGORIES).strip()


@lru_cache(maxsize=8)
def _order_regex(pattern: str) -> re.Pattern[str]:
    try:
        # ASCII: \d must not accept Arabic-Indic or full-width digits that no order number has.
        return re.compile(pattern, re.IGNORECASE | re.ASCII)
    except re.error as exc:
        raise KioskError(f"order pattern {pattern!r} is not a valid regular expression: {exc}") from None


def _is_web_url(text: str) -> bool:
    # Only http(s) with a host: "javascript:", "data:", "file:" and the like stay plain text.
    if any(ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a malformed IPv6 host or port
        return False


def classify_payload(text: str, order_pattern: str = DEFAULT_ORDER_PATTERN) -> Payload:
    """Say what an untrusted code payload is: an order number, a product GTIN, a URL or text.

    The text is cleaned of control/format characters first and capped at MAX_PAYLOAD_CHARS
    (a truncated payload is always "text"). `order_pattern` is matched against the whole payload,
    case-insensitively; its first group, if any, is the order number. Orders are tried before
    products, so a bare 8-digit number that happens to be a valid GTIN-8 is an order: EAN-8
    barcodes themselves come from read_codes with format "EAN-8" and need no guessing.
    A product's value is its catalogue key (12 digits get the leading "0" of GTIN-13).
    """
    cleaned = _clean(text)
    if len(cleaned) > MAX_PAYLOAD_CHARS:
        return Payload("text", cleaned[:MAX_PAYLOAD_CHARS], truncated=True)
    match = _order_regex(order_pattern).fullmatch(cleaned)
    if match:
        return Payload("order", (match.group(1) if match.re.groups else None) or match.group(0))
    if len(cleaned) in (8, 12, 13) and is_valid_gtin(cleaned):
        return Payload("product", "0" + cleaned if len(cleaned) == 12 else cleaned)
    if _is_web_url(cleaned):
        return Payload("url", cleaned)
    return Payload("text", cleaned)
