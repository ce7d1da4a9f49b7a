"""Persistent settings (QSettings): recent folders, hyperparameters, filters, window layout.

Everything is versioned: when ``LAYOUT_VERSION`` changes, stored window geometry and
state from older builds are ignored instead of restoring a broken layout.
"""
from __future__ import annotations

import json
import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

LAYOUT_VERSION = 1
MAX_RECENT = 8


class Settings:
    """Typed access to one QSettings store (the application's default one unless given)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings()

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Settings":
        """Settings kept in an INI file at ``path`` (tests, portable installs)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def sync(self) -> None:
        self.store.sync()

    # -- recent folders ---------------------------------------------------------------------
    def recent_folders(self) -> list[str]:
        value = self._json("data/recent_folders", [])
        return [str(v) for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def add_recent_folder(self, folder: str) -> list[str]:
        """Put ``folder`` first in the recent list (deduplicated, at most ``MAX_RECENT``)."""
        folder = os.path.normpath(str(folder))
        recent = [folder] + [f for f in self.recent_folders() if os.path.normpath(f) != folder]
        recent = recent[:MAX_RECENT]
        self._set_json("data/recent_folders", recent)
        return recent

    def clear_recent_folders(self) -> None:
        self._set_json("data/recent_folders", [])

    # -- last directories for file dialogs --------------------------------------------------
    def last_dir(self, kind: str) -> str:
        return str(self.store.value(f"dirs/{kind}", "") or "")

    def set_last_dir(self, kind: str, directory: str) -> None:
        self.store.setValue(f"dirs/{kind}", str(directory))

    # -- hyperparameters and filters --------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any] | None:
        value = self._json("training/hyperparameters", None)
        return value if isinstance(value, dict) else None

    def set_hyperparameters(self, values: dict[str, Any]) -> None:
        self._set_json("training/hyperparameters", values)

    def filters(self) -> dict[str, Any] | None:
        value = self._json("data/filters", None)
        return value if isinstance(value, dict) else None

    def set_filters(self, values: dict[str, Any]) -> None:
        self._set_json("data/filters", values)

    # -- window layout ----------------------------------------------------------------------
    def save_window(self, window: QMainWindow, extra: dict[str, Any] | None = None) -> None:
        """Store geometry, dock/toolbar state and ``extra`` (e.g. splitter sizes, current page)."""
        self.store.setValue("window/layout_version", LAYOUT_VERSION)
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/state", window.saveState(LAYOUT_VERSION))
        self._set_json("window/extra", extra or {})

    def restore_window(self, window: QMainWindow) -> dict[str, Any]:
        """Restore what ``save_window`` stored (if written by this layout version); returns ``extra``."""
        if self._int("window/layout_version", 0) != LAYOUT_VERSION:
            return {}
        geometry = self.store.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
        state = self.store.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            window.restoreState(state, LAYOUT_VERSION)
        extra = self._json("window/extra", {})
        return extra if isinstance(extra, dict) else {}

    # -- helpers ----------------------------------------------------------------------------
    def _int(self, key: str, default: int) -> int:
        try:
            return int(self.store.value(key, default))
        except (TypeError, ValueError):
            return default

    def _json(self, key: str, default: Any) -> Any:
        text = self.store.value(key, None)
        if not isinstance(text, str) or not text:
            return default
        try:
            return json.loads(text)
        except ValueError:
            return default

    def _set_json(self, key: str, value: Any) -> None:
        self.store.setValue(key, json.dumps(value))
