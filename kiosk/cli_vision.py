"""Camera verbs for technicians: `kiosk scan FILE` and `kiosk presence FILE|--camera`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable

from kiosk.errors import KioskError

EXIT_OK = 0


VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mjpeg", ".mjpg")


def cmd_scan(args: argparse.Namespace, load_config: Callable, build_assistant: Callable) -> int:
    from pathlib import Path

    from kiosk.app import build_scanner
    from kiosk.vision.image import load_image

    live = Path(args.file).is_dir() or Path(args.file).suffix.lower() in VIDEO_SUFFIXES
    image = None if live else load_image(args.file)  # a bad file fails here, before Tesseract loads
    config = load_config(args)
    scanner = build_scanner(config)
    if live:
        result = _scan_frames(args, config, scanner)
        if result is None:
            print(json.dumps({"kind": "nothing", "captured": False}) if args.json
                  else f"nothing was read in {args.file}")
            return EXIT_OK
    else:
        result = scanner.scan(image, thorough=not args.quick)
    turn = None
    if args.answer:
        _, assistant = build_assistant(args)
        try:
            turn = assistant.scanned(result.facts(assistant.clock().date()))
        finally:
            assistant.end("one_shot")
    if args.json:
        out = result.as_dict()
        out["ocr"] = scanner.ocr is not None
        if turn is not None:
            out["answer"] = {"text": turn.answer, "intent": turn.intent, "card": turn.card}
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return EXIT_OK
    _print_scan(result, ocr=scanner.ocr is not None)
    if turn is not None:
        print(f"answer:  {turn.answer}")
    return EXIT_OK


def _scan_frames(args: argparse.Namespace, config: Any, scanner: Any) -> Any:
    """A video or a folder of frames as the camera would see them: hints until one capture."""
    from kiosk.app import build_camera
    from kiosk.vision.live import LiveScan

    source = build_camera(config, file=args.file)
    live = LiveScan(scanner)
    last_hint: str | None = "-"
    try:
        while (frame := source.read()) is not None:
            update = live.feed(frame.image, frame.t)
            if update.hint != last_hint and not args.json and update.result is None:
                print(f"{frame.t:7.2f}s  {update.hint or 'ok'}")
                last_hint = update.hint
            if update.result is not None:
                if not args.json:
                    print(f"{frame.t:7.2f}s  captured frame {frame.index}")
                return update.result
    finally:
        source.close()
    return None


def _print_scan(result: Any, *, ocr: bool) -> None:
    print(f"found:   {result.kind}")
    for code, meaning in zip(result.codes, result.payloads):
        check = "" if code.valid else "  (check digit wrong)"
        # Untrusted payload: repr() shows control characters instead of acting on them.
        print(f"code:    {code.format} {code.text!r} → {meaning.kind} {meaning.value!r}{check}")
    if result.mrz is not None:
        m = result.mrz
        if m.valid:
            f = m.fields
            given = f.get("given_names")
            given = " ".join(given) if isinstance(given, (list, tuple)) else given
            print(f"mrz:     {m.format} valid: {f.get('document_type')} {f.get('document_number')} "
                  f"{f.get('issuing_country')}, {f.get('surname')} {given}, born {f.get('birth_date')}, "
                  f"expires {f.get('expiry_date')}")
        else:
            print(f"mrz:     {m.format} UNREADABLE (check digits fail: {m.reason or 'see --json'})")
    if result.receipt is not None:
        r = result.receipt.fields
        print(f"receipt: store {r.store_name!r}, number {r.receipt_number!r}, date {r.date}, "
              f"total {r.total} {r.currency or ''}".rstrip())
        for item in r.items:
            qty = f"{item.qty} × " if item.qty else ""
            print(f"         {qty}{item.description}  {item.amount}")
    if result.text and result.receipt is None:
        print("text:    " + result.text.replace("\n", "\n         "))
    if not ocr:
        print("(OCR is off: Tesseract's language data is missing; install apt tesseract-ocr-eng)")
    stages = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings.items())
    print(f"timing:  {stages}")


def cmd_presence(args: argparse.Namespace, load_config: Callable) -> int:
    from kiosk.app import build_camera, build_presence

    if bool(args.file) == bool(args.camera):
        raise KioskError("give a video, image or folder to watch, or --camera for the live camera")
    config = load_config(args)
    source = build_camera(config, file=args.file)
    tracker = build_presence(config)
    frames = faces_seen = 0
    last_t, deadline = 0.0, time.monotonic() + args.seconds if args.seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            frame = source.read(timeout=0.5)
            if frame is None:
                status = source.status()
                if status.state in ("ended", "closed"):
                    break
                if status.state == "disconnected" and args.camera:
                    print(f"camera: {status.detail}", file=sys.stderr)
                continue
            frames += 1
            last_t = frame.t
            events = tracker.update(frame.image, frame.t)
            faces = tracker.last_faces
            faces_seen += bool(faces)
            _print_frame(frame.index, frame.t, faces, events, as_json=args.json)
            if args.frames and frames >= args.frames:
                break
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    _print_frame(-1, last_t, None, tracker.finish(last_t), as_json=args.json)
    stats = tracker.stats()
    summary = {"frames": frames, "frames_with_faces": faces_seen, "detector_runs": stats.detections,
               "skipped_static": stats.skipped_static}
    if args.json:
        print(json.dumps({"summary": summary}))
    else:
        print(f"{frames} frames, faces in {faces_seen}, detector ran {stats.detections} times "
              f"({stats.skipped_static} frames skipped as unchanged)")
    return EXIT_OK


def _print_frame(index: int, t: float, faces: Any, events: tuple, *, as_json: bool) -> None:
    if as_json:
        if faces is None and not events:
            return
        out: dict[str, Any] = {"frame": index, "t": round(t, 3)}
        if faces is not None:
            out["faces"] = [{"box": [round(v, 1) for v in f.box], "score": round(f.score, 3)} for f in faces]
        out["events"] = [{"event": type(e).__name__, **{k: v for k, v in vars(e).items()}} for e in events]
        print(json.dumps(out))
        return
    for f in faces or ():
        x, y, w, h = f.box
        print(f"{t:8.2f}s  frame {index}: face at ({x:.0f}, {y:.0f}) {w:.0f}×{h:.0f} px, score {f.score:.2f}")
    for e in events:
        detail = ", ".join(f"{k} {v}" for k, v in vars(e).items() if k != "t")
        print(f"{e.t:8.2f}s  {type(e).__name__}" + (f" ({detail})" if detail else ""))


def add_vision_parsers(sub: argparse._SubParsersAction, with_runtime: Callable, build_assistant: Callable,
                       load_config: Callable) -> None:
    scan = with_runtime(sub.add_parser("scan", help="read the barcodes, ID document (MRZ), receipt or text "
                                                    "in a picture"))
    scan.add_argument("file", help="an image (JPEG, PNG, …), or a video or folder of frames to scan "
                                   "as the live camera does (guidance, then one capture)")
    scan.add_argument("--json", action="store_true", help="print everything as JSON")
    scan.add_argument("--quick", action="store_true",
                      help="stop after the barcodes when one is a product or order code (as the kiosk does)")
    scan.add_argument("--answer", action="store_true", help="also show what the kiosk would answer")
    scan.set_defaults(func=lambda a: cmd_scan(a, load_config, build_assistant))

    presence = with_runtime(sub.add_parser("presence",
                                           help="detect faces and customers arriving and leaving"))
    presence.add_argument("file", nargs="?", help="video, image or folder of images")
    presence.add_argument("--camera", action="store_true", help="watch the configured camera")
    presence.add_argument("--json", action="store_true",
                          help="one JSON object per frame with faces or events")
    presence.add_argument("--frames", type=int, help="stop after this many frames")
    presence.add_argument("--seconds", type=float, help="stop after this many seconds")
    presence.set_defaults(func=lambda a: cmd_presence(a, load_config))
