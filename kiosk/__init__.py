"""kiosk: an offline service terminal for shops."""

__version__ = "0.1.0"
