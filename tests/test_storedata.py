"""Store data: the demo profile, catalogue and orders, and the loaders' behaviour on bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kiosk.storedata.catalog import Catalog, CatalogError, ean13_is_valid
from kiosk.storedata.orders import OrderBook, OrderDataError
from kiosk.storedata.profile import StoreDataError, StoreProfile, hours_on, load_profile

DEMO = Path(__file__).parents[1] / "assets/store/demo"
CSV_HEADER = "sku,name,aliases,department,aisle,price,stock,ean\n"
# Published, valid EAN-13 codes (GS1 example, ISBN 978-0-306-40615-7, a common sample barcode).
VALID_EANS = ("5901234123457", "9780306406157", "4006381333931")


@pytest.fixture(scope="module")
def profile() -> StoreProfile:
    return load_profile(DEMO / "store.toml")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_csv(DEMO / "catalog.csv")


@pytest.fixture(scope="module")
def orders(catalog: Catalog) -> OrderBook:
    return OrderBook.from_csv(DEMO / "orders.csv", catalog)


# ---- profile ------------------------------------------------------------------------------------


def test_demo_profile_describes_harbor_lane(profile: StoreProfile) -> None:
    assert profile.name == "Harbor Lane Home & Hardware"
    assert profile.currency == "$" and profile.date_order == "MDY"
    assert [day.value for day in profile.hours] == [
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    ]
    assert len(profile.departments) == 12
    assert "HarborLane-Guest" in profile.faq["wifi"]
    assert profile.policies.return_window_days == 90
    assert profile.policies.return_window_days_electrical == 30
    assert any(service.name == "Key cutting" and "aisle 1" in service.location for service in profile.services)


def test_hours_on_a_normal_weekday(profile: StoreProfile) -> None:
    tuesday = hours_on(profile, dt.date(2026, 11, 24))
    assert (tuesday.open, tuesday.close, tuesday.closed) == (dt.time(7), dt.time(20), False)
    assert tuesday.holiday_name is None
    assert tuesday.is_open_at(dt.time(19, 59)) and not tuesday.is_open_at(dt.time(20, 0))


def test_hours_on_a_sunday_are_shorter(profile: StoreProfile) -> None:
    sunday = hours_on(profile, dt.date(2026, 11, 29))
    assert (sunday.open, sunday.close) == (dt.time(10), dt.time(16))
    assert not sunday.is_open_at(dt.time(9, 30))


def test_holiday_overrides_the_weekday(profile: StoreProfile) -> None:
    thanksgiving = hours_on(profile, dt.date(2026, 11, 26))  # a Thursday
    assert thanksgiving.closed and thanksgiving.open is None
    assert thanksgiving.holiday_name == "Thanksgiving Day"
    assert not thanksgiving.is_open_at(dt.time(12))
    christmas_eve = hours_on(profile, dt.date(2027, 12, 24))
    assert (christmas_eve.close, christmas_eve.holiday_name) == (dt.time(16), "Christmas Eve")
    new_year = hours_on(profile, dt.date(2027, 1, 1))
    assert new_year.open == dt.time(10)  # late opening


def test_profile_has_the_big_holidays_in_both_years(profile: StoreProfile) -> None:
    for year, thanksgiving in ((2026, 26), (2027, 25)):
        assert hours_on(profile, dt.date(year, 11, thanksgiving)).closed
        assert hours_on(profile, dt.date(year, 12, 25)).closed


def _write_profile(tmp_path: Path, old: str, new: str) -> Path:
    text = (DEMO / "store.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "store.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_closing_before_opening_is_reported_with_its_key_path(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, 'sunday = { open = "10:00", close = "16:00" }',
                          'sunday = { open = "10:00", close = "09:00" }')
    with pytest.raises(StoreDataError) as error:
        load_profile(path)
    assert str(path) in str(error.value)
    assert "hours.sunday.close: closing time 09:00 must be after opening time 10:00" in str(error.value)


def test_each_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, 'saturday = { open = "07:00", close = "20:00" }\n', "")
    path.write_text(
        path.read_text()
        .replace('wifi = "Free', 'wify = "Free')
        .replace("return_window_days = 90", 'return_window_days = "ninety"')
        .replace('name = "Christmas Day"\nclosed = true', 'name = "Christmas Day"\nclosed = true\nopen = "09:00"')
    )
    with pytest.raises(StoreDataError) as error:
        load_profile(path)
    message = str(error.value)
    assert "hours: missing hours for saturday" in message
    assert "policies.return_window_days:" in message
    assert "faq: missing answers for wifi" in message
    assert "holidays[7].closed: a closed day must not also have open/close times" in message


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, "[hours]", "[hours")
    with pytest.raises(StoreDataError, match=r"invalid TOML: .*line 20"):
        load_profile(path)


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, "refund_processing_days = 5", "refund_processing_days = 5\nrefund_days = 3")
    with pytest.raises(StoreDataError, match=r"policies\.refund_days: Extra inputs"):
        load_profile(path)


def test_toml_local_times_and_short_hour_strings_are_accepted(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, 'monday = { open = "07:00", close = "20:00" }',
                          'monday = { open = 07:30:00, close = "9:15" }')
    monday = hours_on(load_profile(path), dt.date(2026, 11, 23))
    assert (monday.open, monday.close) == (dt.time(7, 30), dt.time(9, 15))


def test_missing_profile_file_is_a_store_data_error(tmp_path: Path) -> None:
    with pytest.raises(StoreDataError, match="nope.toml"):
        load_profile(tmp_path / "nope.toml")


# ---- catalogue: the demo data -------------------------------------------------------------------


def test_demo_catalog_is_large_with_valid_unique_barcodes(catalog: Catalog) -> None:
    products = list(catalog)
    assert len(catalog) == len(products) >= 300
    assert all(ean13_is_valid(p.ean) for p in products)
    assert len({p.ean for p in products}) == len(products)
    assert len({p.sku for p in products}) == len(products)
    assert any(not p.in_stock for p in products) and any(p.in_stock for p in products)


def test_every_product_sits_in_an_aisle_of_a_profile_department(catalog: Catalog, profile: StoreProfile) -> None:
    assert set(catalog.departments()) == {d.name for d in profile.departments}
    for product in catalog:
        department = profile.department(product.department)
        assert department is not None, product
        assert product.aisle in department.aisles, product


def test_prices_are_in_cents(catalog: Catalog) -> None:
    batteries = catalog.by_sku("he-1001")  # SKU lookup ignores case
    assert batteries is not None and batteries.name == "Duracell AA Batteries 8-Pack"
    assert batteries.price_cents == 999
    assert "double a batteries" in batteries.aliases


def test_ean13_check_digit() -> None:
    assert all(ean13_is_valid(code) for code in VALID_EANS)
    assert not ean13_is_valid("5901234123458")  # last digit wrong
    assert not ean13_is_valid("590123412345")  # 12 digits
    assert not ean13_is_valid("59012341234ab")


def test_by_ean_accepts_ean13_and_upc_a(catalog: Catalog) -> None:
    upc_product = next(p for p in catalog if p.ean.startswith("0"))
    assert catalog.by_ean(upc_product.ean) == upc_product
    assert catalog.by_ean(upc_product.ean[1:]) == upc_product  # 12-digit UPC-A as scanned in the US
    assert catalog.by_ean(upc_product.ean[:-1] + str((int(upc_product.ean[-1]) + 1) % 10)) is None
    assert catalog.by_ean(VALID_EANS[0]) is None  # valid but not ours


# ---- catalogue: finding products in what customers say ------------------------------------------


@pytest.mark.parametrize(
    ("utterance", "expected_in_name"),
    [
        ("where can I find AA batteries please", "AA Batteries"),
        ("do you sell double a batteries", "AA Batteries"),
        ("how much is the cordless drill", "Cordless"),
        ("do you have any hosepipe", "Garden Hose"),
        ("where's the sellotape?", "Scotch Magic Tape"),
        ("I need some scotch tape", "Scotch Magic Tape"),
        ("where are the light bulbs", "LED A19"),
        ("how much is a toilet seat", "Toilet Seat"),
        ("I'm looking for a paint roller", "Paint Roller"),
        ("where can I find the WD-40", "WD-40"),
        ("have you got any bin bags", "Trash Bags"),
        ("cat litter please", "Cat Litter"),
        ("do you have any 60 watt bulbs", "60W"),
        ("where do you keep the knives", "Knife"),
        ("I want a lawn mower", "Lawn Mower"),
    ],
)
def test_find_in_text_names_the_product(catalog: Catalog, utterance: str, expected_in_name: str) -> None:
    matches = catalog.find_in_text(utterance)
    assert matches, utterance
    assert expected_in_name in matches[0].product.name, [m.product.name for m in matches]


@pytest.mark.parametrize(
    "utterance",
    [
        "what time do you close",
        "where are the toilets",
        "hello",
        "I want to speak to someone",
        "where is my order 2934",
        "what are your opening hours on Sunday?",
        "can I return this without a receipt",
        "what's the wi-fi password",
        "is there parking",
        "I'd like to make a complaint",
        "are you open on Christmas day",
        "where is the garden centre",
        "do you sell gift cards",
        "thank you, goodbye",
        "",
    ],
)
def test_find_in_text_is_empty_when_no_product_is_named(catalog: Catalog, utterance: str) -> None:
    assert catalog.find_in_text(utterance) == []


def test_equally_good_matches_all_come_back_for_the_caller_to_ask(catalog: Catalog) -> None:
    matches = catalog.find_in_text("how much is a drill", limit=10)
    assert len(matches) >= 5
    assert all("Drill" in m.product.name and "Bit" not in m.product.name for m in matches)
    assert len({m.score for m in matches}) == 1  # none is preferred: ask "which one?"


def test_more_specific_words_pick_the_closer_products(catalog: Catalog) -> None:
    cordless = catalog.find_in_text("how much is the cordless drill", limit=10)
    assert cordless and all("Corded" not in m.product.name for m in cordless)
    aa = catalog.find_in_text("where can I find AA batteries please", limit=10)
    assert aa and all(" AA " in m.product.name for m in aa)  # never the AAA packs
    aaa = catalog.find_in_text("AAA batteries", limit=10)
    assert aaa and all("AAA" in m.product.name for m in aaa)
    tape = catalog.find_in_text("where is the tape measure", limit=10)
    assert tape and all("Measure" in m.product.name for m in tape)


def test_alias_match_reports_the_alias(catalog: Catalog) -> None:
    top = catalog.find_in_text("do you have any hosepipe")[0]
    assert top.matched_text == "hosepipe"
    assert top.score == 100.0


@pytest.mark.parametrize(
    ("typo", "expected_in_name"),
    [
        ("cordles dril", "Cordless Drill"),
        ("batterys", "Batteries"),
        ("where's the extention cord", "Extension Cord"),
        ("scredriver", "Screwdriver"),
        ("do you have a lawnmover", "Lawn Mower"),
    ],
)
def test_typos_are_tolerated(catalog: Catalog, typo: str, expected_in_name: str) -> None:
    matches = catalog.find_in_text(typo)
    assert matches and expected_in_name in matches[0].product.name


def test_search_ranks_plausible_products_and_finds_skus(catalog: Catalog) -> None:
    results = catalog.search("cordless drill", limit=3)
    assert len(results) == 3 and all("Drill" in r.product.name for r in results)
    assert results == sorted(results, key=lambda r: -r.score)
    assert catalog.search("TH-1032")[0].product.name == "DeWalt 20V MAX Cordless Drill/Driver Kit"
    assert catalog.search("zzqx wobble") == []


@pytest.mark.parametrize(
    "attack",
    ["'; DROP TABLE products; --", "Robert'); DROP TABLE", "1 OR 1=1", "%' OR name LIKE '%", "\" OR \"\"=\""],
)
def test_sql_in_queries_finds_nothing_and_breaks_nothing(catalog: Catalog, attack: str) -> None:
    size = len(catalog)
    assert catalog.search(attack) == []
    assert catalog.find_in_text(attack) == []
    assert catalog.by_sku(attack) is None and catalog.by_ean(attack) is None
    assert len(catalog) == size and catalog.by_sku("HE-1001") is not None


# ---- catalogue: bad CSV files -------------------------------------------------------------------


def _catalog_csv(tmp_path: Path, *rows: str, header: str = CSV_HEADER) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


GOOD_ROW = f"AB-1,Claw Hammer,hammer,Tools & Hardware,1,14.98,3,{VALID_EANS[0]}"


def test_small_valid_catalog_loads(tmp_path: Path) -> None:
    catalog = Catalog.from_csv(_catalog_csv(tmp_path, GOOD_ROW))
    assert len(catalog) == 1 and catalog.find_in_text("a hammer please")[0].product.sku == "AB-1"


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        (f"AB-2,Mallet,,Tools & Hardware,1,9.9,3,{VALID_EANS[1]}", "line 3, column 'price'"),
        (f"AB-2,Mallet,,Tools & Hardware,1,$9.99,3,{VALID_EANS[1]}", "line 3, column 'price'"),
        ("AB-2,Mallet,,Tools & Hardware,1,9.99,3,9780306406158", "line 3, column 'ean'"),
        (f"AB-2,Mallet,,Tools & Hardware,1,9.99,-1,{VALID_EANS[1]}", "line 3, column 'stock'"),
        (f"AB-2,,,Tools & Hardware,1,9.99,1,{VALID_EANS[1]}", "line 3, column 'name'"),
        (f"ab-1,Mallet,,Tools & Hardware,1,9.99,1,{VALID_EANS[1]}", "line 3, column 'sku': duplicate 'ab-1', first on line 2"),
        (f"AB-2,Mallet,,Tools & Hardware,1,9.99,1,{VALID_EANS[0]}", "line 3, column 'ean': duplicate"),
        ("AB-2,Mallet,,Tools & Hardware,1,9.99", "line 3: expected 8 columns"),
    ],
)
def test_bad_catalog_rows_name_line_and_column(tmp_path: Path, bad_row: str, expected: str) -> None:
    path = _catalog_csv(tmp_path, GOOD_ROW, bad_row)
    with pytest.raises(CatalogError) as error:
        Catalog.from_csv(path)
    assert str(path) in str(error.value) and expected in str(error.value)


def test_missing_catalog_column_is_named(tmp_path: Path) -> None:
    path = _catalog_csv(tmp_path, header="sku,name,aliases,department,aisle,price,ean\n")
    with pytest.raises(CatalogError, match=r"line 1: missing column 'stock'"):
        Catalog.from_csv(path)


def test_missing_catalog_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="missing.csv"):
        Catalog.from_csv(tmp_path / "missing.csv")


# ---- orders -------------------------------------------------------------------------------------


def test_demo_orders(orders: OrderBook) -> None:
    assert len(orders) == 40
    ready = orders.get("2934")
    assert ready is not None and ready.status == "ready_for_pickup"
    assert ready.pickup_location == "Collect Point" and ready.ready_on is not None
    assert [line.name for line in ready.items][0] == "Duracell AA Batteries 8-Pack"
    processing = orders.get("10457")
    assert processing is not None and processing.status == "processing" and processing.ready_on is None
    for order in orders:
        assert 4 <= len(order.number) <= 6
        assert dt.date(2026, 10, 1) <= order.placed_on <= dt.date(2026, 11, 30)


@pytest.mark.parametrize("spoken", ["#2934", " 2934 ", "order 2934", "29-34"])
def test_order_lookup_ignores_non_digits(orders: OrderBook, spoken: str) -> None:
    order = orders.get(spoken)
    assert order is not None and order.number == "2934"


@pytest.mark.parametrize("spoken", ["02934", "293", "", "my order", "99999999"])
def test_order_lookup_needs_the_exact_digits(orders: OrderBook, spoken: str) -> None:
    assert orders.get(spoken) is None


ORDERS_HEADER = "number,status,placed_on,ready_on,collected_on,pickup_location,customer_first_name,items\n"


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ("5555,processing,2026-11-20,,,Collect Point,Ann,XX-999:1", "line 3, column 'items': unknown SKU 'XX-999'"),
        ("5555,lost,2026-11-20,,,Collect Point,Ann,HE-1001:1", "line 3, column 'status'"),
        ("1234,processing,2026-11-20,,,Collect Point,Ann,HE-1001:1", "line 3, column 'number': duplicate order 1234"),
        ("5555,processing,20/11/2026,,,Collect Point,Ann,HE-1001:1", "line 3, column 'placed_on'"),
        ("555,processing,2026-11-20,,,Collect Point,Ann,HE-1001:1", "line 3, column 'number'"),
        ("5555,processing,2026-11-20,,,Collect Point,Ann,HE-1001:0", "line 3, column 'items'"),
        ("5555,ready_for_pickup,2026-11-20,2026-11-21,,,Ann,HE-1001:1", "line 3, column 'pickup_location'"),
    ],
)
def test_bad_order_rows_name_line_and_column(tmp_path: Path, catalog: Catalog, bad_row: str, expected: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_HEADER + "1234,processing,2026-11-20,,,Collect Point,Ann,HE-1001:2\n" + bad_row + "\n")
    with pytest.raises(OrderDataError) as error:
        OrderBook.from_csv(path, catalog)
    assert expected in str(error.value)
