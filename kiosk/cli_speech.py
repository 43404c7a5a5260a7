"""Speech verbs for technicians: `kiosk listen FILE|--mic` and `kiosk say TEXT`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from kiosk.errors import KioskError

EXIT_OK, EXIT_ERROR = 0, 1


def _speech_stack(args: argparse.Namespace, build_assistant: Callable[[argparse.Namespace], Any]):
    from kiosk.app import build_endpointer, build_speech_engine
    from kiosk.speech.listener import Listener

    config, assistant = build_assistant(args)
    engine = build_speech_engine(config, assistant, engine=args.engine)
    listener = Listener(engine, assistant, build_endpointer(config),
                        grammar=config.speech.grammar and not args.open)
    return config, assistant, engine, listener


def cmd_listen(args: argparse.Namespace, build_assistant: Callable[[argparse.Namespace], Any]) -> int:
    if bool(args.file) == bool(args.mic):
        raise KioskError("give an audio FILE to listen to, or --mic for the live microphone")
    if args.mic:
        return _listen_live(args, build_assistant)
    from kiosk.audio.wavfile import FileSource

    source = FileSource(args.file, raw_rate=args.raw_rate)  # bad files fail here, before models load
    _config, assistant, engine, listener = _speech_stack(args, build_assistant)
    # A recording has no tap to start it: listen as if a customer were standing there.
    listener.endpointer.set_present(True)
    try:
        heard = listener.run_source(source)
    finally:
        source.close()
        assistant.end("one_shot")
    info = engine.describe()
    if args.json:
        for h in heard:
            print(json.dumps({**h.as_dict(), "engine_info": info}, ensure_ascii=False, default=str))
        if not heard:
            print(json.dumps({"transcript": "", "confidence": 0.0, "accepted": False, "engine": engine.name,
                              "intent": None, "answer": None, "outcome": "no_speech", "escalation": None,
                              "timings": {}, "engine_info": info}))
        return EXIT_OK
    if not heard:
        print(f"no speech heard in {args.file}")
    for h in heard:
        t = h.transcript
        heard_text = t.text or "(nothing usable)"
        print(f"heard:  {heard_text}   [{t.engine} {t.mode}, confidence {t.confidence:.2f}]")
        intent = h.turn.intent if h.turn else None
        print(f"intent: {intent or '-'}")
        print(f"answer: {h.answer}")
        print(f"timing: transcript {h.timings['transcript_ms']:.0f} ms, "
              f"answer {h.timings['intent_ms']:.0f} ms after end of speech")
    return EXIT_OK


def _listen_live(args: argparse.Namespace, build_assistant: Callable[[argparse.Namespace], Any]) -> int:
    from kiosk.app import build_microphone, build_speaker

    config, assistant, engine, listener = _speech_stack(args, build_assistant)
    mic = build_microphone(config)
    speaker = build_speaker(config, mute=mic.set_muted)
    hands_free = config.endpoint.mode == "hands_free"
    listener.on_partial = lambda text: print(f"\r… {text[-70:]:<72}", end="", flush=True)

    def open_listening() -> None:
        # Push-to-talk has no button in the terminal: each answer re-opens listening.
        if hands_free:
            listener.endpointer.set_present(True)  # the camera supplies presence in the kiosk app
        else:
            listener.endpointer.open()

    def answered(h) -> None:
        print(f"\ryou>   {h.transcript.text or '(not heard)':<72}")
        print(f"kiosk> {h.answer}")
        speaker.say(h.answer)
        open_listening()

    print(f"listening with {engine.name} ({'hands-free' if hands_free else 'push-to-talk'}); Ctrl-C stops",
          file=sys.stderr)
    open_listening()
    try:
        listener.run_source(mic, on_heard=answered)
    except KeyboardInterrupt:
        print(file=sys.stderr)
    finally:
        speaker.stop()
        mic.close()
        assistant.end("shutdown")
    status = mic.status()
    if status.overflows:
        print(f"note: {status.overflows} audio chunks were dropped (the CPU fell behind)", file=sys.stderr)
    return EXIT_OK


def cmd_say(args: argparse.Namespace, load_config: Callable[[argparse.Namespace], Any]) -> int:
    config = load_config(args)
    if args.out:
        from kiosk.speech.synth import synthesize, write_wav

        pcm = synthesize(args.text, voice=config.tts.voice, rate_wpm=config.tts.rate_wpm,
                         amplitude=config.tts.volume)
        write_wav(args.out, pcm)
        print(f"wrote {args.out} ({len(pcm) / 32000:.1f} s, 16 kHz mono)")
        return EXIT_OK
    from kiosk.app import build_speaker

    speaker = build_speaker(config)
    if not config.tts.enabled:
        print("spoken replies are switched off (tts.enabled = false)", file=sys.stderr)
        return EXIT_OK
    speaker.say(args.text)
    if not speaker.available:
        raise KioskError(f"could not speak: {speaker.status().detail}")
    return EXIT_OK


def add_speech_parsers(sub: argparse._SubParsersAction, with_runtime: Callable, build_assistant: Callable,
                       load_config: Callable) -> None:
    listen = with_runtime(sub.add_parser("listen", help="recognise speech from a file or the microphone, "
                                                        "then answer it"))
    listen.add_argument("file", nargs="?", help="WAV (any rate/width/channels) or raw s16le file")
    listen.add_argument("--mic", action="store_true", help="listen live on the configured microphone")
    listen.add_argument("--engine", choices=["auto", "vosk", "pocketsphinx"], help="override speech.engine")
    listen.add_argument("--open", action="store_true", help="open-vocabulary decoding only (no grammar)")
    listen.add_argument("--raw-rate", type=int, default=16000,
                        help="sample rate of a .raw file (default 16000)")
    listen.add_argument("--json", action="store_true", help="one JSON object per utterance")
    listen.set_defaults(func=lambda a: cmd_listen(a, build_assistant))

    say = sub.add_parser("say", help="speak a text with the configured voice")
    say.add_argument("text")
    say.add_argument("--config", help="config file (default: /etc/kiosk/kiosk.toml, else packaged defaults)")
    say.add_argument("--out", help="write a 16 kHz WAV instead of playing it")
    say.set_defaults(func=lambda a: cmd_say(a, load_config))
