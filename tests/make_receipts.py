"""Self-made receipt fixtures: rendered with real fonts, then "photographed" the way a kiosk camera sees them.

Everything is generated at test time from a seed, so the suite needs nothing from ../shared.
`render_receipt` draws a flat white receipt and returns the truth it printed; `photograph` lays
it on a darker textured table with perspective, rotation, lighting, blur, noise and JPEG, and
returns the true corner positions; the variants below make each quality problem on purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
PAPER_WIDTH = 620  # px; an 80 mm till roll printed at about 200 dpi
MARGIN = 28


@dataclass(frozen=True)
class ReceiptSpec:
    store_name: str = "GREENLEAF HARDWARE & HOME"
    address: tuple[str, ...] = ("12 Harbour Road, Port Elston", "Tel: 0161 555 0192")
    number_label: str = "Receipt No:"
    receipt_number: str = "R-204871"
    date: dt.date = dt.date(2018, 12, 25)
    date_format: str = "%d/%m/%Y"
    time: str = "14:32"
    currency: str = "RM"  # printed before amounts in the totals block
    items: tuple[tuple[str, int, str], ...] = (
        ("Wood Glue 250ml", 1, "6.90"),
        ("Sandpaper Pack", 2, "8.40"),
        ("Paint Brush 2in", 1, "4.50"),
        ("Masking Tape", 3, "7.50"),
    )
    tax_rate: str = "6%"
    total_label: str = "TOTAL"
    footer: str = "THANK YOU, PLEASE COME AGAIN"
    extra_lines: tuple[str, ...] = field(default_factory=tuple)

    @property
    def subtotal(self) -> str:
        return f"{sum(float(a) for _, _, a in self.items):.2f}"

    @property
    def tax(self) -> str:
        return f"{float(self.subtotal) * float(self.tax_rate.rstrip('%')) / 100:.2f}"

    @property
    def total(self) -> str:
        return f"{float(self.subtotal) + float(self.tax):.2f}"

    @property
    def date_text(self) -> str:
        return self.date.strftime(self.date_format)


# A few differently shaped receipts: labels, date formats and currencies all vary.
SPECS = (
    ReceiptSpec(),
    ReceiptSpec(store_name="CORNER FRESH MART", address=("88 Mill Lane, Dunmore", "VAT 4417 2210"),
                number_label="Invoice #", receipt_number="INV-55213", date=dt.date(2019, 3, 7),
                date_format="%d %b %Y", currency="$", total_label="GRAND TOTAL",
                items=(("Whole Milk 2L", 2, "3.98"), ("Brown Bread", 1, "1.85"),
                       ("Free Range Eggs", 1, "2.60"), ("Cheddar 400g", 1, "4.25"),
                       ("Bananas", 6, "1.44"))),
    ReceiptSpec(store_name="BLUE KETTLE CAFE", address=("3 Station Square", "Open daily 7-19"),
                number_label="Order No.", receipt_number="71045", date=dt.date(2020, 1, 31),
                date_format="%Y-%m-%d", currency="EUR", total_label="Amount Due",
                items=(("Flat White", 2, "7.00"), ("Almond Croissant", 1, "3.20"),
                       ("Orange Juice", 1, "2.90"))),
    ReceiptSpec(store_name="NORTHSIDE PHARMACY", address=("Unit 4, Kestrel Park", "Tel 020 7946 0018"),
                number_label="Bill No:", receipt_number="B7-0932", date=dt.date(2021, 11, 5),
                date_format="%b %d, %Y", currency="$", total_label="Total incl. tax",
                items=(("Vitamin C 60 tabs", 1, "5.49"), ("Plasters x20", 2, "3.98"),
                       ("Hand Cream", 1, "4.15"))),
)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / name), size)


def render_receipt(spec: ReceiptSpec = SPECS[0]) -> tuple[np.ndarray, dict]:
    """A flat receipt (BGR uint8, white paper, black print) and the truth printed on it."""
    title = _font("DejaVuSans-Bold.ttf", 34)
    while title.getlength(spec.store_name) > PAPER_WIDTH - 2 * MARGIN:  # long names print smaller
        title = _font("DejaVuSans-Bold.ttf", title.size - 1)
    body = _font("DejaVuSansMono.ttf", 23)
    bold = _font("DejaVuSansMono-Bold.ttf", 27)
    cols = int((PAPER_WIDTH - 2 * MARGIN) // body.getlength("0"))
    rows: list[tuple[str, ImageFont.FreeTypeFont, str]] = []  # text, font, alignment

    def pair(left: str, right: str, font=body) -> None:
        width = int((PAPER_WIDTH - 2 * MARGIN) // font.getlength("0"))
        rows.append((left + " " * max(1, width - len(left) - len(right)) + right, font, "left"))

    rows.append((spec.store_name, title, "center"))
    for line in spec.address:
        rows.append((line, body, "center"))
    rows.append(("", body, "left"))
    pair(f"{spec.number_label} {spec.receipt_number}", "")
    pair(f"Date: {spec.date_text}", spec.time)
    rows.append(("-" * cols, body, "left"))
    for desc, qty, amount in spec.items:
        pair(f"{qty} x {desc}", amount)
    rows.append(("-" * cols, body, "left"))
    pair("Subtotal", spec.subtotal)
    pair(f"Tax {spec.tax_rate}", spec.tax)
    pair(spec.total_label, f"{spec.currency} {spec.total}", bold)
    for line in spec.extra_lines:
        rows.append((line, body, "left"))
    rows.append(("", body, "left"))
    rows.append((spec.footer, body, "center"))

    line_gap = 12
    height = 2 * MARGIN + sum(font.size + line_gap for _, font, _ in rows)
    paper = Image.new("L", (PAPER_WIDTH, height), 255)
    draw = ImageDraw.Draw(paper)
    y = MARGIN
    for text, font, align in rows:
        x = MARGIN if align == "left" else (PAPER_WIDTH - font.getlength(text)) / 2
        draw.text((x, y), text, font=font, fill=0)
        y += font.size + line_gap
    truth = {
        "store_name": spec.store_name, "receipt_number": spec.receipt_number, "date": spec.date,
        "total": spec.total, "items": [(d, q, a) for d, q, a in spec.items],
    }
    return cv2.cvtColor(np.asarray(paper), cv2.COLOR_GRAY2BGR), truth


def table_background(size: tuple[int, int], rng: np.random.Generator, level: int = 85) -> np.ndarray:
    """A dark, woodgrain-like textured surface (BGR): low-frequency blotches plus streaks."""
    w, h = size
    low = cv2.resize(rng.normal(0, 1, (h // 40 + 2, w // 40 + 2)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    streaks = cv2.resize(rng.normal(0, 1, (h, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    fine = rng.normal(0, 1, (h, w)).astype(np.float32)
    gray = level + 14 * low + 10 * streaks + 6 * fine
    tint = np.array([0.75, 0.9, 1.1], np.float32)  # brownish, like a counter top
    return np.clip(gray[..., None] * tint, 0, 255).astype(np.uint8)


def placement(paper_size: tuple[int, int], frame: tuple[int, int], fill: float, angle: float,
              tilt: float, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Where the paper's corners land (TL, TR, BR, BL) through a pinhole camera (68 degree
    horizontal field of view, like a webcam): turned by `angle` degrees in its plane, its top edge
    tipped `tilt` degrees away from the camera, sized so that its height spans about `fill` of the
    frame, centred then moved by `shift` pixels."""
    pw, ph = paper_size
    fw, fh = frame
    focal = 0.75 * fw
    scale = fill * fh / ph
    w, h = pw * scale, ph * scale
    pts = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
    a, b = np.deg2rad(angle), np.deg2rad(tilt)
    spin = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    tip = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    pts = pts @ spin.T @ tip.T + np.array([0, 0, focal])  # at the distance where 1 unit is 1 px
    xy = focal * pts[:, :2] / pts[:, 2:3] + np.array([fw / 2 + shift[0], fh / 2 + shift[1]])
    return xy.astype(np.float32)


def compose(paper: np.ndarray | None, corners: np.ndarray | None, frame: tuple[int, int],
            rng: np.random.Generator,
            *, light: float = 0.86, blur: float = 0.7, motion: int = 0, noise: float = 3.0,
            jpeg: int = 85, background: np.ndarray | None = None) -> np.ndarray:
    """Lay `paper` on the table with its corners at `corners` and take the picture (no paper: the
    table alone)."""
    fw, fh = frame
    base = background if background is not None else table_background(frame, rng)
    img = base.astype(np.float32)
    if paper is not None and corners is not None:
        ph, pw = paper.shape[:2]
        src = np.array([[0, 0], [pw - 1, 0], [pw - 1, ph - 1], [0, ph - 1]], np.float32)
        m = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
        warped = cv2.warpPerspective(paper, m, (fw, fh), flags=cv2.INTER_AREA)
        mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (fw, fh), flags=cv2.INTER_LINEAR)
        alpha = mask.astype(np.float32)[..., None] / 255.0
        img = warped.astype(np.float32) * alpha + img * (1 - alpha)
    # Room light: paper comes out light gray, a little brighter towards one side.
    ramp = np.linspace(light - 0.04, light + 0.04, fw, dtype=np.float32)[None, :, None]
    img = img * ramp
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    if motion > 1:  # a horizontal smear, as when the hand is still moving
        kernel = np.zeros((motion, motion), np.float32)
        kernel[motion // 2, :] = 1.0 / motion
        img = cv2.filter2D(img, -1, kernel)
    img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    _, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


FRAME = (1600, 1200)  # a 2 MP document camera


@dataclass(frozen=True)
class Shot:
    image: np.ndarray
    corners: np.ndarray  # true TL, TR, BR, BL in image pixels
    truth: dict


@dataclass(frozen=True)
class ShotSpec:
    fill: float = 0.8
    angle: float = 4.0
    tilt: float = 8.0  # degrees: a fixed kiosk camera never looks exactly straight down
    shift: tuple[float, float] = (20.0, 20.0)
    blur: float = 0.7
    motion: int = 0
    glare: float = 0.0  # radius of a specular spot as a share of the paper width
    seed: int = 0


def photograph(spec: ReceiptSpec = SPECS[0], shot: ShotSpec = ShotSpec(),
               frame: tuple[int, int] = FRAME) -> Shot:
    rng = np.random.default_rng(shot.seed)
    paper, truth = render_receipt(spec)
    ph, pw = paper.shape[:2]
    corners = placement((pw, ph), frame, shot.fill, shot.angle, shot.tilt, shot.shift)
    image = compose(paper, corners, frame, rng, blur=shot.blur, motion=shot.motion)
    if shot.glare > 0:
        image = add_glare(image, corners, shot.glare)
    return Shot(image, corners, truth)


def add_glare(image: np.ndarray, corners: np.ndarray, radius_share: float) -> np.ndarray:
    """A blown-out specular reflection (a ceiling light on glossy paper) in the paper's upper middle."""
    centre = corners.mean(axis=0) * 0.6 + (corners[0] + corners[1]) / 2 * 0.4
    width = float(np.linalg.norm(corners[1] - corners[0]))
    r = radius_share * width
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt(((xx - centre[0]) / 1.4) ** 2 + (yy - centre[1]) ** 2) / r
    boost = np.clip(1.6 - d, 0, 1)[..., None]  # flat saturated core, soft rim
    out = image.astype(np.float32) * (1 - boost) + 255.0 * boost
    return np.clip(out, 0, 255).astype(np.uint8)


def good(spec: ReceiptSpec = SPECS[0], seed: int = 0) -> Shot:
    return photograph(spec, ShotSpec(seed=seed))


def blurry(spec: ReceiptSpec = SPECS[0], seed: int = 0) -> Shot:
    return photograph(spec, ShotSpec(blur=3.5, seed=seed))


def small(spec: ReceiptSpec = SPECS[0], seed: int = 0) -> Shot:
    return photograph(spec, ShotSpec(fill=0.32, shift=(-300.0, 120.0), seed=seed))


def glare(spec: ReceiptSpec = SPECS[0], seed: int = 0) -> Shot:
    return photograph(spec, ShotSpec(glare=0.22, seed=seed))


def tilted(spec: ReceiptSpec = SPECS[0], seed: int = 0) -> Shot:
    """Held tipped steeply away from the camera: strong keystone."""
    return photograph(spec, ShotSpec(tilt=50.0, angle=2.0, fill=0.75, seed=seed))


def cluttered(spec: ReceiptSpec = SPECS[0], seed: int = 0, frame: tuple[int, int] = FRAME) -> Shot:
    """The receipt among clutter on the counter: a phone, a card, coins, a pen, and a small white
    sticky note (bright and four-cornered, but smaller than the receipt)."""
    rng = np.random.default_rng(seed)
    table = table_background(frame, rng)
    fw, fh = frame
    cv2.rectangle(table, (60, 80), (260, 480), (30, 30, 35), -1)  # a phone
    cv2.rectangle(table, (90, 120), (230, 430), (70, 60, 50), -1)  # its screen, dim
    cv2.rectangle(table, (fw - 330, fh - 260), (fw - 60, fh - 90), (60, 120, 170), -1)  # a card
    for i in range(5):  # coins
        c = (int(rng.integers(100, 380)), int(rng.integers(fh - 350, fh - 60)))
        cv2.circle(table, c, int(rng.integers(22, 34)), (90, 140, 160), -1)
    cv2.line(table, (fw - 420, 60), (fw - 120, 300), (20, 20, 140), 14)  # a red pen
    note = np.array([[fw - 300, 420], [fw - 110, 400], [fw - 95, 580], [fw - 285, 600]], np.int32)
    cv2.fillConvexPoly(table, note, (225, 235, 235))
    paper, truth = render_receipt(spec)
    ph, pw = paper.shape[:2]
    corners = placement((pw, ph), frame, 0.8, -3.0, 6.0, (-40.0, 20.0))
    return Shot(compose(paper, corners, frame, rng, background=table), corners, truth)


def plain_background(seed: int = 0, frame: tuple[int, int] = FRAME) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return compose(None, None, frame, rng)


def filling_frame(spec: ReceiptSpec = SPECS[0], seed: int = 0) -> np.ndarray:
    """The paper held so close it fills the whole picture: only print and paper are visible."""
    rng = np.random.default_rng(seed)
    paper, _ = render_receipt(spec)
    crop = paper[60:60 + 520, 10:PAPER_WIDTH - 10]
    frame = (crop.shape[1], crop.shape[0])
    corners = np.array([[0, 0], [frame[0] - 1, 0], [frame[0] - 1, frame[1] - 1], [0, frame[1] - 1]],
                       np.float32)
    return compose(crop, corners, frame, rng)


def sequence(spec: ReceiptSpec = SPECS[0], seed: int = 0, frame: tuple[int, int] = (960, 720),
             moving: int = 8, still: int = 14, fps: float = 15.0) -> list[tuple[np.ndarray, float, str]]:
    """(frame, t seconds, phase) where phase is "absent", "moving" or "still": the table alone, then
    the receipt sliding in (smeared by motion), then held still with one-pixel hand tremor."""
    rng = np.random.default_rng(seed)
    paper, _ = render_receipt(spec)
    ph, pw = paper.shape[:2]
    background = table_background(frame, rng)
    frames: list[tuple[np.ndarray, float, str]] = []
    t = 0.0
    for _ in range(3):
        frames.append((compose(None, None, frame, rng, background=background),
                       t, "absent"))
        t += 1 / fps
    for i in range(moving):
        x = -520 + 520 * (i + 1) / moving  # slides in from the left, 65 px a frame
        corners = placement((pw, ph), frame, 0.85, 3.0 - i * 0.3, 6.0, (x, 0.0))
        frames.append((compose(paper, corners, frame, rng, motion=25, background=background), t, "moving"))
        t += 1 / fps
    for i in range(still):
        jitter = tuple(rng.uniform(-1, 1, 2))
        corners = placement((pw, ph), frame, 0.85, 3.0 - moving * 0.3, 6.0, jitter)
        frames.append((compose(paper, corners, frame, rng, background=background), t, "still"))
        t += 1 / fps
    return frames


def with_spec(**changes) -> ReceiptSpec:
    return replace(SPECS[0], **changes)
