"""Spoken requests end to end: espeak-ng speech → end-pointer → PocketSphinx → text core → answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import DATA, ROOT, TODAY

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPOKEN = yaml.safe_load((DATA / "spoken_requests_en.yaml").read_text(encoding="utf-8"))["requests"]
SILENCE = b"\0\0" * 8000  # 0.5 s


def speech(text: str) -> bytes:
    """Synthesized speech as a microphone hears it: room tone before, and enough after to end it."""
    from kiosk.speech.synth import in_room, synthesize

    return in_room(synthesize(text, voice="en-us"), before_s=0.5, after_s=1.0)


@pytest.fixture(scope="module")
def engine(config):
    from kiosk.app import build_assistant, build_speech_engine

    assistant = build_assistant(config, database=":memory:")
    return build_speech_engine(config, assistant, engine="pocketsphinx")


@pytest.fixture
def listener(engine, assistant, config):
    from kiosk.app import build_endpointer
    from kiosk.speech.listener import Listener

    listener = Listener(engine, assistant, build_endpointer(config))
    listener.endpointer.set_present(True)
    return listener


def hear(listener, pcm: bytes):
    heard = []
    for i in range(0, len(pcm), 1024):
        heard += listener.push(pcm[i:i + 1024])
    tail = listener.flush(len(pcm) / 32000)
    return heard + ([tail] if tail else [])


def test_spoken_requests_are_not_copied_from_the_training_data():
    from kiosk.nlu.data import load_dataset
    from kiosk.speech.domain import spoken_form

    training = {spoken_form(e.text) for e in load_dataset(ROOT / "assets" / "intents" / "en").examples}
    copied = [r["text"] for r in SPOKEN if spoken_form(r["text"]) in training]
    assert len(SPOKEN) >= 50 and not copied


def test_spoken_shop_requests_reach_the_right_intent(listener, assistant):
    """The headline: customers' spoken requests are understood (grammar mode, PocketSphinx)."""
    wrong = []
    for request in SPOKEN:
        heard = hear(listener, speech(request["text"]))
        assistant.end("next customer")
        intents = [h.turn.intent or "oos" for h in heard if h.turn] or ["not heard"]
        if request["intent"] not in intents[:1]:
            wrong.append((request["text"], request["intent"], [h.transcript.text for h in heard], intents))
    accuracy = 1 - len(wrong) / len(SPOKEN)
    assert accuracy >= 0.9, f"{accuracy:.1%} right; wrong: {wrong}"


def test_order_number_said_in_a_second_turn_is_understood(listener):
    first = hear(listener, speech("where is my order"))
    assert first and first[0].turn.outcome.value == "ask_slot"
    second = hear(listener, speech("three eight zero five five four"))
    assert second, "the order number was not heard"
    turn = second[0].turn
    assert turn.intent == "order_status" and turn.slots.get("order_number") == "380554", \
        second[0].transcript.text
    assert "ready" in turn.answer.lower()


def test_asking_to_scan_and_rating_by_voice_are_heard(listener, assistant):
    """Voice alone: "scan my receipt" opens the camera, and the Feedback question is answered aloud."""
    opened = hear(listener, speech("I want to scan my receipt"))
    assert opened and opened[0].turn.card == {"kind": "open_scan"}, [h.transcript.text for h in opened]
    assistant.turn("goodbye")
    assistant.ask_rating(True)
    rated = hear(listener, speech("four stars"))
    assert rated and rated[0].turn.card == {"kind": "rating", "stars": 4}, [h.transcript.text for h in rated]


@pytest.mark.parametrize("said, card", [
    ("bigger text please", {"kind": "display", "setting": "large_text"}),
    ("turn on high contrast", {"kind": "display", "setting": "high_contrast"}),
    ("open the camera", {"kind": "open_scan"}),
])
def test_the_kiosk_s_own_commands_are_heard(listener, said, card):
    """The shop's model also knows the kiosk's commands: before, 4 of 36 spoken ones were heard."""
    heard = hear(listener, speech(said))
    assert heard and heard[0].turn is not None and heard[0].turn.card == card, \
        [h.transcript.text for h in heard]


@pytest.mark.parametrize("question, said, card", [
    ("rating", "one star", {"kind": "rating", "stars": 1}),
    ("rating", "very good", {"kind": "rating", "stars": 4}),
    ("rating", "no thanks", {"kind": "rating", "stars": None}),
    ("reason", "it was too slow", {"kind": "rating_reason", "stars": 2, "reason": "Too slow"}),
    ("reason", "you didn't understand me",
     {"kind": "rating_reason", "stars": 2, "reason": "Didn't understand me"}),
    ("reason", "easy to use", {"kind": "rating_reason", "stars": 2, "reason": "Easy to use"}),
])
def test_the_feedback_screen_s_questions_are_answered_aloud(listener, assistant, question, said, card):
    """While a question is on screen the recogniser expects its answers ("one star" was heard as
    "want a dollar" with the shop's model alone)."""
    assistant.turn("goodbye")
    assistant.ask_rating(True) if question == "rating" else assistant.ask_reason(2)
    heard = hear(listener, speech(said))
    assert heard and heard[0].turn is not None and heard[0].turn.card == card, \
        [h.transcript.text for h in heard]


@pytest.mark.parametrize("question", ["rating", "reason"])
def test_a_request_made_while_the_feedback_screen_asks_is_still_heard(listener, assistant, question):
    assistant.turn("goodbye")
    assistant.ask_rating(True) if question == "rating" else assistant.ask_reason(4)
    heard = hear(listener, speech("where are the restrooms"))
    assert heard and heard[0].turn.intent == "restrooms", [h.transcript.text for h in heard]
    assert assistant.journal._conn.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


def test_partial_text_grows_while_the_customer_talks(engine, assistant, config):
    from kiosk.app import build_endpointer
    from kiosk.speech.listener import Listener

    partials: list[str] = []
    listener = Listener(engine, assistant, build_endpointer(config), on_partial=partials.append)
    listener.endpointer.set_present(True)
    heard = hear(listener, speech("where can i find the garden hoses please"))
    assert len(partials) >= 2, partials
    assert heard and len(partials[-1].split()) >= len(partials[0].split())


def test_before_a_visit_only_a_greeting_is_answered(engine, assistant, config):
    """Hands-free with no camera: the kiosk listens before anyone has started a visit. What passers-by
    say is neither shown (no partial words), answered nor recorded; a greeting starts the visit."""
    from kiosk.app import build_endpointer
    from kiosk.speech.listener import Listener

    partials: list[str] = []
    started: list[bool] = []
    listener = Listener(engine, assistant, build_endpointer(config), on_partial=partials.append,
                        on_speech_start=lambda: started.append(True),
                        wake_only=lambda: assistant.session_id is None)
    listener.endpointer.set_present(True)
    for passer_by in ("where are the restrooms", "I think we should go home now"):
        assert hear(listener, speech(passer_by)) == []
    assert partials == [] and started == [] and assistant.session_id is None
    assert assistant.journal._conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
    heard = hear(listener, speech("hello"))
    assert [h.turn.intent for h in heard] == ["greet"] and assistant.session_id is not None
    heard = hear(listener, speech("where are the restrooms"))
    assert [h.turn.intent for h in heard] == ["restrooms"]
    assert partials and started  # in the visit, the customer's words are shown as they speak


def test_silence_is_a_clean_no_speech(listener):
    assert hear(listener, SILENCE * 10) == []


def test_speech_too_unclear_to_use_is_not_a_turn(listener, assistant):
    import numpy as np

    rng = np.random.default_rng(7)
    noise = (rng.normal(0, 6000, 16000 * 2)).clip(-32768, 32767).astype("<i2").tobytes()
    heard = hear(listener, SILENCE + noise + SILENCE * 2)
    # Noise is either not heard at all or heard as nothing the shop does: never a shop answer.
    assert all(h.turn is None or h.turn.intent in (None, "oos") for h in heard), \
        [(h.transcript.text, h.transcript.mode, h.transcript.details, h.turn.intent) for h in heard if h.turn]


# -- kiosk listen -------------------------------------------------------------------------------
def _kiosk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def wav_request(tmp_path_factory) -> Path:
    from kiosk.speech.synth import write_wav

    path = tmp_path_factory.mktemp("speech") / "request.wav"
    # "how much does the cordless drill cost" sits on an acoustic knife edge with this voice: small
    # changes to the shop's language model flip it between "…cordless drill got" and "…colour list
    # reel cart if". This test is about what `kiosk listen --json` reports, so it uses a clear one.
    write_wav(path, speech("how much is the cordless drill"))
    return path


def test_listen_json_reports_transcript_intent_answer_and_timings(wav_request, tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[storage]\ndatabase = "{tmp_path / "k.db"}"\n[speech]\nmodels_dir = "{tmp_path}"\n')
    out = _kiosk("listen", str(wav_request), "--json", "--config", str(config), "--date", TODAY.isoformat())
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[0])
    assert "drill" in result["transcript"]
    assert result["intent"] == "price_check" and "$" in result["answer"]
    assert result["engine"] == "pocketsphinx"  # auto: no Vosk model installed in models_dir
    assert 0 <= result["confidence"] <= 1
    timings = result["timings"]
    assert timings["transcript_ms"] >= 0 and timings["intent_ms"] >= timings["transcript_ms"]


def test_listen_to_a_silent_file_says_no_speech(tmp_path):
    from kiosk.speech.synth import write_wav

    path = tmp_path / "silence.wav"
    write_wav(path, SILENCE * 6)
    out = _kiosk("listen", str(path), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["outcome"] == "no_speech"


@pytest.mark.parametrize("content, expected", [
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "truncated"),
    (os.urandom(4000), "not a WAV"),
])
def test_listen_to_a_broken_file_is_a_clear_error(tmp_path, content, expected):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    out = _kiosk("listen", str(path))
    assert out.returncode == 1
    assert expected.lower() in out.stderr.lower() and "Traceback" not in out.stderr


def test_asking_for_vosk_without_a_model_says_how_to_install_one(wav_request, tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[speech]\nmodels_dir = "{tmp_path / "models"}"\n')
    out = _kiosk("listen", str(wav_request), "--engine", "vosk", "--config", str(config))
    assert out.returncode == 1
    assert "kiosk models install" in out.stderr and "Traceback" not in out.stderr


def test_say_writes_speech_that_the_kiosk_understands(tmp_path):
    path = tmp_path / "say.wav"
    out = _kiosk("say", "where are the toilets please", "--out", str(path))
    assert out.returncode == 0, out.stderr
    heard = _kiosk("listen", str(path), "--json")
    assert json.loads(heard.stdout.splitlines()[0])["intent"] == "restrooms"


@pytest.mark.parametrize("heard, runner_up, acted_on", [
    # The best guess means nothing to the shop, the runner-up is a clear request: act on it.
    ("miller lite and get it", "never mind forget it", "never mind forget it"),
    # ... or one of the kiosk's commands (espeak's "zoom in", heard as "do you" first).
    ("do you", "zoom in", "zoom in"),
    ("do you", "do you do", "do you"),  # a runner-up that means nothing either changes nothing
    # The best guess is understood: keep it.
    ("where is the nearest toilet", "where is the nearest toilets", "where is the nearest toilet"),
    # The best guess is confidently not a shop request: never turn chit-chat into a shop answer.
    ("play some music by the beatles", "can you repeat that", "play some music by the beatles"),
])
def test_the_runner_up_is_used_only_when_the_best_guess_means_nothing(listener, heard, runner_up, acted_on):
    from kiosk.speech.engine import Transcript

    transcript = Transcript(heard, 0.6, accepted=True, engine="pocketsphinx", mode="grammar",
                            alternatives=((runner_up, 0.3),))
    assert listener._best_hypothesis(transcript) == acted_on


def test_the_open_pass_gives_up_rather_than_keep_a_customer_waiting():
    from kiosk.speech.engine import OPEN_PASS_BUDGET_S, feed_within_budget

    fed: list[bytes] = []
    now = [0.0]

    def decode(pcm: bytes) -> None:  # decoding runs at half real time (loud noise did)
        fed.append(pcm)
        now[0] += 2.0 * len(pcm) / 32000

    assert not feed_within_budget(decode, bytes(32000 * 12), clock=lambda: now[0])
    decoded_s = sum(len(p) for p in fed) / 32000
    # Stopped at the budget (3 s of work = 1.5 s of audio, plus the step that crossed it), not after 24 s.
    assert OPEN_PASS_BUDGET_S / 2 <= decoded_s <= OPEN_PASS_BUDGET_S / 2 + 0.2
    assert max(len(p) for p in fed) <= 3200  # short steps: the screen gets the GIL between them
    fed.clear()
    assert feed_within_budget(decode, bytes(32000), budget_s=10, clock=lambda: now[0])
    assert sum(len(p) for p in fed) == 32000
