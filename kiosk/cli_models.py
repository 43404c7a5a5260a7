"""`kiosk models ...`: install, list, verify, roll back and remove Vosk speech models.

Each verb is a thin wrapper over kiosk.speech.models; errors are ModelError (a KioskError), which
`kiosk` prints as one line. Results go to stdout, progress and notes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from kiosk.errors import KioskError

EXIT_OK, EXIT_ERROR = 0, 1


def _config(args: argparse.Namespace):
    from kiosk.cli import _load_config  # late: kiosk.cli imports this module

    if not hasattr(args, "_config"):
        args._config = _load_config(args, check_files=False)  # managing models needs no store or intents
    return args._config


def _models_dir(args: argparse.Namespace) -> Path:
    if args.models_dir:
        return Path(args.models_dir).expanduser()
    config = _config(args)
    return config.path(config.speech.models_dir)


def _progress(args: argparse.Namespace) -> bool:
    return bool(args.progress) or sys.stderr.isatty()


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def cmd_install(args: argparse.Namespace) -> int:
    from kiosk.speech.models import install

    result = install(args.source, _models_dir(args), language=args.language, name=args.name, force=args.force,
                     prune=not args.keep_all, check_load=not args.no_load_test,
                     show_progress=_progress(args), say=_note)
    print(f"installed {result.name} ({result.language}, {_mb(result.bytes)}, {result.files} files, "
          f"{result.graph} graph) in {result.path}")
    undo = f"`kiosk models rollback --language {result.language}`"
    print(f"active for {result.language}"
          + (f"; previous: {result.previous} (undo with {undo})" if result.previous else ""))
    if result.pruned:
        print(f"removed older {result.language} models to save space (only current + previous are kept; "
              f"--keep-all keeps them): {', '.join(result.pruned)}")
    if not result.load_tested and not args.no_load_test:
        _note("note: Vosk is not installed here, so loading the model was not tried")
    try:
        language = _config(args).kiosk.language
    except KioskError:  # a broken site config must not hide that the install worked
        language = None
    if language and language != result.language:
        _note(f"note: the kiosk's language is {language}; this {result.language} model is used only "
              f"when kiosk.language = \"{result.language}\"")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from kiosk.speech.models import list_models

    models_dir = _models_dir(args)
    models = list_models(models_dir, check=args.verify)
    if args.json:
        print(json.dumps([m.as_dict() for m in models], indent=2))
        return EXIT_OK
    if not models:
        print(f"no Vosk models installed in {models_dir} (install one with `kiosk models install ZIP`)")
        return EXIT_OK
    rows = [("NAME", "LANG", "SIZE", "INSTALLED", "STATE") + (("FILES",) if args.verify else ())]
    for m in models:
        state = "current" if m.current else "previous" if m.previous else "-"
        row = (m.name, m.language, _mb(m.bytes), m.installed_at.replace("T", " ")[:16], state)
        rows.append(row + ((("ok" if m.verified else "CHANGED"),) if args.verify else ()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    print(f"({models_dir})" if args.verify else f"({models_dir}; file checks are skipped unless --verify)")
    return EXIT_OK if not args.verify or all(m.verified for m in models) else EXIT_ERROR


def cmd_verify(args: argparse.Namespace) -> int:
    from kiosk.speech.models import verify

    models_dir = _models_dir(args)
    reports = verify(models_dir, args.name, show_progress=_progress(args))
    if not reports:
        print(f"no Vosk models installed in {models_dir}; nothing to verify")
    for r in reports:
        if r.ok:
            print(f"OK      {r.name} ({r.files} files match the manifest)")
            continue
        problems = [f"{what}: {', '.join(files)}" for what, files
                    in (("missing", r.missing), ("changed", r.changed), ("extra", r.extra)) if files]
        print(f"FAILED  {r.name}: {'; '.join(problems)} (reinstall it with `kiosk models install`)")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_ERROR


def cmd_rollback(args: argparse.Namespace) -> int:
    from kiosk.speech.models import rollback

    language = args.language or _config(args).kiosk.language
    now, before = rollback(_models_dir(args), language)
    print(f"{language}: {now} is active again" + (f" ({before} kept as previous; run rollback again to undo)"
                                                   if before else ""))
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    from kiosk.speech.models import active_model, installed_model, read_manifest, remove

    models_dir = _models_dir(args)
    language = read_manifest(installed_model(models_dir, args.name))["language"]
    was_active = active_model(models_dir, language) == models_dir / args.name
    promoted = remove(models_dir, args.name, force=args.force)
    print(f"removed {args.name}")
    if promoted:
        print(f"{language}: {promoted} is active now")
    elif was_active:
        print(f"{language}: no Vosk model is active now "
              "(the kiosk uses PocketSphinx if speech.engine = auto)")
    return EXIT_OK


def add_models_parser(subparsers, with_runtime: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
                      ) -> argparse.ArgumentParser:
    models = subparsers.add_parser("models", help="install and manage Vosk speech models")
    sub = models.add_subparsers(dest="models_command", required=True)

    def verb(name: str, help: str, func) -> argparse.ArgumentParser:
        p = with_runtime(sub.add_parser(name, help=help))
        p.add_argument("--models-dir", help="models folder (default: speech.models_dir from the config)")
        p.set_defaults(func=func)
        return p

    install = verb("install", "install a Vosk model (zip or folder) and make it active", cmd_install)
    install.add_argument("source", help="model zip as downloaded, or its extracted folder")
    install.add_argument("--language", help="language code (default: guessed from the name, e.g. en)")
    install.add_argument("--name", help="name to install it under (default: the model's folder name)")
    install.add_argument("--force", action="store_true",
                         help="install again under a name that exists: kept as a new version NAME@2")
    install.add_argument("--keep-all", action="store_true",
                         help="keep older models of the language (default: only current + previous)")
    install.add_argument("--no-load-test", action="store_true",
                         help="skip trying to load it with Vosk (for models too big to load twice in memory)")
    install.add_argument("--progress", action="store_true", help="progress bar even when not on a terminal")

    listing = verb("list", "installed models, the active and previous one per language", cmd_list)
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--verify", action="store_true", help="also check every file (slow for big models)")

    check = verb("verify", "check installed files against their sha256 manifest", cmd_verify)
    check.add_argument("name", nargs="?", help="model to check (default: all)")
    check.add_argument("--progress", action="store_true", help="progress bar even when not on a terminal")

    back = verb("rollback", "make the previous model active again (swaps current and previous)", cmd_rollback)
    back.add_argument("--language", help="language to roll back (default: kiosk.language)")

    rm = verb("remove", "delete an installed model", cmd_remove)
    rm.add_argument("name")
    rm.add_argument("--force", action="store_true", help="also when it is the active model")
    return models
