"""Requests to operate the kiosk itself, matched by sentence patterns before the intent model.

The intent model knows what customers ask the *shop*; "I want to scan my receipt" asks the *kiosk*
to open its camera, and the model (never trained on it) reads it as "cancel" or a return. Like
Home Assistant's sentence templates, these few commands are matched exactly, and only when the
whole sentence is the command: "can I return this, I have the receipt" stays a return.
"""

from __future__ import annotations

import re
from typing import Literal

from kiosk.dialogue.languages import language_asked

Command = Literal["scan", "large_text", "normal_text", "high_contrast", "normal_contrast", "language"]

# What the camera can read (see kiosk.vision.scan); a gift or rewards card is not among them.
_THINGS = (r"(?:(?:my|the|a|an|this|that|your) )?(?:(?:order|pickup|pick up|collection) )?"
           r"(?:receipt|receipts|bar ?code|barcodes|qr code|qr|code|order slip|slip|order|ticket|"
           r"id|i d|id card|identity card|identification|document|passport|driver'?s licen[cs]e|licen[cs]e|"
           r"product|item|label|price tag|tag|box|it|this|that)")
_WANT = (r"(?:i (?:want|would like|'d like|need|wanna) to |i'?d like to |can i |could i |may i |let me |"
         r"how (?:do|can) i |where (?:do|can) i |i'?m going to |i'll |please |can you |could you |"
         r"i (?:want|would like|'d like) you to )?")
_SCAN = re.compile(
    rf"^(?:ok |okay |um |so |hi |hello )?{_WANT}"
    rf"(?:(?:scan|read) {_THINGS}(?: (?:for me|please|here|now))?"
    rf"|(?:show|hold up|hold) {_THINGS} (?:up )?(?:to|for|in front of) (?:you|the camera|the scanner)"
    rf"|(?:show|hold up) you {_THINGS}"
    rf"|(?:use|open|start|turn on) (?:the )?(?:camera|scanner)"
    rf"|(?:scan something|scan))(?: please)?$")
_SCAN_ALONE = re.compile(r"^(?:the )?(?:camera|scanner|scan it|scan this)(?: please)?$")
# The screen's two accessibility switches, for a customer who cannot find (or see) the buttons.
_TEXT = r"(?:text|writing|letters|font|words|print|screen)"
_LARGE_TEXT = re.compile(
    rf"^{_WANT}(?:(?:make|turn|set) (?:the |your )?{_TEXT} (?:bigger|larger|big|large)"
    rf"|(?:bigger|larger|big|large) {_TEXT}|zoom in|enlarge (?:the )?{_TEXT}"
    rf"|i can'?t read (?:this|that|it|the {_TEXT})(?: very well)?)(?: please)?$")
_HIGH_CONTRAST = re.compile(
    rf"^{_WANT}(?:(?:turn on |switch on |use |more |higher )?(?:the )?high contrast(?: mode)?(?: on)?"
    rf"|more contrast|higher contrast|(?:make (?:the |it |this )?(?:screen |text )?)?easier to see)"
    rf"(?: please)?$")
# ... and back: a customer who turned a mode on by voice can turn it off by voice.
_NORMAL_TEXT = re.compile(
    rf"^{_WANT}(?:(?:make|turn|set|put) (?:the |your )?{_TEXT} (?:smaller|small|normal|back|back to normal)"
    rf"|(?:smaller|small|normal|regular) {_TEXT}(?: size)?|zoom out|(?:the )?{_TEXT} (?:is )?too (?:big|large))"
    rf"(?: please)?$")
_NORMAL_CONTRAST = re.compile(
    rf"^{_WANT}(?:(?:turn |switch )?off (?:the )?high contrast(?: mode)?"
    rf"|(?:(?:turn|switch) )?(?:the )?high contrast(?: mode)? off"
    rf"|(?:no|no more|not|stop|less|normal|regular) (?:high )?contrast(?: mode)?|normal colou?rs)(?: please)?$")


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


def kiosk_command(text: str) -> Command | None:
    """"scan" (show the camera something); "large_text", "high_contrast" or back to "normal_text",
    "normal_contrast" (the screen's switches); "language" ("Spanish please", "change the language":
    kiosk.dialogue.languages says which); or None for everything else."""
    words = _normalise(text)
    if _SCAN.match(words) or _SCAN_ALONE.match(words):
        return "scan"
    if _LARGE_TEXT.match(words):
        return "large_text"
    if _HIGH_CONTRAST.match(words):
        return "high_contrast"
    if _NORMAL_TEXT.match(words):
        return "normal_text"
    if _NORMAL_CONTRAST.match(words):
        return "normal_contrast"
    if language_asked(text) is not None:
        return "language"
    return None


def command_sentences() -> tuple[str, ...]:
    """Spoken-form ways of saying each command, for recognisers to expect (every one matches).

    Few on purpose: these go into the shop's language model, and 165 combinations of polite leads
    and objects shifted it enough to mishear a shop request ("how much does the cordless drill
    cost") that it had heard before."""
    return (
        "i want to scan my receipt", "scan my receipt", "scan this barcode", "can you scan this",
        "scan my order slip", "scan my id", "open the camera", "use the camera", "read my receipt",
        "make the text bigger", "make the writing bigger", "make the writing larger", "bigger text please",
        "larger text", "zoom in", "i can't read this", "i can't read the text",
        "high contrast", "turn on high contrast", "high contrast mode", "more contrast please",
        "make it easier to see", "make the text smaller", "smaller text please", "turn off high contrast",
        "high contrast off", "no more high contrast",
        # Without these "spanish please" was heard as "finished please" (goodbye); with them the
        # benchmark heard 8 of 12 language requests, not 1, and no shop request less (2026-12-03).
        "do you speak spanish", "can you speak spanish", "spanish please", "english please",
        "change the language",
    )
