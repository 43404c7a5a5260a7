"""`kiosk` command line: technician verbs, each a thin wrapper over a library function."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Callable

from kiosk import __version__
from kiosk.errors import KioskError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(KioskError):
    """An error the user can fix; printed as one clear line, no traceback."""


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _load_config(args: argparse.Namespace, *, check_files: bool = True):
    from kiosk.config import ConfigError, load_config

    try:
        return load_config(args.config, check_files=check_files)
    except ConfigError as exc:
        raise CliError("configuration problem:\n" + "\n".join(f"  {i}" for i in exc.issues)
                       + f"\n(source: {exc.source}; run 'kiosk config check' for details)") from None


def _clock(args: argparse.Namespace) -> Callable[[], dt.datetime]:
    if not getattr(args, "date", None):
        return lambda: dt.datetime.now(dt.timezone.utc)
    try:
        day = dt.date.fromisoformat(args.date)
    except ValueError:
        raise CliError(f"--date {args.date!r}: expected YYYY-MM-DD") from None
    # Noon local time on that day, with the real time of day running on from there.
    start, anchor = dt.datetime.combine(day, dt.time(12)).astimezone(), time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - anchor)


def _assistant(args: argparse.Namespace):
    from kiosk.app import build_assistant

    config = _load_config(args)
    _setup_logging("DEBUG" if args.verbose else "WARNING")
    return config, build_assistant(config, clock=_clock(args))


# -- verbs --------------------------------------------------------------------------------------
def cmd_ask(args: argparse.Namespace) -> int:
    _, assistant = _assistant(args)
    try:
        result = assistant.turn(args.text)
    finally:
        assistant.end("one_shot")
    if args.json:
        out = result.as_dict()
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        print(result.answer)
        if result.escalation:
            print(f"[ticket {result.escalation['number']} opened for staff]", file=sys.stderr)
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    config, assistant = _assistant(args)
    store = assistant.answerer.profile.name
    print(f"{store} kiosk (text chat). Type your question; /new starts over, /rate 1-5 rates, /quit leaves.")
    idle_limit = config.dialogue.idle_timeout_s
    last = time.monotonic()
    try:
        while True:
            try:
                line = input("you> ")
            except EOFError:
                print()
                break
            if time.monotonic() - last > idle_limit and assistant.session_id:
                assistant.idle()  # like walking away from the screen: start afresh
            last = time.monotonic()
            command = line.strip().lower()
            if command in ("/quit", "/exit"):
                break
            if command == "/new":
                assistant.end("reset")
                print("kiosk> (new session)")
                continue
            if command.startswith("/rate"):
                _rate(assistant, command)
                continue
            result = assistant.turn(line)
            print(f"kiosk> {result.answer}")
            if result.escalation and result.outcome.value == "escalated":
                print(f"       [ticket {result.escalation['number']}: a team member has been called]")
    except KeyboardInterrupt:
        print()
    finally:
        assistant.end("shutdown")
    return EXIT_OK


def _rate(assistant, command: str) -> None:
    parts = command.split(maxsplit=2)
    try:
        rating = int(parts[1])
        if assistant.session_id is None:
            assistant.begin()
        assistant.feedback(rating, parts[2] if len(parts) > 2 else None)
        print("kiosk> Thank you for your feedback!")
    except (IndexError, ValueError):
        print("kiosk> Use /rate followed by a number from 1 to 5, e.g. /rate 5 very helpful")


def cmd_config_check(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config

    try:
        config = load_config(args.file, check_files=True)
    except ConfigError as exc:
        print(f"{exc.source}: {len(exc.issues)} problem(s)", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return EXIT_ERROR
    source = args.file or "packaged defaults (or /etc/kiosk/kiosk.toml)"
    print(f"{source}: OK (kiosk {config.kiosk.id}, store {config.path(config.store.dir)}, "
          f"model {config.path(config.intents.model_dir)})")
    return EXIT_OK


def cmd_intents_train(args: argparse.Namespace) -> int:
    from kiosk.nlu.data import load_dataset
    from kiosk.nlu.train import TrainParams, train

    dataset = load_dataset(args.data, oos_label=args.oos_label)
    params = TrainParams(seed=args.seed, holdout=args.holdout,
                         **({"epochs": args.epochs} if args.epochs else {}))
    print(f"training on {len(dataset.examples)} examples, {len(dataset.labels)} labels from {dataset.source}",
          file=sys.stderr)
    manifest = train(dataset, args.out, params, name=Path(args.out).name, progress=not args.quiet)
    m = manifest["metrics"]
    print(f"wrote {args.out}: {manifest['model_bytes'] / 1024:.0f} KiB int8; held-out accuracy "
          f"{m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}"
          + (f", out-of-scope recall {m['oos_recall']:.3f}" if m.get("oos_recall") is not None else ""))
    return EXIT_OK


def cmd_intents_eval(args: argparse.Namespace) -> int:
    from kiosk.nlu.data import load_dataset
    from kiosk.nlu.evaluate import evaluate_model
    from kiosk.nlu.model import IntentModel

    model = IntentModel.load(args.model)
    dataset = load_dataset(args.data, oos_label=args.oos_label)
    metrics = evaluate_model(model, dataset)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return EXIT_OK
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    print(f"examples            {metrics['examples']}")
    print(f"accuracy            {fmt(metrics['accuracy'])}")
    print(f"macro-F1            {fmt(metrics['macro_f1'])}")
    print(f"out-of-scope recall {fmt(metrics['oos_recall'])}   precision {fmt(metrics['oos_precision'])}")
    print(f"calibration error   {fmt(metrics['ece'])}")
    lat = metrics["latency_ms"]
    print(f"latency per text    p50 {lat['p50']:.3f} ms   p99 {lat['p99']:.3f} ms")
    if metrics["unknown_labels"]:
        print(f"labels the model does not know: {', '.join(metrics['unknown_labels'])}")
    if metrics["confusions"]:
        print("most confused (gold → predicted):")
        for c in metrics["confusions"]:
            print(f"  {c['count']:4d}  {c['gold']} → {c['predicted']}")
    return EXIT_OK


# -- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Offline in-store service kiosk.")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_runtime(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="config file (default: /etc/kiosk/kiosk.toml, else packaged defaults)")
        p.add_argument("--date", help="pretend today is YYYY-MM-DD (to try answers about dates)")
        p.add_argument("-v", "--verbose", action="store_true", help="log every session event to stderr")
        return p

    ask = with_runtime(sub.add_parser("ask", help="answer one request"))
    ask.add_argument("text")
    ask.add_argument("--json", action="store_true", help="print the whole turn as JSON")
    ask.set_defaults(func=cmd_ask)

    chat = with_runtime(sub.add_parser("chat", help="multi-turn conversation in the terminal"))
    chat.set_defaults(func=cmd_chat)
    from kiosk.cli_ui import add_ui_parsers

    add_ui_parsers(sub, with_runtime, _load_config, _clock)

    from kiosk.cli_speech import add_speech_parsers

    add_speech_parsers(sub, with_runtime, _assistant, lambda a: _load_config(a, check_files=False))
    from kiosk.cli_vision import add_vision_parsers

    add_vision_parsers(sub, with_runtime, _assistant, lambda a: _load_config(a, check_files=False))
    from kiosk.cli_models import add_models_parser

    add_models_parser(sub, with_runtime)

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a config file; lists every problem with its key")
    check.add_argument("file", nargs="?", help="file to check (default: the one the kiosk would use)")
    check.set_defaults(func=cmd_config_check)

    intents = sub.add_parser("intents", help="train and evaluate the intent model")
    intents_sub = intents.add_subparsers(dest="intents_command", required=True)
    train = intents_sub.add_parser("train", help="train an int8 TFLite intent model")
    train.add_argument("--data", required=True, help="YAML intents file or directory, or CSV with text,label")
    train.add_argument("--out", required=True, help="output model directory")
    train.add_argument("--oos-label", default="oos", help="CSV label meaning out of scope (default: oos)")
    train.add_argument("--epochs", type=int, help="training epochs (default: 60)")
    train.add_argument("--seed", type=int, default=1234)
    train.add_argument("--holdout", type=float, default=0.2, help="share kept aside for calibration")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_intents_train)
    ev = intents_sub.add_parser("eval", help="evaluate a model on labelled data")
    ev.add_argument("--model", required=True)
    ev.add_argument("--data", required=True)
    ev.add_argument("--oos-label", default="oos")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_intents_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    try:
        return args.func(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(file=sys.stderr)
    return EXIT_ERROR
