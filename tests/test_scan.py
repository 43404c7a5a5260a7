"""`kiosk scan` and `kiosk presence`: a picture or a video in, what it holds and what the kiosk does.

Everything here runs on pictures the tests make (zxing-written codes, OCR-B passports, rendered
receipts, drawn scenes), through the real readers and the command line a technician uses.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import TODAY, shared_dataset
from make_codes import on_paper, photo, symbol
from make_mrz import PEOPLE, render_document, td3_lines
from make_receipts import SPECS, render_receipt
from make_scenes import shop_scene, write_video

from kiosk.cli import main

CONFIG = ["--config", "tests/data/test_config.toml", "--date", TODAY.isoformat()]


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    from conftest import ROOT

    monkeypatch.chdir(ROOT)


def scan(tmp_path, capsys, image: np.ndarray, *extra: str, name: str = "shot.png") -> dict:
    path = tmp_path / name
    cv2.imwrite(str(path), image)
    capsys.readouterr()
    assert main(["scan", str(path), "--json", *CONFIG, *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_order_qr_code_gives_that_orders_status(tmp_path, capsys):
    image = photo(on_paper([symbol("QR", "ORDER:846078")])[0], seed=2)
    out = scan(tmp_path, capsys, image, "--answer")
    assert out["kind"] == "order"
    assert out["codes"][0]["format"] == "QR" and out["codes"][0]["meaning"] == {
        "kind": "order", "value": "846078", "truncated": False}
    assert out["answer"]["intent"] == "order_status" and out["answer"]["card"]["number"] == "846078"
    assert set(out["timings"]) >= {"codes", "total"}


def test_product_barcode_answers_the_price_and_skips_ocr_when_quick(tmp_path, capsys):
    image = on_paper([symbol("EAN-13", "0016609953616")])[0]  # Estwing 20 oz Rip Hammer
    out = scan(tmp_path, capsys, image, "--quick", "--answer")
    assert out["kind"] == "product" and out["codes"][0]["meaning"]["value"] == "0016609953616"
    assert "$32.97" in out["answer"]["text"] and out["answer"]["card"]["sku"] == "TH-1002"
    assert "ocr" not in out["timings"]  # the kiosk's own path: no OCR once the code says it all


def test_passport_mrz_is_read_with_typed_fields(tmp_path, capsys):
    person = PEOPLE["TD3"]
    out = scan(tmp_path, capsys, render_document("TD3", td3_lines(person)), "--answer")
    assert out["kind"] == "id_document"
    mrz = out["mrz"]
    assert mrz["valid"] is True and mrz["format"] == "TD3"
    assert mrz["fields"]["surname"] == person.surname
    assert mrz["fields"]["document_number"] == person.document_number
    assert mrz["fields"]["birth_date"] == "1983-08-12" and mrz["fields"]["expiry_date"] == "2031-02-28"
    assert "valid until February 28, 2031" in out["answer"]["text"]


def test_passport_whose_check_digits_fail_is_unreadable_not_data(tmp_path, capsys):
    lines = td3_lines(PEOPLE["TD3"])
    tampered = [lines[0], lines[1][:13] + ("7" if lines[1][13] != "7" else "6") + lines[1][14:]]  # birth date
    out = scan(tmp_path, capsys, render_document("TD3", tampered), "--answer")
    assert out["kind"] == "id_document"
    assert out["mrz"]["valid"] is False and not out["mrz"]["fields"]
    assert "couldn't read that document" in out["answer"]["text"]


def test_receipt_fields_and_the_return_it_starts(tmp_path, capsys):
    spec = SPECS[1]
    image, truth = render_receipt(spec)
    out = scan(tmp_path, capsys, image, "--answer")
    assert out["kind"] == "receipt"
    receipt = out["receipt"]
    assert receipt["date"] == truth["date"].isoformat() and receipt["total"] == truth["total"]
    assert receipt["receipt_number"] == truth["receipt_number"]
    card = out["answer"]["card"]
    assert out["answer"]["intent"] == "return_item" and card["purchase_date"] == truth["date"].isoformat()
    assert card["receipt"]["total"] == truth["total"]


def test_plain_text_and_blank_pictures(tmp_path, capsys):
    page = np.full((300, 900, 3), 255, np.uint8)
    cv2.putText(page, "PLEASE ASK AT THE DESK", (30, 160), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
    out = scan(tmp_path, capsys, page)
    assert out["kind"] == "text" and "DESK" in out["text"]
    blank = scan(tmp_path, capsys, np.full((480, 640, 3), 200, np.uint8), "--answer", name="blank.png")
    assert blank["kind"] == "nothing" and not blank["codes"] and blank["mrz"] is None
    assert "couldn't find a barcode" in blank["answer"]["text"]


def test_human_readable_scan_output(tmp_path, capsys):
    path = tmp_path / "qr.png"
    cv2.imwrite(str(path), on_paper([symbol("QR", "https://example.com/?a=1")])[0])
    assert main(["scan", str(path), "--quick", *CONFIG]) == 0
    out = capsys.readouterr().out
    assert "found:   code" in out and "QR 'https://example.com/?a=1' → url" in out and "timing:" in out


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"hello", "not an image"),
                                              (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "truncated")])
def test_bad_pictures_get_one_clear_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    assert main(["scan", str(path), *CONFIG]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_presence_on_a_still_scene_reports_nobody(tmp_path, capsys):
    path = write_video(tmp_path / "still.avi", [shop_scene()] * 40)
    capsys.readouterr()
    assert main(["presence", str(path), "--json", *CONFIG]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = lines[-1]["summary"]
    assert summary["frames"] == 40 and summary["frames_with_faces"] == 0
    assert summary["skipped_static"] > 30  # a still scene does not wake the detector
    assert not any(line.get("events") for line in lines[:-1])


def test_presence_needs_a_file_or_the_camera(capsys):
    assert main(["presence", *CONFIG]) == 1
    assert "--camera" in capsys.readouterr().err


@pytest.mark.slow
def test_presence_walk_by_arrives_and_leaves(capsys):
    video = shared_dataset("faces", "opencv_samples", "vtest.avi")
    assert main(["presence", str(video), "--json", *CONFIG]) == 0
    events = [e for line in capsys.readouterr().out.splitlines()
              for e in json.loads(line).get("events", [])]
    names = [e["event"] for e in events]
    assert names[0] == "CustomerArrived" and names[-1] == "CustomerLeft"
    assert events[-1]["dwell_s"] > 10


# -- live scanning: the camera's frames, guidance, one capture -----------------------------------
def test_every_guidance_hint_has_words_for_the_customer():
    import yaml

    from kiosk import paths
    from kiosk.vision import document

    templates = yaml.safe_load((paths.ASSETS_DIR / "responses" / "en.yaml").read_text())["templates"]
    hints = [v for k, v in vars(document).items() if k.startswith("HINT_")]
    assert len(hints) >= 5
    assert all(f"scan_{hint}" in templates for hint in hints)


def test_receipt_slid_in_then_held_still_is_captured_once_and_read(tmp_path, capsys):
    from make_receipts import sequence

    frames = sequence(SPECS[2])
    video = write_video(tmp_path / "receipt.avi", [f for f, _, _ in frames], fps=15.0)
    capsys.readouterr()
    assert main(["scan", str(video), *CONFIG]) == 0
    out = capsys.readouterr().out
    assert "show_document" in out and "hold_still" in out and "captured frame" in out
    captured_at = int(out.split("captured frame ")[1].split()[0])
    assert frames[captured_at][2] == "still"  # never while it was still moving
    assert main(["scan", str(video), "--json", *CONFIG]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["kind"] == "receipt"
    assert result["receipt"]["date"] == SPECS[2].date.isoformat()
    assert result["receipt"]["total"] == SPECS[2].total


def test_order_code_held_up_is_answered_without_waiting_for_a_document(tmp_path, capsys):
    table = np.full((720, 960, 3), 90, np.uint8)
    qr = on_paper([symbol("QR", "846078")])[0]
    frames = [table.copy() for _ in range(4)]
    for x in (100, 110, 118):  # held up, a hand never quite still
        frame = table.copy()
        frame[200:200 + qr.shape[0], x:x + qr.shape[1]] = qr
        frames.append(frame)
    capsys.readouterr()
    assert main(["scan", str(write_video(tmp_path / "qr.avi", frames, fps=15.0)), "--json", *CONFIG]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "order" and out["codes"][0]["meaning"]["value"] == "846078"


def test_live_scan_answers_once_per_item_and_rearms_when_it_is_taken_away():
    from kiosk.vision.live import LiveScan
    from kiosk.vision.scan import Scanner

    live = LiveScan(Scanner(None), codes_hz=10, rearm_s=1.0)
    table = np.full((480, 640, 3), 90, np.uint8)
    shown = table.copy()
    code = on_paper([symbol("EAN-13", "0016609953616")])[0]
    shown[100:100 + code.shape[0], 50:50 + code.shape[1]] = code
    results = [live.feed(shown, t / 10).result for t in range(20)]  # held for 2 s
    assert sum(r is not None for r in results) == 1 and results[0].kind == "product"
    for t in range(20, 35):  # taken away for 1.5 s
        assert live.feed(table, t / 10).result is None
    again = [live.feed(shown, t / 10).result for t in range(35, 40)]
    assert again[0] is not None and again[0].facts().gtin == "0016609953616"


def test_receipt_dates_are_read_in_the_stores_own_order(tmp_path, capsys):
    """The demo store is American: its till prints 11/07/2026 for November 7, not 11 July."""
    import datetime as dt

    from make_receipts import with_spec

    from kiosk.vision.receipt import dates_in

    assert dates_in("11/07/2026", "MDY") == [dt.date(2026, 11, 7)]
    assert dates_in("11/07/2026", "DMY") == [dt.date(2026, 7, 11)]
    assert dates_in("11/28/2026", "DMY") == [dt.date(2026, 11, 28)]  # only one reading exists
    image, _ = render_receipt(with_spec(date=dt.date(2026, 11, 7), date_format="%m/%d/%Y"))
    out = scan(tmp_path, capsys, image, "--answer")
    assert out["receipt"]["date"] == "2026-11-07"
    assert out["answer"]["card"]["purchase_date"] == "2026-11-07" and out["answer"]["card"]["eligible"]
