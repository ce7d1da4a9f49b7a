"""The View menu's modes: light or dark theme, presentation mode (larger fonts) and full screen."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from .settings import Settings
from .styling import StyleRoots
from .theme import PRESENTATION_SCALE, SIDEBAR_WIDTH, THEME_KEY, THEMES, apply_theme


class ViewModes(QObject):
    """The View menu's theme, presentation and full-screen toggles for ``window``.

    The style sheet goes on the window's root widgets (``add_root``; ``roots`` is the
    ``StyleRoots``), never on the application: a toggle restyles what is on screen at once and
    the rest in the following event-loop turns (see ``styling``).
    """

    changed = Signal()

    def __init__(self, window: QWidget, settings: Settings) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.roots = StyleRoots(self)
        self._was_maximized = False
        self.dark_action = self._toggle("&Dark theme", "Ctrl+Shift+D", "Switch between the light and the dark theme",
                                        lambda on: self.set_theme("dark" if on else "light"))
        self.presentation_action = self._toggle("&Presentation mode", "Ctrl+Shift+P",
                                                "Larger fonts and full screen, for showing the app to an audience",
                                                self.set_presentation)
        self.full_screen_action = self._toggle("&Full screen", "F11", "Toggle full screen", self.set_full_screen)
        saved = str(settings.store.value(THEME_KEY, "light") or "light")
        self.theme = saved if saved in THEMES else "light"
        self.presentation = False
        self.dark_action.setChecked(self.theme == "dark")
        app = QApplication.instance()
        if app is not None and app.styleSheet():  # the roots carry the style sheet, not the application
            app.setStyleSheet("")
        self._apply()

    def _toggle(self, text: str, shortcut: str, tip: str, slot) -> QAction:  # noqa: ANN001
        action = QAction(text, self.window)
        action.setCheckable(True)
        action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.toggled.connect(slot)
        return action

    def add_root(self, widget: QWidget) -> None:
        """Style ``widget`` and its children with the current theme (a page, a dialog, the menu bar …)."""
        self.roots.add(widget)

    def actions(self) -> list[QAction]:
        return [self.dark_action, self.presentation_action, self.full_screen_action]

    def set_theme(self, name: str) -> None:
        """Switch to theme ``name`` and remember it in the settings."""
        name = name if name in THEMES else "light"
        self.settings.store.setValue(THEME_KEY, name)
        if name == self.theme:
            return
        self.theme = name
        self.dark_action.setChecked(name == "dark")
        self._apply()

    def set_presentation(self, on: bool) -> None:
        """Larger fonts and full screen (on), back to normal (off)."""
        on = bool(on)
        if on == self.presentation:
            return
        self.presentation = on
        self.presentation_action.setChecked(on)
        self._apply()
        self.set_full_screen(on)

    def set_full_screen(self, on: bool) -> None:
        on = bool(on)
        self.full_screen_action.setChecked(on)
        if on and not self.window.isFullScreen():
            self._was_maximized = self.window.isMaximized()
            self.window.showFullScreen()
        elif not on and self.window.isFullScreen():
            self.window.showMaximized() if self._was_maximized else self.window.showNormal()

    def _apply(self) -> None:
        apply_theme(self.theme, self.presentation, self.roots)
        sidebar = getattr(self.window, "sidebar", None)
        if sidebar is not None:  # room for the larger sidebar titles
            width = int(SIDEBAR_WIDTH * (PRESENTATION_SCALE if self.presentation else 1.0))
            sidebar.setFixedWidth(width)
            if sidebar.parentWidget() is not None:
                sidebar.parentWidget().setFixedWidth(width)
        self.changed.emit()
