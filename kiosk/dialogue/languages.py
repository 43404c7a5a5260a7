"""The kiosk's languages: which have content, what they are called, and which one a customer asks for.

Replies exist per language (assets/responses/<code>.yaml); the Welcome screen lists those languages
by their own names, and a customer can ask for one in words ("Spanish please", "do you speak
French", "¿hablas español?"). A language without replies gets a plain "only English here for now"
and the way to a person, rather than "sorry, I didn't get that".
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from kiosk import paths

# Each language by its own name, as the Welcome screen shows it.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch", "pt": "Português",
                  "zh": "中文", "vi": "Tiếng Việt", "ko": "한국어", "ar": "العربية", "tl": "Tagalog"}
# ... and in English, as the English replies name it.
ENGLISH_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese",
                 "zh": "Chinese", "vi": "Vietnamese", "ko": "Korean", "ar": "Arabic", "tl": "Tagalog"}
# What customers call them, accents folded (see _fold).
_SAID = {"english": "en", "ingles": "en", "spanish": "es", "espanol": "es", "castellano": "es",
         "french": "fr", "francais": "fr", "german": "de", "deutsch": "de", "portuguese": "pt",
         "portugues": "pt", "chinese": "zh", "mandarin": "zh", "cantonese": "zh", "vietnamese": "vi",
         "tieng viet": "vi", "korean": "ko", "arabic": "ar", "tagalog": "tl", "filipino": "tl"}
# A language's own name is unmistakable in a short sentence in that language ("parlez-vous français").
_OWN_NAMES = ("espanol", "castellano", "francais", "deutsch", "portugues", "tieng viet")
_LANG = "(?:" + "|".join(sorted(_SAID, key=len, reverse=True)) + ")"
_NAMED = re.compile(rf"\b{_LANG}\b")
_LEAD = (r"(?:(?:can|could|would) you |please |i (?:want|would like|'d like|need) (?:to |you to )?|"
         r"i'?d like (?:to )?|let'?s |(?:can|could) we |(?:can|could|may) i )?")
_ASK_FOR = re.compile(
    rf"^(?:hi |hello |excuse me )?{_LEAD}"
    rf"(?:(?:speak|talk|answer|reply|help me|use|switch(?: to)?|change(?: to)?|go(?: to)?|continue|do this)"
    rf"(?: to me| with me)?(?: in)? {_LANG}"
    rf"|(?:do|can|could) you (?:speak|talk|understand|do) {_LANG}"
    rf"|(?:in )?{_LANG}(?: language)?"
    rf"|(?:change|switch|set|choose|pick) (?:the |your )?language (?:to|into) {_LANG})(?: please)?$")
_ANY = re.compile(
    rf"^{_LEAD}(?:(?:change|switch|set|choose|pick) (?:the |your )?language"
    rf"|(?:another|other|a different) language|(?:do you (?:speak|have) )?(?:any )?other languages"
    rf"|what languages (?:do you (?:speak|have)|are there)|language)(?: please)?$")


def available_languages(responses_dir: Path | None = None) -> list[str]:
    """Languages that have reply texts (assets/responses/<code>.yaml); English first."""
    folder = responses_dir or paths.ASSETS_DIR / "responses"
    codes = sorted(p.stem for p in folder.glob("*.yaml"))
    return sorted(codes, key=lambda c: (c != "en", c))


def spoken_names(codes: list[str]) -> str:
    """"English, Spanish and French": the languages as an English reply names them."""
    names = [ENGLISH_NAMES.get(code, code) for code in codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def language_asked(text: str) -> str | None:
    """The code of the language asked for ("es" for "Spanish please"); "" for a language change that
    names none ("change the language"); None when the text is not about the kiosk's language."""
    words = _fold(text)
    if _ASK_FOR.match(words):
        return _SAID[_NAMED.search(words).group(0)]
    if _ANY.match(words):
        return ""
    if len(words.split()) <= 4:
        for name in _OWN_NAMES:
            if re.search(rf"\b{name}\b", words):
                return _SAID[name]
    return None
