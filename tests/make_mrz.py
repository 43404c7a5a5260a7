"""MRZ fixtures made at test time: valid MRZ text from field values, rendered onto ID documents.

The check digits come from kiosk.vision.mrz, so the ICAO 9303 specimens below (typed from the
spec, not computed) are what ties that code to an outside truth. Images are drawn with PIL in
the OCR-B font at 300 dpi on a card with a photo box and printed text, then degraded the way a
kiosk camera degrades them: slight rotation, blur, JPEG, a perspective photo on a table.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kiosk.vision.mrz import check_digit

OCRB = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

# ICAO Doc 9303 specimens, verbatim (part 4 TD3 passport, part 5 TD1 card incl. the long
# document number example, part 6 TD2, part 7 MRV-A and MRV-B visas).
SPECIMEN_TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
SPECIMEN_TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<",
                "7408122F1204159UTO<<<<<<<<<<<6",
                "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
SPECIMEN_TD1_LONG = ["I<UTOD23145890<7349<<<<<<<<<<<",
                     "3407127M9507122UTO<<<<<<<<<<<2",
                     "STEVENSON<<PETER<JOHN<<<<<<<<<"]
SPECIMEN_TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
                "D231458907UTO7408122F1204159<<<<<<<6"]
SPECIMEN_MRVA = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                 "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"]
SPECIMEN_MRVB = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
                 "L8988901C4XXX4009078F9612109<<<<<<<<"]


@dataclass(frozen=True)
class Person:
    """Field values as a test expects to read them back."""
    surname: str
    given_names: tuple[str, ...]
    document_number: str
    issuing_country: str
    nationality: str
    birth: str  # YYMMDD
    sex: str  # M, F or < (read back as X)
    expiry: str  # YYMMDD
    optional_data: str = ""
    document_type: str = "P"


def _pad(text: str, length: int) -> str:
    return (text.replace(" ", "<") + "<" * length)[:length]


def _names(person: Person, length: int) -> str:
    return _pad(person.surname + "<<" + "<".join(person.given_names), length)


def td3_lines(p: Person) -> list[str]:
    number = _pad(p.document_number, 9)
    optional = _pad(p.optional_data, 14)
    optional_check = check_digit(optional) if p.optional_data else "<"
    line2 = (number + check_digit(number) + _pad(p.nationality, 3) + p.birth + check_digit(p.birth)
             + p.sex + p.expiry + check_digit(p.expiry) + optional + optional_check)
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return [_pad(p.document_type, 2) + _pad(p.issuing_country, 3) + _names(p, 39),
            line2 + check_digit(composite)]


def td2_lines(p: Person) -> list[str]:
    number = _pad(p.document_number, 9)
    line2 = (number + check_digit(number) + _pad(p.nationality, 3) + p.birth + check_digit(p.birth)
             + p.sex + p.expiry + check_digit(p.expiry) + _pad(p.optional_data, 7))
    composite = line2[0:10] + line2[13:20] + line2[21:35]
    return [_pad(p.document_type, 2) + _pad(p.issuing_country, 3) + _names(p, 31),
            line2 + check_digit(composite)]


def td1_lines(p: Person) -> list[str]:
    number = _pad(p.document_number, 9)
    line1 = _pad(p.document_type, 2) + _pad(p.issuing_country, 3) + number + check_digit(number) + \
        _pad(p.optional_data, 15)
    line2 = (p.birth + check_digit(p.birth) + p.sex + p.expiry + check_digit(p.expiry)
             + _pad(p.nationality, 3) + "<" * 11)
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    return [line1, line2 + check_digit(composite), _names(p, 30)]


PEOPLE = {
    "TD3": Person("MUSTERFRAU", ("GABRIELE", "ANNA"), "C01X00T47", "D", "D", "830812", "F", "310228",
                  optional_data="ZE184226B"),
    "TD2": Person("DUPONT", ("JEAN", "PIERRE"), "X4RTBPFW4", "FRA", "FRA", "650702", "M", "290114",
                  document_type="I"),
    "TD1": Person("OBRIEN", ("SIOBHAN",), "AB1234567", "IRL", "IRL", "011231", "F", "330630",
                  optional_data="K77", document_type="ID"),
}
LINES = {"TD1": td1_lines, "TD2": td2_lines, "TD3": td3_lines}
# Document sizes in mm (ICAO 9303-3): ID-1 card, ID-2 card, passport data page.
SIZES_MM = {"TD1": (85.6, 53.98), "TD2": (105.0, 74.0), "TD3": (125.0, 88.0)}


def render_document(kind: str, lines: list[str], dpi: int = 300) -> np.ndarray:
    """A BGR document with a header, a photo box, printed fields and the MRZ along the bottom,
    the MRZ in OCR-B at ICAO's 10 characters per inch."""
    mm = dpi / 25.4
    w, h = (round(v * mm) for v in SIZES_MM[kind])
    page = Image.new("RGB", (w, h), (236, 240, 232))
    draw = ImageDraw.Draw(page)
    draw.rounded_rectangle((1, 1, w - 2, h - 2), radius=int(3 * mm), outline=(120, 130, 120), width=2)
    head = ImageFont.truetype(DEJAVU_BOLD, int(4 * mm))
    label = ImageFont.truetype(DEJAVU, int(1.6 * mm))
    value = ImageFont.truetype(DEJAVU, int(2.6 * mm))
    draw.text((int(4 * mm), int(3 * mm)), "REPUBLIC OF UTOPIA", font=head, fill=(40, 60, 110))
    photo = (int(4 * mm), int(10 * mm), int(4 * mm + 0.3 * w), h - int((7 + 4.3 * len(lines)) * mm))
    draw.rectangle(photo, fill=(188, 196, 205))
    px0, py0, px1, py1 = photo
    draw.ellipse((px0 + (px1 - px0) // 4, py0 + (py1 - py0) // 8, px1 - (px1 - px0) // 4,
                  py0 + (py1 - py0) * 5 // 8), fill=(150, 120, 100))
    draw.rectangle((px0 + (px1 - px0) // 6, py0 + (py1 - py0) * 2 // 3, px1 - (px1 - px0) // 6, py1),
                   fill=(70, 80, 110))
    x, y = px1 + int(4 * mm), py0
    for caption, text in (("Surname / Nom", "SPECIMEN"), ("Given names / Prénoms", "SAMPLE TEXT"),
                          ("Date of birth", "12 AUG 1974"), ("Authority", "KIOSK TEST OFFICE")):
        if y + 5 * mm > py1:
            break
        draw.text((x, y), caption, font=label, fill=(90, 90, 90))
        draw.text((x, y + int(1.8 * mm)), text, font=value, fill=(20, 20, 20))
        y += int(5.2 * mm)
    ocrb = ImageFont.truetype(OCRB, 10)
    size = 2.54 * mm / (ocrb.getlength("<") / 10)  # font size whose advance is 2.54 mm
    ocrb = ImageFont.truetype(OCRB, round(size))
    left = (w - ocrb.getlength(lines[0])) / 2
    for n, text in enumerate(lines):
        baseline = h - int((4.5 + 4.3 * (len(lines) - 1 - n)) * mm)
        draw.text((left, baseline), text, font=ocrb, fill=(15, 15, 15), anchor="ls")
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Turned about its centre on a canvas large enough to keep the corners, paper-white behind."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(w * cos + h * sin), int(w * sin + h * cos)
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(image, matrix, (nw, nh), flags=cv2.INTER_CUBIC, borderValue=(250, 250, 250))


def blur(image: np.ndarray, sigma: float = 1.6) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def jpeg(image: np.ndarray, quality: int = 25) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def perspective_photo(image: np.ndarray, seed: int = 7) -> np.ndarray:
    """The document lying on a wooden-brown table, photographed at a slant from above: it fills
    about two thirds of a 1600×1200 frame, with uneven light and sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    out_w, out_h = 1600, 1200
    scale = 0.66 * out_w / w
    cx, cy = out_w / 2, out_h / 2
    dw, dh = w * scale / 2, h * scale / 2
    target = np.float32([[cx - dw * 0.94, cy - dh], [cx + dw * 0.94, cy - dh * 0.97],
                         [cx + dw, cy + dh], [cx - dw, cy + dh * 0.98]])
    target += rng.uniform(-12, 12, target.shape).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), target)
    table = np.zeros((out_h, out_w, 3), np.uint8)
    table[:] = (60, 95, 140)
    grain = cv2.GaussianBlur(rng.normal(0, 18, (out_h, out_w)).astype(np.float32), (0, 0), sigmaX=25, sigmaY=2)
    table = np.clip(table + grain[..., None], 0, 255).astype(np.uint8)
    photo = cv2.warpPerspective(image, matrix, (out_w, out_h), dst=table, flags=cv2.INTER_AREA,
                                borderMode=cv2.BORDER_TRANSPARENT)
    light = np.linspace(0.8, 1.05, out_w, dtype=np.float32)[None, :, None]
    noisy = photo.astype(np.float32) * light + rng.normal(0, 4, photo.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


VARIANTS = {
    "clean": lambda img: img,
    "rotated+3": lambda img: rotate(img, 3.0),
    "rotated-3": lambda img: rotate(img, -3.0),
    "blurred": blur,
    "jpeg": jpeg,
    "photo": perspective_photo,
    "upside_down": lambda img: cv2.rotate(img, cv2.ROTATE_180),
}


def receipt_image(dpi: int = 200) -> np.ndarray:
    """A till receipt in a monospace font: many lines of letters, digits and prices, no MRZ."""
    rows = ["     KIOSK MARKET #0042", "  12 HIGH STREET, SPRINGFIELD", "", "2026-11-23 12:04  TILL 3",
            "-" * 32] + [f"{name:<22}{price:>10}" for name, price in (
                ("MILK 1L", "1.19"), ("BREAD WHOLEMEAL", "2.49"), ("APPLES 1KG", "3.20"),
                ("COFFEE BEANS 500G", "8.99"), ("BATTERIES AA X4", "5.75"), ("PHONE CARD 20", "20.00"))] + [
            "-" * 32, f"{'TOTAL':<22}{'41.62':>10}", f"{'CARD':<22}{'41.62':>10}", "",
            "VAT 1234567890 THANK YOU", "<<<< KEEP YOUR RECEIPT >>>>"]
    font = ImageFont.truetype(MONO, int(dpi / 25.4 * 3.0))
    line = int(dpi / 25.4 * 4.2)
    page = Image.new("RGB", (int(dpi / 25.4 * 80), line * (len(rows) + 4)), (250, 250, 246))
    draw = ImageDraw.Draw(page)
    for n, text in enumerate(rows):
        draw.text((int(dpi / 25.4 * 4), line * (n + 2)), text, font=font, fill=(25, 25, 25))
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).save(buffer, format="PNG")
    return buffer.getvalue()
