"""Installed Vosk models: validate, install atomically, verify, roll back, remove.

Layout of the models folder (one filesystem, so every switch is an atomic rename):
  <name>/               an installed model plus manifest.json (sha256 and size of every file)
  current-<lang>        symlink to the model the kiosk uses for that language
  previous-<lang>       symlink to the one it replaced, for `kiosk models rollback`
  .staging-* .trash-* .link-*   work in progress; what a killed command left is removed by the next one
  .lock                 one command that changes the folder at a time
A model the kiosk may have loaded is never rewritten in place: installing a name that already exists
is refused, and with `force` the new copy becomes <name>@2 (then @3, ...) beside the old one.
By default only current + previous are kept per language; older ones are pruned (SD cards are small).
What a model must contain and how a zip or folder is read: kiosk.speech.model_layout.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import uuid
import zipfile
import zlib
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from kiosk.speech.model_layout import (
    MANIFEST,
    Members,
    ModelError,
    _choose_language,
    _open_source,
    check_contents,
    check_layout,
    guess_language,
    load_test,
)

__all__ = [  # with what callers import from here that now lives in model_layout
    "CHUNK", "MANIFEST", "RESERVE_BYTES", "WORK_PREFIXES", "InstallResult", "Members", "ModelError",
    "ModelInfo", "Progress", "VerifyReport", "active_model", "check_contents", "check_layout",
    "guess_language", "install", "installed_model", "list_models", "load_test", "read_manifest",
    "remove", "rollback", "verify", "verify_model"]

CHUNK = 1 << 20
RESERVE_BYTES = 32 << 20  # left free after an install: the kiosk's database and logs share the card
WORK_PREFIXES = (".staging-", ".trash-", ".link-")
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class InstallResult:
    name: str
    language: str
    path: Path
    bytes: int
    files: int
    graph: str  # "dynamic" (HCLr.fst + Gr.fst) or "static" (HCLG.fst)
    previous: str | None  # the model it replaced as current, kept for rollback
    pruned: list[str] = field(default_factory=list)  # older models of the language, deleted
    cleaned: list[str] = field(default_factory=list)  # leftovers of interrupted commands, deleted
    load_tested: bool = False


@dataclass(frozen=True)
class VerifyReport:
    name: str
    files: int
    missing: list[str]
    changed: list[str]
    extra: list[str]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    language: str
    path: Path
    bytes: int
    installed_at: str
    source: str
    graph: str
    current: bool
    previous: bool
    verified: bool | None = None  # None: not checked (hashing a big model takes a while)

    def as_dict(self) -> dict:
        return {**asdict(self), "path": str(self.path)}


# -- names ------------------------------------------------------------------------------------
def _check_name(name: str) -> str:
    reserved = name.startswith(("current-", "previous-"))
    if reserved or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}", name):
        raise ModelError(f"model name {name!r} is not usable as a folder name; pass --name with letters, "
                         "digits, '.', '-' or '_' (not starting with current- or previous-)")
    return name


# -- the models folder ------------------------------------------------------------------------
@contextmanager
def _locked(models_dir: Path, *, create: bool = False) -> Iterator[None]:
    if create:
        models_dir.mkdir(parents=True, exist_ok=True)
    elif not models_dir.is_dir():
        raise ModelError(f"{models_dir} does not exist, so no models are installed there; "
                         "check --models-dir or speech.models_dir")
    fd = os.open(models_dir / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelError(f"another `kiosk models` command is changing {models_dir}; "
                             "wait for it to finish and try again") from None
        yield
    finally:
        os.close(fd)  # also releases the lock; the kernel does so if we are killed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_target(models_dir: Path, link: str) -> str | None:
    path = models_dir / link
    return Path(os.readlink(path)).name if path.is_symlink() else None


def _set_link(models_dir: Path, link: str, target: str | None) -> None:
    if target is None:
        (models_dir / link).unlink(missing_ok=True)
        return
    temp = models_dir / f".link-{uuid.uuid4().hex[:8]}"
    os.symlink(target, temp)  # relative, so the folder can be moved or mounted elsewhere
    os.replace(temp, models_dir / link)


def _trash(models_dir: Path, name: str) -> None:
    # Renamed first, so a crash mid-delete never leaves a half-deleted model under its own name.
    trash = models_dir / f".trash-{name}-{uuid.uuid4().hex[:8]}"
    os.rename(models_dir / name, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _clean_leftovers(models_dir: Path) -> list[str]:
    cleaned = []
    for entry in sorted(models_dir.iterdir()):
        if entry.name.startswith(WORK_PREFIXES):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            cleaned.append(entry.name)
    return cleaned


def read_manifest(model_dir: Path) -> dict:
    try:
        data = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{model_dir} has no {MANIFEST}: it was not installed with `kiosk models install`; "
                         "install it with that command") from None
    except (ValueError, OSError) as exc:
        raise ModelError(f"{model_dir / MANIFEST} is unreadable ({exc}); install the model again") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict) or "language" not in data:
        raise ModelError(f"{model_dir / MANIFEST} is not a model manifest; install the model again")
    return data


def _model_names(models_dir: Path) -> list[str]:
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir()
                  if not p.name.startswith(".") and not p.is_symlink() and (p / MANIFEST).is_file())


def active_model(models_dir: Path, language: str) -> Path | None:
    """The installed model the kiosk should load for `language`, or None (then: PocketSphinx)."""
    target = _link_target(Path(models_dir), f"current-{language}")
    return Path(models_dir) / target if target and (Path(models_dir) / target / MANIFEST).is_file() else None


def installed_model(models_dir: Path, name: str) -> Path:
    """An installed model by name (config `speech.vosk_model`)."""
    path = Path(models_dir) / _check_name(name)
    if not (path / MANIFEST).is_file():
        raise ModelError(f"no model named {name!r} is installed in {models_dir}; see `kiosk models list`")
    return path


# -- install ----------------------------------------------------------------------------------
def install(source: str | Path, models_dir: str | Path, *, language: str | None = None,
            name: str | None = None, force: bool = False, prune: bool = True, check_load: bool = True,
            show_progress: bool = False, on_progress: Progress | None = None,
            say: Callable[[str], None] | None = None) -> InstallResult:
    """Validate `source` (model folder or zip), copy it in, make it current for its language."""
    source, models_dir, say = Path(source), Path(models_dir), say or (lambda _msg: None)
    with ExitStack() as stack:
        names, members = _open_source(source, stack)
        sizes = {rel: size for rel, (size, _) in members.items()}
        graph = check_layout(sizes, str(source))
        language = _choose_language(language, names)
        name = _check_name(name or names[0])
        total = sum(sizes.values())
        stack.enter_context(_locked(models_dir, create=True))
        cleaned = _clean_leftovers(models_dir)
        if cleaned:
            say(f"removed leftovers of an interrupted command: {', '.join(cleaned)}")
        name = _free_name(models_dir, name, force)
        _check_space(models_dir, name, total)
        staging = models_dir / f".staging-{name}-{uuid.uuid4().hex[:8]}"
        try:
            say(f"copying {name} ({_mb(total)}, {len(members)} files) into {models_dir}")
            files = _copy_in(members, staging, total, str(source), show_progress, on_progress)
            check_contents(staging, str(source))
            if check_load:
                say("checking that Vosk can load it")
            tested = check_load and load_test(staging, str(source))
            manifest = {"format": 1, "name": name, "language": language, "source": str(source.resolve()),
                        "installed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                        "graph": graph, "bytes": total, "files": files}
            with open(staging / MANIFEST, "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(staging)
            os.rename(staging, models_dir / name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_dir(models_dir)
        previous = _link_target(models_dir, f"current-{language}")
        previous = previous if previous and (models_dir / previous / MANIFEST).is_file() else None
        if previous:
            _set_link(models_dir, f"previous-{language}", previous)  # first: a crash here changes nothing
        _set_link(models_dir, f"current-{language}", name)
        pruned = _prune(models_dir, language) if prune else []
        _fsync_dir(models_dir)
    return InstallResult(name, language, models_dir / name, total, len(files), graph, previous,
                         pruned, cleaned, tested)


def _free_name(models_dir: Path, name: str, force: bool) -> str:
    if not (models_dir / name).exists():
        return name
    if not force:
        raise ModelError(f"a model named {name} is already installed in {models_dir}; pass --force to "
                         "install it again as a new version beside it (rollback stays possible), "
                         "or --name to choose another name")
    base, n = re.sub(r"@\d+$", "", name), 2
    while (models_dir / f"{base}@{n}").exists():
        n += 1
    return f"{base}@{n}"


def _check_space(models_dir: Path, name: str, total: int) -> None:
    free = shutil.disk_usage(models_dir).free
    if free < total + RESERVE_BYTES:
        raise ModelError(f"not enough free space in {models_dir} for {name}: it needs {_mb(total)} plus "
                         f"{_mb(RESERVE_BYTES)} kept free for the kiosk, and {_mb(free)} is free. Remove "
                         "models you no longer need (`kiosk models list`, `kiosk models remove NAME`) or "
                         "free space on that disk, then retry. Nothing was changed.")


def _copy_in(members: Members, staging: Path, total: int, where: str, show_progress: bool,
             on_progress: Progress | None) -> dict[str, dict]:
    """Copy and hash in one pass (an SD card is read once), fsync every file."""
    from tqdm import tqdm

    files: dict[str, dict] = {}
    done = 0
    staging.mkdir()
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000, desc="copying", file=sys.stderr,
              disable=not show_progress, leave=False) as bar:
        for rel, (size, opener) in sorted(members.items()):
            dest = staging / rel
            digest, written = hashlib.sha256(), 0
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                with opener() as src, open(dest, "wb") as out:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                        done += len(chunk)
                        bar.update(len(chunk))
                        if on_progress:
                            on_progress(done, total)
                    out.flush()
                    os.fsync(out.fileno())
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise ModelError(f"{where}: {rel} is damaged in the archive ({exc}); the zip is corrupt "
                                 "or cut short, download it again. Nothing was changed.") from None
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise ModelError(f"the disk holding {staging.parent} filled up while copying {rel}; the "
                                     "partial copy was removed and nothing was changed. Free space (e.g. "
                                     "`kiosk models remove NAME`) and retry.") from None
                raise ModelError(f"copying {rel} from {where} failed: {exc.strerror or exc}. "
                                 "Nothing was changed.") from None
            if written != size:
                raise ModelError(f"{where}: {rel} changed size while being copied ({size} -> {written} "
                                 "bytes); wait until the source is complete and retry")
            files[rel] = {"sha256": digest.hexdigest(), "bytes": written}
    for folder in {(staging / rel).parent for rel in files}:
        _fsync_dir(folder)
    return files


def _prune(models_dir: Path, language: str) -> list[str]:
    keep = {_link_target(models_dir, f"current-{language}"), _link_target(models_dir, f"previous-{language}")}
    pruned = []
    for name in _model_names(models_dir):
        try:
            same_language = read_manifest(models_dir / name)["language"] == language
        except ModelError:  # not ours to judge: leave it for `kiosk models remove`
            same_language = False
        if name not in keep and same_language:
            _trash(models_dir, name)
            pruned.append(name)
    return pruned


# -- verify, list, rollback, remove ------------------------------------------------------------
def verify_model(model_dir: Path, *, show_progress: bool = False) -> VerifyReport:
    from tqdm import tqdm

    expected: dict[str, dict] = read_manifest(model_dir)["files"]
    present = {p.relative_to(model_dir).as_posix(): p for p in model_dir.rglob("*")
               if p.is_file() and p.name != MANIFEST}
    changed = []
    to_hash = [rel for rel in sorted(expected) if rel in present]
    with tqdm(total=sum(present[r].stat().st_size for r in to_hash), unit="B", unit_scale=True,
              unit_divisor=1000, desc=f"verifying {model_dir.name}", file=sys.stderr,
              disable=not show_progress, leave=False) as bar:
        for rel in to_hash:
            if present[rel].stat().st_size != expected[rel].get("bytes"):
                changed.append(rel)
                continue
            digest = hashlib.sha256()
            with open(present[rel], "rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    bar.update(len(chunk))
            if digest.hexdigest() != expected[rel].get("sha256"):
                changed.append(rel)
    return VerifyReport(model_dir.name, len(expected), sorted(set(expected) - set(present)), changed,
                        sorted(set(present) - set(expected)))


def verify(models_dir: str | Path, name: str | None = None, *,
           show_progress: bool = False) -> list[VerifyReport]:
    models_dir = Path(models_dir)
    names = [installed_model(models_dir, name).name] if name else _model_names(models_dir)
    return [verify_model(models_dir / n, show_progress=show_progress) for n in names]


def list_models(models_dir: str | Path, *, check: bool = False) -> list[ModelInfo]:
    models_dir = Path(models_dir)
    out = []
    for name in _model_names(models_dir):
        try:
            m = read_manifest(models_dir / name)
        except ModelError:
            m = {"language": "?", "bytes": 0}
        language = str(m.get("language"))
        out.append(ModelInfo(
            name, language, models_dir / name, int(m.get("bytes", 0)), str(m.get("installed_at", "?")),
            str(m.get("source", "?")), str(m.get("graph", "?")),
            current=_link_target(models_dir, f"current-{language}") == name,
            previous=_link_target(models_dir, f"previous-{language}") == name,
            verified=(verify_model(models_dir / name).ok if language != "?" else False) if check else None))
    return sorted(out, key=lambda i: (i.language, not i.current, not i.previous, i.name))


def rollback(models_dir: str | Path, language: str) -> tuple[str, str | None]:
    """Swap current and previous for `language`; returns (now current, now previous)."""
    models_dir = Path(models_dir)
    with _locked(models_dir):
        current = _link_target(models_dir, f"current-{language}")
        previous = _link_target(models_dir, f"previous-{language}")
        if previous is None or not (models_dir / previous / MANIFEST).is_file():
            raise ModelError(f"there is no previous model for language {language!r} in {models_dir} to roll "
                             "back to; see `kiosk models list`")
        if current is not None and not (models_dir / current / MANIFEST).is_file():
            current = None
        _set_link(models_dir, f"current-{language}", previous)  # first: the one the kiosk uses
        _set_link(models_dir, f"previous-{language}", current)
        _fsync_dir(models_dir)
    return previous, current


def remove(models_dir: str | Path, name: str, *, force: bool = False) -> str | None:
    """Delete an installed model; returns the model that became current if the current one went."""
    models_dir = Path(models_dir)
    with _locked(models_dir):
        language = read_manifest(installed_model(models_dir, name))["language"]
        current = _link_target(models_dir, f"current-{language}")
        previous = _link_target(models_dir, f"previous-{language}")
        promoted = None
        if name == current:
            if not force:
                raise ModelError(f"{name} is the active model for {language}; roll back first (`kiosk models "
                                 f"rollback --language {language}`) or pass --force (then "
                                 f"{previous or 'no Vosk model'} is used)")
            promoted = previous if previous and previous != name else None
            _set_link(models_dir, f"current-{language}", promoted)
            _set_link(models_dir, f"previous-{language}", None)
        elif name == previous:
            _set_link(models_dir, f"previous-{language}", None)
        _trash(models_dir, name)
        _fsync_dir(models_dir)
    return promoted


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
