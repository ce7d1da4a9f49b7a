"""Charts: save any matplotlib chart as a PNG, and a lazily rendered chart widget.

Every matplotlib canvas in the window gets a context menu with "Save chart as PNG…"
(``install_png_export`` finds them; it is cheap and safe to call again for canvases
created later). ``save_chart_png(chart, path)`` does the saving with ``figure.savefig``
and is what the menu calls, so tests use it directly.

``ChartView`` is the canvas the stakeholder views draw on: it renders only while it is
visible (a chart in a hidden tab or page costs nothing until shown) and re-renders when
the theme changes.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from matplotlib.backends.backend_qt import FigureCanvasQT
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtCore import QPoint, QStandardPaths, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QVBoxLayout, QWidget

SAVE_TEXT = "Save chart as PNG…"
EXPORT_PROPERTY = "pngExport"
DEFAULT_DPI = 150
_last_dir: list[str] = []


def _figure_of(chart: object) -> Figure:
    if isinstance(chart, Figure):
        return chart
    figure = getattr(chart, "figure", None)
    if not isinstance(figure, Figure):
        raise TypeError(f"{type(chart).__name__} has no matplotlib figure")
    return figure


def save_chart_png(chart: object, path: str | Path, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``chart`` (a Figure, a canvas or a ``ChartView``) to ``path`` as PNG; returns the path.

    '.png' is appended when ``path`` has no suffix. A ``ChartView`` not yet rendered is
    rendered first, so what is saved is what the chart shows.
    """
    flush = getattr(chart, "flush", None)
    if callable(flush):
        flush()
    figure = _figure_of(chart)
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    figure.savefig(path, format="png", dpi=dpi, facecolor=figure.get_facecolor())
    return path


def default_file_name(figure: Figure) -> str:
    """A file name from the chart's title ('chart.png' without one)."""
    title = figure.get_suptitle()  # "" without one
    if not title:
        title = next((ax.get_title() for ax in figure.axes if ax.get_title()), "")
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
    return f"{slug or 'chart'}.png"


def choose_and_save(canvas: FigureCanvasQT) -> Path | None:
    """Ask for a file name and save the canvas's chart there (None when cancelled)."""
    owner = canvas.parentWidget() or canvas
    chart = owner if hasattr(owner, "flush") else canvas
    start_dir = _last_dir[0] if _last_dir else QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    start = str(Path(start_dir or Path.home()) / default_file_name(canvas.figure))
    path, _ = QFileDialog.getSaveFileName(canvas.window(), "Save chart as PNG", start, "PNG images (*.png)")
    if not path:
        return None
    try:
        saved = save_chart_png(chart, path)
    except (OSError, ValueError) as exc:
        QMessageBox.warning(canvas.window(), "Could not save the chart", f"Could not write '{path}':\n{exc}")
        return None
    _last_dir[:] = [str(saved.parent)]
    return saved


def chart_menu(canvas: FigureCanvasQT, parent: QWidget | None = None) -> QMenu:
    """The canvas's context menu (one action: save as PNG)."""
    menu = QMenu(parent or canvas)
    action = menu.addAction(SAVE_TEXT)
    action.setStatusTip("Save this chart as a PNG image")
    action.triggered.connect(lambda _checked=False: choose_and_save(canvas))
    return menu


def enable_png_export(canvas: FigureCanvasQT) -> bool:
    """Give ``canvas`` the "Save chart as PNG…" context menu; False when it already has it."""
    if canvas.property(EXPORT_PROPERTY):
        return False
    canvas.setProperty(EXPORT_PROPERTY, True)
    canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show_menu(pos: QPoint) -> None:
        menu = chart_menu(canvas)
        menu.exec(canvas.mapToGlobal(pos))
        menu.deleteLater()

    canvas.customContextMenuRequested.connect(show_menu)
    return True


def install_png_export(root: QWidget) -> int:
    """Enable PNG export on every matplotlib canvas under ``root``; returns how many were new."""
    return sum(enable_png_export(w) for w in root.findChildren(QWidget) if isinstance(w, FigureCanvasQT))


class ChartView(QWidget):
    """A matplotlib figure (constrained layout) drawn by ``renderer`` whenever it is shown
    after a change; exportable to PNG."""

    def __init__(self, figsize: tuple[float, float] = (5.0, 3.0), toolbar: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(160, 120)
        enable_png_export(self.canvas)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.toolbar = NavigationToolbar2QT(self.canvas, self) if toolbar else None
        if self.toolbar is not None:
            layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas, 1)
        self._renderer: Callable[[Figure], None] | None = None
        self._dirty = False
        self.render_count = 0

    def set_renderer(self, renderer: Callable[[Figure], None] | None) -> None:
        """Draw with ``renderer(figure)`` (now when visible, else when next shown)."""
        self._renderer = renderer
        self.invalidate()

    def invalidate(self) -> None:
        self._dirty = True
        if self.isVisible():
            self.flush()

    @property
    def dirty(self) -> bool:
        return self._dirty

    def flush(self) -> None:
        """Render now if a change is pending (also called before a PNG export)."""
        if not self._dirty:
            return
        self._dirty = False
        self.figure.clear()
        if self._renderer is not None:
            self._renderer(self.figure)
        self.render_count += 1
        self.canvas.draw_idle()

    def theme_changed(self) -> None:
        self.invalidate()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.flush()
