"""End-pointing on real synthesized speech (espeak-ng) in silence and noise, through real webrtcvad.

All assertions are on audio time (seconds pushed), never on wall-clock time.
"""

from __future__ import annotations

import shutil
import tracemalloc

import numpy as np
import pytest

from kiosk.audio.endpoint import Endpointer, NoSpeech, SpeechAudio, SpeechEnded, SpeechStarted
from kiosk.audio.source import AudioError, SAMPLE_RATE

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")

PHRASE = "where can I find light bulbs"
TRAILING_S = 0.7  # the default trailing_silence_ms


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    from kiosk.speech.synth import synthesize

    return np.frombuffer(synthesize(PHRASE), dtype="<i2").astype(np.float64)


def active_span(signal: np.ndarray) -> tuple[float, float]:
    """First and last instant (s) where the clean speech is clearly audible (|x| > 1% of full scale)."""
    loud = np.nonzero(np.abs(signal) > 328)[0]
    return loud[0] / SAMPLE_RATE, loud[-1] / SAMPLE_RATE


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE))


def noise(kind: str, n: int, dbfs: float, seed: int = 7) -> np.ndarray:
    """White or pink (1/f power) noise with an RMS of `dbfs` relative to full scale."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    if kind == "pink":
        spectrum = np.fft.rfft(x)
        spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
        x = np.fft.irfft(spectrum, n)
    x /= np.sqrt(np.mean(x * x))
    return x * 32768 * 10 ** (dbfs / 20)


def pcm(signal: np.ndarray) -> bytes:
    return np.clip(np.rint(signal), -32768, 32767).astype("<i2").tobytes()


def run(audio: bytes, *, chunk: int = 32_000, present: bool = True, **settings) -> list:
    """All events for `audio` pushed hands-free in `chunk`-byte pieces, presence ending afterwards."""
    endpointer = Endpointer(**settings)
    events = endpointer.set_present(True)
    for offset in range(0, len(audio), chunk):
        events += endpointer.push(audio[offset:offset + chunk])
    if present:
        events += endpointer.set_present(False)
    return events


def markers(events: list) -> list:
    return [e for e in events if not isinstance(e, SpeechAudio)]


def utterances(events: list) -> list[bytes]:
    """The audio of each utterance: the SpeechAudio between a SpeechStarted and its SpeechEnded."""
    out: list[bytes] = []
    for event in events:
        if isinstance(event, SpeechStarted):
            out.append(b"")
        elif isinstance(event, SpeechAudio):
            out[-1] += event.pcm
    return out


@pytest.mark.parametrize("kind, level", [("none", None), ("white", -45.0), ("white", -40.0),
                                         ("pink", -45.0), ("pink", -40.0)])
def test_utterance_found_on_time_in_silence_and_noise(speech, kind, level):
    lead = 1.5
    signal = np.concatenate([silence(lead), speech, silence(2.0)])
    if level is not None:
        signal = signal + noise(kind, signal.size, level)
    onset, end = (lead + t for t in active_span(speech))

    found = markers(run(pcm(signal)))

    assert [type(e) for e in found] == [SpeechStarted, SpeechEnded], found
    started, ended = found
    assert onset <= started.at_s <= onset + 0.2
    assert ended.reason == "silence"
    # Not cut while the customer still speaks, and closed promptly once they stop.
    assert end <= ended.at_s <= end + TRAILING_S + 0.1


def test_push_to_talk_silence_times_out_with_no_speech():
    endpointer = Endpointer(no_speech_timeout_s=6.0)
    endpointer.open()
    events = endpointer.push(pcm(silence(8.0)))

    assert markers(events) == [NoSpeech(at_s=6.0)]
    assert not endpointer.listening
    assert endpointer.push(pcm(silence(1.0))) == []  # closed until the next tap


def test_hands_free_silence_never_starts_and_holds_no_audio():
    """Ten minutes of an empty shop: no events, and memory does not grow with the audio."""
    endpointer = Endpointer()
    endpointer.set_present(True)
    second = pcm(silence(1.0))
    events = []
    tracemalloc.start()
    try:
        for _ in range(600):
            events += endpointer.push(second)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events == []
    assert peak < 500_000  # 10 minutes of audio would be 19 MB


def test_quiet_hum_and_distant_chatter_stay_below_the_energy_gate(speech):
    hum = noise("white", 10 * SAMPLE_RATE, -62.0)
    distant = np.concatenate([silence(1.0), speech * 10 ** (-42 / 20), silence(1.0)])  # ~ -63 dBFS RMS
    for signal in (hum, distant):
        # aggressiveness 0 lets the most through, so only the gate keeps these out.
        assert markers(run(pcm(signal), aggressiveness=0)) == []
    # Without the gate the VAD alone does open the microphone for the distant voice.
    assert SpeechStarted in {type(e) for e in run(pcm(distant), aggressiveness=0, min_energy_dbfs=-96.0)}


def test_ten_minutes_of_loud_noise_stay_bounded():
    """Loud noise the VAD calls speech: utterances are capped and memory does not grow."""
    endpointer = Endpointer(max_utterance_s=12.0, pre_roll_ms=300)
    endpointer.set_present(True)
    rng = np.random.default_rng(3)
    ends: list[SpeechEnded] = []
    longest = current = 0
    tracemalloc.start()
    try:
        for _ in range(600):  # one second at a time, so the test itself never holds all the audio
            chunk = pcm(rng.standard_normal(SAMPLE_RATE) * 32768 * 10 ** (-25 / 20))
            for event in endpointer.push(chunk):
                if isinstance(event, SpeechAudio):
                    current += len(event.pcm)
                elif isinstance(event, SpeechEnded):
                    ends.append(event)
                    longest, current = max(longest, current), 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(ends) >= 45  # about one capped utterance every 12 s
    assert all(e.reason == "max_length" and e.duration_s <= 12.0 for e in ends)
    assert longest <= (12.0 + 0.3 + 0.03) * SAMPLE_RATE * 2  # capped audio plus pre-roll
    assert peak < 2_000_000  # 10 minutes of audio would be 19 MB


def test_two_utterances_a_pause_apart(speech):
    signal = np.concatenate([silence(1.0), speech, silence(1.5), speech, silence(1.5)])
    found = markers(run(pcm(signal)))

    assert [type(e) for e in found] == [SpeechStarted, SpeechEnded] * 2
    assert [e.reason for e in found if isinstance(e, SpeechEnded)] == ["silence", "silence"]


def test_push_to_talk_takes_one_utterance_per_tap(speech):
    signal = pcm(np.concatenate([silence(1.0), speech, silence(1.5), speech, silence(1.5)]))
    endpointer = Endpointer()
    endpointer.open()
    found = markers(endpointer.push(signal))

    assert [type(e) for e in found] == [SpeechStarted, SpeechEnded]
    assert not endpointer.listening


def test_pre_roll_holds_the_first_syllable(speech):
    lead = 2.0
    audio = pcm(np.concatenate([silence(lead), speech, silence(1.5)]))
    onset, end = (lead + t for t in active_span(speech))
    events = run(audio)
    started = next(e for e in events if isinstance(e, SpeechStarted))
    (utterance,) = utterances(events)

    first = round(started.audio_from_s * SAMPLE_RATE) * 2
    # The utterance audio is the input itself, unclipped, from before the onset to past the end.
    assert utterance == audio[first:first + len(utterance)]
    assert started.audio_from_s <= onset - 0.25
    assert (first + len(utterance)) / 2 / SAMPLE_RATE >= end


def test_presence_drives_hands_free_listening(speech):
    endpointer = Endpointer()
    assert endpointer.push(pcm(np.concatenate([silence(0.5), speech]))) == []  # nobody there yet

    endpointer.set_present(True)
    events = endpointer.push(pcm(np.concatenate([silence(0.5), speech[: speech.size // 2]])))
    assert any(isinstance(e, SpeechStarted) for e in events)
    left = endpointer.set_present(False)  # the customer walks away mid-sentence
    assert len(left) == 1 and left[0].reason == "stopped"
    assert left[0].at_s == pytest.approx(endpointer.now_s)
    assert endpointer.push(pcm(speech)) == []  # gone: nothing more is heard

    endpointer.set_present(True)  # the next customer: a new session, the clock starts again
    again = markers(endpointer.push(pcm(np.concatenate([silence(0.5), speech, silence(1.0)]))))
    assert [type(e) for e in again] == [SpeechStarted, SpeechEnded]
    assert again[0].at_s < 1.0


@pytest.mark.parametrize("chunk", [1, 7, SAMPLE_RATE * 2])
def test_chunk_size_does_not_change_the_events(speech, chunk):
    signal = np.concatenate([silence(0.7), speech, silence(1.0)])
    audio = pcm(signal + noise("pink", signal.size, -45.0))
    assert run(audio, chunk=chunk) == run(audio, chunk=960)


def test_aggressiveness_decides_whether_noise_counts_as_speech(speech):
    signal = np.concatenate([silence(1.0), speech, silence(2.0)])
    signal = signal + noise("white", signal.size, -30.0)
    end = 1.0 + active_span(speech)[1]

    lenient = markers(run(pcm(signal), aggressiveness=0))
    strict = markers(run(pcm(signal), aggressiveness=3))

    # Lenient: the noise after the sentence keeps the utterance open until the customer leaves.
    assert lenient[-1].reason == "stopped"
    # Strict: the utterance closes on the silence after the sentence.
    assert strict[-1].reason == "silence" and strict[-1].at_s <= end + TRAILING_S + 0.1


def test_bad_settings_are_explained():
    with pytest.raises(AudioError, match="aggressiveness"):
        Endpointer(aggressiveness=5)
    with pytest.raises(AudioError, match="trailing_silence_ms"):
        Endpointer(trailing_silence_ms=0)
    endpointer = Endpointer()
    endpointer.open()
    with pytest.raises(AudioError, match="as bytes"):
        endpointer.push("where can I find light bulbs")  # type: ignore[arg-type]
