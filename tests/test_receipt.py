"""Receipt fields: the text rules on their own, then real Tesseract on rendered and photographed
receipts (tests/make_receipts.py) and, where ../shared is present, on the SROIE scans."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from decimal import Decimal

import cv2
import make_receipts as mk
import pytest
from conftest import shared_dataset

from kiosk.vision.receipt import (
    ReceiptItem,
    dates_in,
    find_currency,
    find_date,
    find_items,
    find_receipt_number,
    find_store_name,
    find_total,
    parse_receipt,
    read_receipt,
)


@pytest.fixture(scope="module")
def ocr():
    from kiosk.vision.ocr import Ocr

    return Ocr()


# --- dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("Date: 25/12/2018 8:13:39 PM", dt.date(2018, 12, 25)),
    ("25-12-18 13:58", dt.date(2018, 12, 25)),
    ("2018-12-25", dt.date(2018, 12, 25)),
    ("2018/12/05", dt.date(2018, 12, 5)),
    ("25 Dec 2018", dt.date(2018, 12, 25)),
    ("25-Dec-18", dt.date(2018, 12, 25)),
    ("25th December, 2018", dt.date(2018, 12, 25)),
    ("Dec 25, 2018", dt.date(2018, 12, 25)),
    ("December 5 2018", dt.date(2018, 12, 5)),
    ("25.12.2018", dt.date(2018, 12, 25)),
    ("Friday, 29-12-2017 Time : 20:17", dt.date(2017, 12, 29)),
    ("Date : 2O/12/2O17", dt.date(2017, 12, 20)),  # OCR's letter O for zero
])
def test_date_formats(text, expected):
    assert dates_in(text) == [expected]


def test_day_first_unless_impossible():
    assert dates_in("05/01/2019") == [dt.date(2019, 1, 5)]  # ambiguous: day first
    assert dates_in("12/28/2017") == [dt.date(2017, 12, 28)]  # 28 cannot be a month
    assert dates_in("13/13/2017") == []  # neither reading exists
    assert dates_in("31/04/2019") == []  # no 31 April, and no month 31
    assert dates_in("25/12/1899") == [] and dates_in("25/12/2150") == []  # not a receipt's year


def test_not_dates():
    for text in ("TEL: 03-3271 9872", "HCO3-7 - 15", "35.5x25.5CM", "1.50 2.60 3.70", "12:30:45",
                 "GST No. 000584089600"):
        assert dates_in(text) == [], text


def test_date_on_a_date_line_wins():
    lines = ["Printed 01/01/2019", "Bill Date: 20/12/2017", "Closed 21/12/2017"]
    assert find_date(lines) == dt.date(2017, 12, 20)
    assert find_date(["Printed 01/01/2019", "Closed 21/12/2017"]) == dt.date(2019, 1, 1)


# --- totals --------------------------------------------------------------------------------------

def total(*lines: str) -> str | None:
    value = find_total(list(lines))
    return None if value is None else f"{value:.2f}"


def test_total_not_subtotal_tax_or_quantity():
    assert total("Total Qty: 3", "Subtotal 10.00", "Tax 6% 0.60", "TOTAL 10.60", "Cash 20.00",
                 "Change 9.40") == "10.60"
    assert total("Item 1 4.00", "Total Items: 2", "Sub-Total 8.00", "Total Tax 0.48", "Total 8.48") == "8.48"
    assert total("TOTAL GST 1.56", "Total Qty. : 1 26.00", "TOTAL 27.55") == "27.55"


def test_currency_and_comma_decimals():
    assert total("TOTAL RM 12.50") == "12.50"
    assert total("Total EUR 12,50") == "12.50"
    assert total("Grand Total $1,234.50") == "1234.50"
    assert total("Summe total 1.234,50") == "1234.50"
    assert total("TOTAL RM 33, 92") == "33.92"  # OCR put a space after the comma


def test_strong_labels_beat_a_plain_total():
    assert total("Total 112.47", "Rounding -0.02", "Rounded Total 112.45") == "112.45"
    assert total("Total 9.00", "Grand Total 9.54") == "9.54"
    assert total("Total Excl. GST 15.00", "Total Incl. 6% GST 15.90") == "15.90"
    assert total("Total Sales (Excluding GST) 51.42", "Total Sales (Inclusive of GST) 54.50") == "54.50"
    assert total("Amount Due 7.20") == "7.20"


def test_arithmetic_settles_a_misread_total():
    # The TOTAL line misread (5 -> 6): subtotal + tax + rounding and cash - change agree on 112.45.
    lines = ("Sub Total (RM) 106.10", "Total GST (RM) 6.37", "Rounding (RM) -0.02", "Total (RM): 112.46",
             "CASH 120.00", "Change (RM) 7.55")
    assert total(*lines) == "112.45"


def test_total_hidden_by_a_stamp_comes_from_subtotal_and_tax():
    assert total("SUB-TOTAL (EX) 52.00", "TOTAL TAX 3.12", "ROUNDING -0.02", "TOTAL ~ PAID ~",
                 "CHANGE 0.00") == "55.10"


def test_rounding_sign_lost_by_ocr():
    # "-0.01" read as "0.01": cash rounding always lands on a multiple of 5 cents.
    assert total("TOTAL AMT 60.31", "ROUNDING ADJ 0.01", "CASH 70.30", "CHANGE 10.00") == "60.30"


def test_total_falls_back_to_cash_minus_change_then_the_largest_amount():
    assert total("Widget 4.00", "Gadget 6.50", "CASH 20.00", "CHANGE 9.50") == "10.50"
    assert total("Coffee 3.20", "Cake 4.10", "Water 1.00") == "4.10"
    assert total("no amounts here") is None


# --- other fields --------------------------------------------------------------------------------

@pytest.mark.parametrize("line,expected", [
    ("Receipt No: R-204871", "R-204871"), ("Invoice # INV-55213", "INV-55213"),
    ("Order No. 71045", "71045"), ("Bill No: B7-0932", "B7-0932"),
    ("Document No : TD01167104", "TD01167104"), ("Receipt #: CS00082552", "CS00082552"),
    ("Doc No. : CS1801/26821 Date: 17/01/2018", "CS1801/26821"),
])
def test_receipt_numbers(line, expected):
    assert find_receipt_number(["SHOP", line]) == expected


def test_no_receipt_number_without_digits_or_label():
    assert find_receipt_number(["SIMPLIFIED TAX INVOICE", "CASH BILL", "Tel 0161 555 0192"]) is None
    assert find_receipt_number(["Bill Date: 20/12/2017"]) is None


@pytest.mark.parametrize("lines,expected", [
    (["tan woon yann", "BOOK TA .K (TAMAN DAYA) SDN BHD", "789417-W", "NO.53 55,57 & 59, JALAN SAGU 18,"],
     "BOOK TA .K (TAMAN DAYA) SDN BHD"),
    (["AIK HUAT HARDWARE", "ENTERPRISE (SETIA", "ALAM) SDN BHD", "822737-X", "NO. 17-G, JALAN SETIA"],
     "AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM) SDN BHD"),
    (["HOME MASTER HARDWARE &", "ELECTRICAL", "NO.113G & 115G, JALAN SETIA"],
     "HOME MASTER HARDWARE & ELECTRICAL"),
    (["~~~", "Blue Kettle Cafe", "3 Station Square"], "Blue Kettle Cafe"),
    (["12 Harbour Road", "Tel: 0161 555 0192"], None),
])
def test_store_names(lines, expected):
    assert find_store_name(lines) == expected


def test_currency():
    assert find_currency(["TOTAL RM 12.50"]) == "MYR"
    assert find_currency(["Total EUR 3.00"]) == "EUR" and find_currency(["Total € 3.00"]) == "EUR"
    assert find_currency(["TOTAL £4.20"]) == "GBP" and find_currency(["TOTAL S$ 4.20"]) == "SGD"
    assert find_currency(["Total $ 9.99"]) == "$"  # which dollar depends on the store's country
    assert find_currency(["Total 9.99"]) is None


def test_items():
    lines = ["SHOP", "Date: 01/02/2019", "2 x Whole Milk 2L 3.98", "Bananas 1.44", "Plastic 2 15.50 31.00",
             "Subtotal 36.42", "Tax 0.00", "TOTAL 36.42", "Thank you 2.00"]
    assert find_items(lines) == (ReceiptItem("Whole Milk 2L", 2, "3.98"),
                                 ReceiptItem("Bananas", None, "1.44"), ReceiptItem("Plastic", 2, "31.00"))


def test_parse_receipt_and_json():
    fields = parse_receipt("CORNER FRESH MART\nInvoice # INV-55213\nDate: 07 Mar 2019\n"
                           "1 x Brown Bread 1.85\nGRAND TOTAL $ 1.85\n")
    out = json.loads(json.dumps(fields.as_dict()))
    assert out["date"] == "2019-03-07" and out["total"] == "1.85" and out["store_name"] == "CORNER FRESH MART"
    assert out["items"] == [{"description": "Brown Bread", "qty": 1, "amount": "1.85"}]
    with pytest.raises(AttributeError):
        fields.total = "0.00"  # type: ignore[misc]


# --- real OCR on self-made receipts -----------------------------------------------------------------

def item_hits(found, truth) -> int:
    return sum(1 for item in found if (item.description, item.qty, item.amount) in truth)


@pytest.mark.parametrize("spec", mk.SPECS, ids=lambda s: s.store_name)
def test_rendered_receipt_every_field(spec, ocr):
    image, truth = mk.render_receipt(spec)
    result = read_receipt(image, ocr)
    f = result.fields
    assert (f.store_name, f.receipt_number, f.date, f.total) == \
        (truth["store_name"], truth["receipt_number"], truth["date"], truth["total"])
    assert item_hits(f.items, truth["items"]) >= len(truth["items"]) - 1  # most items, exactly
    assert Decimal(truth["total"]) > 0 and result.confidence > 70


@pytest.mark.parametrize("spec", mk.SPECS, ids=lambda s: s.store_name)
@pytest.mark.parametrize("kind", ["good", "tilted", "small"])
def test_photographed_receipt_date_and_total(spec, kind, ocr):
    shot = getattr(mk, kind)(spec, seed=mk.SPECS.index(spec))
    result = read_receipt(shot.image, ocr)
    assert result.quad is not None
    assert result.fields.date == spec.date and result.fields.total == spec.total


def test_photographed_receipt_currency_and_store(ocr):
    spec = mk.SPECS[2]
    fields = read_receipt(mk.good(spec).image, ocr).fields
    assert fields.currency == "EUR" and fields.store_name == spec.store_name
    assert fields.receipt_number == spec.receipt_number


def test_a_table_with_no_receipt_reads_as_nothing(ocr):
    fields = read_receipt(mk.plain_background(), ocr).fields
    assert fields.total is None and fields.date is None


# --- SROIE ---------------------------------------------------------------------------------------

def _same_company(found: str | None, truth: str) -> bool:
    from rapidfuzz import fuzz

    def norm(s: str) -> str:
        return " ".join(s.lower().split())

    return fuzz.ratio(norm(found or ""), norm(truth)) >= 80


@pytest.mark.slow
def test_sroie_receipts(ocr):
    """25 scanned shop receipts (ICDAR 2019 SROIE): date and total must each be right on at least
    80 % (the product target); measured at this commit: date 22, total 22, company 24 of 25."""
    root = shared_dataset("receipts", "sroie")
    names = sorted(p.stem for p in (root / "img").glob("*.jpg"))
    assert len(names) == 25
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # time as on one core (Tesseract itself runs single-threaded here)
    right = {"date": 0, "total": 0, "company": 0}
    times = []
    try:
        for name in names:
            key = json.loads((root / "key" / f"{name}.json").read_text())
            image = cv2.imread(str(root / "img" / f"{name}.jpg"))
            start = time.process_time()
            f = read_receipt(image, ocr).fields
            times.append((time.process_time() - start) * 1000)
            right["date"] += f.date is not None and f.date == dates_in(key["date"])[0]
            right["total"] += f.total is not None and Decimal(f.total) == Decimal(key["total"])
            right["company"] += _same_company(f.store_name, key["company"])
    finally:
        cv2.setNumThreads(threads)
    print(f"\nSROIE: {right} of {len(names)}; median {statistics.median(times):.0f} ms CPU per receipt")
    assert right["date"] >= 0.8 * len(names)
    assert right["total"] >= 0.8 * len(names)
    assert right["company"] >= 0.8 * len(names)
