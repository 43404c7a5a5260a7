"""The touchscreen app in a real offscreen Kivy window, driven by runtime events and real touches.

Every scenario runs in its own process (tests/ui_harness.py): Kivy has one window per process. The
controller is the StillController over the real Assistant, so answers, tickets and feedback are the
store's own, recorded in a real journal; one scenario runs the app on the real KioskRuntime
(build_runtime without devices) to check the event routing across its threads.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from ui_harness import ROOT, run_ui

# Kivy itself is only imported in the scenario processes (it takes over logging where imported).
pytestmark = pytest.mark.skipif(importlib.util.find_spec("kivy") is None, reason="Kivy is not installed")


def test_events_drive_the_screens_and_idle_clears_the_customer(tmp_path):
    r = run_ui(tmp_path, """
        seen = {}
        seen["start"] = app.current
        ctl.emit(CustomerArrived(t=1.0)); d.pump()
        seen["arrived"] = app.current
        seen["begun"] = len(calls("begin"))

        ctl.emit(ListeningChanged(True)); ctl.emit(AudioLevel(-20.0))
        ctl.emit(PartialTranscript("how much is the cl")); d.pump()
        seen["partial_screen"] = app.current
        # Shown with the level meter at most every 0.1 s (real time): wait for that redraw.
        seen["partial_shown"] = wait_until(lambda: any("how much is the cl" in t for t in texts()), 5.0)
        seen["listening_indicator"] = app.root.ids.top.ids.microphone_indicator.label
        seen["meter"] = app.screen("conversation").ids.meter.level

        ctl.said("how much is the claw hammer"); d.pump(20)
        # The words heard just before the answer came in the same 0.1 s: they must not come back.
        seen["partial_after_answer"] = app.partial
        ctl.emit(ListeningChanged(False)); d.pump()
        seen["answer_screen"] = app.current
        seen["answer_texts"] = [t for t in texts() if "Claw Hammer" in t or "claw hammer" in t or "$" in t]
        seen["aisle"] = any(t == "AISLE" for t in texts())

        ctl.said("I want to talk to a person"); d.pump()
        seen["handoff_screen"] = app.current
        seen["ticket_shown"] = app.screen("handoff").ids.tk_number.text
        seen["journal"] = [t.number for t in assistant.journal.list_escalations()]
        seen["waited_before"] = app.screen("handoff").waited
        mono[0] += 42; d.pump(70)
        seen["waited_after"] = app.screen("handoff").waited
        ctl.claim("Priya"); d.pump()
        seen["claimed_texts"] = [t for t in texts() if "Priya" in t or "picked up" in t]

        app.show("conversation"); d.pump()
        seen["ticket_pill"] = app.root.ids.top.ids.ticket_button.text
        advance(100)  # past idle_timeout_s, but a team member is on the way: waiting is not idle
        seen["waiting"] = (app.current, app.idle_warning)
        advance(160)
        seen["warning"] = app.idle_warning
        advance(15)
        seen["after_idle"] = app.current
        seen["ended"] = calls("end")
        left = texts()
        seen["leftovers"] = [t for t in left if any(s in t.lower() for s in
                             ("hammer", "talk to a person", "how much", "priya", "14.98"))
                             or seen["ticket_shown"] in t]
        seen["screens_kept"] = sorted(s.name for s in app.sm.screens)
        report(**seen)
    """)
    assert r["start"] == "attract" and r["arrived"] == "welcome" and r["begun"] == 1
    assert r["partial_screen"] == "conversation" and r["partial_shown"]
    assert r["listening_indicator"] == "Listening" and r["meter"] > 0.5
    assert r["answer_screen"] == "conversation" and r["partial_after_answer"] == ""
    assert any("Stanley 16 oz Claw Hammer is $14.98." == t for t in r["answer_texts"]), r["answer_texts"]
    assert any("You said" in t and "how much is the claw hammer" in t for t in r["answer_texts"])
    assert r["aisle"]
    assert r["handoff_screen"] == "handoff"
    assert r["journal"] and r["ticket_shown"] == r["journal"][0]
    assert r["waited_before"] == "0:00" and r["waited_after"] == "0:42"
    assert any("Priya is coming to help you" in t for t in r["claimed_texts"])
    assert r["ticket_pill"] == f"Ticket {r['ticket_shown']}"
    assert r["waiting"] == ["conversation", False] and r["warning"] is True
    assert r["after_idle"] == "attract" and ["end", "idle"] in r["ended"]
    assert r["leftovers"] == []
    assert r["screens_kept"] == ["attract", "welcome"]


def test_touch_alone_reaches_the_controller(tmp_path):
    r = run_ui(tmp_path, """
        import kiosk.ui.screens.feedback as fb
        fb.THANKS_S = 0.1
        seen = {}
        tap(app.screen("attract"))
        seen["after_tap"] = app.current
        seen["begin"] = len(calls("begin"))
        tap(app.screen("welcome").ids.ask)
        seen["ask"] = app.current

        tap(find_button("Opening hours"))
        seen["tile_call"] = calls("submit_text")[-1]
        seen["hours_card"] = [t for t in texts() if "open from" in t or t == "OPENING HOURS"]

        # "Which one?": the products a name fits are buttons; a tap answers with the product's name.
        ctl.emit(Answered("speech", "Which one: the Stanley Claw Hammer or the Estwing Rip Hammer?",
                          {"kind": "choice", "options": ["TH-1001", "TH-1002"],
                           "products": [{"sku": "TH-1001", "name": "Stanley 16 oz Claw Hammer"},
                                        {"sku": "TH-1002", "name": "Estwing 20 oz Rip Hammer"}]}, None))
        d.pump()
        tap(find_button("Estwing 20 oz Rip Hammer"))
        seen["choice_call"] = calls("submit_text")[-1]

        tap(find_button("Type"))
        conv = app.screen("conversation")
        seen["keyboard_open"] = conv.keyboard_open
        touched = len(calls("touched"))
        for key in ["W", "i", "f", "i"]:
            tap(find_button(key))
        seen["typed"] = conv.ids.typed.text
        seen["touches_passed_on"] = len(calls("touched")) - touched
        tap(find_button("Send"))
        seen["typed_call"] = calls("submit_text")[-1]
        seen["wifi_answer"] = [t for t in texts() if "Wi-Fi" in t or "WI-FI" in t]
        seen["keyboard_closed"] = not conv.keyboard_open

        tap(find_button("Talk to a person"))
        seen["staff"] = len(calls("request_staff"))
        seen["handoff"] = app.current
        seen["ticket"] = app.screen("handoff").number
        tap(app.screen("handoff").ids.cancel)
        seen["cancel"] = len(calls("cancel_handoff"))
        seen["after_cancel"] = app.current
        seen["resolved"] = [t.status for t in assistant.journal.list_escalations()]
        seen["pill_gone"] = app.root.ids.top.ids.ticket_button.opacity == 0

        tap(find_button("Finish"))
        seen["feedback_screen"] = app.current
        tap(app.screen("feedback").ids.star4)
        tap(find_button("Easy to use"))
        seen["feedback_call"] = calls("feedback")
        rows = assistant.journal._conn.execute("select rating, comment from feedback").fetchall()
        seen["stored"] = [tuple(r) for r in rows]
        d.pump(30)
        seen["final"] = app.current
        seen["ended"] = calls("end")
        report(**seen)
    """)
    assert r["after_tap"] == "welcome" and r["begin"] == 1 and r["ask"] == "conversation"
    assert r["tile_call"] == ["submit_text", "what are your opening hours", "tile"]
    assert "OPENING HOURS" in r["hours_card"] and any("open from" in t for t in r["hours_card"])
    assert r["choice_call"] == ["submit_text", "Estwing 20 oz Rip Hammer", "tile"]
    assert r["keyboard_open"] and r["typed"] == "Wifi"
    assert r["touches_passed_on"] >= 4  # typing keeps the runtime's idle timer from ending the visit
    assert r["typed_call"] == ["submit_text", "Wifi", "typed"]
    assert r["wifi_answer"] and r["keyboard_closed"]
    assert r["staff"] == 1 and r["handoff"] == "handoff" and r["ticket"].startswith("A-")
    assert r["cancel"] == 1 and r["after_cancel"] == "conversation"
    assert r["resolved"] == ["resolved"] and r["pill_gone"]
    assert r["feedback_screen"] == "feedback"
    # The star is stored when tapped; the reason completes that one rating.
    assert r["feedback_call"] == [["feedback", 4, None], ["feedback", 4, "Easy to use"]]
    assert r["stored"] == [[4, "Easy to use"]]
    assert r["final"] == "attract" and ["end", "goodbye"] in r["ended"]


def test_voice_alone_moves_through_the_screens(tmp_path):
    r = run_ui(tmp_path, """
        import kiosk.ui.screens.feedback as fb
        fb.THANKS_S = 0.1
        seen = {}
        ctl.emit(CustomerArrived(t=0.0)); d.pump()
        ctl.said("is order 380554 ready"); d.pump()
        seen["order"] = (app.current, [t for t in texts() if t in ("Ready to collect", "Collect Point")])
        ctl.said("I want to scan my receipt"); d.pump()
        seen["scan"] = app.current
        ctl.said("make the text bigger"); d.pump()
        ctl.said("turn on high contrast"); d.pump()
        seen["large_text"] = (app.theme.large_text, app.theme.high_contrast)
        ctl.said("make the text smaller"); d.pump()
        ctl.said("turn off high contrast"); d.pump()
        seen["back_to_normal"] = (app.theme.large_text, app.theme.high_contrast)
        ctl.said("I want to talk to a person"); d.pump()
        seen["handoff"] = app.current
        ctl.said("cancel"); d.pump()
        seen["cancelled"] = (app.current, dict(app.ticket))
        ctl.said("goodbye"); d.pump()
        seen["goodbye"] = app.current
        seen["asked"] = calls("ask_rating")
        fbs, shown = app.screen("feedback"), []
        fbs.bind(phase=lambda screen, phase: shown.append((phase, screen.thanks_text)))
        ctl.said("four stars"); d.pump()
        seen["rated"] = (shown[:1], fbs.rating, [c.text for c in fbs.ids.reasons.children][::-1])
        seen["reason_asked"] = calls("ask_reason")
        ctl.said("it was easy to use"); d.pump()
        seen["reasoned"] = shown[1:2]
        seen["stored"] = [tuple(r) for r in assistant.journal._conn.execute("SELECT rating, comment FROM feedback")]
        d.pump(40)
        seen["final"] = app.current
        seen["feedback"] = calls("feedback")
        report(**seen)
    """)
    assert r["order"][0] == "conversation" and set(r["order"][1]) == {"Ready to collect", "Collect Point"}
    assert r["handoff"] == "handoff"
    assert r["cancelled"] == ["conversation", {}]
    assert r["scan"] == "scan" and r["large_text"] == [True, True]
    assert r["back_to_normal"] == [False, False]  # turned off by voice as well
    assert r["goodbye"] == "feedback" and r["asked"] == [["ask_rating", True]]
    # The spoken rating shows as stars, and "what stood out?" is asked next, by voice as well.
    assert r["rated"][0][0][0] == "reason" and r["rated"][1] == 4
    assert r["rated"][2] == ["Quick answers", "Easy to use", "Found what I needed", "Friendly"]
    assert r["reason_asked"][:1] == [["ask_reason", 4]]  # the next question, not the rating again
    assert r["reasoned"] == [["thanks", "Thank you for your feedback!"]]
    assert r["stored"] == [[4, "Easy to use"]]  # one rating for the visit, with its reason
    assert r["final"] == "attract" and r["feedback"] == []  # stored by the spoken answers alone


def test_a_greeting_heard_on_the_attract_screen_opens_the_conversation(tmp_path):
    """Hands-free without a camera: the microphone listens on the Attract screen (its indicator says
    so), and the answer to "hello" is the first thing the customer sees of their visit."""
    r = run_ui(tmp_path, """
        seen = {}
        ctl.emit(DeviceStatus("microphone", "live")); ctl.emit(ListeningChanged(True)); d.pump()
        mic = app.root.ids.top.ids.microphone_indicator
        seen["attract"] = [app.current, mic.listening]
        ctl.respond(lambda: assistant.turn("hello"), "speech", heard="hello"); d.pump()
        seen["woken"] = [app.current, [t for t in texts() if t.startswith("Hello, welcome to")]]
        ctl.said("where are the restrooms"); d.pump()
        seen["asked"] = [app.current, any("restroom" in t.lower() for t in texts())]
        report(**seen)
    """)
    assert r["attract"] == ["attract", True]
    assert r["woken"][0] == "conversation" and r["woken"][1]
    assert r["asked"] == ["conversation", True]


def test_the_language_is_chosen_by_voice(tmp_path):
    r = run_ui(tmp_path, """
        seen = {}
        ctl.emit(CustomerArrived(t=0.0)); d.pump()
        ctl.said("do you speak Spanish"); d.pump()  # only English has replies
        seen["unavailable"] = [app.current, app.language, any("only help in English" in t for t in texts())]
        import kiosk.assistant
        kiosk.assistant.available_languages = lambda: ["en", "es"]  # as if es.yaml were installed
        ctl.said("Spanish please"); d.pump()
        seen["chosen"] = [app.language, calls("set_language")]
        report(**seen)
    """)
    assert r["unavailable"] == ["conversation", "en", True]
    assert r["chosen"] == ["es", [["set_language", "es"]]]  # the same call as a tap on the Welcome screen


# A visit that reaches the Feedback screen, for the tests of what is stored from it.
_TO_FEEDBACK = """
        seen = {}
        ctl.emit(CustomerArrived(t=0.0)); d.pump()
        ctl.said("where are the restrooms"); d.pump()
        ctl.said("goodbye"); d.pump()
        fbs = app.screen("feedback")
"""
_STORED = 'seen["stored"] = [tuple(r) for r in assistant.journal._conn.execute("SELECT rating, comment FROM feedback")]'


def test_a_reason_or_a_new_star_tapped_after_a_spoken_rating_completes_it(tmp_path):
    r = run_ui(tmp_path, _TO_FEEDBACK + f"""
        ctl.said("two stars"); d.pump()
        seen["phase"] = fbs.phase
        tap(fbs.ids.star3); d.pump()  # changed their mind
        chip = next(c for c in fbs.ids.reasons.children if c.text == "Too slow")
        tap(chip); d.pump()
        {_STORED}
        seen["phase_after"] = fbs.phase
        report(**seen)
    """)
    assert r["phase"] == "reason" and r["phase_after"] == "thanks"
    assert r["stored"] == [[3, "Too slow"]]


def test_a_tapped_rating_is_kept_when_the_reason_is_skipped(tmp_path):
    r = run_ui(tmp_path, _TO_FEEDBACK + f"""
        tap(fbs.ids.star2); d.pump()
        seen["button"] = fbs.ids.skip.text
        tap(fbs.ids.skip); d.pump()
        seen["thanks"] = (fbs.phase, fbs.thanks_text)
        {_STORED}
        report(**seen)
    """)
    assert r["button"] == "Done"
    assert r["thanks"] == ["thanks", "Thank you for your feedback!"]
    assert r["stored"] == [[2, None]]


def test_scan_screen_previews_and_shows_the_result(tmp_path):
    r = run_ui(tmp_path, """
        seen = {}
        ctl.emit(CustomerArrived(t=0.0)); d.pump()
        app.show("scan"); d.pump(10)
        scan = app.screen("scan")
        seen["start_scan"] = len(calls("start_scan"))
        seen["frame"] = scan.has_frame and scan.ids.preview.texture is not None
        seen["preview_size"] = list(scan.ids.preview.texture.size)
        u = scan.ids.preview.texture.tex_coords
        seen["mirrored"] = u[0] > u[2]  # the left edge of the picture shows the camera's right
        # The picture follows the camera, and a frame it already shows is not drawn again.
        from kivy.core.window import Window
        flips = []
        Window.bind(on_flip=lambda *_: flips.append(1))
        d.pump(4); flips.clear()
        before = bytes(scan.ids.preview.texture.pixels)
        scan._pull(); d.pump(4)
        seen["redraws_same_frame"] = len(flips)
        ctl.frame = 255 - ctl.frame
        scan._pull(); d.pump(4)
        seen["redraws_new_frame"] = len(flips)
        seen["picture_changed"] = bytes(scan.ids.preview.texture.pixels) != before
        ctl.emit(ScanGuidance("move_closer")); d.pump()
        seen["hint"] = scan.ids.hint.text
        ctl.scanned(ScanFacts("order", order_number="846078")); d.pump()
        seen["result"] = (app.current, [t for t in texts() if "846078" in t])
        tap(scan.ids.done)
        seen["after_done"] = (app.current, len(calls("stop_scan")), scan.ids.preview.texture is None)
        seen["conversation_card"] = [t for t in texts() if t == "Refunded"]
        ctl.emit(DeviceStatus("camera", "off")); d.pump()
        app.show("scan"); d.pump()
        seen["no_camera"] = [t for t in texts() if "camera is off" in t.lower()]
        seen["camera_note"] = app.root.ids.top.ids.camera_indicator.label
        tap(scan.ids.type_instead)
        seen["typing"] = (app.current, app.screen("conversation").keyboard_open)
        # A camera looking down at the counter: the preview is the camera's own picture.
        app.ui = app.ui.model_copy(update={"mirror_preview": False})
        ctl.emit(DeviceStatus("camera", "live")); app.show("scan"); d.pump(10)
        u = scan.ids.preview.texture.tex_coords
        seen["unmirrored"] = u[0] < u[2]
        report(**seen)
    """, camera=True)
    assert r["start_scan"] == 1 and r["frame"] and r["preview_size"] == [640, 480] and r["mirrored"]
    assert r["unmirrored"]
    assert r["redraws_same_frame"] == 0 and r["redraws_new_frame"] >= 1 and r["picture_changed"]
    assert r["hint"] == "Please hold it a little closer."
    assert r["result"][0] == "scan" and any("Order 846078 was refunded" in t for t in r["result"][1])
    assert r["after_done"] == ["conversation", 1, True] and "Refunded" in r["conversation_card"]
    assert r["no_camera"] and r["camera_note"] == "Camera off"
    assert r["typing"] == ["conversation", True]


def test_large_text_and_high_contrast_switch_on_screen_then_attract_dims(tmp_path):
    r = run_ui(tmp_path, """
        seen = {}
        ctl.emit(CustomerArrived(t=0.0)); d.pump()
        app.show("conversation"); d.pump()
        ctl.said("how much is the claw hammer"); d.pump()
        def answer_label():
            return next(w for w in widgets() if getattr(w, "text", "") == "Stanley 16 oz Claw Hammer is $14.98.")
        top = app.root.ids.top.ids
        seen["size0"] = answer_label().font_size
        seen["tile0"] = find_button("Returns")._label.font_size
        tap(top.large_text_toggle)
        seen["size1"] = answer_label().font_size
        seen["tile1"] = find_button("Returns")._label.font_size
        seen["color0"] = list(answer_label().color)
        seen["bg0"] = list(app.theme.bg)
        tap(top.contrast_toggle)
        seen["color1"] = list(answer_label().color)
        seen["bg1"] = list(app.theme.bg)
        seen["selected"] = [top.large_text_toggle.selected, top.contrast_toggle.selected]
        advance(200)
        seen["reset"] = [app.theme.large_text, app.theme.high_contrast]
        advance(61)  # ui.dim_after_s = 60 with nobody around
        seen["dim"] = [app.current, app.dimmed]
        # "Say hello" is offered only where a voice can wake the kiosk.
        headline = app.screen("attract").ids.headline
        seen["headline"] = [headline.text]
        ctl.emit(DeviceStatus("camera", "live")); ctl.emit(DeviceStatus("microphone", "live")); d.pump()
        seen["headline"].append(headline.text)
        ctl.emit(DeviceStatus("camera", "failed")); d.pump()  # nothing can see a customer arrive...
        seen["headline"].append(headline.text)
        app.listens_without_camera = True; d.pump()  # ...unless the microphone listens for a greeting
        seen["headline"].append(headline.text)
        app.hands_free = False; d.pump()  # push-to-talk: speaking needs a tap first
        seen["headline"].append(headline.text)
        ctl.emit(CustomerApproaching(t=0.0, distance_m=1.2)); d.pump()
        seen["approach"] = app.dimmed
        advance(61)
        tap(app.screen("attract"))
        seen["woken"] = [app.current, app.dimmed, len(calls("begin"))]
        report(**seen)
    """)
    assert r["size1"] >= r["size0"] * 1.25 and r["tile1"] > r["tile0"]
    assert r["bg0"] != r["bg1"] and r["bg1"][:3] == [0, 0, 0]
    assert r["color0"] != r["color1"] and r["color1"][:3] == [1, 1, 1]
    assert r["selected"] == [True, True]
    assert r["reset"] == [False, False]  # the next customer starts with the configured defaults
    assert r["dim"] == ["attract", True] and r["approach"] is False
    assert r["headline"] == ["Tap to start", "Tap or say hello", "Tap to start", "Tap or say hello",
                             "Tap to start"]
    assert r["woken"] == ["welcome", False, 2]


def test_the_real_runtime_drives_the_app(tmp_path):
    r = run_ui(tmp_path, """
        import kiosk.ui.screens.feedback as fb
        fb.THANKS_S = 0.1
        seen = {}
        wait_until(lambda: app.camera_state == "off" and app.microphone_state == "off")
        top = app.root.ids.top.ids
        seen["notes"] = [top.camera_indicator.label, top.microphone_indicator.label]
        tap(app.screen("attract"))
        tap(app.screen("welcome").ids.ask)
        talk = app.screen("conversation").ids.talk
        seen["talk_button"] = [talk.text, talk.disabled]
        tap(find_button("Opening hours"))
        wait_until(lambda: any("open from" in t for t in texts()))
        tap(find_button("Talk to a person"))
        wait_until(lambda: app.current == "handoff" and app.screen("handoff").number)
        number = app.screen("handoff").number
        seen["journal"] = [(t.number, t.status) for t in assistant.journal.list_escalations()]
        ticket = assistant.journal.list_escalations()[0]
        assistant.journal.claim_escalation(ticket.id, "Sam")  # the staff console
        wait_until(lambda: app.screen("handoff").claimed, timeout=15)
        seen["claimed"] = [t for t in texts() if "Sam" in t]
        tap(app.screen("handoff").ids.cancel)
        wait_until(lambda: app.current == "conversation" and not app.ticket_number)
        seen["resolved"] = [(t.status, t.resolved_by) for t in assistant.journal.list_escalations()]
        tap(find_button("Finish"))
        wait_until(lambda: app.current == "feedback")  # the runtime answers from its worker thread
        tap(app.screen("feedback").ids.star5)
        wait_until(lambda: "Quick answers" in texts())
        tap(find_button("Quick answers"))
        wait_until(lambda: app.current == "attract", timeout=15)
        import time; time.sleep(0.3)
        rows = assistant.journal._conn.execute("select rating, comment from feedback").fetchall()
        seen["feedback"] = [list(r) for r in rows]
        seen["number"] = number
        ctl.stop()
        report(**seen)
    """, runtime=True)
    assert r["notes"] == ["Camera off", "Mic off"]
    assert r["talk_button"] == ["Voice off", True]  # no microphone: typing and tiles only
    assert r["journal"] == [[r["number"], "open"]]
    assert r["claimed"] and any("Sam is coming" in t for t in r["claimed"])
    assert r["resolved"] == [["resolved", "customer"]]
    assert r["feedback"] == [[5, "Quick answers"]]


def test_screens_cross_fade_and_leave_no_framebuffers_behind(tmp_path):
    # `kiosk run`'s fade. Kivy's own FadeTransition left two window-sized framebuffers per screen
    # change for the cycle collector (tens of MB on a busy kiosk); this one must leave none.
    r = run_ui(tmp_path, """
        import gc
        from kivy.graphics import Fbo
        gc.disable()  # what the app frees by itself counts, not what a collection happens to find
        sm = app.sm
        steps = []
        sm.transition.duration = 0.6  # several frames of fade even on a slow software renderer
        sm.transition.bind(on_progress=lambda t, p: steps.append((t.screen_in.opacity, t.screen_out.opacity)))

        def settled(name):
            wait_until(lambda: not sm.transition.is_active and [s.name for s in sm.children] == [name])

        def framebuffers():
            return sum(type(o) is Fbo for o in gc.get_objects())  # type(): some objects are dead proxies

        tap(app.screen("attract"))
        settled("welcome")
        steps.clear()
        app.show("conversation")
        settled("conversation")
        fade = list(steps)
        app.show("scan")  # built on first show, with the small framebuffers of its panels' shadows
        settled("scan")
        app.show("conversation")
        settled("conversation")
        before = framebuffers()
        for _ in range(4):
            app.show("scan")
            settled("scan")
            app.show("conversation")
            settled("conversation")
        report(fade=fade, opacities={s.name: s.opacity for s in sm.screens},
               new_framebuffers=framebuffers() - before, talk=find_button("Talk to a person").text)
    """, runtime=True, transitions=True)
    # The new screen comes in as the old one goes: both partly visible, together at full strength.
    between = [(a, b) for a, b in r["fade"] if 0.0 < a < 1.0]
    assert len(between) >= 2, r["fade"]
    assert all(abs(a + b - 1.0) < 1e-6 for a, b in between)
    assert [round(a, 3) for a, _ in between] == sorted(round(a, 3) for a, _ in between)
    # Afterwards every screen is fully opaque (the ones shown again later too) and usable.
    assert set(r["opacities"].values()) == {1.0}
    assert r["talk"] == "Talk to a person"
    assert r["new_framebuffers"] == 0

LAYOUT = """
    import kiosk.ui.screens.feedback as fb
    fb.THANKS_S = 60
    problems, buttons = [], 0

    def visible(w):
        while w is not None and w is not Window:
            if w.opacity <= 0.01 or w.width <= 0 or w.height <= 0:
                return False
            w = w.parent
        return True

    def check(state):
        global buttons
        d.pump(6)
        scrolled = set()
        for w in widgets():
            if isinstance(w, ScrollView):
                for c in w.children:
                    scrolled.update(id(x) for x in c.walk(restrict=True))
        for w in widgets():
            if w is Window or not visible(w) or id(w) in scrolled and not isinstance(w, ScrollView):
                continue
            x, y = w.to_window(w.x, w.y)
            name = f"{state}: {type(w).__name__} {getattr(w, 'text', '')!r}"
            if x < -1 or y < -1 or x + w.width > W + 1 or y + w.height > H + 1:
                problems.append(f"{name} outside the window at {(round(x), round(y), round(w.width), round(w.height))}")
            if isinstance(w, ButtonBehavior) and not w.disabled:
                buttons += 1
                if w.width < dp(48) - 0.5 or w.height < dp(48) - 0.5:
                    problems.append(f"{name} too small: {round(w.width)}x{round(w.height)}")

    check("attract")
    ctl.emit(CustomerArrived(t=0.0)); check("welcome")
    app.show("conversation"); check("conversation")
    ctl.start_listening(); ctl.emit(PartialTranscript("where can I find")); check("listening")
    ctl.stop_listening()
    ctl.said("how much is the claw hammer"); check("product")
    ctl.said("what are your opening hours"); check("hours")
    app.theme.large_text = True; check("large text")
    app.theme.large_text = False
    app.screen("conversation").open_keyboard("text"); check("keyboard")
    app.screen("conversation").open_keyboard("numbers"); check("number keys")
    app.screen("conversation").close_keyboard()
    app.show("scan"); check("scan")
    ctl.scanned(ScanFacts("order", order_number="846078")); check("scan result")
    app.show("conversation"); ctl.request_staff(); check("handoff")
    ctl.claim("Sam"); check("claimed")
    ctl.said("bye"); check("feedback")
    app.screen("feedback").rate(2); check("feedback reasons")
    app.screen("feedback").send("Too slow"); check("thanks")
    app.theme.large_text = True  # the same screens again with large text
    app.show("welcome"); check("welcome, large text")
    app.show("conversation"); ctl.said("is order 380554 ready"); check("order, large text")
    app.screen("conversation").open_keyboard("text"); check("keyboard, large text")
    app.screen("conversation").close_keyboard()
    app.show("scan"); check("scan, large text")
    ctl.request_staff(); ctl.claim("Ana"); check("claimed, large text")
    app.show("feedback", goodbye="Thanks for visiting. Goodbye!"); app.screen("feedback").clear(); check("feedback, large text")
    report(problems=problems, buttons=buttons)
"""


@pytest.mark.parametrize("size", [(800, 480), (1080, 1920), (480, 800)],
                         ids=["800x480", "1080x1920-portrait", "480x800-portrait"])
def test_small_landscape_and_portrait_fit_the_window(tmp_path, size):
    r = run_ui(tmp_path, LAYOUT, size=size, camera=True)
    assert r["problems"] == []
    assert r["buttons"] > 40


def test_kiosk_screenshots_writes_every_screen_at_every_size(tmp_path):
    import cv2

    out = tmp_path / "shots"
    env = dict(os.environ, HOME=str(tmp_path), KIVY_HOME=str(tmp_path / ".kivy"), PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, "-m", "kiosk", "screenshots", "--out", str(out),
                           "--config", str(ROOT / "tests" / "data" / "test_config.toml")],
                          check=False, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-4000:]
    files = sorted(out.glob("*.png"))
    for size in ("1280x800", "800x480", "1080x1920"):
        w, h = (int(v) for v in size.split("x"))
        mine = [f for f in files if f.stem.endswith(size)]
        screens = {f.stem.split("-")[0] for f in mine}
        assert screens == {"attract", "welcome", "conversation", "scan", "handoff", "feedback"}, size
        assert {"conversation-product", "scan-result", "handoff-waiting"} <= {f.stem.rsplit("-", 1)[0] for f in mine}
        for f in mine:
            img = cv2.imread(str(f))
            assert img is not None and img.shape[:2] == (h, w), f.name
            assert img.std() > 12, f"{f.name} is nearly blank"
            assert len(set(map(tuple, img[::17, ::13].reshape(-1, 3)))) > 8, f"{f.name} has almost one colour"
    assert str(out) in done.stdout
