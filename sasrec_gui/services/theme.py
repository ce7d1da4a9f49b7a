"""Light and dark themes and the presentation font scale, for widgets and charts alike.

A theme is a style sheet (``resources/style.qss`` or ``resources/style-dark.qss``), a Qt
palette for the widgets the style sheet leaves to the Fusion style (spin boxes, combo
boxes, menus), and matplotlib colours. Switching restyles the figures already on screen
(backgrounds, spines, ticks, labels, legends) and sets ``matplotlib.rcParams`` so charts
drawn later match. Presentation mode scales every point size of the style sheet and
matplotlib's base font size. ``view_modes.ViewModes`` (the View menu) chooses them and keeps the
theme in the settings (``view/theme``).
"""
from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import matplotlib as mpl
import shiboken6
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.colors import same_color
from matplotlib.figure import Figure
from matplotlib.text import Text
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from core.report_charts import RC_LOCK

from .styling import StyleRoots, redraw_queue

THEME_KEY = "view/theme"
PRESENTATION_SCALE = 1.3
SIDEBAR_WIDTH = 190


@dataclass(frozen=True)
class Theme:
    """Colours of one theme (hex strings) and its style sheet file."""

    name: str
    qss_file: str
    text: str
    muted: str
    figure: str
    axes: str
    edge: str
    grid: str
    accent: str
    secondary: str
    masked: str  # cells a heatmap leaves out (causal mask)


LIGHT = Theme("light", "style.qss", text="#1f2933", muted="#52606d", figure="#ffffff", axes="#ffffff",
              edge="#52606d", grid="#b0b8c1", accent="#2f6fde", secondary="#e8590c", masked="#eef2f7")
DARK = Theme("dark", "style-dark.qss", text="#e4e7eb", muted="#9aa5b1", figure="#1b232c", axes="#1b232c",
             edge="#9aa5b1", grid="#3e4c59", accent="#5b8def", secondary="#ff8c42", masked="#26313c")
THEMES = {"light": LIGHT, "dark": DARK}

_RC_KEYS = (
    "figure.facecolor", "figure.edgecolor", "axes.facecolor", "axes.edgecolor", "axes.labelcolor",
    "text.color", "xtick.color", "ytick.color", "grid.color", "legend.edgecolor", "font.size",
)
_RC_DEFAULTS = {key: mpl.rcParams[key] for key in _RC_KEYS}
_state = {"theme": LIGHT, "scale": 1.0, "palette": False}
#: Figures of plain matplotlib canvases waiting to be recoloured, with the theme they are drawn in
#: (``apply_theme`` recolours them one per event-loop turn, a hidden one when it is next shown).
_unstyled: "weakref.WeakKeyDictionary[Figure, Theme]" = weakref.WeakKeyDictionary()


def current() -> Theme:
    """The theme in use."""
    return _state["theme"]  # type: ignore[return-value]


def font_scale() -> float:
    """1.0, or ``PRESENTATION_SCALE`` in presentation mode."""
    return float(_state["scale"])  # type: ignore[arg-type]


def scale_points(qss: str, factor: float) -> str:
    """``qss`` with every ``<n>pt`` font size multiplied by ``factor`` (one decimal)."""
    if abs(factor - 1.0) < 1e-9:
        return qss
    return re.sub(r"(\d+(?:\.\d+)?)pt\b", lambda m: f"{float(m.group(1)) * factor:.1f}pt".replace(".0pt", "pt"), qss)


def style_sheet(name: str = "light", scale: float = 1.0) -> str:
    """The style sheet of theme ``name`` (font sizes scaled by ``scale``); '' when missing."""
    try:
        from importlib.resources import files

        text = (files("resources") / THEMES[name].qss_file).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return ""
    return scale_points(text, scale)


def dark_palette() -> QPalette:
    """A dark palette for what the style sheet does not cover (Fusion's own widgets)."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#11171d", QPalette.ColorRole.WindowText: "#e4e7eb",
        QPalette.ColorRole.Base: "#1b232c", QPalette.ColorRole.AlternateBase: "#1f2933",
        QPalette.ColorRole.Text: "#e4e7eb", QPalette.ColorRole.Button: "#26313c",
        QPalette.ColorRole.ButtonText: "#e4e7eb", QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#2f6fde", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#323f4b", QPalette.ColorRole.ToolTipText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#7b8794", QPalette.ColorRole.Link: "#7aa7ff",
        QPalette.ColorRole.Light: "#3e4c59", QPalette.ColorRole.Midlight: "#323f4b",
        QPalette.ColorRole.Mid: "#26313c", QPalette.ColorRole.Dark: "#0d1217", QPalette.ColorRole.Shadow: "#000000",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#616e7c"))
    return p


def _rc_values(theme: Theme, scale: float) -> dict:
    if theme is LIGHT:
        values = dict(_RC_DEFAULTS)
    else:
        values = {
            "figure.facecolor": theme.figure, "figure.edgecolor": theme.figure, "axes.facecolor": theme.axes,
            "axes.edgecolor": theme.edge, "axes.labelcolor": theme.text, "text.color": theme.text,
            "xtick.color": theme.text, "ytick.color": theme.text, "grid.color": theme.grid,
            "legend.edgecolor": theme.grid, "font.size": _RC_DEFAULTS["font.size"],
        }
    values["font.size"] = float(_RC_DEFAULTS["font.size"]) * scale
    return values


def restyle_figure(figure: Figure, old: Theme, new: Theme) -> None:
    """Recolour an existing figure from ``old`` to ``new`` (text in the old default colour
    follows; text drawn in its own colour keeps it)."""
    old_rc, new_rc = _rc_values(old, 1.0), _rc_values(new, 1.0)
    figure.set_facecolor(new_rc["figure.facecolor"])
    for ax in figure.axes:
        ax.set_facecolor(new_rc["axes.facecolor"])
        for spine in ax.spines.values():
            spine.set_edgecolor(new_rc["axes.edgecolor"])
        # through tick_params, not get_gridlines(): that makes every tick the locator asks for
        # (68 ms for the loss plot on the interface thread); these apply to ticks made later too
        ax.tick_params(which="both", colors=new_rc["xtick.color"], grid_color=new_rc["grid.color"])
        legend = ax.get_legend()
        if legend is not None:
            legend.get_frame().set_facecolor(new_rc["axes.facecolor"])
            legend.get_frame().set_edgecolor(new_rc["legend.edgecolor"])
    for text in _texts(figure):
        if same_color(text.get_color(), old_rc["text.color"]) or same_color(text.get_color(), old.text):
            text.set_color(new_rc["text.color"])


def _texts(artist: Artist) -> Iterator[Text]:
    """The texts under ``artist``, tick labels left out (``tick_params`` colours those): unlike
    ``findobj``, which asks every axis for its ticks and so makes all the locator wants."""
    if isinstance(artist, Axis):
        yield artist.label
        yield artist.offsetText
        return
    if isinstance(artist, Text):
        yield artist
    for child in artist.get_children():
        yield from _texts(child)


_chart_canvases: list[QWidget] = []


def register_chart_canvas(canvas: QWidget) -> None:
    """Have ``apply_theme`` restyle ``canvas`` (a matplotlib canvas, or a threaded chart's
    image canvas) while it exists: the charts register as they are made, so a toggle never
    scans every widget of the application for them."""
    _chart_canvases.append(canvas)


def _canvases() -> list[QWidget]:
    alive = [w for w in _chart_canvases if shiboken6.isValid(w)]
    _chart_canvases[:] = alive
    return alive


def apply_theme(name: str, presentation: bool = False, roots: StyleRoots | None = None) -> None:
    """Use theme ``name`` ('light' or 'dark') everywhere; ``presentation`` scales fonts.

    ``roots``: the window's ``StyleRoots``, which get the style sheet (visible roots at once,
    hidden ones later); without them the application's style sheet is replaced (every widget
    re-polished in one go). Charts are recoloured at once and redrawn one per event-loop turn,
    hidden ones when they are next shown (``styling.RedrawQueue``).
    """
    app = QApplication.instance()
    theme = THEMES.get(name, LIGHT)
    scale = PRESENTATION_SCALE if presentation else 1.0
    old, old_scale = current(), font_scale()
    _state.update(theme=theme, scale=scale)
    with RC_LOCK:  # never in the middle of a chart drawn with its own settings on a worker
        mpl.rcParams.update(_rc_values(theme, scale))
    if app is None:
        return
    if theme is DARK:  # the palette first: setting the style sheet re-polishes every widget with it
        app.setPalette(dark_palette())
        _state["palette"] = True
    elif _state["palette"]:
        app.setPalette(app.style().standardPalette())
        _state["palette"] = False
    qss = style_sheet(theme.name, scale)
    if roots is not None:
        roots.set_sheet(qss)
    elif qss and app.styleSheet() != qss:
        app.setStyleSheet(qss)
    if old is theme and old_scale == scale:
        return
    queue = redraw_queue()
    for canvas in _canvases():
        owner = canvas.parentWidget()
        if owner is not None and hasattr(owner, "theme_changed"):
            owner.theme_changed()  # a ChartView draws itself anew (through the queue, when shown)
            continue
        if old is not theme:
            _unstyled.setdefault(canvas.figure, old)  # recoloured in its turn: a toggle never waits for every chart
        queue.request(canvas, lambda c=canvas: _restyle_and_draw(c))


def _restyle_and_draw(canvas: QWidget) -> None:
    """Recolour ``canvas``'s figure for the current theme if a toggle left it in another one,
    and draw it when it is on screen (``RedrawQueue`` runs this one canvas per turn)."""
    figure = canvas.figure
    drawn_in = _unstyled.pop(figure, None)
    if drawn_in is not None and drawn_in is not current():
        restyle_figure(figure, drawn_in, current())
    if canvas.isVisible() and canvas.width() > 0 and canvas.height() > 0:
        canvas.draw_idle()  # the loss plot's idle draws go to a worker when no run is live
