"""User profile: demographics from the users table and the genre mix of the history
next to that of the recommendations (two labelled bar charts)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from core.explain import genre_mix
from core.ids import id_value
from core.recommend import WHAT_IF_USER

from ..logic.explanations import truncate, user_demographics
from ..services import theme
from ..services.state import AppState
from .chart_export import ChartView

MAX_GENRES = 10
NO_USERS_TEXT = "The data has no user table (users_en.csv), so no demographics."


def combined_order(history: pd.Series, recommended: pd.Series, limit: int = MAX_GENRES) -> list[str]:
    """Genres ordered by their share over both lists, the top ``limit`` (plus 'other' for the rest)."""
    both = history.add(recommended, fill_value=0.0).sort_values(ascending=False, kind="stable")
    genres = [str(g) for g in both.index]
    return genres if len(genres) <= limit else [*genres[: limit - 1], "other"]


def _folded(mix: pd.Series, order: Sequence[str]) -> np.ndarray:
    """Shares of ``order``'s genres; 'other' collects everything not listed."""
    values = np.array([float(mix.get(g, 0.0)) for g in order])
    if order and order[-1] == "other":
        values[-1] = float(mix.sum()) - float(mix.reindex(order[:-1]).fillna(0.0).sum())
    return values


class ProfilePanel(QWidget):
    """Who the user is (when the data says) and what they watch versus what they get."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.user_id: int | str | None = None
        #: what the genre mixes are of: (items table, history ids, recommended ids); worked out
        #: by the chart's worker (``_mixes``), not while the user is being shown
        self._mix_of: tuple[pd.DataFrame | None, list, list] | None = None
        self._mixes: tuple[object, pd.Series, pd.Series] | None = None
        self._demographics: dict[str, str] | None = None
        self._n_history = 0
        self._n_recommended = 0
        self._history_label = "History"

        self.heading = QLabel("No user shown")
        self.heading.setObjectName("cardTitle")
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.rows = QGridLayout()
        self.rows.setHorizontalSpacing(10)
        self.rows.setVerticalSpacing(4)
        left = QWidget()
        left.setMinimumWidth(190)
        left.setMaximumWidth(280)
        left.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addWidget(self.heading)
        left_layout.addLayout(self.rows)
        left_layout.addWidget(self.note)
        left_layout.addStretch(1)
        self.chart = ChartView(figsize=(6.0, 3.0), threaded=True)  # drawn on a worker: showing a user never waits for it
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(left)
        layout.addWidget(self.chart, 1)
        self.chart.set_renderer(self._render)

    # -- showing ----------------------------------------------------------------------------
    def demographics(self) -> dict[str, str] | None:
        """What the panel shows about the user (None: the data has no users table)."""
        return None if self._demographics is None else dict(self._demographics)

    def clear(self) -> None:
        self.user_id = None
        self.heading.setText("No user shown")
        self.note.setText("")
        self._set_rows({})
        self._demographics = None
        self._mix_of = None
        self._n_history = self._n_recommended = 0
        self.chart.invalidate()

    def show_profile(self, user_id: int | str, history: pd.DataFrame, recommended_ids: Sequence[int | str]) -> None:
        """``history``: the user's interactions (item_id, datetime); ``recommended_ids``: the top-k shown."""
        data = self.state.data
        items = data.items if data is not None else None
        self.user_id = id_value(user_id)
        self.heading.setText(f"User {user_id}")
        demo = user_demographics(data.users if data is not None else None, user_id)
        self._demographics = demo
        rows = dict(demo or {})
        rows["Interactions"] = f"{len(history):,}"
        if len(history) and "datetime" in history.columns:
            dates = pd.to_datetime(history["datetime"])
            rows["First"] = dates.min().strftime("%Y-%m-%d")
            rows["Last"] = dates.max().strftime("%Y-%m-%d")
        self._set_rows(rows)
        if demo is None:
            self.note.setText(NO_USERS_TEXT)
        elif not demo:
            self.note.setText("The users table does not list this user.")
        else:
            self.note.setText("")
        ids = history["item_id"].to_numpy() if len(history) else np.zeros(0, np.int64)
        self._mix_of = (items, ids, list(recommended_ids))
        self._n_history, self._n_recommended = len(ids), len(recommended_ids)
        self._history_label = "History"
        self.chart.invalidate()

    def show_session(self, items: Sequence[int | str], recommended_ids: Sequence[int | str]) -> None:
        """A what-if session instead of a user (``items``: item ids, oldest first): its length
        and the genre mix of the session beside that of the recommendations; no demographics."""
        data = self.state.data
        table = data.items if data is not None else None
        self.user_id = WHAT_IF_USER
        self.heading.setText("What-if session")
        self._demographics = None
        self._set_rows({"Items": f"{len(items):,}"})
        self.note.setText("A session built by hand: no user, so no demographics.")
        self._mix_of = (table, list(items), list(recommended_ids))
        self._n_history, self._n_recommended = len(items), len(recommended_ids)
        self._history_label = "Session"
        self.chart.invalidate()

    def _set_rows(self, rows: dict[str, str]) -> None:
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # deleted later, when the event loop gets there
                widget.deleteLater()
        for r, (label, text) in enumerate(rows.items()):
            key = QLabel(label)
            key.setObjectName("cardKey")
            value = QLabel(text)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.rows.addWidget(key, r, 0)
            self.rows.addWidget(value, r, 1)

    # -- genre mixes ------------------------------------------------------------------------
    def _genre_mixes(self) -> tuple[pd.Series, pd.Series]:
        """(history, recommended) genre mixes (``core.explain.genre_mix``) of what is shown,
        computed once, by whichever thread asks first (the chart's worker, usually)."""
        source, cached = self._mix_of, self._mixes
        if cached is not None and cached[0] is source:
            return cached[1], cached[2]
        if source is None:
            mixes = (pd.Series(dtype=float), pd.Series(dtype=float))
        else:
            items, history_ids, recommended_ids = source
            mixes = (genre_mix(items, history_ids), genre_mix(items, recommended_ids))
        self._mixes = (source, *mixes)
        return mixes

    @property
    def history_mix(self) -> pd.Series:
        """Share of each genre in the shown history (or session), largest first."""
        return self._genre_mixes()[0]

    @property
    def recommended_mix(self) -> pd.Series:
        """Share of each genre in the shown recommendations, largest first."""
        return self._genre_mixes()[1]

    # -- chart ------------------------------------------------------------------------------
    def _render(self, figure: Figure) -> None:  # the chart's worker
        t = theme.current()
        scale = theme.font_scale()
        ax_h, ax_r = figure.subplots(1, 2, sharey=True)
        figure.suptitle("Genre mix: watched vs. recommended", fontsize=10 * scale)
        history_mix, recommended_mix = self._genre_mixes()
        if self.user_id is None or (history_mix.empty and recommended_mix.empty):
            text = "Show a user to see their genre mix" if self.user_id is None else "The items have no genres"
            for ax in (ax_h, ax_r):
                ax.set_axis_off()
            ax_h.text(0.5, 0.5, text, transform=ax_h.transAxes, ha="center", va="center", color="#7b8794")
            return
        order = combined_order(history_mix, recommended_mix)
        y = np.arange(len(order))
        specs = (
            (ax_h, history_mix, f"{self._history_label} ({self._n_history} items)", t.accent),
            (ax_r, recommended_mix, f"Top {self._n_recommended} recommendations", t.secondary),
        )
        top = 0.0
        for ax, mix, title, color in specs:
            values = _folded(mix, order) * 100.0
            top = max(top, float(values.max()) if len(values) else 0.0)
            ax.barh(y, values, color=color, height=0.7)
            for yi, v in zip(y, values):
                if v > 0:
                    ax.text(v, yi, f" {v:.0f}%", va="center", ha="left", fontsize=8 * scale)
            ax.set_title(title, fontsize=9.5 * scale)
            ax.set_xlabel("Share of items (%)", fontsize=9 * scale)
            ax.grid(True, axis="x", alpha=0.3)
            ax.tick_params(labelsize=8 * scale)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        for ax in (ax_h, ax_r):
            ax.set_xlim(0, max(top * 1.25, 5.0))
        ax_h.set_yticks(y, [truncate(g, 18) for g in order])
        ax_h.invert_yaxis()
        ax_h.set_ylabel("Genre", fontsize=9 * scale)
