"""Configuration: strict schema, key paths in every error, and `kiosk config check`."""

from __future__ import annotations

import pytest

from kiosk.cli import main
from kiosk.config import ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def test_packaged_defaults_are_valid():
    config = load_config(None, check_files=True)
    assert config.kiosk.language == "en" and config.storage.retention_days >= 0


def test_site_file_overrides_only_what_it_sets(tmp_path):
    config = load_config(write(tmp_path, '[dialogue]\nmax_failed_attempts = 3\n'))
    assert config.dialogue.max_failed_attempts == 3 and config.intents.top_k == 3


def test_every_error_names_its_key(tmp_path):
    path = write(tmp_path, '[kiosk]\nid = "x"\ncolour = "red"\n[intents]\ntop_k = 0\n[dialog]\nx = 1\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    where = {i.where for i in err.value.issues}
    assert where == {"kiosk.colour", "intents.top_k", "dialog"}


def test_toml_syntax_error_is_reported_with_line(tmp_path):
    with pytest.raises(ConfigError, match="line 2"):
        load_config(write(tmp_path, '[kiosk]\nid = \n'))


def test_missing_store_and_model_are_reported(tmp_path):
    path = write(tmp_path, f'[store]\ndir = "{tmp_path}/nostore"\n[intents]\nmodel_dir = "{tmp_path}/nomodel"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, check_files=True)
    assert {i.where for i in err.value.issues} == {"store.dir", "intents.model_dir"}


def test_config_check_command(tmp_path, capsys):
    good = write(tmp_path, '[kiosk]\nid = "till-2"\n')
    assert main(["config", "check", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\nretention_days = -1\nrotate = true\n')
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "storage.retention_days:" in err and "storage.rotate: unknown key" in err
    assert main(["config", "check", str(tmp_path / "absent.toml")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_camera_presence_and_scan_settings_are_checked(tmp_path):
    path = write(tmp_path, '[camera]\nfps = 0\n[presence]\nmin_score = 1.5\n[scan]\norder_pattern = "(unclosed"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    issues = {i.where: i.message for i in err.value.issues}
    assert set(issues) == {"camera.fps", "presence.min_score", "scan.order_pattern"}
    assert "regular expression" in issues["scan.order_pattern"]
    no_group = write(tmp_path, '[scan]\norder_pattern = "^ORDER-[0-9]{6}$"\n')
    with pytest.raises(ConfigError, match="group around the order number"):
        load_config(no_group)
