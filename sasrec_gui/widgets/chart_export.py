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

import gc
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_qt import FigureCanvasQT
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent, QShowEvent, QWheelEvent
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QVBoxLayout, QWidget

from core.report_charts import DrawCancelled, cancellable_draw, with_own_draw_lock

from ..logic.threads import freezing_enabled
from ..services.idle import AfterPaint
from ..services.styling import redraw_queue
from ..services.theme import register_chart_canvas
from ..services.workers import TaskRunner

SAVE_TEXT = "Save chart as PNG…"
#: A threaded chart draws again at its new size this long after resizing stopped.
RESIZE_RENDER_MS = 150
#: A threaded chart starts drawing this long after the change that asked for it (see ``ChartView._render_soon``).
RENDER_DELAY_MS = 40
#: Figures charts replaced are collected once no chart was replaced for this long (ms) ...
COLLECT_QUIET_MS = 400
#: ... or this long after the first one waiting, whichever comes first.
COLLECT_MAX_WAIT_MS = 2000
EXPORT_PROPERTY = "pngExport"
DEFAULT_DPI = 150
_last_dir: list[str] = []
_collection: dict = {"timer": None, "since": 0.0, "count": 0}


def collect_replaced_figures_soon() -> None:
    """Collect the figures charts replaced, in one small full collection on the UI thread once
    the charts have been quiet for ``COLLECT_QUIET_MS`` (at most ``COLLECT_MAX_WAIT_MS`` later).

    A matplotlib figure is thousands of objects in reference cycles, so a replaced one lives on
    until a full (generation-2) collection. Left to Python, that collection comes at a random
    moment with every figure dropped since the last one: 80-150 ms with the GIL held, a freeze
    whichever thread triggers it. Collected after the charts of a page switch or a theme toggle
    are drawn, it is a few figures' worth (~10-25 ms at KION size) at a quiet moment. Only where
    start-up objects are frozen (``logic.threads``: the app, not the tests, whose unfrozen heap
    would make each collection slow).
    """
    if not freezing_enabled():
        return
    timer = _collection["timer"]
    if timer is None:
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(_collect_replaced_figures)
        _collection["timer"] = timer
    now = time.perf_counter()
    if not timer.isActive():
        _collection["since"] = now
    waited_ms = (now - _collection["since"]) * 1000.0
    timer.start(int(max(0.0, min(COLLECT_QUIET_MS, COLLECT_MAX_WAIT_MS - waited_ms))))


def _collect_replaced_figures() -> None:
    _collection["count"] += 1
    gc.collect()


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
    """Enable PNG export on every matplotlib canvas (and threaded chart) under ``root``; returns how many were new."""
    return sum(enable_png_export(w) for w in root.findChildren(QWidget)
               if isinstance(w, FigureCanvasQT) or getattr(w, "is_chart_canvas", False))


@dataclass
class ChartEvent:
    """A mouse event on a threaded chart, with the attributes of matplotlib's ``MouseEvent``
    that handlers read: ``x``, ``y`` (display pixels of the shown figure, origin bottom
    left, as matplotlib's), ``inaxes`` (the axes under the mouse, or None), ``xdata``,
    ``ydata`` (data coordinates there), ``button`` (1 left, 2 middle, 3 right; None for a
    move) and ``key`` ("control" with Ctrl held, else None)."""

    name: str
    canvas: "ImageCanvas"
    x: float
    y: float
    inaxes: Axes | None = None
    xdata: float | None = None
    ydata: float | None = None
    button: int | None = None
    key: str | None = None
    step: float = 0.0  # scroll_event: wheel notches, up positive


#: The mouse events an ``ImageCanvas`` sends (``mpl_connect`` names, as matplotlib's).
CHART_EVENTS = ("motion_notify_event", "button_press_event", "button_release_event", "scroll_event", "axes_leave_event")
_BUTTONS = {Qt.MouseButton.LeftButton: 1, Qt.MouseButton.MiddleButton: 2, Qt.MouseButton.RightButton: 3}


class ImageCanvas(QWidget):
    """Shows a chart rendered elsewhere (``ChartView(threaded=True)``): the last finished image,
    scaled to the widget while a new one is drawn. ``figure`` is the owner's figure, so the
    "Save chart as PNG…" menu and the theme find it like a matplotlib canvas.

    Mouse moves, presses and leaving reach handlers connected with ``mpl_connect`` as
    ``ChartEvent`` objects read against the figure of the shown image, so a chart drawn on a
    worker still answers hovers and clicks (``inaxes``, ``xdata``, ``ydata`` as matplotlib's).
    ``set_ring`` draws a ring over the image (a hovered point) without drawing the chart again."""

    is_chart_canvas = True  # theme.apply_theme restyles what such widgets show

    def __init__(self, owner: "ChartView") -> None:
        super().__init__(owner)
        self._owner = owner
        self.image: QImage | None = None
        self.note = ""  # shown when there is no image (drawing, or why it failed)
        self.setMinimumSize(160, 120)
        self.setMouseTracking(True)
        self._handlers: dict[int, tuple[str, Callable[[ChartEvent], object]]] = {}
        self._next_id = 0
        self._ring: tuple[float, float, float, QColor] | None = None  # x, y (display pixels), radius (logical), colour
        self._inside: Axes | None = None

    @property
    def figure(self) -> Figure:
        return self._owner.figure

    @property
    def device_pixel_ratio(self) -> float:
        """Display pixels per logical pixel of the shown image (matplotlib canvases have the same)."""
        if self.image is not None and not self.image.isNull():
            return float(self.image.devicePixelRatio()) or 1.0
        return float(self.devicePixelRatioF()) or 1.0

    def set_image(self, image: QImage | None, note: str = "") -> None:
        self.image, self.note = image, note
        self.update()

    # -- mouse events -------------------------------------------------------------------------
    def mpl_connect(self, name: str, handler: Callable[[ChartEvent], object]) -> int:
        """Call ``handler(event)`` for every ``name`` event (one of ``CHART_EVENTS``); returns an id."""
        if name not in CHART_EVENTS:
            raise ValueError(f"a threaded chart sends {', '.join(CHART_EVENTS)}, not {name!r}")
        self._next_id += 1
        self._handlers[self._next_id] = (name, handler)
        return self._next_id

    def mpl_disconnect(self, cid: int) -> None:
        self._handlers.pop(cid, None)

    def display_point(self, pos: QPointF) -> tuple[float, float]:
        """Display pixels of the shown figure (origin bottom left) under widget position ``pos``."""
        if self.image is None or self.image.isNull() or self.width() <= 0 or self.height() <= 0:
            ratio = self.device_pixel_ratio
            return pos.x() * ratio, (self.height() - pos.y()) * ratio
        return (pos.x() * self.image.width() / self.width(),
                (self.height() - pos.y()) * self.image.height() / self.height())

    def widget_point(self, x: float, y: float) -> QPointF:
        """The widget position of display point (x, y) of the shown figure (``display_point``'s inverse)."""
        if self.image is None or self.image.isNull() or self.image.width() <= 0 or self.image.height() <= 0:
            ratio = self.device_pixel_ratio
            return QPointF(x / ratio, self.height() - y / ratio)
        return QPointF(x * self.width() / self.image.width(), self.height() - y * self.height() / self.image.height())

    def process_event(self, name: str, x: float, y: float, button: int | None = None, key: str | None = None,
                      step: float = 0.0) -> ChartEvent:
        """Send a ``name`` event at display point (x, y) of the shown figure to the handlers
        (what a real mouse event does; tests call it like matplotlib's ``MouseEvent._process``)."""
        event = ChartEvent(name, self, float(x), float(y), button=button, key=key, step=step)
        if self.image is not None:
            axes = [a for a in self.figure.axes if a.get_visible() and a.patch.contains_point((x, y))]
            if axes:
                event.inaxes = max(axes, key=lambda a: a.get_zorder())  # the topmost, as matplotlib picks
                try:
                    event.xdata, event.ydata = (float(v) for v in event.inaxes.transData.inverted().transform((x, y)))
                except ValueError:  # a singular transform: no data coordinates
                    event.xdata = event.ydata = None
        for wanted, handler in list(self._handlers.values()):
            if wanted == name:
                handler(event)
        return event

    def _send(self, name: str, pos: QPointF, button: int | None = None, key: str | None = None, step: float = 0.0) -> None:
        x, y = self.display_point(pos)
        event = self.process_event(name, x, y, button, key, step)
        if self._inside is not None and event.inaxes is not self._inside:
            self._leave_axes(x, y)
        self._inside = event.inaxes

    def _leave_axes(self, x: float, y: float) -> None:
        left, self._inside = self._inside, None
        event = ChartEvent("axes_leave_event", self, x, y, inaxes=left)
        for wanted, handler in list(self._handlers.values()):
            if wanted == "axes_leave_event":
                handler(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseMoveEvent(event)
        if self._handlers:
            held = next((b for q, b in _BUTTONS.items() if event.buttons() & q), None)  # a drag: the held button
            self._send("motion_notify_event", event.position(), held)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mousePressEvent(event)
        self._press_or_release("button_press_event", event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        self._press_or_release("button_release_event", event)

    def _press_or_release(self, name: str, event: QMouseEvent) -> None:
        button = _BUTTONS.get(event.button())
        key = "control" if event.modifiers() & Qt.KeyboardModifier.ControlModifier else None
        if self._handlers and button is not None:
            self._send(name, event.position(), button, key)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if any(name == "scroll_event" for name, _ in self._handlers.values()):
            self._send("scroll_event", event.position(), step=event.angleDelta().y() / 120.0)
            event.accept()
        else:
            super().wheelEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        super().leaveEvent(event)
        if self._inside is not None:
            self._leave_axes(-1.0, -1.0)

    # -- a ring over the image ------------------------------------------------------------------
    def set_ring(self, x: float | None, y: float | None = None, radius: float = 7.0, color: str = "#1f2933") -> None:
        """Draw a ring of ``radius`` logical pixels around display point (x, y); None removes it."""
        ring = None if x is None or y is None else (float(x), float(y), float(radius), QColor(color))
        if ring != self._ring:
            self._ring = ring
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        try:
            red, green, blue, alpha = self._owner.figure.get_facecolor()
            painter.fillRect(self.rect(), QColor.fromRgbF(red, green, blue, alpha))
            if self.image is not None and not self.image.isNull():
                target = QRectF(0, 0, self.width(), self.height())
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(target, self.image)
                if self._ring is not None:
                    x, y, radius, color = self._ring
                    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                    painter.setPen(QPen(color, 2.0))
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                    painter.drawEllipse(self.widget_point(x, y), radius, radius)
            elif self.note:
                painter.setPen(QColor("#7b8794"))
                painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.note)
        finally:
            painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._owner.canvas_resized()


def render_image(renderer: Callable[[Figure], None] | None, width: int, height: int, ratio: float,
                 cancelled: Callable[[], bool] | None = None) -> tuple[Figure, QImage]:
    """A new constrained-layout figure of ``width`` x ``height`` logical pixels (``ratio``
    device pixels each) drawn by ``renderer`` with Agg, and its image (any thread).

    Raises ``DrawCancelled`` once ``cancelled()`` holds (see ``agg_image``)."""
    dpi = 100.0 * ratio
    figure = with_own_draw_lock(Figure(figsize=(max(width, 1) / 100.0, max(height, 1) / 100.0), dpi=dpi, layout="constrained"))
    if renderer is not None:
        renderer(figure)
    return figure, agg_image(figure, ratio, cancelled)


def agg_image(figure: Figure, ratio: float, cancelled: Callable[[], bool] | None = None) -> QImage:
    """``figure`` drawn with Agg at its own size and dpi, as an image of ``ratio`` device
    pixels per logical pixel (any thread).

    ``cancelled``: asked before each artist is drawn; once it returns True the draw stops with
    ``core.report_charts.DrawCancelled`` (a worker's draw that a newer one superseded)."""
    agg = FigureCanvasAgg(figure)
    if cancelled is not None:
        if cancelled():
            raise DrawCancelled("a newer draw superseded this one")
        with cancellable_draw(figure, cancelled):
            agg.draw()
    else:
        agg.draw()
    rgba = np.asarray(agg.buffer_rgba())
    image = QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.strides[0], QImage.Format.Format_RGBA8888).copy()
    image.setDevicePixelRatio(ratio)
    return image


class ChartView(QWidget):
    """A matplotlib figure (constrained layout) drawn by ``renderer`` whenever it is shown
    after a change; exportable to PNG.

    ``threaded``: the renderer runs and the figure is drawn on a worker thread (a new figure
    each time; ``figure`` is the last finished one) and the widget (``ImageCanvas``) shows the
    image, so a chart never holds up the interface however many points and labels it has.
    Its handlers (``canvas.mpl_connect``) still get hovers and clicks, read against the shown
    figure; the renderer must read only what the interface thread set before ``invalidate``
    (no widgets). ``flush()`` always renders at once, on the calling thread (PNG export, tests).
    """

    def __init__(self, figsize: tuple[float, float] = (5.0, 3.0), toolbar: bool = False, parent: QWidget | None = None,
                 *, threaded: bool = False) -> None:
        super().__init__(parent)
        self.threaded = threaded
        self._figsize = figsize
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.canvas: QWidget = ImageCanvas(self) if threaded else FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(160, 120)
        enable_png_export(self.canvas)  # type: ignore[arg-type]
        register_chart_canvas(self.canvas)  # restyled by theme toggles
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.toolbar = NavigationToolbar2QT(self.canvas, self) if toolbar and not threaded else None
        if self.toolbar is not None:
            layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas, 1)
        self._renderer: Callable[[Figure], None] | None = None
        self._dirty = False
        self._generation = 0  # a newer render supersedes an older one still running
        self._superseded = threading.Event()  # set: the render under way stops at its next artist
        self._rendering = False
        self.render_count = 0
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(RESIZE_RENDER_MS)
        self._resize_timer.timeout.connect(self._resized)
        self._render_size: tuple[int, int, float] | None = None  # of the last render started
        self._start_timer = QTimer(self)
        self._start_timer.setSingleShot(True)
        self._start_timer.setInterval(RENDER_DELAY_MS)
        self._start_timer.timeout.connect(lambda: self._after_paint.arm())
        #: the render starts once the window has painted what changed with it (services.idle)
        self._after_paint = AfterPaint(self.canvas, self._start_render)
        #: renders (threaded): one at a time, the latest waiting; owned by the chart, so a render
        #: that ends after the chart is gone reaches nothing
        self.runner = TaskRunner(self)

    def set_renderer(self, renderer: Callable[[Figure], None] | None) -> None:
        """Draw with ``renderer(figure)`` (now when visible, else when next shown)."""
        self._renderer = renderer
        self.invalidate()

    def invalidate(self) -> None:
        self._dirty = True
        if self.isVisible():
            self._render_soon()

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def rendering(self) -> bool:
        """Whether a threaded render is waiting to start or under way."""
        return self._rendering or self._start_timer.isActive() or self._after_paint.armed

    def flush(self) -> None:
        """Render now if a change is pending or still being drawn on the worker (also called
        before a PNG export)."""
        if not self._dirty and not self.rendering:
            return
        self._dirty = False
        if self.threaded:
            self._generation += 1
            self._superseded.set()
            self._rendering = False
            self._start_timer.stop()
            self._after_paint.cancel()
            width, height, ratio = self._render_size = self._canvas_size()
            figure, image = render_image(self._renderer, width, height, ratio)
            self._show(figure, image)
            return
        self.figure.clear()
        self.figure.set_facecolor(matplotlib.rcParams["figure.facecolor"])  # the theme's (clear keeps the old colour)
        self.figure.set_edgecolor(matplotlib.rcParams["figure.edgecolor"])
        if self._renderer is not None:
            self._renderer(self.figure)
        self.render_count += 1
        self.canvas.draw_idle()  # type: ignore[attr-defined]
        collect_replaced_figures_soon()  # the cleared axes

    def _render_soon(self) -> None:
        """Threaded: draw on the chart runner once the interface has painted what changed with
        it (``RENDER_DELAY_MS``: a drawing worker and the painting interface thread would take
        turns at the GIL, every table cell waiting its turn); else ``flush`` now."""
        if not self.threaded:
            self.flush()
        elif self._dirty and not self._start_timer.isActive():
            self._start_timer.start()

    def _start_render(self) -> None:
        if not self._dirty or not self.isVisible():
            return
        self._dirty = False
        self._generation += 1
        self._superseded.set()  # a render still under way draws what nobody will see: it stops
        self._superseded = superseded = threading.Event()
        generation, renderer = self._generation, self._renderer
        width, height, ratio = self._render_size = self._canvas_size()
        self._rendering = True
        if self.canvas.image is None:  # type: ignore[attr-defined]
            self.canvas.set_image(None, "Drawing …")  # type: ignore[attr-defined]
        self.runner.submit(
            "render", lambda: render_image(renderer, width, height, ratio, superseded.is_set),
            lambda result: self._rendered(generation, *result), lambda exc: self._failed(generation, exc),
        )

    def _canvas_size(self) -> tuple[int, int, float]:
        """The canvas's size in logical pixels (the designed figure size while it has never
        been on screen) and its device pixel ratio."""
        canvas = self.canvas
        ratio = float(canvas.devicePixelRatioF()) or 1.0
        if not canvas.isVisible():
            return int(self._figsize[0] * 100), int(self._figsize[1] * 100), ratio
        return max(canvas.width(), 160), max(canvas.height(), 120), ratio

    def _rendered(self, generation: int, figure: Figure, image: QImage) -> None:
        if generation == self._generation:
            self._rendering = False
            self._show(figure, image)

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self._rendering = False
            self.canvas.set_image(None, f"Could not draw this chart: {exc}")  # type: ignore[attr-defined]

    def _show(self, figure: Figure, image: QImage) -> None:
        self.figure = figure
        self.render_count += 1
        self.canvas.set_image(image)  # type: ignore[attr-defined]
        collect_replaced_figures_soon()

    def canvas_resized(self) -> None:
        """The image canvas changed size: draw again at the new size once resizing settles."""
        if self._renderer is not None:
            self._resize_timer.start()

    def _resized(self) -> None:
        """Resizing settled: draw again unless the canvas is back at the size last drawn (a
        layout that shrank and regrew it while a table filled)."""
        if self._canvas_size() != self._render_size:
            self.invalidate()

    def theme_changed(self) -> None:
        """Re-render for the new theme: soon when on screen (one chart per event-loop turn), else when shown."""
        self._dirty = True
        redraw_queue().request(self, self._render_soon)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self._render_soon()
