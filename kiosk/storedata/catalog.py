"""The product catalogue: CSV import into SQLite, exact lookups and fuzzy product matching.

Lookups by SKU and barcode go through an in-memory SQLite table (parameterised SQL only, so a
customer's words can never become SQL). Fuzzy matching runs over a token index built from each
product's name and aliases.

How matching scores (0..100): texts are lower-cased, split into words, lightly de-pluralised
("batteries" -> "battery") and stripped of filler. Each query word is aligned with the words of a
product name or alias by ``rapidfuzz.fuzz.ratio`` (>= 80 counts, so "cordles dril" still finds
"cordless drill"). We use this per-word alignment rather than whole-string scorers because:
``partial_ratio`` finds substrings inside unrelated words ("order" in "border"); ``WRatio`` and
``token_set_ratio`` return 100 as soon as one side's words are a subset of the other's, so a long
utterance sharing one generic word with a long product name scores like an exact hit; and neither
lets us demand exact matches for short or numeric words, where one letter changes the product
("AA" vs "AAA", "9V"). Two coverages are combined: how much of the query the text explains
(``forward``: "drill" is fully explained by "DeWalt ... Cordless Drill") and how much of the text the
query said (``reverse``: the alias "aa batteries" is fully said in "where are the aa batteries for my
remote"). score = 100 * (0.7 * max + 0.3 * min), so one full coverage makes a strong match and the
other direction ranks near-ties. Words are weighted by length (min 4) so "aa" still counts.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from kiosk.gtin import is_valid_gtin
from kiosk.storedata.profile import StoreDataError

__all__ = ["Catalog", "CatalogError", "Product", "ProductMatch", "ean13_is_valid", "CSV_COLUMNS"]

CSV_COLUMNS: tuple[str, ...] = ("sku", "name", "aliases", "department", "aisle", "price", "stock", "ean")

# Tuned on the demo catalogue (see tests/test_storedata.py): below ~70 the matches are one shared
# generic word; within 10 points of the best match products fit the utterance about equally.
MATCH_THRESHOLD = 70.0
AMBIGUITY_WINDOW = 10.0
_TOKEN_CUTOFF = 80.0  # fuzz.ratio for a typo to count as the same word ("batterys"/"battery": 82)

# Words that never identify a product, dropped from product texts and all queries.
_FILLER = frozenset(
    "a an the and or of for to in on at by with from into my your our me i you we us it its this "
    "that these those some any is are am be been was were do does did can could would will shall "
    "should may might please pls thanks thank hi hello hey yes yeah no not just also very really so "
    "too there here one ones thing things stuff kind sort type something anything item items "
    "product products pack pk piece pieces pc count ct oz lb qt gal ft sq cu mm cm inch inches "
    "yd ml x".split()
)
# Words of the request around the product name ("where can I find ..., how much is ...").
_REQUEST_WORDS = frozenset(
    "where wheres what whats when which who whos how hows why find finding found look looking "
    "locate located location get getting got buy buying purchase need needs needed want wants "
    "wanted like love have has having sell sells selling sold stock stocked carry carries show tell "
    "know see much many cost costs price prices priced cheap cheapest expensive aisle aisles store "
    "shop section department available availability im id ive dont cant youre theyre thats lets "
    "ok okay sorry excuse um uh hmm time times open opening opens close closing closes closed hour "
    "hours today tonight tomorrow now day days week weekend monday tuesday wednesday thursday "
    "friday saturday sunday help speak talk someone somebody anyone person people staff member team "
    "assistant human manager employee real order orders ordered number track tracking status "
    "collect collected collection pick pickup picked ready return returning returns refund "
    "exchange receipt complaint complain feedback password good great morning afternoon evening "
    "bye goodbye again more other another still go going come coming way place about around "
    "somewhere take bring use make doing sale deal deals offer offers discount promotion loyalty "
    "points reward rewards deliver delivery recycle recycling weather pay paying call new keep kept "
    "charge year eve".split()
)
# Words that, when they are all that is left, ask about a place, area or date rather than a
# product: "where are the toilets" must not offer toilet seats, "open on Christmas?" no tree.
_NOT_A_PRODUCT_ALONE = frozenset(
    "toilet restroom bathroom loo washroom wifi internet parking park car exit entrance door cafe "
    "checkout till register counter desk service customer elevator lift stair garden kitchen "
    "electrical plumbing lighting hardware tool outdoor cleaning laundry storage organisation "
    "organization electronic pet stationery craft seasonal gift decorating centre center area "
    "key christmas xmas thanksgiving easter halloween holiday".split()
)
_IRREGULAR_PLURALS = {"knives": "knife", "shelves": "shelf", "leaves": "leaf", "feet": "foot", "mice": "mouse"}
_PHRASES = {("double", "a"): "aa", ("triple", "a"): "aaa", ("wi", "fi"): "wifi"}
# "60 watt" and "60W", "9 volt" and "9V" are the same thing to a customer.
_UNIT_SUFFIXES = {"watt": "w", "watts": "w", "w": "w", "volt": "v", "volts": "v", "v": "v"}
_WORD = re.compile(r"[a-z0-9]+")
_PRICE = re.compile(r"^(\d{1,7})\.(\d{2})$")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CatalogError(StoreDataError):
    """The catalogue CSV is missing or invalid; the message names file, line and column."""


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    aliases: tuple[str, ...]
    department: str
    aisle: str
    price_cents: int
    stock: int
    ean: str

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class ProductMatch:
    product: Product
    score: float  # 0..100
    matched_text: str  # the name or alias that matched best


def ean13_is_valid(code: str) -> bool:
    """True for 13 digits whose last digit is the EAN-13 check digit of the first 12."""
    return len(code) == 13 and is_valid_gtin(code)


def _stem(word: str) -> str:
    """Crude singular form, applied to queries and catalogue alike, so only consistency matters."""
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "as")):
        return word[:-1]
    return word


def _words(text: str, drop: frozenset[str] = _FILLER) -> list[str]:
    """Lower-cased, de-pluralised content words of ``text``, without duplicates."""
    raw = _WORD.findall(text.lower().replace("'", "").replace("\u2019", ""))
    merged: list[str] = []
    index = 0
    while index < len(raw):
        pair = tuple(raw[index : index + 2])
        if pair in _PHRASES:
            merged.append(_PHRASES[pair])  # type: ignore[index]
            index += 2
        elif len(pair) == 2 and pair[0].isdigit() and pair[1] in _UNIT_SUFFIXES:
            merged.append(pair[0] + _UNIT_SUFFIXES[pair[1]])
            index += 2
        else:
            merged.append(raw[index])
            index += 1
    result: list[str] = []
    for word in merged:
        stem = _stem(word)
        if word in drop or stem in drop or stem in result:
            continue
        result.append(stem)
    return result


def _weight(word: str) -> float:
    # Length-weighted so "screwdriver" outweighs "set", but short codes ("aa", "9v") still count.
    return 2.0 if word.isdigit() else float(max(len(word), 4))


@dataclass(frozen=True)
class _Text:
    product_index: int
    original: str
    words: tuple[str, ...]
    total_weight: float


class Catalog:
    """Products loaded from the catalogue CSV; build with :meth:`from_csv`."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.Lock()  # one connection shared by the kiosk's threads
        rows = self._db.execute(f"SELECT {_SELECT} FROM products ORDER BY position").fetchall()
        self._products: tuple[Product, ...] = tuple(_product(row) for row in rows)
        self._texts: list[_Text] = []
        self._texts_by_word: dict[str, list[int]] = {}
        for product_index, product in enumerate(self._products):
            for original in (product.name, *product.aliases):
                words = tuple(_words(original))
                if not words:
                    continue
                text_index = len(self._texts)
                self._texts.append(
                    _Text(product_index, original, words, sum(_weight(w) for w in words))
                )
                for word in words:
                    self._texts_by_word.setdefault(word, []).append(text_index)
        self._vocabulary = list(self._texts_by_word)

    @classmethod
    def from_csv(cls, path: str | Path) -> Catalog:
        """Import and validate the catalogue CSV (header: ``CSV_COLUMNS``)."""
        rows = _read_rows(Path(path))  # validate everything before touching the database
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.execute(_SCHEMA)
        with connection:
            connection.executemany(
                "INSERT INTO products (sku, name, aliases, department, aisle, price_cents, stock, "
                "ean, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return cls(connection)

    def __len__(self) -> int:
        return len(self._products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self._products)

    def by_sku(self, sku: str) -> Product | None:
        return self._one("SELECT {} FROM products WHERE sku = ? COLLATE NOCASE", sku.strip())

    def by_ean(self, code: str) -> Product | None:
        """Look up a scanned barcode: EAN-13, or a 12-digit UPC-A (EAN-13 with a leading 0)."""
        digits = re.sub(r"[\s-]", "", code)
        if len(digits) == 12:
            digits = "0" + digits
        if not ean13_is_valid(digits):
            return None
        return self._one("SELECT {} FROM products WHERE ean = ?", digits)

    def departments(self) -> list[str]:
        """Department names in the order they first appear in the catalogue."""
        with self._lock:
            rows = self._db.execute(
                "SELECT department FROM products GROUP BY department ORDER BY MIN(position)"
            ).fetchall()
        return [row[0] for row in rows]

    def search(self, query: str, limit: int = 5) -> list[ProductMatch]:
        """Plausible products for a typed query or an extracted product phrase, best first."""
        exact = self.by_sku(query) or self.by_ean(query)
        if exact is not None:
            return [ProductMatch(exact, 100.0, query.strip())]
        matches = self._rank(_words(query))
        return matches[:limit]

    def find_in_text(self, text: str, limit: int = 3) -> list[ProductMatch]:
        """The product(s) a whole customer utterance mentions; [] when it names none.

        Several near-equal matches ("how much is the drill") all come back so the caller can ask
        which one was meant.
        """
        words = _words(text, _FILLER | _REQUEST_WORDS)
        if not words or all(word in _NOT_A_PRODUCT_ALONE for word in words):
            return []
        matches = self._rank(words)
        if not matches:
            return []
        floor = matches[0].score - AMBIGUITY_WINDOW
        return [match for match in matches if match.score >= floor][:limit]

    # ---- internals -----------------------------------------------------------------------------

    def _one(self, sql_template: str, value: str) -> Product | None:
        # Only the fixed column list is formatted in; the customer's value is always a parameter.
        with self._lock:
            row = self._db.execute(sql_template.format(_SELECT), (value,)).fetchone()
        return _product(row) if row else None

    def _rank(self, query_words: Sequence[str]) -> list[ProductMatch]:
        if not any(not word.isdigit() for word in query_words):
            return []  # bare numbers (order numbers, times) never identify a product
        similar = {word: self._similar_vocabulary(word) for word in query_words}
        candidate_texts = {
            text_index
            for vocabulary_words in similar.values()
            for vocabulary_word in vocabulary_words
            for text_index in self._texts_by_word[vocabulary_word]
        }
        query_weight = sum(_weight(word) for word in query_words)
        best: dict[int, tuple[float, str]] = {}
        for text_index in sorted(candidate_texts):  # sorted: ties go to the name, then earlier aliases
            text = self._texts[text_index]
            score = _score(query_words, query_weight, similar, text)
            if score >= MATCH_THRESHOLD and score > best.get(text.product_index, (0.0, ""))[0]:
                best[text.product_index] = (score, text.original)
        ranked = sorted(
            best.items(),
            key=lambda item: (-item[1][0], not self._products[item[0]].in_stock, item[0]),
        )
        return [ProductMatch(self._products[i], round(score, 1), text) for i, (score, text) in ranked]

    def _similar_vocabulary(self, word: str) -> dict[str, float]:
        """Catalogue words that count as ``word`` (exact, or a typo of it), with similarity 0..1."""
        if len(word) < 4 or not word.isalpha():
            # Short words and codes must match exactly: "aa" is not "aaa", "9v" is not "6v".
            return {word: 1.0} if word in self._texts_by_word else {}
        found = process.extract(
            word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=_TOKEN_CUTOFF, limit=None
        )
        return {
            candidate: score / 100.0
            for candidate, score, _ in found
            if len(candidate) >= 4 and candidate.isalpha()
        }


def _score(
    query_words: Sequence[str],
    query_weight: float,
    similar: dict[str, dict[str, float]],
    text: _Text,
) -> float:
    matched_query = 0.0
    best_for_text_word = dict.fromkeys(text.words, 0.0)
    for word in query_words:
        best = 0.0
        for text_word in text.words:
            similarity = similar[word].get(text_word, 0.0)
            best = max(best, similarity)
            best_for_text_word[text_word] = max(best_for_text_word[text_word], similarity)
        matched_query += _weight(word) * best
    if not any(similar[w].keys() & set(text.words) for w in query_words if not w.isdigit()):
        return 0.0  # only a number matched, e.g. "2" in "2934"-style noise
    forward = matched_query / query_weight
    reverse = sum(_weight(w) * s for w, s in best_for_text_word.items()) / text.total_weight
    return 100.0 * (0.7 * max(forward, reverse) + 0.3 * min(forward, reverse))


_SCHEMA = """
CREATE TABLE products (
    sku TEXT PRIMARY KEY COLLATE NOCASE,
    name TEXT NOT NULL,
    aliases TEXT NOT NULL,
    department TEXT NOT NULL,
    aisle TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    stock INTEGER NOT NULL CHECK (stock >= 0),
    ean TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL
)
"""
_SELECT = "sku, name, aliases, department, aisle, price_cents, stock, ean"


def _product(row: tuple[str, str, str, str, str, int, int, str]) -> Product:
    sku, name, aliases, department, aisle, price_cents, stock, ean = row
    alias_tuple = tuple(alias for alias in aliases.split("|") if alias)
    return Product(sku, name, alias_tuple, department, aisle, price_cents, stock, ean)


def _read_rows(path: Path) -> list[tuple[object, ...]]:
    """Validated rows ready for INSERT; raises CatalogError naming file, line and column."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # -sig: spreadsheets add a BOM
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalogue: {exc.strerror or exc}") from exc
    rows: list[tuple[object, ...]] = []
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in CSV_COLUMNS if column not in header]
        unknown = [column for column in header if column not in CSV_COLUMNS]
        if missing or unknown:
            problems = [f"missing column '{c}'" for c in missing]
            problems += [f"unknown column '{c}'" for c in unknown]
            raise CatalogError(f"{path}, line 1: {'; '.join(problems)}")
        first_line: dict[tuple[str, str], int] = {}
        for position, record in enumerate(reader):
            line = reader.line_num

            def fail(column: str, problem: str) -> CatalogError:
                return CatalogError(f"{path}, line {line}, column '{column}': {problem}")

            if None in record or any(record[c] is None for c in CSV_COLUMNS):
                raise CatalogError(f"{path}, line {line}: expected {len(CSV_COLUMNS)} columns")
            value = {column: record[column].strip() for column in CSV_COLUMNS}
            for column in ("sku", "name", "department", "aisle"):
                if not value[column]:
                    raise fail(column, "must not be empty")
            if not _SKU.match(value["sku"]):
                raise fail("sku", f"{value['sku']!r} may only use letters, digits, '.', '-' and '_'")
            price = _PRICE.match(value["price"])
            if not price:
                raise fail("price", f"{value['price']!r} is not a price like 12.99")
            if not value["stock"].isdigit():
                raise fail("stock", f"{value['stock']!r} is not a whole number >= 0")
            if not ean13_is_valid(value["ean"]):
                raise fail("ean", f"{value['ean']!r} is not a valid EAN-13 (13 digits, check digit)")
            for column in ("sku", "ean"):
                key = (column, value[column].upper())
                if key in first_line:
                    raise fail(column, f"duplicate {value[column]!r}, first on line {first_line[key]}")
                first_line[key] = line
            aliases = "|".join(a.strip() for a in value["aliases"].split("|") if a.strip())
            rows.append((
                value["sku"], value["name"], aliases, value["department"], value["aisle"],
                int(price.group(1)) * 100 + int(price.group(2)), int(value["stock"]),
                value["ean"], position,
            ))
    if not rows:
        raise CatalogError(f"{path}: the catalogue has no products")
    return rows
