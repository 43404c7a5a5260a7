"""Where the kiosk's own files live: the install directory holds assets/ and models/."""

from __future__ import annotations

from pathlib import Path

INSTALL_DIR = Path(__file__).resolve().parent.parent
ASSETS_DIR = INSTALL_DIR / "assets"
MODELS_DIR = INSTALL_DIR / "models"
SITE_CONFIG = Path("/etc/kiosk/kiosk.toml")


def resolve(path: str | Path) -> Path:
    """Relative paths in config are relative to the install directory, wherever we run from."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else INSTALL_DIR / path
