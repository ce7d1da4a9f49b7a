"""Attention page: a heatmap of the attention weights of one user's session, per block and head.

Rows are the session's positions (queries), columns the items they attend to (keys), both
oldest first and titled. PAD positions are not shown; since SASRec (like RecTools) does not
mask padding keys, a row's weights over real items can sum to less than 1, and the caption
says how much goes to padding. The maps come from one forward pass (core.explain.attention_maps).
The page follows the user shown on the Recommendations page, or its what-if session
(``show_session``, core.explain.session_attention_maps).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backend_bases import MouseEvent
from matplotlib.figure import Figure
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from core.errors import RecommendError
from core.explain import attention_maps, session_attention_maps
from core.ids import id_value

from ..logic.explanations import truncate
from ..services import theme
from ..services.state import AppState
from ..widgets.chart_export import ChartView
from ..widgets.common import MessageLine, page_header, placeholder_page
from ..widgets.user_picker import UserPicker
from .follow import FollowsUser

NO_MODEL_TEXT = "Train a model (or open a checkpoint and its data) to see its attention."
MEAN_HEADS = "Mean over heads"
TITLE_CHARS = 28
MAX_LABELS = 40


@dataclass(frozen=True)
class _HeatmapView:
    """What one render of the heatmap draws: the (n, n) weights, the n titles, the block
    (0-based) of ``n_blocks``, the head (None: the mean over heads) and who it is about."""

    matrix: np.ndarray
    titles: list[str]
    block: int
    n_blocks: int
    head: int | None
    subject: str


class AttentionPage(FollowsUser, QWidget):
    """Block and head pickers over the attention maps of the chosen user's session."""

    no_model_text = NO_MODEL_TEXT

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.current_user: int | str | None = None
        self.maps: list[np.ndarray] = []
        self.items = np.zeros(0, dtype=np.int64)
        self.titles: list[str] = []
        self._pending_user: int | str | None = None
        self.session: list[int | str] | None = None  # the what-if session shown (None: a user or nothing)
        self._pending_session: list[int | str] | None = None
        self.image = None
        self.colorbar = None
        #: what the next render draws, taken on the interface thread (``_redraw``): the renderer
        #: runs on a worker and reads nothing else of the page
        self._view: _HeatmapView | None = None
        self._shown: tuple[object, np.ndarray, list[str]] | None = None  # (axes, matrix, titles) of the last render

        header, self.subtitle = page_header("Attention", "How each position of a user's session attends to the earlier items.")
        self.picker = UserPicker(state)
        self.block_combo = QComboBox()
        self.block_combo.setToolTip("Transformer block")
        self.head_combo = QComboBox()
        self.head_combo.setToolTip("Attention head, or the mean over all heads")
        bar = QHBoxLayout()
        bar.addWidget(self.picker)
        bar.addSpacing(16)
        bar.addWidget(QLabel("Block"))
        bar.addWidget(self.block_combo)
        bar.addWidget(QLabel("Head"))
        bar.addWidget(self.head_combo)
        bar.addStretch(1)
        self.message = MessageLine()
        self.chart = ChartView(figsize=(8.0, 6.0), threaded=True)  # drawn on a worker; hovers read the shown image
        self.chart.set_renderer(self._render)
        self.hover_label = QLabel("Hover over a cell to read its weight.")
        self.hover_label.setObjectName("muted")
        self.caption = QLabel()
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)

        self.placeholder = placeholder_page(self, header, [bar, self.message, self.chart, self.hover_label, self.caption], NO_MODEL_TEXT, stretch=self.chart)

        self.picker.user_requested.connect(self.show_user)
        self.picker.invalid.connect(self._invalid)
        self.block_combo.currentIndexChanged.connect(lambda _i: self._selection_changed())
        self.head_combo.currentIndexChanged.connect(lambda _i: self._selection_changed())
        self.chart.canvas.mpl_connect("motion_notify_event", self._hover)
        state.model_changed.connect(self._model_changed)
        self._model_changed()

    # -- selection --------------------------------------------------------------------------
    @property
    def block(self) -> int:
        return max(0, self.block_combo.currentIndex())

    @property
    def head(self) -> int | None:
        """The chosen head, or None for the mean over heads."""
        i = self.head_combo.currentIndex()
        return None if i <= 0 else i - 1

    def set_view(self, block: int, head: int | None) -> None:
        """Choose block ``block`` (0-based) and head ``head`` (0-based, None: mean over heads)."""
        self.block_combo.setCurrentIndex(block)
        self.head_combo.setCurrentIndex(0 if head is None else head + 1)

    def matrix(self) -> np.ndarray:
        """The (n, n) weights shown: the chosen block, one head or the mean over heads."""
        if not self.maps:
            return np.zeros((0, 0))
        block = self.maps[min(self.block, len(self.maps) - 1)]
        return block.mean(axis=0) if self.head is None else block[min(self.head, block.shape[0] - 1)]

    def padding_shares(self) -> np.ndarray:
        """Per row, the share of attention that goes to padding (1 - the row's sum)."""
        m = self.matrix()
        return np.clip(1.0 - m.sum(axis=1), 0.0, 1.0) if m.size else np.zeros(0)

    def _selection_changed(self) -> None:
        self._update_caption()
        self._redraw()

    # -- showing ----------------------------------------------------------------------------
    def _user_missing(self) -> None:
        self.current_user = None
        self.maps, self.items, self.titles = [], np.zeros(0, dtype=np.int64), []
        self._update_caption()
        self._redraw()

    def show_user(self, user_id: int | str) -> bool:
        """Show ``user_id``'s attention maps; False (with a message) when it cannot."""
        self.session = self._pending_session = None
        recommender = self._start_showing(user_id)
        if recommender is None:
            return False
        user_id = id_value(user_id)
        try:
            maps, items = attention_maps(recommender, user_id)
        except RecommendError as exc:
            self.current_user = None
            self.maps, self.items, self.titles = [], np.zeros(0, dtype=np.int64), []
            self.message.show_message(str(exc), error=True)
            self._update_caption()
            self._redraw()
            return False
        self.current_user = user_id
        n_blocks, n_heads = self._set_maps(maps, items)
        total = len(recommender.histories.items_of(user_id))
        cut = f" (the last {len(items)} of {total} known to the model)" if total > len(items) else ""
        self.message.show_message(f"User {user_id}: {len(items)} item(s) in the session{cut}; {n_blocks} block(s), {n_heads} head(s).")
        self._update_caption()
        self._redraw()
        return True

    def _set_maps(self, maps: list[np.ndarray], items: np.ndarray) -> tuple[int, int]:
        """Show ``maps`` of the session ``items``; returns (blocks, heads)."""
        self.maps, self.items = maps, np.asarray(items)
        titled = self.state.catalog.titled(pd.DataFrame({"item_id": self.items}))
        self.titles = [str(t) for t in titled["title"]]
        n_blocks, n_heads = len(maps), maps[0].shape[0]
        self._fill_combos(n_blocks, n_heads)
        return n_blocks, n_heads

    # -- what-if sessions -------------------------------------------------------------------
    def follow_session(self, items: list[int | str]) -> None:
        """The Recommendations page scored a what-if session: follow it (now if visible, else when shown)."""
        self._pending_user = None
        if self.isVisible():
            self.show_session(items)
        else:
            self._pending_session = list(items)

    def show_session(self, items: list[int | str]) -> bool:
        """Show the attention maps of a what-if session (item ids, oldest first; items the model
        does not know are skipped); False (with a message) when it is empty or has no known item."""
        self._pending_user = self._pending_session = None
        recommender = self.state.recommender
        if recommender is None or not self.state.model_has_data:
            self.message.show_message(self.no_model_text, error=True)
            return False
        self.current_user = None
        self.session = [id_value(i) for i in items]
        self.picker.set_user(None)
        try:
            if not self.session:
                raise RecommendError("The what-if session on the Recommendations page is empty: add items to see its attention.")
            maps, shown = session_attention_maps(recommender, self.session)
        except RecommendError as exc:
            self.maps, self.items, self.titles = [], np.zeros(0, dtype=np.int64), []
            self.message.show_message(str(exc), error=bool(self.session))
            self._update_caption()
            self._redraw()
            return False
        n_blocks, n_heads = self._set_maps(maps, shown)
        known, unknown = recommender.split_known(self.session)
        cut = f" (the last {len(shown)} of {len(known)} known to the model)" if len(known) > len(shown) else ""
        skipped = f"; {len(unknown)} item(s) the model does not know skipped" if unknown else ""
        self.message.show_message(
            f"What-if session from the Recommendations page: {len(shown)} item(s) read{cut}{skipped}; "
            f"{n_blocks} block(s), {n_heads} head(s)."
        )
        self._update_caption()
        self._redraw()
        return True

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)  # a followed user first (FollowsUser)
        if self._pending_session is not None:
            session, self._pending_session = self._pending_session, None
            self.show_session(session)

    def _fill_combos(self, n_blocks: int, n_heads: int) -> None:
        if self.block_combo.count() == n_blocks and self.head_combo.count() == n_heads + 1:
            return
        block, head = self.block, self.head
        for combo in (self.block_combo, self.head_combo):
            combo.blockSignals(True)
            combo.clear()
        self.block_combo.addItems([f"Block {b}" for b in range(1, n_blocks + 1)])
        self.head_combo.addItems([MEAN_HEADS, *[f"Head {h}" for h in range(1, n_heads + 1)]])
        self.block_combo.setCurrentIndex(min(block, n_blocks - 1))
        self.head_combo.setCurrentIndex(0 if head is None or head >= n_heads else head + 1)
        for combo in (self.block_combo, self.head_combo):
            combo.blockSignals(False)

    def _update_caption(self) -> None:
        shares = self.padding_shares()
        if not len(shares):
            self.caption.setText("")
            return
        self.caption.setText(
            "Each row is a position of the session attending to itself and the earlier items (grey: later items, "
            "which the causal mask hides). Rows can sum to less than 1: the remaining attention goes to padding, "
            "which SASRec (like RecTools) does not mask — here on average "
            f"{100 * shares.mean():.0f}% per row, {100 * shares[-1]:.0f}% for the latest position."
        )

    def _invalid(self, text: str) -> None:
        self.message.show_message(f"'{text}' is not a user id: user ids are whole numbers." if text else "No user has a history.", error=True)

    def _model_changed(self) -> None:
        state = self.state
        self.maps, self.items, self.titles = [], np.zeros(0, dtype=np.int64), []
        if state.model is None or not state.model_has_data:
            self.placeholder.show_placeholder(NO_MODEL_TEXT)
            self.current_user = None
            self._update_caption()
            self._redraw()
            return
        self.placeholder.show_content()
        config = state.model.module
        self.subtitle.setText(
            f"Model: {state.model_origin}; sessions of up to {config.session_maxlen} items. "
            "Rows attend to columns; both run from the oldest item to the latest."
        )
        user = self.current_user
        self.current_user = None
        if self.session is not None:
            self.show_session(self.session)
        elif user is not None and user in state.users:
            self.show_user(user)
        else:
            self.message.show_message("Choose a user (or show one on the Recommendations page).")
            self._update_caption()
            self._redraw()

    # -- chart ------------------------------------------------------------------------------
    def _redraw(self) -> None:
        """Take what the chart shows now (interface thread) and draw it (on the chart's worker)."""
        subject = "What-if session" if self.session is not None else f"User {self.current_user}"
        self._view = _HeatmapView(self.matrix(), list(self.titles), self.block, len(self.maps), self.head, subject)
        self.chart.invalidate()

    def _render(self, figure: Figure) -> None:
        ax = figure.add_subplot()
        t = theme.current()
        scale = theme.font_scale()
        view = self._view or _HeatmapView(np.zeros((0, 0)), [], 0, 0, None, "")
        m = view.matrix
        n = m.shape[0]
        self.image = self.colorbar = None
        self._shown = None
        if n == 0:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "Choose a user to see the attention of their session", transform=ax.transAxes,
                    ha="center", va="center", color="#7b8794")
            return
        hidden = np.triu(np.ones((n, n), dtype=bool), 1)
        cmap = mpl.colormaps["viridis"].with_extremes(bad=t.masked)
        image = ax.imshow(np.ma.masked_array(m, hidden), cmap=cmap, vmin=0.0, vmax=max(float(m.max()), 1e-6),
                          aspect="auto", interpolation="nearest")
        step = max(1, math.ceil(n / MAX_LABELS))
        size = (8.0 if n <= 16 else 7.0 if n <= 32 else 6.0) * scale
        labels = [truncate(title, TITLE_CHARS) for title in view.titles]
        ticks = list(range(0, n, step))
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=90, fontsize=size)
        ax.set_yticks(ticks, [labels[i] for i in ticks], fontsize=size)
        ax.set_xlabel("Attended item (key), oldest → latest", fontsize=9 * scale)
        ax.set_ylabel("Attending position (query), oldest → latest", fontsize=9 * scale)
        head = MEAN_HEADS.lower() if view.head is None else f"head {view.head + 1}"
        ax.set_title(f"{view.subject}: block {view.block + 1} of {view.n_blocks}, {head}", fontsize=10 * scale)
        colorbar = figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        colorbar.set_label("Attention weight (share of the row)", fontsize=9 * scale)
        colorbar.ax.tick_params(labelsize=8 * scale)
        self.image = image
        self.colorbar = colorbar
        self._shown = (ax, m, view.titles)

    def _hover(self, event: MouseEvent) -> None:
        """Name the cell under the mouse, read from the chart on screen (not a newer one being drawn)."""
        shown = self._shown
        if shown is None or event.inaxes is not shown[0] or event.xdata is None:
            return
        _axes, m, titles = shown
        if not m.size or not titles:
            return
        i, j = int(round(event.ydata)), int(round(event.xdata))
        n = m.shape[0]
        if not (0 <= i < n and 0 <= j < n):
            return
        if j > i:
            self.hover_label.setText(f"“{titles[i]}” cannot attend to the later “{titles[j]}” (causal mask).")
        else:
            self.hover_label.setText(f"“{titles[i]}” → “{titles[j]}”: {m[i, j]:.3f}")
