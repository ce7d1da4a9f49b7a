"""Qt-free matplotlib charts of runs and evaluations, drawn on a ``matplotlib.figure.Figure``
that the caller owns: the HTML report renders them with the Agg canvas (``png_bytes``), the
app can draw the same functions on its own canvas. Never touches pyplot or the global
backend; styling is applied with ``matplotlib.rc_context`` only while drawing (``styled``),
under ``RC_LOCK``: matplotlib's settings are one global dictionary, so a thread that changes
them for good (the app's theme) takes the same lock and never has its values reverted by a
chart that was drawing on another thread.
"""
from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

#: Held while matplotlib's global settings are changed: by ``styled`` for a drawing, and by
#: whoever changes them for good (the app's theme).
RC_LOCK = threading.RLock()


@contextmanager
def styled(rc: Mapping[str, Any]) -> Iterator[None]:
    """``matplotlib.rc_context(rc)`` under ``RC_LOCK`` (see the module), for drawing on any thread."""
    with RC_LOCK, rc_context(rc):
        yield


#: SASRec's colour and the popularity baseline's, everywhere in the report.
SASREC_COLOUR, POPULAR_COLOUR = "#2b6cb0", "#dd6b20"
#: Colours of runs compared in one chart (in run order).
RUN_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16", "#4a5568")
STEP_COLOUR = "#a0aec0"
#: Metrics of the "SASRec vs popular" chart, with a one-line reading aid each.
BEYOND_CHART_METRICS: dict[str, str] = {
    "Coverage": "share of the catalog recommended",
    "Novelty": "bits; higher = less popular items",
    "ILD_genre": "genre diversity within a list",
    "ILD_emb": "embedding diversity within a list",
    "Serendipity": "relevant and unexpected (RecTools)",
    "PopShare": "share of the list among the top-k popular",
}

STYLE: dict[str, Any] = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": "#4a5568",
    "axes.edgecolor": "#cbd5e0",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#edf2f7",
    "grid.linewidth": 0.8,
    "xtick.color": "#4a5568",
    "ytick.color": "#4a5568",
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


def with_own_draw_lock(fig: Figure) -> Figure:
    """Give ``fig`` a draw lock of its own and return it.

    ``Figure.draw`` holds ``Figure._render_lock``, which matplotlib 3.11 makes a class attribute:
    one lock for every figure of the process. A chart drawn on a worker (100-250 ms at KION
    size) then held up every draw elsewhere, the interface thread's too (the loss plot waited
    for it when a run started). A figure that only one thread builds and draws needs no lock
    shared with others: its fonts are per thread already (``font_manager.get_font`` keys them
    by thread), and nothing else of it is shared."""
    fig._render_lock = threading.RLock()  # noqa: SLF001 - shadows the class-wide lock for this figure only
    return fig


class DrawCancelled(Exception):
    """Raised inside a draw made under ``cancellable_draw`` once its ``cancelled()`` holds."""


@contextmanager
def cancellable_draw(fig: Figure, cancelled: Callable[[], bool]) -> Iterator[Figure]:
    """While the block runs, drawing ``fig`` raises ``DrawCancelled`` at the next artist once
    ``cancelled()`` is true (checked before the layout and before each axes, each of their
    artists and each figure-level artist), instead of finishing a draw nobody will see.

    For a figure drawn on a worker thread that a newer draw has superseded: its Python work
    would hold the GIL against the interface thread's own for nothing. Afterwards the figure
    draws as before (the checks are instance attributes, removed on exit; an artist's own
    instance ``draw`` is put back)."""
    targets = [*fig.get_children()]
    for ax in fig.axes:
        targets.extend(ax.get_children())  # not Axis.get_children: that makes every tick the locator wants

    def checked(draw: Callable[..., Any]) -> Callable[..., Any]:
        def draw_unless_cancelled(*args: Any, **kwargs: Any) -> Any:
            if cancelled():
                raise DrawCancelled("a newer draw superseded this one")
            return draw(*args, **kwargs)
        return draw_unless_cancelled

    patched = [(artist, artist.__dict__.get("draw")) for artist in (fig, *targets)]  # with a draw of its own, if any
    for artist, _own in patched:
        artist.draw = checked(artist.draw)  # an instance attribute: matplotlib calls ``artist.draw(renderer)``
    try:
        yield fig
    finally:
        for artist, own in patched:
            if own is None:
                del artist.draw
            else:
                artist.draw = own


def new_figure(width: float, height: float) -> Figure:
    """A ``Figure`` of ``width`` x ``height`` inches with an Agg canvas attached (no pyplot),
    drawable on any thread (``with_own_draw_lock``)."""
    fig = with_own_draw_lock(Figure(figsize=(width, height), layout="constrained"))
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 144) -> bytes:
    """The figure rendered to PNG (by Agg: ``new_figure``'s canvas, or the one ``savefig``
    picks for PNG); the figure's own canvas is left as it is."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _epoch_axis(n_steps: int, steps_per_epoch: int) -> np.ndarray:
    """x positions (in epochs) of ``n_steps`` training steps."""
    per_epoch = steps_per_epoch if steps_per_epoch > 0 else max(n_steps, 1)
    return (np.arange(n_steps) + 1) / per_epoch


def validation_series(history: Mapping[str, Any]) -> pd.DataFrame:
    """The per-epoch validation metrics of a stored history: index epoch (from 1), one column
    per metric; epochs without validation are left out."""
    rows = {e: m for e, m in enumerate(history.get("epoch_metrics") or [], start=1) if m}
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def draw_training_curves(fig: Figure, runs: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Loss and validation curves of one run or several, side by side.

    ``runs``: (label, stored history) pairs (``RunRecord.history``). One run: per-step loss,
    its exponential moving average and the per-epoch mean on the left, every validation
    metric per epoch on the right. Several runs: their per-epoch losses overlaid on the left,
    their validation NDCG (else the first metric) overlaid on the right.
    """
    with styled(STYLE):
        has_validation = any(not validation_series(h).empty for _, h in runs)
        axes = fig.subplots(1, 2 if has_validation else 1, squeeze=False)[0]
        loss_ax = axes[0]
        if len(runs) == 1:
            _draw_one_loss(loss_ax, runs[0][1])
        else:
            for i, (label, history) in enumerate(runs):
                losses = history.get("epoch_losses") or []
                loss_ax.plot(np.arange(1, len(losses) + 1), losses, marker="o", ms=3.5, lw=1.8,
                             color=RUN_COLOURS[i % len(RUN_COLOURS)], label=label)
            loss_ax.set_title("Training loss per epoch")
        loss_ax.set_xlabel("epoch")
        loss_ax.set_ylabel("loss")
        if loss_ax.get_legend() is None:
            loss_ax.legend(loc="upper right")
        n_epochs = max((len(h.get("epoch_losses") or []) for _, h in runs), default=0)
        if n_epochs >= 2:
            loss_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if has_validation:
            _draw_validation(axes[1], runs)
            axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
            axes[1].set_xlim(0.5, max(n_epochs, 1) + 0.5)


def _draw_one_loss(ax, history: Mapping[str, Any]) -> None:  # noqa: ANN001 - matplotlib Axes
    steps = np.asarray(history.get("step_losses") or [], dtype=float)
    epochs = np.asarray(history.get("epoch_losses") or [], dtype=float)
    per_epoch = int(history.get("steps_per_epoch") or 0)
    if len(steps):
        x = _epoch_axis(len(steps), per_epoch or max(1, math.ceil(len(steps) / max(len(epochs), 1))))
        ax.plot(x, steps, color=STEP_COLOUR, lw=0.7, alpha=0.8, label="per step")
        if len(steps) >= 5:
            smooth = pd.Series(steps).ewm(alpha=0.1).mean().to_numpy()
            ax.plot(x, smooth, color=SASREC_COLOUR, lw=1.6, label="smoothed (EMA)")
    if len(epochs):
        ax.plot(np.arange(1, len(epochs) + 1), epochs, "o-", color="#1a365d", ms=4, lw=1.2, label="epoch mean")
    val_losses = np.asarray(history.get("val_losses") or [], dtype=float)
    if len(val_losses) and np.isfinite(val_losses).any():
        # on its own scale: the validation loss is a mean over held-out targets, not a batch loss
        twin = ax.twinx()
        twin.plot(np.arange(1, len(val_losses) + 1), val_losses, "s--", color=POPULAR_COLOUR, ms=3.5, lw=1.2,
                  label="validation loss (right axis)")
        twin.set_ylabel("validation loss", color=POPULAR_COLOUR)
        twin.tick_params(axis="y", colors=POPULAR_COLOUR)
        twin.grid(False)
        twin.spines["right"].set_visible(True)
        handles, labels = ax.get_legend_handles_labels()
        extra_h, extra_l = twin.get_legend_handles_labels()
        ax.legend(handles + extra_h, labels + extra_l, loc="upper right")
    kept = int(history.get("kept_epoch") or 0)
    if kept and history.get("stopped_early"):
        ax.axvline(kept, color="#718096", lw=0.9, ls=":")
    ax.set_title("Training loss")


def _draw_validation(ax, runs: Sequence[tuple[str, Mapping[str, Any]]]) -> None:  # noqa: ANN001
    if len(runs) == 1:
        frame = validation_series(runs[0][1])
        for i, column in enumerate(frame.columns):
            ax.plot(frame.index, frame[column], marker="o", ms=4, lw=1.8, color=RUN_COLOURS[i % len(RUN_COLOURS)], label=column)
        ax.set_title("Validation on the hold-out")
    else:
        names = [c for _, h in runs for c in validation_series(h).columns]
        metric = next((c for c in names if c.startswith("NDCG")), names[0] if names else "")
        for i, (label, history) in enumerate(runs):
            frame = validation_series(history)
            if metric in frame.columns:
                ax.plot(frame.index, frame[metric], marker="o", ms=3.5, lw=1.8, color=RUN_COLOURS[i % len(RUN_COLOURS)], label=label)
        ax.set_title(f"Validation {metric} per epoch")
    ax.set_xlabel("epoch")
    ax.legend(loc="lower right")


def draw_sasrec_vs_popular(fig: Figure, table: pd.DataFrame, k: int, models: Sequence[str] = ("SASRec", "Popular"), columns: int = 3) -> None:
    """The "SASRec vs popular" chart: one small panel per beyond-accuracy metric at ``k``
    (``BEYOND_CHART_METRICS`` that ``table`` has), ``columns`` panels a row, a bar per model
    (``models``: rows of ``table``) with its value.

    ``table``: ``core.evaluate_model.evaluate_split``'s (rows = models, columns = metric@k).
    """
    names = [m for m in BEYOND_CHART_METRICS if f"{m}@{k}" in table.columns and table[f"{m}@{k}"].notna().any()]
    rows = [m for m in models if m in table.index]
    if not names or not rows:
        return
    colours = [SASREC_COLOUR if m == "SASRec" else POPULAR_COLOUR if m == "Popular" else RUN_COLOURS[i % len(RUN_COLOURS)]
               for i, m in enumerate(rows)]
    with styled({**STYLE, "axes.grid": False}):
        n_cols = min(len(names), columns)
        n_rows = math.ceil(len(names) / n_cols)
        grid = fig.subplots(n_rows, n_cols, squeeze=False)
        axes = list(grid.reshape(-1))
        for ax in axes[len(names):]:
            ax.set_visible(False)
        firsts = {id(row[0]) for row in grid}
        for ax, name in zip(axes, names):
            values = table.loc[rows, f"{name}@{k}"].to_numpy(dtype=float)
            y = np.arange(len(rows))[::-1]
            ax.barh(y, np.nan_to_num(values), color=colours, height=0.62)
            top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
            # shares and distances in [0, 1]: a floor keeps tiny values (serendipity) looking tiny
            right = max(top * 1.35, 1e-9 if name == "Novelty" else 0.05)
            ax.set_xlim(0, right if top > 0 or name != "Novelty" else 1.0)
            for yy, v in zip(y, values):
                ax.text(max(np.nan_to_num(v), 0) + ax.get_xlim()[1] * 0.02, yy, value_label(name, v), va="center",
                        fontsize=8.5, color="#2d3748")
            ax.set_yticks(y, rows if id(ax) in firsts else [""] * len(rows))
            ax.tick_params(axis="y", length=0)
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
            ax.set_title(f"{name}@{k}", fontsize=9.5)
            ax.set_xlabel(BEYOND_CHART_METRICS[name], fontsize=8, color="#718096")


def value_label(metric: str, value: float) -> str:
    """A short label of a metric value: "n/a" when missing, 2 decimals for Novelty (bits), 3
    otherwise, and two significant digits for values too small for that (serendipity)."""
    if not np.isfinite(value):
        return "n/a"
    if value != 0 and abs(value) < 0.001:
        return f"{value:.1e}"
    return f"{value:.2f}" if metric == "Novelty" else f"{value:.3f}"


def draw_filter_funnel(fig: Figure, steps: pd.DataFrame) -> None:
    """Rows, users and items left after each filter step (``FilterResult.report()``), as
    horizontal bars relative to the loaded data, one panel per count."""
    with styled({**STYLE, "axes.grid": False}):
        axes = fig.subplots(1, 3, squeeze=False, sharey=True)[0]
        labels = steps["name"].tolist()
        y = np.arange(len(labels))[::-1]
        for ax, column, colour in zip(axes, ("rows", "users", "items"), (SASREC_COLOUR, "#2f855a", "#6b46c1")):
            values = steps[column].to_numpy(dtype=float)
            base = values[0] if len(values) and values[0] > 0 else 1.0
            ax.barh(y, values / base, color=colour, height=0.6, alpha=0.85)
            for yy, v in zip(y, values):
                ax.text(min(v / base, 1.0) + 0.02, yy, f"{int(v):,}", va="center", fontsize=8, color="#2d3748")
            ax.set_xlim(0, 1.45)
            ax.set_xticks([])
            ax.tick_params(axis="y", length=0)
            ax.spines["bottom"].set_visible(False)
            ax.set_title(column.capitalize())
        axes[0].set_yticks(y, labels)
