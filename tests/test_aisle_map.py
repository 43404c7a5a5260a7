"""The store map on answer cards: its layout from the demo store's profile (pure, no window), then the
real app offscreen (tests/ui_harness.py): a product answer's card shows the map with the product's
aisle highlighted, and the pixels on screen say so too, in the normal and the high-contrast theme."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from ui_harness import ROOT, run_ui

from kiosk.storedata.profile import StoreProfile, load_profile
from kiosk.ui.aisle_map import Place, StoreLayout, layout_for, store_layout


@pytest.fixture(scope="module")
def profile() -> StoreProfile:
    return load_profile(ROOT / "assets/store/demo/store.toml")


@pytest.fixture(scope="module")
def layout(profile: StoreProfile) -> StoreLayout:
    return store_layout(profile)


def test_the_layout_module_does_not_load_kivy() -> None:
    # Kivy takes over logging and reads its config when imported: the layout must not pull it in.
    code = "import sys, kiosk.ui.aisle_map as m; m.store_layout; assert 'kivy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_every_numbered_aisle_gets_a_shelf_in_numeric_order(profile: StoreProfile, layout: StoreLayout):
    numbered = {a for d in profile.departments for a in d.aisles if a.isdigit()}
    assert [s.name for s in layout.shelves] == sorted(numbered, key=int) == [str(n) for n in range(1, 22)]
    # 21 aisles wrap into two rows (11 + 10), each read left to right, the first row at the back (top).
    rows = [[s for s in layout.shelves if s.row == r] for r in (0, 1)]
    assert [len(r) for r in rows] == [11, 10]
    for row in rows:
        assert [s.x for s in row] == sorted(s.x for s in row) and len({s.y for s in row}) == 1
    assert rows[0][0].y > rows[1][0].y + rows[1][0].h
    assert layout.walkways == tuple(sorted(layout.walkways, reverse=True))


def test_shelves_and_areas_do_not_overlap_and_stay_on_the_map(layout: StoreLayout) -> None:
    places = (*layout.shelves, *layout.areas)
    for a, b in itertools.combinations(places, 2):
        assert not a.overlaps(b), (a, b)
    for p in places:
        assert 0 <= p.x and p.x + p.w <= 1 and 0 <= p.y and p.y + p.h <= 1, p
    # Wide enough for its number: at 800x480 the card's map is about 400 px wide.
    assert min(s.w for s in layout.shelves) * 400 >= 20
    assert all(s.h > 2 * s.w for s in layout.shelves)  # shelves, not tiles


def test_garden_centre_is_a_separate_block_beside_the_shelves(layout: StoreLayout) -> None:
    assert [a.name for a in layout.areas] == ["Garden Centre"]
    assert "Garden Centre" not in {s.name for s in layout.shelves}
    garden = layout.areas[0]
    assert garden.x > max(s.x + s.w for s in layout.shelves)
    assert layout.place("garden centre") == garden  # as customers and cards spell it


def test_you_are_here_is_at_the_entrance_below_everything(layout: StoreLayout) -> None:
    hx, hy = layout.here
    assert layout.door[0] < hx < layout.door[1]
    assert hy < min(p.y for p in (*layout.shelves, *layout.areas))


def test_unknown_aisles_are_not_highlighted(layout: StoreLayout) -> None:
    assert layout.known(["99", "Basement", "", "—"]) == ()
    assert layout.place("99") is None and layout.route("99") == ()
    assert layout.known(["3", "99", "3", "Garden Centre"]) == ("3", "Garden Centre")


def _crosses(segment: tuple[tuple[float, float], tuple[float, float]], p: Place) -> bool:
    (x1, y1), (x2, y2) = segment
    lo_x, hi_x, lo_y, hi_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    return lo_x < p.x + p.w and p.x < hi_x and lo_y < p.y + p.h and p.y < hi_y if (
        lo_x != hi_x or lo_y != hi_y) else False


@pytest.mark.parametrize("aisle", ["1", "7", "11", "12", "21", "Garden Centre"])
def test_the_way_leads_from_you_are_here_to_the_aisle_around_other_shelves(layout: StoreLayout, aisle: str):
    path = layout.route(aisle)
    target = layout.place(aisle)
    assert path[0] == layout.here
    assert path[-1] == (target.cx, target.y)
    for a, b in zip(path, path[1:]):
        assert a[0] == b[0] or a[1] == b[1], "walkways run straight"
        for other in (*layout.shelves, *layout.areas):
            assert other == target or not _crosses((a, b), other), f"to {aisle} through {other.name}"


@pytest.mark.parametrize("entrance", ["left", "right"])
def test_the_map_starts_where_the_stores_entrance_is(profile: StoreProfile, entrance: str) -> None:
    shop = profile.model_copy(update={"map": profile.map.model_copy(update={"entrance": entrance})})
    layout = store_layout(shop)
    hx, hy = layout.here
    assert (hx < 0.2) if entrance == "left" else (hx > 0.8)
    assert 0 < layout.door[0] < hx < layout.door[1] < 1
    assert hy < min(p.y for p in (*layout.shelves, *layout.areas))
    for place in (*layout.shelves, *layout.areas):  # every place is still reached along walkways
        path = layout.route(place.name)
        assert path[0] == layout.here and path[-1] == (place.cx, place.y)
        for a, b in zip(path, path[1:]):
            assert a[0] == b[0] or a[1] == b[1]
            assert all(o == place or not _crosses((a, b), o) for o in (*layout.shelves, *layout.areas))


def test_the_entrance_setting_is_checked(profile: StoreProfile, tmp_path: Path) -> None:
    from kiosk.storedata.profile import StoreDataError

    assert profile.map.entrance == "centre"  # the demo store's kiosk stands at a central entrance
    text = (ROOT / "assets/store/demo/store.toml").read_text()
    for bad, says in (('entrance = "back"', "entrance"), ('door = "left"', "door")):
        path = tmp_path / "store.toml"
        path.write_text(text.replace('entrance = "centre"', bad))
        with pytest.raises(StoreDataError, match=says):
            load_profile(path)


def test_a_small_store_gets_one_centred_row() -> None:
    small = layout_for(["3", "1", "2", "1"])
    assert [s.name for s in small.shelves] == ["1", "2", "3"] and {s.row for s in small.shelves} == {0}
    assert small.areas == () and small.aspect < 0.35
    middle = (small.shelves[0].x + small.shelves[-1].x + small.shelves[-1].w) / 2
    assert abs(middle - small.here[0]) < 1e-9


# -- the real app, offscreen ------------------------------------------------------------------------
SCENARIO = """
    from kiosk.ui.aisle_map import AisleMap
    from kiosk.ui.cards import build_card
    seen = {}
    conv = app.screen("conversation")
    ctl.emit(CustomerArrived(t=0.0)); d.pump()
    app.show("conversation"); d.pump()

    def shown():
        maps = [w for w in conv.ids.thread.walk(restrict=True) if isinstance(w, AisleMap)]
        for m in maps:
            conv.ids.scroll.scroll_to(m, animate=False)
        d.pump(8)
        return maps

    def on_screen(m, name):
        p = m.layout.place(name)
        x, y = m.to_window(m.x + p.x * m.width, m.y + p.y * m.height)
        return [x, y, p.w * m.width, p.h * m.height]

    def card_kind(w):
        while w is not None and not hasattr(w, "card_kind"):
            w = w.parent
        return getattr(w, "card_kind", None)

    def look(tag):
        maps = shown()
        m = maps[0]
        sx, sy = conv.ids.scroll.to_window(*conv.ids.scroll.pos)
        seen[tag] = {"maps": len(maps), "kind": card_kind(m),
                     "lit": list(m.highlight),
                     "rects": {n: on_screen(m, n) for n in ("1", "2", "12", "Garden Centre")},
                     "scroll": [sx, sy, conv.ids.scroll.width, conv.ids.scroll.height],
                     "primary": list(app.theme.primary), "surface_alt": list(app.theme.surface_alt),
                     "png": str(d.shot(os.path.join(os.environ["HOME"], tag + ".png")))}

    ctl.submit_text("where is the claw hammer", source="typed"); d.pump(8)
    seen["answer"] = conv._last.answer
    # Before any scrolling: the map is on screen with the answer, beside the aisle, price and stock.
    m0 = [w for w in conv.ids.thread.walk(restrict=True) if isinstance(w, AisleMap)][0]
    mx, my = m0.to_window(*m0.pos)
    sx, sy = conv.ids.scroll.to_window(*conv.ids.scroll.pos)
    seen["fits"] = sy <= my and my + m0.height <= sy + conv.ids.scroll.height
    look("product")
    app.theme.high_contrast = True; d.pump()
    look("high_contrast")
    app.theme.high_contrast = False; d.pump()

    ctl.submit_text("where is the garden department", source="typed"); d.pump()
    seen["department"] = [(card_kind(m), list(m.highlight)) for m in shown()]

    # Two hoses in one aisle: the list sits beside the map, which is on screen with the answer.
    ctl.submit_text("where can I find a garden hose", source="typed"); d.pump(8)
    m = [w for w in conv.ids.thread.walk(restrict=True) if isinstance(w, AisleMap)][-1]
    first = next(w for w in conv.ids.thread.walk(restrict=True)
                 if getattr(w, "text", "").endswith("Garden Hose"))
    mx, my = m.to_window(*m.pos)
    fx, fy = first.to_window(*first.pos)
    sx, sy = conv.ids.scroll.to_window(*conv.ids.scroll.pos)
    seen["products"] = {"kind": card_kind(m), "lit": list(m.highlight),
                        "list_right_of_map": fx > mx + m.width,
                        "same_row": fy < my + m.height and my < fy + first.height,
                        "fits": sy <= my and my + m.height <= sy + conv.ids.scroll.height}

    product = {"kind": "product", "name": "Claw Hammer", "aisle": "1", "price": "$14.98", "stock": 3}
    unknown = build_card("Somewhere.", dict(product, aisle="Mezzanine"))
    real = app.controller
    app.controller = object()  # a controller that cannot tell the store's layout
    blind = build_card("No profile.", product)
    app.controller = real
    seen["without"] = [[type(w).__name__ for w in card.walk(restrict=True) if isinstance(w, AisleMap)]
                       for card in (unknown, blind)]
    seen["still_has_aisle"] = [t.text for t in blind.walk(restrict=True) if getattr(t, "text", "") == "AISLE"]
    # A kiosk at the right end of the front wall: "You are here" is written on the side with room.
    from kivy.graphics import Rectangle
    from kiosk.ui.aisle_map import layout_for
    right = AisleMap(layout=layout_for(["1", "2", "3", "4"], entrance="right"), highlight=["2"], width=420)
    label = [i for i in right.canvas.children if isinstance(i, Rectangle) and i.texture is not None][-1]
    seen["here_label"] = [label.pos[0], label.size[0], right.width, right.layout.here[0] * right.width]
    report(**seen)
"""


def _pixels(png: str, rect: list[float], height: int):
    import cv2

    img = cv2.imread(png)[:, :, ::-1]  # RGB
    x, y, w, h = rect
    # The lower part of the shelf, clear of its number; window y runs up, image rows run down.
    top, bottom = round(height - (y + h * 0.28)), round(height - (y + h * 0.08))
    return img[top:bottom, round(x + w * 0.3):round(x + w * 0.7)].reshape(-1, 3)


def _is(pixels, rgba) -> bool:
    want = [round(c * 255) for c in rgba[:3]]
    return bool(len(pixels)) and all(max(abs(int(a) - b) for a, b in zip(px, want)) <= 8 for px in pixels)


@pytest.mark.skipif(importlib.util.find_spec("kivy") is None, reason="Kivy is not installed")
def test_product_card_shows_the_map_with_its_aisle_lit(tmp_path: Path) -> None:
    r = run_ui(tmp_path, SCENARIO)
    assert "aisle 1" in r["answer"].lower(), r["answer"]
    assert r["fits"]  # 1280x800: no scrolling needed to see where to go
    for tag in ("product", "high_contrast"):
        shot = r[tag]
        assert shot["maps"] == 1 and shot["kind"] == "product" and shot["lit"] == ["1"], shot
        sx, sy, sw, sh = shot["scroll"]
        for name, (x, y, w, h) in shot["rects"].items():  # scrolled into view: the pixels are the map's
            assert sx <= x and x + w <= sx + sw and sy <= y and y + h <= sy + sh, (tag, name, shot)
        lit = _pixels(shot["png"], shot["rects"]["1"], 800)
        assert _is(lit, shot["primary"]), (tag, lit[:5], shot["primary"])
        for other in ("2", "12"):
            dim = _pixels(shot["png"], shot["rects"][other], 800)
            assert _is(dim, shot["surface_alt"]) and not _is(dim, shot["primary"]), (tag, other, dim[:5])
    assert r["product"]["primary"] != r["high_contrast"]["primary"]  # the map followed the theme
    assert r["department"] == [["department", ["16", "17", "18", "Garden Centre"]]]
    assert r["products"] == {"kind": "products", "lit": ["16"], "list_right_of_map": True, "same_row": True,
                             "fits": True}, r["products"]
    assert r["without"] == [[], []]
    assert r["still_has_aisle"] == ["AISLE"]
    x, w, width, here_x = r["here_label"]
    assert 0 <= x and x + w <= width and x + w < here_x  # inside the map, left of the dot
