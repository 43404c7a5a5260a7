"""Vision benchmark: presence, faces, barcodes, receipts and MRZ on the shared datasets, one core.

    .venv/bin/python bench/vision.py          # writes bench/results/vision.json, prints tables

The process pins itself to one CPU core (OpenCV and LiteRT single-threaded). Every stage is
compared with a simpler baseline measured in the same run:
- presence: the detector alone on every frame vs the full path (motion gate, regions, tracker);
  CPU share of one core on a static scene at the configured 10 fps;
- faces: recall/precision at IoU 0.5 on dlib's annotated photos (whole frame, and tiled as the
  presence path's regions enlarge faces);
- barcodes: ZXing's black-box folders, decode rate and ms per image, vs one plain zxing-cpp call
  and vs ZXing's own pass thresholds;
- receipts (SROIE): date / total / company accuracy and ms per receipt, vs Tesseract on the raw
  photo (no localisation, no preprocessing) parsed by the same field rules;
- MRZ: specimens with expected values, field accuracy and ms per document; real-world specimens:
  how many read with valid check digits.
Needs ../shared/datasets beside the project.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "bench" / "results" / "vision.json"
FPS = 10.0


def _ms(fn, *args) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1000.0


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2) if values else float("nan")


# -- presence and faces ---------------------------------------------------------------------------
def presence() -> dict:
    import cv2
    import numpy as np

    from kiosk.vision.camera import FileFrameSource
    from kiosk.vision.faces import FaceDetector
    from kiosk.vision.presence import PresenceTracker

    detector = FaceDetector()
    source = FileFrameSource(SHARED / "faces" / "opencv_samples" / "vtest.avi")
    busy = [cv2.resize(f.image, (640, 480), interpolation=cv2.INTER_AREA)
            for f in iter(source.read, None)][:400]
    face = cv2.imread(str(SHARED / "faces" / "skimage" / "astronaut.png"))
    face = cv2.resize(face, (640, 480))
    detector_only = [_ms(detector.detect, img)[1] for img in busy]
    detector_face = [_ms(detector.detect, face)[1] for _ in range(100)]
    tracker = PresenceTracker(detector)
    full = [_ms(tracker.update, img, i / FPS)[1] for i, img in enumerate(busy)]
    static_frame = np.full((480, 640, 3), (190, 200, 205), np.uint8)
    cv2.rectangle(static_frame, (100, 100), (540, 380), (70, 80, 90), 3)
    tracker = PresenceTracker(detector)
    start_cpu = time.process_time()
    frames = int(30 * FPS)
    for i in range(frames):
        tracker.update(static_frame, i / FPS)
    static_ms = (time.process_time() - start_cpu) / frames * 1000.0
    return {
        "detector_ms_per_frame_no_face": _median(detector_only),
        "detector_ms_per_frame_with_face": _median(detector_face),
        "full_path_ms_per_frame_busy_scene": _median(full),
        "full_path_ms_mean_busy_scene": round(statistics.fmean(full), 2),
        "static_ms_per_frame": round(static_ms, 3),
        "static_cpu_share_at_10fps": round(static_ms * FPS / 1000.0, 4),
    }


def _iou(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def faces() -> dict:
    import numpy as np

    from kiosk.vision.faces import FaceDetector
    from kiosk.vision.image import load_image

    detector = FaceDetector()
    root = SHARED / "faces" / "dlib_train"

    def tiled(image):
        height, width = image.shape[:2]
        side = max(height, width) / 2
        found = []
        for y in np.arange(0, max(1, height - side) + 1, side / 2):
            for x in np.arange(0, max(1, width - side) + 1, side / 2):
                found.extend(detector.detect(image, (x, y, side, side)))
        kept = []
        for f in sorted(found, key=lambda f: -f.score):
            if all(_iou(f.box, k.box) < 0.3 for k in kept):
                kept.append(f)
        return kept

    out = {}
    for name, find in (("whole_frame", detector.detect), ("tiled", tiled)):
        tp = fp = total = 0
        for node in ET.parse(root / "training.xml").getroot().iter("image"):
            truth = [(int(b.get("left")), int(b.get("top")), int(b.get("width")), int(b.get("height")))
                     for b in node.iter("box")]
            used: set[int] = set()
            for f in sorted(find(load_image(root / node.get("file"))), key=lambda f: -f.score):
                best = max(((_iou(f.box, t), i) for i, t in enumerate(truth) if i not in used),
                           default=(0, -1))
                if best[0] >= 0.5:
                    used.add(best[1])
                    tp += 1
                else:
                    fp += 1
            total += len(truth)
        out[name] = {"recall": round(tp / total, 3), "precision": round(tp / max(1, tp + fp), 3),
                     "faces": total}
    return out


# -- barcodes ----------------------------------------------------------------------------------
def _expected_text(image: Path) -> str:
    """As ZXing's black-box tests: <name>.txt as UTF-8 bytes (CR/LF kept), else <name>.bin as Latin-1."""
    txt = image.with_suffix(".txt")
    if txt.exists():
        return txt.read_bytes().decode("utf-8").removesuffix("\n")
    return image.with_suffix(".bin").read_bytes().decode("latin-1")


def barcodes() -> dict:
    import zxingcpp

    from kiosk.vision.codes import read_codes
    from kiosk.vision.image import load_image

    names = {"EAN_13": "EAN-13", "UPC_A": "UPC-A", "CODE_128": "Code128", "QR_CODE": "QR",
             "PDF_417": "PDF417"}
    thresholds = json.loads((SHARED / "barcodes" / "zxing_pass_thresholds.json").read_text())
    out = {}
    for folder, limits in thresholds.items():
        if folder.startswith("_"):
            continue
        images = sorted((SHARED / "barcodes" / folder).glob("*.png"))
        ours, plain, ours_ms, plain_ms = 0, 0, [], []
        for path in images:
            image = load_image(path)
            expected = _expected_text(path) if folder != "falsepositives-2" else None
            codes, ms = _ms(read_codes, image)
            ours_ms.append(ms)
            found, ms = _ms(zxingcpp.read_barcodes, image)
            plain_ms.append(ms)
            if expected is None:  # false-positive folder: count anything reported
                ours += bool(codes)
                plain += bool(found)
            else:
                ours += any(c.text == expected and c.format == names.get(limits["format"]) for c in codes)
                # Plain zxing-cpp reports a UPC-A as the EAN-13 it also is ("0" + 12 digits).
                plain += any(b.text in (expected, "0" + expected) for b in found)
        row = {"images": len(images), "ms_median": _median(ours_ms),
               "plain_zxing_ms_median": _median(plain_ms)}
        if folder == "falsepositives-2":
            row.update(false_positives=ours, plain_zxing_false_positives=plain,
                       zxing_allows=limits["max_false_positives_rot0"])
        else:
            row.update(decoded=ours, plain_zxing_decoded=plain, zxing_must_pass=limits["rot0"][0],
                       zxing_try_harder=limits["rot0"][1])
        out[folder] = row
    return out


# -- receipts ----------------------------------------------------------------------------------
def _sroie_date(text: str) -> dt.date | None:
    from kiosk.vision.receipt import dates_in

    found = dates_in(text)
    return found[0] if found else None


def receipts() -> dict:
    from rapidfuzz import fuzz

    from kiosk.vision.image import load_image
    from kiosk.vision.ocr import PSM_AUTO, Ocr
    from kiosk.vision.receipt import parse_receipt, read_receipt

    ocr = Ocr()
    root = SHARED / "receipts" / "sroie"
    rows = {"pipeline": [], "raw_tesseract": []}
    for key_path in sorted((root / "key").glob("*.json")):
        key = json.loads(key_path.read_text(encoding="utf-8"))
        image = load_image(root / "img" / (key_path.stem + ".jpg"))
        want_date, want_total = _sroie_date(key["date"]), float(key["total"])
        result, ms = _ms(read_receipt, image, ocr)
        raw, raw_ms = _ms(lambda: parse_receipt(ocr.read(image, psm=PSM_AUTO)))
        for name, fields, took in (("pipeline", result.fields, ms), ("raw_tesseract", raw, raw_ms)):
            company = fields.store_name or ""
            rows[name].append({
                "date": fields.date == want_date,
                "total": fields.total is not None and abs(float(fields.total) - want_total) < 0.005,
                "company": fuzz.ratio(re.sub(r"\s+", " ", company.upper()),
                                      re.sub(r"\s+", " ", key["company"].upper())) >= 80,
                "ms": took})
    out = {}
    for name, items in rows.items():
        n = len(items)
        out[name] = {"receipts": n, "date": round(sum(r["date"] for r in items) / n, 3),
                     "total": round(sum(r["total"] for r in items) / n, 3),
                     "company": round(sum(r["company"] for r in items) / n, 3),
                     "ms_median": _median([r["ms"] for r in items])}
    return out


# -- MRZ ---------------------------------------------------------------------------------------
def mrz() -> dict:
    from kiosk.vision.image import load_image
    from kiosk.vision.mrz_reader import read_mrz
    from kiosk.vision.ocr import Ocr

    ocr = Ocr()
    root = SHARED / "mrz"
    expected = json.loads((root / "expected_values.json").read_text(encoding="utf-8"))
    spec_ms, spec_ok, spec_fields, spec_total = [], 0, 0, 0
    for name, want in expected.items():
        if name.startswith("_"):
            continue
        result, ms = _ms(read_mrz, load_image(root / name), ocr)
        spec_ms.append(ms)
        valid = result is not None and result.valid
        spec_ok += valid
        f = result.fields if valid else {}
        given = f.get("given_names", ())
        given = " ".join(given) if isinstance(given, (list, tuple)) else given
        checks = {
            "number": f.get("document_number") == want.get("number"),
            "surname": f.get("surname") == want.get("surname"),
            "names": given == want.get("names"),
            "country": f.get("issuing_country") == want.get("country"),
            "nationality": f.get("nationality") == want.get("nationality"),
            "sex": f.get("sex") == want.get("sex"),
            "date_of_birth": bool(f.get("birth_date"))
            and f["birth_date"].strftime("%y%m%d") == want.get("date_of_birth"),
            "expiration_date": bool(f.get("expiry_date"))
            and f["expiry_date"].strftime("%y%m%d") == want.get("expiration_date"),
        }
        spec_fields += sum(checks.values())
        spec_total += len(checks)
    real_ms, real_ok, real = [], 0, sorted((root / "testdata").glob("*.*"))
    real = [p for p in real if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    for path in real:
        result, ms = _ms(read_mrz, load_image(path), ocr)
        real_ms.append(ms)
        real_ok += result is not None and result.valid
    return {"specimens": {"documents": len(spec_ms), "valid": spec_ok,
                          "field_accuracy": round(spec_fields / max(1, spec_total), 3),
                          "ms_median": _median(spec_ms)},
            "real_world": {"documents": len(real), "valid": real_ok, "ms_median": _median(real_ms)}}


def main() -> int:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import cv2

    cv2.setNumThreads(1)
    if not SHARED.is_dir():
        print(f"{SHARED} is absent: the vision benchmark needs the shared datasets", file=sys.stderr)
        return 1
    result = {"date": dt.date.today().isoformat(),
              "machine": f"{platform.machine()} {os.cpu_count()} cores (one used), "
                         f"Python {platform.python_version()}"}
    for name, fn in (("presence", presence), ("faces", faces), ("barcodes", barcodes),
                     ("receipts", receipts), ("mrz", mrz)):
        print(f"running {name} …", file=sys.stderr)
        result[name] = fn()
        print(json.dumps({name: result[name]}, indent=1), file=sys.stderr)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
