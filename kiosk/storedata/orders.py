"""Online orders, looked up by number when a customer asks "where is my order 2934?".

CSV columns: ``number,status,placed_on,ready_on,collected_on,pickup_location,customer_first_name,
items``. ``items`` is ``SKU:qty|SKU:qty``; dates are ISO. For click & collect orders
``pickup_location`` names the pickup point, ``ready_on`` is when the order was ready and
``collected_on`` when it was picked up. Delivery orders leave ``pickup_location`` empty; for them
``ready_on`` is the dispatch date and ``collected_on`` the delivery date.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk.storedata.catalog import Catalog
from kiosk.storedata.profile import StoreDataError

__all__ = ["ORDER_STATUSES", "Order", "OrderBook", "OrderDataError", "OrderLine", "CSV_COLUMNS"]

CSV_COLUMNS: tuple[str, ...] = (
    "number", "status", "placed_on", "ready_on", "collected_on", "pickup_location",
    "customer_first_name", "items",
)
ORDER_STATUSES: frozenset[str] = frozenset(
    {"processing", "ready_for_pickup", "collected", "out_for_delivery", "delivered", "cancelled", "refunded"}
)
_ORDER_NUMBER = re.compile(r"^[1-9]\d{3,5}$")  # 4-6 digits, as printed on confirmations
_ITEM = re.compile(r"^\s*([^:|\s]+)\s*:\s*(\d+)\s*$")


class OrderDataError(StoreDataError):
    """The orders CSV is missing or invalid; the message names file, line and column."""


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class Order:
    number: str
    status: str
    placed_on: dt.date
    ready_on: dt.date | None
    collected_on: dt.date | None
    pickup_location: str | None  # None for home delivery
    customer_first_name: str
    items: tuple[OrderLine, ...]


class OrderBook:
    """All known orders, keyed by order number; build with :meth:`from_csv`."""

    def __init__(self, orders: dict[str, Order]) -> None:
        self._orders = dict(orders)

    @classmethod
    def from_csv(cls, path: str | Path, catalog: Catalog) -> OrderBook:
        """Load orders, resolving each item's name from ``catalog``."""
        path = Path(path)
        try:
            handle = path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise OrderDataError(f"{path}: cannot read orders: {exc.strerror or exc}") from exc
        orders: dict[str, Order] = {}
        first_line: dict[str, int] = {}
        with handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise OrderDataError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
            for record in reader:
                order = _parse_order(record, path, reader.line_num, catalog)
                if order.number in orders:
                    raise OrderDataError(
                        f"{path}, line {reader.line_num}, column 'number': duplicate order "
                        f"{order.number}, first on line {first_line[order.number]}"
                    )
                orders[order.number] = order
                first_line[order.number] = reader.line_num
        return cls(orders)

    def get(self, number: str) -> Order | None:
        """The order whose number is the digits of ``number`` ("#2934", " 2934 " -> 2934).

        Digits must match exactly: "02934" is not order 2934, because a leading zero never appears
        in our order numbers and guessing could show someone else's order.
        """
        digits = re.sub(r"\D", "", number)
        return self._orders.get(digits) if digits else None

    def __len__(self) -> int:
        return len(self._orders)

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders.values())


def _parse_order(record: dict[str | None, str | None], path: Path, line: int, catalog: Catalog) -> Order:
    def fail(column: str, problem: str) -> OrderDataError:
        return OrderDataError(f"{path}, line {line}, column '{column}': {problem}")

    if None in record or any(record.get(c) is None for c in CSV_COLUMNS):
        raise OrderDataError(f"{path}, line {line}: expected {len(CSV_COLUMNS)} columns")
    value = {c: (record[c] or "").strip() for c in CSV_COLUMNS}

    if not _ORDER_NUMBER.match(value["number"]):
        raise fail("number", f"{value['number']!r} is not a 4-6 digit order number")
    if value["status"] not in ORDER_STATUSES:
        raise fail("status", f"{value['status']!r} is not one of {', '.join(sorted(ORDER_STATUSES))}")
    if not value["customer_first_name"]:
        raise fail("customer_first_name", "must not be empty")

    def date_in(column: str, required: bool = False) -> dt.date | None:
        text = value[column]
        if not text:
            if required:
                raise fail(column, "must not be empty")
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise fail(column, f"{text!r} is not a date like 2026-11-23") from None

    placed_on = date_in("placed_on", required=True)
    assert placed_on is not None
    ready_on, collected_on = date_in("ready_on"), date_in("collected_on")
    if ready_on and ready_on < placed_on:
        raise fail("ready_on", "is before placed_on")
    if collected_on and collected_on < (ready_on or placed_on):
        raise fail("collected_on", "is before ready_on/placed_on")

    status, pickup = value["status"], value["pickup_location"] or None
    # The states the kiosk reads aloud must carry the facts it will say.
    if status == "processing" and (ready_on or collected_on):
        raise fail("status", "a processing order has no ready_on or collected_on date")
    if status in ("ready_for_pickup", "collected") and pickup is None:
        raise fail("pickup_location", f"a {status} order needs a pickup location")
    if status in ("ready_for_pickup", "out_for_delivery") and ready_on is None:
        raise fail("ready_on", f"a {status} order needs a ready_on date")
    if status in ("collected", "delivered") and collected_on is None:
        raise fail("collected_on", f"a {status} order needs a collected_on date")

    lines: list[OrderLine] = []
    for part in value["items"].split("|"):
        match = _ITEM.match(part)
        if not match or int(match.group(2)) == 0:
            raise fail("items", f"{part.strip()!r} is not SKU:quantity with quantity >= 1")
        product = catalog.by_sku(match.group(1))
        if product is None:
            raise fail("items", f"unknown SKU {match.group(1)!r} (not in the catalogue)")
        lines.append(OrderLine(product.sku, product.name, int(match.group(2))))

    return Order(
        number=value["number"],
        status=status,
        placed_on=placed_on,
        ready_on=ready_on,
        collected_on=collected_on,
        pickup_location=pickup,
        customer_first_name=value["customer_first_name"],
        items=tuple(lines),
    )
