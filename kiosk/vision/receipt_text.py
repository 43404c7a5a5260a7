"""Receipt fields from OCR text: store, receipt number, date, total, currency and items.

Plain text rules (no model), so each decision can be read and tested; `kiosk.vision.receipt`
turns a photo into the text these rules read.

Date rule: numeric dates are read in the store's order, `date_order` "DMY" (25/12/2018, 05-01-19
is 5 January, as printed in most of the world; the default) or "MDY" (a US till: 03/07/2026 is
March 7); the other order only when the preferred one is impossible (12/28/2017 under DMY). Year-first
(2018-12-25) is always year-month-day; two-digit years are 20yy; years outside 2000-2099 are
rejected as misreads. The date on a line mentioning "date" wins, else the first date printed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from kiosk.vision.ocr import OcrResult


class ReceiptItem(NamedTuple):
    description: str
    qty: int | None
    amount: str  # normalised "12.50"


@dataclass(frozen=True)
class ReceiptFields:
    store_name: str | None
    receipt_number: str | None
    date: dt.date | None
    total: str | None  # normalised decimal string, e.g. "12.50"
    currency: str | None  # ISO 4217 code, or "$" when only a bare dollar sign is printed
    items: tuple[ReceiptItem, ...]
    text: str

    def as_dict(self) -> dict:
        return {
            "store_name": self.store_name, "receipt_number": self.receipt_number,
            "date": self.date.isoformat() if self.date else None, "total": self.total,
            "currency": self.currency,
            "items": [i._asdict() for i in self.items],
            "text": self.text,
        }


# ---------------------------------------------------------------------------------------------
# Amounts


# 1,234.50 / 1.234,50 / 12.50 / 12,50, and OCR's "33, 92" or "68. 87" (a space after the point).
_AMOUNT = re.compile(
    r"(?<![\d.,])(?P<neg>-)?\s?(?:(?P<int>\d{1,3}(?:,\d{3})+)\.(?P<dec>\d{2})"
    r"|(?P<int2>\d{1,3}(?:\.\d{3})+),(?P<dec2>\d{2})"
    r"|(?P<int3>\d{1,6})\s?[.,]\s?(?P<dec3>\d{2}))(?![\d%]|[.,]\d)")
# OCR reads digits as look-alike letters; fixed only inside tokens that are mostly digits already.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1",
                                   "|": "1", "S": "5", "B": "8", "Z": "2"})


def _fix_digits(line: str) -> str:
    def fix(m: re.Match[str]) -> str:
        token = m.group(0)
        digits = sum(c.isdigit() for c in token)
        letters = sum(c.isalpha() or c == "|" for c in token)
        return token.translate(_DIGIT_LOOKALIKES) if digits >= 2 and letters <= max(1, digits // 2) else token
    return re.sub(r"(?<![A-Za-z])[0-9OoDQIl|SBZ.,/\-]{3,}(?![A-Za-z])", fix, line)


def amounts(line: str) -> list[Decimal]:
    """Every money amount printed on a line, left to right (two decimals required)."""
    found = []
    for m in _AMOUNT.finditer(_fix_digits(line)):
        whole = (m["int"] or m["int2"] or m["int3"]).replace(",", "").replace(".", "")
        cents = m["dec"] or m["dec2"] or m["dec3"]
        try:
            value = Decimal(f"{whole}.{cents}")
        except InvalidOperation:
            continue
        found.append(-value if m["neg"] else value)
    return found


# ---------------------------------------------------------------------------------------------
# Total

# OCR spells it "T0TAL", "Tatal", "TOTAI", "otal" (first letter lost) or "TOTA".
_TOTAL_WORD = re.compile(r"(?<![a-z])(?:t[o0a]ta[l1i|]|[o0]tal(?=\b)|tota(?=\b))")
# "Total" lines that are not the amount paid.
_NOT_TOTAL = re.compile(
    r"sub|qty|quant|item|count|disc|saving|point|excl|exclusive|before|no\.\s*of|weight|\bpcs\b")
_TAX_WORD = re.compile(r"(?:\b|total)(?:tax|gst|vat|sst)\b")
_INCLUSIVE = re.compile(r"\bincl|\binc\b|clusive|including|\bwith\b")  # "exclusive" is out already
# Wording that names the final amount outright; beats a plain "total".
_STRONG_TOTAL = re.compile(
    r"grand\s*total|round(?:ed|ing)?\s*total|total\s*round|nett?\s*total|amount\s*(?:due|payable)"
    r"|total\s*(?:due|payable|amount|amt|sales)|balance\s*due|total\s*incl|total\s*\(?inclusive")
_DUE = re.compile(r"amount\s*(?:due|payable)|balance\s*due|to\s*pay\b")
_CASH = re.compile(r"\bcash\b|tender|paid|payment|\bcard\b|visa|master")
_CHANGE = re.compile(r"change|\bbal(?:ance)?\b")


def _total_rank(low: str) -> int:
    """2: names the final amount, 1: a plain total, 0: not a total line."""
    if _DUE.search(low):
        return 2
    if not _TOTAL_WORD.search(low) or _NOT_TOTAL.search(low):
        return 0
    if _TAX_WORD.search(low) and not _INCLUSIVE.search(low):
        return 0  # "Total tax", "Total GST": the tax, not the total
    return 2 if _STRONG_TOTAL.search(low) else 1


def _line_amount(lines: list[str], i: int) -> Decimal | None:
    """The amount on line i (the right-most), or on the next line when the label stands alone."""
    found = amounts(lines[i])
    if found:
        return found[-1]
    if i + 1 < len(lines) and not re.search(r"[a-z]{3,}", lines[i + 1].lower()):
        nxt = amounts(lines[i + 1])
        if nxt:
            return nxt[-1]
    return None


_SUBTOTAL = re.compile(
    r"sub\s*-?\s*t[o0a]ta|t[o0a]tal\s*(?:sales\s*)?\(?\s*excl|excl\w*\s*(?:gst|tax|vat)\)?\s*sub")
# "Rounding", "Rounding Adj", OCR's "Reunding"; not "Rounded Total" (that is the total itself).
_NOT_TAX = re.compile(r"incl|excl|summary|%\s*$")  # a total with tax, a tax table, a rate
_ROUNDING = re.compile(r"\br[oe0]u?nd(?:ing|lng)?\b(?!\s*(?:ed\s*)?total)|\badj(?:ustment)?\b")


def _first(lines: list[str], pattern: re.Pattern[str], start: int = 0,
           reject: re.Pattern[str] | None = None) -> tuple[int, Decimal] | None:
    """(line index, right-most amount) of the first line from `start` matching `pattern`."""
    for i in range(start, len(lines)):
        low = lines[i].lower()
        if pattern.search(low) and not (reject and reject.search(low)):
            found = amounts(lines[i])
            if found:
                return i, found[-1]
    return None


def _cash_rounded(value: Decimal, adjustment: Decimal) -> Decimal | None:
    """`value` moved by the rounding adjustment, whichever sign gives a whole 5 cents (OCR often
    drops the minus; cash rounding always lands on a multiple of 0.05)."""
    for sign in ((-1, 1) if adjustment < 0 else (1, -1)):
        out = value + sign * abs(adjustment)
        if out > 0 and out % Decimal("0.05") == 0:
            return out
    return None


def find_total(lines: list[str]) -> Decimal | None:
    return total_and_score(lines)[0]


def total_and_score(lines: list[str]) -> tuple[Decimal | None, float]:
    """The amount paid and how sure the rules are of it. Every reading is scored and the best wins:
    5-6  a labelled total that another reading confirms (subtotal + tax (+ rounding), an earlier
         total +/- rounding, or cash - change): two independent readings agreeing beat any label;
    4    an earlier total +/- a rounding printed after it (the rounded line itself unreadable);
    2    a total with an unmistakable label (Grand Total, Rounded Total, Amount Due, Total incl.);
    1    a plain "Total" (several: the largest, e.g. before rounding vs. a tax summary's total);
    0.8  subtotal + tax (+ rounding), not more than the cash handed over: the TOTAL line is often
         the one a "PAID" stamp or a fold hides (but two numbers are twice as likely misread);
    0.5  cash handed over minus change, or a total after a rounding line that is not a whole
         5 cents (cash rounding never leaves one: it was misread);
    then the largest amount in the lower part of the receipt."""
    labelled: list[tuple[int, Decimal, int]] = []  # rank, amount, line index
    for i, line in enumerate(lines):
        rank = _total_rank(line.lower())
        value = _line_amount(lines, i) if rank else None
        if value is not None and value > 0:
            labelled.append((rank, value, i))
    sub = _first(lines, _SUBTOTAL)
    tax = _first(lines, _TAX_WORD, sub[0] + 1 if sub else 0, reject=_NOT_TAX)
    rounding = _first(lines, _ROUNDING)
    cash = _first(lines, _CASH, reject=_TOTAL_WORD)
    change = _first(lines, _CHANGE, cash[0] + 1 if cash else len(lines), reject=_TOTAL_WORD)
    adjust = rounding[1] if rounding and 0 < abs(rounding[1]) < 1 else None
    has_rounding = rounding is not None or any(_ROUNDING.search(ln.lower()) for ln in lines)
    paid = cash[1] - change[1] if cash and change and cash[1] > change[1] >= 0 else None
    ceiling = cash[1] if cash else None
    summed: Decimal | None = None
    if sub and tax and tax[1] < sub[1]:
        summed = sub[1] + tax[1]
        if adjust is not None:
            summed = _cash_rounded(summed, adjust) or summed
        elif has_rounding:  # a rounding line whose amount is unreadable: cash rounds to 5 cents
            summed = (summed / Decimal("0.05")).quantize(Decimal(1)) * Decimal("0.05")
        if ceiling is not None and summed > ceiling:
            summed = None  # a misread subtotal: nobody pays less cash than the total
    derived: list[tuple[Decimal, int]] = []  # value, line it came from (-1: not a labelled total)
    # The unrounded sum confirms a total printed before rounding, so only when nothing was rounded.
    unrounded = sub[1] + tax[1] if sub and tax and not adjust else None
    derived += [(v, -1) for v in (summed, paid, unrounded) if v]
    rounded: list[Decimal] = []
    if adjust is not None:
        for _, value, i in labelled:
            moved = _cash_rounded(value, adjust) if i < rounding[0] else None
            if moved is not None:
                derived.append((moved, i))
                rounded.append(moved)
    scores: dict[Decimal, float] = {}

    def score(value: Decimal, points: float) -> None:
        scores[value] = max(scores.get(value, 0.0), points)

    for rank, value, i in labelled:
        agree = any(v == value and src != i for v, src in derived)
        # After a rounding line the amount paid is a whole 5 cents: "112.46" there is a misread.
        misread = rounding is not None and i > rounding[0] and value % Decimal("0.05") != 0
        score(value, 4 + rank if agree else 0.5 if misread else 2 if rank == 2 else 1)
    for value in rounded:
        score(value, 4)
    if summed is not None:
        score(summed, 0.8)
    if paid is not None:
        score(paid, 0.5)
    if scores:
        top = max(scores.values())
        return max(v for v, p in scores.items() if p == top), top
    # No total printed or readable: the largest amount in the lower part of the receipt, skipping
    # what was handed over (cash is often more than the total).
    tail = [a for line in lines[len(lines) // 3:] if not _CASH.search(line.lower())
            for a in amounts(line) if a > 0]
    return (max(tail), 0.1) if tail else (None, 0.0)


# ---------------------------------------------------------------------------------------------
# Date

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s?[-/.]\s?(?P<m>\d{1,2})\s?[-/.]\s?(?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?<![\w.])(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
               r"(?![\d:])"),
    # OCR sometimes spaces the parts out; only trusted with a four-digit year then.
    re.compile(r"(?<![\w.])(?P<a>\d{1,2})\s?(?P<sep>[-/.])\s?(?P<b>\d{1,2})\s?(?P=sep)\s?"
               r"(?P<y>20\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*" + _MON
               + r"[\s\-/.,]*(?P<y>\d{4}|\d{2})(?!\d)"),
    re.compile(_MON + r"[\s\-/.]*(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s,.]+(?P<y>\d{4})(?!\d)"),
)


def _valid(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d) if 2000 <= y <= 2099 else None
    except ValueError:
        return None


def dates_in(line: str, date_order: str = "DMY") -> list[dt.date]:
    low = _fix_digits(line).lower()
    found: list[tuple[int, int, dt.date]] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(low):
            g = m.groupdict()
            y = int(g["y"]) + (2000 if len(g["y"]) == 2 else 0)
            if g.get("mon"):
                date = _valid(y, _MONTHS.index(g["mon"]) + 1, int(g["d"]))
            elif g.get("a"):
                a, b = int(g["a"]), int(g["b"])
                first, second = (_valid(y, b, a), _valid(y, a, b)) if date_order == "DMY" \
                    else (_valid(y, a, b), _valid(y, b, a))
                date = first or second  # the store's order unless it is impossible
            else:
                date = _valid(y, int(g["m"]), int(g["d"]))
            if date:
                found.append((m.start(), m.end(), date))
    out, end = [], -1
    for start, stop, date in sorted(found, key=lambda x: x[0]):
        if start >= end:  # one date per span: the patterns overlap
            out.append(date)
            end = stop
    return out


def find_date(lines: list[str], date_order: str = "DMY") -> dt.date | None:
    first = None
    for line in lines:
        found = dates_in(line, date_order)
        if found and re.search(r"dat[ea]|tarikh", line.lower()):
            return found[0]
        if found and first is None:
            first = found[0]
    return first


# ---------------------------------------------------------------------------------------------
# Receipt number, store name, currency, items

_NUMBER = re.compile(
    r"(?:receipt|rcpt|invoice|inv|bill|doc(?:ument)?|order|trans(?:action)?|txn|ticket|slip|ref)"
    r"\s*(?:no\b\.?|n[o0]\.|number|num\b|#|id\b|[hn][o0]\b)?\s*[:#.]?\s*"
    r"(?P<value>[A-Z0-9][A-Z0-9\-/]*\d[A-Z0-9\-/]*)", re.IGNORECASE)


def find_receipt_number(lines: list[str]) -> str | None:
    for line in lines:
        for m in _NUMBER.finditer(line):
            value = m["value"].strip("-/")
            if len(value) >= 3 and not dates_in(value):
                return value
    return None


# Words that make a line an address, a contact or a registration, not the shop's name.
_NOT_NAME = re.compile(
    r"\b(?:jalan|jln|lot|no\b|tel|fax|phone|gst|vat|reg|roc|road|rd\b|street|st\b|avenue|ave|lane"
    r"|taman|tmn|bandar|unit|floor|level|www|http|email|open|invoice|receipt|tax|cash|bill|date"
    r"|time|cashier|\d{3})", re.IGNORECASE)
COMPANY_MARK = re.compile(
    r"\b(?:s[do0]n\.?\s*bhd|bhd|enterprise|trading|ltd|llc|inc|co\b|company|mart|market|store|shop"
    r"|restoran|restaurant|cafe|hardware|pharmacy|stationery|books|motor|gallery|petro|bakery"
    r"|supermarket|kedai|perniagaan)", re.IGNORECASE)
_LEGAL_END = re.compile(r"\b(?:s[do0]n\.?\s*bhd|bhd|ltd|limited|inc|llc|plc|co|gmbh)\W*$", re.IGNORECASE)


def _looks_like_name(line: str) -> bool:
    letters = sum(c.isalpha() for c in line)
    if letters < 3 or letters < 0.5 * len(line.replace(" ", "")):
        return False
    # Shop names are printed in capitals (or title case); a lower-case scribble is not one.
    return sum(c.isupper() for c in line) >= 0.6 * letters or line.istitle()


def _name_part(line: str) -> bool:
    return _looks_like_name(line) and not _NOT_NAME.search(line)


def _clean_caps(line: str) -> bool:
    """Capitals and little else: safe to take as the first half of a name split over lines."""
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and len(letters) >= 0.8 * len(line.replace(" ", "")) \
        and sum(c.isupper() for c in letters) >= 0.9 * len(letters) and not _NOT_NAME.search(line)


def find_store_name(lines: list[str]) -> str | None:
    """The shop's name from the first lines: the first with a company word (SDN BHD, TRADING,
    MART...), else the first that looks like a name and not like an address, phone or registration.
    Names printed over two or three lines are joined: a line of clean capitals just above is
    prepended; a line ending in "&" takes the next, and so does one not yet ending in a legal form
    when the next does ("ENTERPRISE (SETIA" + "ALAM) SDN BHD")."""
    head = [ln.strip() for ln in lines[:8]]
    marked = [i for i, ln in enumerate(head) if COMPANY_MARK.search(ln) and _looks_like_name(ln)
              and not re.search(r"\d{3}", ln) and sum(c.isalpha() for c in ln) >= 6]
    plain = [i for i, ln in enumerate(head) if _name_part(ln)]
    if not marked and not plain:
        return None
    first = last = marked[0] if marked else plain[0]
    if first > 0 and _clean_caps(head[first - 1]) and not _LEGAL_END.search(head[first - 1]):
        first -= 1
    if re.search(r"(?:&|\band)\s*$", head[last], re.IGNORECASE) and last + 1 < len(head) \
            and _name_part(head[last + 1]):
        last += 1
    for j in (last + 1, last + 2):  # the legal form ends the name within two more lines
        if not _LEGAL_END.search(head[last]) and j < len(head) and _LEGAL_END.search(head[j]) \
                and all(_name_part(ln) for ln in head[last + 1:j + 1]):
            last = j
            break
    name = " ".join(head[first:last + 1])
    return re.sub(r"\s+", " ", name).strip(" .,:;-_~'\"‘’“”|©®") or None


_CURRENCIES = (
    (re.compile(r"\bRM\b|\bMYR\b"), "MYR"), (re.compile(r"€|\bEUR\b"), "EUR"),
    (re.compile(r"£|\bGBP\b"), "GBP"), (re.compile(r"\bS\$|\bSGD\b"), "SGD"),
    (re.compile(r"\bUS\$|\bUSD\b"), "USD"), (re.compile(r"(?<![A-Z])\$"), "$"),
)


def find_currency(lines: list[str]) -> str | None:
    """The currency printed most often; a bare "$" stays "$" (which dollar is the store's call)."""
    text = "\n".join(lines)
    counts = [(len(p.findall(text)), -rank, code) for rank, (p, code) in enumerate(_CURRENCIES)]
    best = max(counts)
    return best[2] if best[0] else None


_ITEM = re.compile(
    r"^(?:(?P<q1>\d{1,3})\s*[xX×*@]{1,2}\s+)?(?P<desc>.*?[A-Za-z]{2,}.*?)"
    r"(?:\s+(?P<q2>\d{1,3})\s*[xX*]?)?(?:\s+@?\s*\d+[.,]\d{2})?\s+(?:RM|\$|€|£)?\s*(?P<amt>\S+)"
    r"\s*[A-Z*]?$")
_NOT_ITEM = re.compile(
    r"total|tax|gst|vat|cash|change|round|disc|tender|paid|balance|date|time|tel\b|fax|amount"
    r"|invoice|receipt|qty|card|visa|points|saving|service", re.IGNORECASE)


def find_items(lines: list[str]) -> tuple[ReceiptItem, ...]:
    """Lines between the header and the first total that end in an amount and have a description."""
    items = []
    for line in lines:
        low = line.lower()
        if _TOTAL_WORD.search(low) and items:
            break  # the items are over
        if _NOT_ITEM.search(line):
            continue
        m = _ITEM.match(line.strip())
        if not m or not amounts(m["amt"]):
            continue
        desc = m["desc"].strip(" .:-*")
        qty = m["q1"] or m["q2"]
        if sum(c.isalpha() for c in desc) >= 3:
            items.append(ReceiptItem(desc, int(qty) if qty else None, f"{amounts(m['amt'])[-1]:.2f}"))
    return tuple(items)


def parse_receipt(source: OcrResult | list[str] | str, *, date_order: str = "DMY") -> ReceiptFields:
    """Receipt fields from OCR output, a list of lines or plain text; `date_order` "DMY" or "MDY"."""
    text = source.text if isinstance(source, OcrResult) else source if isinstance(source, str) \
        else "\n".join(source)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    total = find_total(lines)
    return ReceiptFields(
        store_name=find_store_name(lines), receipt_number=find_receipt_number(lines),
        date=find_date(lines, date_order), total=None if total is None else f"{total:.2f}",
        currency=find_currency(lines), items=find_items(lines), text=text)
