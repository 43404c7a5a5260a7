"""Self-made barcode and QR fixtures: zxing-cpp's own writer, laid on "paper", optionally "photographed".

The writer only produces correct symbols (it refuses an EAN with a wrong check digit), so the
fixtures test reading, not writing. `photo` adds what a kiosk camera adds: a tilted, slightly
rotated sheet, defocus, sensor noise and uneven light. Everything is seeded, so a fixture is the
same on every run.

    python tests/make_codes.py OUTDIR    # writes every fixture as PNG, to look at them
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "assets" / "store" / "demo" / "catalog.csv"

# Our format names → the zxing writer's. Modules of 3 px (linear) / 6 px (matrix) are what a
# shelf label or a phone screen gives a 720p camera at arm's length.
WRITER = {
    "EAN-13": zxingcpp.BarcodeFormat.EAN13, "EAN-8": zxingcpp.BarcodeFormat.EAN8,
    "UPC-A": zxingcpp.BarcodeFormat.UPCA, "UPC-E": zxingcpp.BarcodeFormat.UPCE,
    "Code128": zxingcpp.BarcodeFormat.Code128, "QR": zxingcpp.BarcodeFormat.QRCode,
    "PDF417": zxingcpp.BarcodeFormat.PDF417, "DataMatrix": zxingcpp.BarcodeFormat.DataMatrix,
}
MATRIX = {"QR", "DataMatrix"}

# One payload per format, as the reader must report it back.
SAMPLES = {
    "EAN-13": "2410000001132",  # a store-internal EAN from the demo catalogue
    "EAN-8": "96385074",
    "UPC-A": "036000291452",
    "UPC-E": "01234565",
    "Code128": "SKU TH-1001",
    "QR": "ORDER:846078",
    "PDF417": "KIOSK PICKUP 846078 / 3 ITEMS",
    "DataMatrix": "846078",
}


def catalogue_eans() -> list[str]:
    with CATALOG.open(newline="", encoding="utf-8") as f:
        return [row["ean"] for row in csv.DictReader(f)]


def symbol(fmt: str, text: str, scale: int | None = None) -> np.ndarray:
    """The symbol as a gray uint8 image with its quiet zone, drawn by zxing-cpp's writer.

    `fmt` is one of our names or, for symbologies the kiosk must ignore, a zxing format name.
    """
    barcode = zxingcpp.create_barcode(text, WRITER.get(fmt) or getattr(zxingcpp.BarcodeFormat, fmt))
    scale = scale or (6 if fmt in MATRIX else 3)
    return np.array(barcode.to_image(scale=scale, add_quiet_zones=True), dtype=np.uint8)


def on_paper(symbols: list[np.ndarray], margin: int = 40, gap: int = 60) -> tuple[np.ndarray, list]:
    """Symbols side by side on a white sheet → (BGR image, [(x0, y0, x1, y1) of each symbol])."""
    width = sum(s.shape[1] for s in symbols) + gap * (len(symbols) - 1) + 2 * margin
    height = max(s.shape[0] for s in symbols) + 2 * margin
    sheet = np.full((height, width), 255, np.uint8)
    boxes, x = [], margin
    for s in symbols:
        sheet[margin:margin + s.shape[0], x:x + s.shape[1]] = s
        boxes.append((x, margin, x + s.shape[1], margin + s.shape[0]))
        x += s.shape[1] + gap
    return cv2.cvtColor(sheet, cv2.COLOR_GRAY2BGR), boxes


def photo(image: np.ndarray, seed: int = 0, angle: float = 5.0, tilt: float = 0.06,
          blur: float = 0.9, noise: float = 6.0) -> np.ndarray:
    """The sheet as a camera sees it: rotated by ±`angle`°, perspective-tilted by up to `tilt` of
    its size at each corner, on a grey table, defocused, unevenly lit and noisy."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    pad = int(0.15 * max(h, w))
    out_w, out_h = w + 2 * pad, h + 2 * pad
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + pad + rng.uniform(-tilt, tilt, (4, 2)).astype(np.float32) * np.float32([w, h])
    turn = cv2.getRotationMatrix2D((out_w / 2, out_h / 2), rng.uniform(-angle, angle), 1.0)
    dst = cv2.transform(dst[None], turn)[0].astype(np.float32)
    warped = cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (out_w, out_h),
                                 flags=cv2.INTER_LINEAR, borderValue=(110, 115, 120))
    warped = cv2.GaussianBlur(warped, (0, 0), blur)
    light = np.linspace(0.8, 1.0, out_w, dtype=np.float32)[None, :, None]  # a lamp on one side
    shot = warped.astype(np.float32) * light + rng.normal(0, noise, warped.shape)
    return np.clip(shot, 0, 255).astype(np.uint8)


def noise_image(seed: int = 0, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """Blurred random texture: edges everywhere, no code anywhere."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    return cv2.GaussianBlur(texture, (0, 0), 1.5)


def main(outdir: str) -> None:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for fmt, text in SAMPLES.items():
        sheet, _ = on_paper([symbol(fmt, text)])
        cv2.imwrite(str(out / f"{fmt}.png"), sheet)
        cv2.imwrite(str(out / f"{fmt}-photo.png"), photo(sheet, seed=1))
    cv2.imwrite(str(out / "noise.png"), noise_image())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "codes-fixtures")
