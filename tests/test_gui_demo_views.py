"""Stakeholder views on small demo data: item cards, user profile, why this recommendation,
attention heatmap, item map (with a 16k-item hover timing), SASRec vs popularity side by
side, themes / presentation mode, and PNG export of every chart.

One tiny model (2 blocks, 2 heads) is trained once for the module and put into each test
window directly, so no test waits for a training run.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QImage

from core.evaluate import popular_recommendations
from core.explain import attention_contributions, attention_maps, genre_mix, leave_one_out_contributions, session_items
from core.sequences import UserHistories
from tests.conftest import GUI_TINY_CONFIG, train_demo_model, window_with_model

VIEW_CONFIG = {**GUI_TINY_CONFIG, "n_blocks": 2, "n_heads": 2, "epochs": 2, "seed": 3}
KION_CARD_LABELS = ("Title", "Original title", "Year", "Type", "Genres", "Countries", "Age rating",
                    "Directors", "Actors", "Description", "Keywords")


@pytest.fixture(scope="module")
def demo_model(gui_demo_dir):  # noqa: ANN001, ANN201
    """(loaded data, filtered data, trained model, user histories) shared by the module."""
    return train_demo_model(gui_demo_dir, VIEW_CONFIG)


@pytest.fixture
def demo_window(make_window, demo_model):  # noqa: ANN001, ANN201
    """A window with the demo data loaded and the shared model in place; light theme after."""
    from sasrec_gui.services import theme

    window = window_with_model(make_window, demo_model)
    yield window
    theme.apply_theme("light")


def _user_with_history(histories: UserHistories, lo: int = 6, hi: int = 14) -> int:
    lengths = histories.lengths
    candidates = histories.user_ids[(lengths >= lo) & (lengths <= hi)]
    return int(candidates[0])


def _wait_idle(qtbot, window) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=20_000)


# --------------------------------------------------------------------------- item cards


def test_item_cards_everywhere(demo_window, qtbot) -> None:  # noqa: ANN001
    window = demo_window
    items = window.state.data.items.set_index("item_id")
    user = _user_with_history(window.state.recommender.histories)
    page = window.recommend_page
    window.show_page("recommendations")
    assert page.show_user(user)

    # the top recommendation is selected at once: its card is shown
    top = int(page.recs_model.frame["item_id"].iloc[0])
    assert page.card.item_id == top
    fields = page.card.fields()
    assert fields["Title"] == items.loc[top, "title"]
    assert set(KION_CARD_LABELS) <= set(fields)
    assert fields["Year"] == str(int(items.loc[top, "release_year"]))
    assert fields["Description"] == items.loc[top, "description"]
    assert fields["Age rating"] == f"{int(items.loc[top, 'age_rating'])}+"

    # selecting a history item shows its card; missing fields are left out
    page.history_view.selectRow(1)
    hist_item = int(page.history_model.frame["item_id"].iloc[1])
    assert page.card.item_id == hist_item
    assert page.card.fields()["Actors"] == items.loc[hist_item, "actors"]
    no_studio = int(items.index[items["studios"].isna()][0])
    page.card.show_item(no_studio)
    assert "Studios" not in page.card.fields() and "Title" in page.card.fields()
    shown_texts = {page.card.rows.itemAt(i).widget().text() for i in range(page.card.rows.count())}
    assert items.loc[no_studio, "keywords"] in shown_texts

    # the card's button opens the similar items, whose page shows the card too
    page.card.show_item(top)
    page.card.similar_button.click()
    assert window.current_page() == "similar"
    sim = window.similar_page
    assert sim.current_item == top and sim.card.item_id == top
    sim.similar_view.selectRow(2)
    neighbour = int(sim.similar_model.frame["item_id"].iloc[2])
    assert sim.card.item_id == neighbour and sim.card.fields()["Title"] == items.loc[neighbour, "title"]


def test_item_details_with_movielens_columns_and_unknown_items() -> None:
    from sasrec_gui.logic.explanations import ItemDetails

    movielens = pd.DataFrame({"item_id": [1, 2], "title": ["Heat", "Up"], "title_orig": ["Heat", pd.NA],
                              "release_year": [1995, np.nan], "genres": ["Action, Crime", "Animation"]})
    details = ItemDetails(movielens)
    assert details.fields(1) == {"Title": "Heat", "Original title": "Heat", "Year": "1995", "Genres": "Action, Crime"}
    assert details.fields(2) == {"Title": "Up", "Genres": "Animation"}
    assert details.fields(99) == {"Title": "Item 99"}
    assert ItemDetails(None).fields(5) == {"Title": "Item 5"}


# --------------------------------------------------------------------------- profile


def test_profile_demographics_and_genre_mix(demo_window) -> None:  # noqa: ANN001
    from sasrec_gui.logic.explanations import user_demographics
    from sasrec_gui.widgets.profile_panel import NO_USERS_TEXT

    window = demo_window
    data = window.state.data
    histories = window.state.recommender.histories
    listed = set(data.users["user_id"])
    user = next(int(u) for u in histories.user_ids if int(u) in listed and histories.lengths[histories.index_of(u)] >= 5)
    page = window.recommend_page
    window.show_page("recommendations")
    page.details.setCurrentWidget(page.profile)
    assert page.show_user(user)
    profile = page.profile
    row = data.users.set_index("user_id").loc[user]
    demo = profile.demographics()
    assert set(demo) == {"Age", "Income", "Sex", "Kids"}
    lo, hi = row["age"].split("_")[1:]
    assert demo["Age"] == (f"{lo}+" if hi == "inf" else f"{lo}–{hi}")
    assert demo["Sex"] == {"M": "male", "F": "female"}.get(row["sex"], "unknown")
    assert demo["Kids"] == ("has kids" if row["kids_flg"] else "no kids")
    assert "₽" in demo["Income"]

    history_ids = histories.items_of(user)
    rec_ids = list(page.recs_model.frame["item_id"])
    pd.testing.assert_series_equal(profile.history_mix, genre_mix(data.items, history_ids))
    pd.testing.assert_series_equal(profile.recommended_mix, genre_mix(data.items, rec_ids))
    profile.chart.flush()
    ax_h, ax_r = profile.chart.figure.axes
    assert ax_h.get_title().startswith("History") and ax_r.get_title().startswith("Top 10")
    assert ax_h.get_xlabel() == ax_r.get_xlabel() == "Share of items (%)" and ax_h.get_ylabel() == "Genre"
    assert len(ax_h.patches) == len(ax_r.patches) == len(ax_h.get_yticklabels()) > 0
    shown = [t.get_text() for t in ax_h.get_yticklabels()]
    assert shown[0] in set(profile.history_mix.index) | set(profile.recommended_mix.index)

    # a user the users table does not list, and data without a users table
    assert user_demographics(data.users, -1) == {}
    assert user_demographics(None, user) is None
    profile.show_profile(user, histories.frame_of(user), rec_ids[:3])
    window.state.data.users, saved = None, data.users
    try:
        profile.show_profile(user, histories.frame_of(user), rec_ids)
        assert profile.demographics() is None and profile.note.text() == NO_USERS_TEXT
    finally:
        window.state.data.users = saved


# --------------------------------------------------------------------------- why


def test_why_this_recommendation(demo_window, qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.widgets.why_panel import SCORE_DROP_TEXT

    window = demo_window
    recommender = window.state.recommender
    user = _user_with_history(recommender.histories)
    page = window.recommend_page
    window.show_page("recommendations")
    page.details.setCurrentWidget(page.why)
    with qtbot.waitSignal(page.why.explained, timeout=20_000):
        assert page.show_user(user)  # the top recommendation is explained in the background ...
        assert page.why.busy and not page.why.runner.is_busy("why")  # ... once the user's tables have painted
    with qtbot.waitSignal(page.why.explained, timeout=20_000) as blocker:
        item = page.select_recommendation(2)
    result = blocker.args[0]
    assert (result.user_id, result.item_id) == (user, item)
    frame = page.why.model.frame
    expected = leave_one_out_contributions(recommender, user, item)
    assert len(frame) == len(session_items(recommender, user)) == len(expected)
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))
    assert frame["score_drop"].is_monotonic_decreasing
    merged = frame.merge(expected, on="position", suffixes=("", "_core"))
    np.testing.assert_allclose(merged["score_drop"], merged["score_drop_core"], rtol=1e-4, atol=1e-5)
    attention = attention_contributions(recommender, user).set_index("position")["attention"]
    np.testing.assert_allclose(frame["attention"], attention.reindex(frame["position"]).to_numpy(), rtol=1e-4, atol=1e-6)
    assert frame["title"].notna().all() and not frame["title"].str.startswith("Item ").any()
    headers = [page.why.model.headerData(c, Qt.Orientation.Horizontal) for c in range(page.why.model.columnCount())]
    assert headers[:5] == ["#", "History item", "Score drop", "Attention", "When"]
    assert SCORE_DROP_TEXT in page.why.caption.text() and "padding" in page.why.caption.text()
    padding = 1.0 - attention.sum()
    assert f"{100 * padding:.0f}% of that attention goes to padding" in page.why.caption.text()
    page.why.chart.flush()
    ax = page.why.chart.figure.axes[0]
    assert ax.get_xlabel() == "Score drop when left out" and len(ax.patches) == min(10, len(frame))

    # selecting a contribution shows its card; a quick second request wins over the first
    page.why.view.selectRow(0)
    assert page.card.item_id == int(frame["item_id"].iloc[0])
    page.select_recommendation(3)
    last = page.select_recommendation(4)
    qtbot.waitUntil(lambda: page.why.explanation is not None and page.why.explanation.item_id == last, timeout=20_000)
    _wait_idle(qtbot, window)
    assert page.why.explanation.item_id == last


# --------------------------------------------------------------------------- attention


def test_attention_heatmap_blocks_heads_and_padding(demo_window, qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.logic.explanations import truncate
    from sasrec_gui.pages.attention_page import MEAN_HEADS, TITLE_CHARS

    window = demo_window
    recommender = window.state.recommender
    user = _user_with_history(recommender.histories)
    page = window.attention_page
    # it follows the user shown on the recommendations page (when it is next shown)
    window.show_page("recommendations")
    window.recommend_page.show_user(user)
    window.show_page("attention")
    assert page.current_user == user
    maps, items = attention_maps(recommender, user)
    n = len(items)
    assert page.block_combo.count() == 2 and [page.head_combo.itemText(i) for i in range(3)] == [MEAN_HEADS, "Head 1", "Head 2"]
    np.testing.assert_allclose(page.matrix(), maps[0].mean(axis=0), rtol=1e-6)
    page.chart.flush()
    image = page.image
    shown = image.get_array()
    assert shown.shape == (n, n)
    assert shown.mask[np.triu_indices(n, 1)].all() and not shown.mask[np.tril_indices(n)].any()  # causal; PAD hidden
    ax = image.axes
    titles = window.state.catalog.titled(pd.DataFrame({"item_id": items}))["title"]
    expected = [truncate(t, TITLE_CHARS) for t in titles]
    assert [t.get_text() for t in ax.get_xticklabels()] == expected == [t.get_text() for t in ax.get_yticklabels()]
    assert ax.get_xlabel().startswith("Attended item") and ax.get_ylabel().startswith("Attending position")
    assert page.colorbar.ax.get_ylabel().startswith("Attention weight")
    assert "block 1 of 2, mean over heads" in ax.get_title()
    padding = 1.0 - maps[0].mean(axis=0).sum(axis=1)
    assert f"{100 * padding.mean():.0f}% per row" in page.caption.text() and "padding" in page.caption.text()

    page.set_view(1, 1)
    np.testing.assert_allclose(page.matrix(), maps[1][1], rtol=1e-6)
    page.chart.flush()
    assert "block 2 of 2, head 2" in page.image.axes.get_title()
    np.testing.assert_allclose(page.image.get_array().filled(0), np.tril(maps[1][1]), rtol=1e-6)

    # hovering a cell of the chart on screen (drawn on a worker) names both items
    assert page.chart.threaded
    page.chart.canvas.process_event("motion_notify_event", *page.image.axes.transData.transform((0, n - 1)))
    assert titles.iloc[n - 1] in page.hover_label.text() and titles.iloc[0] in page.hover_label.text()
    assert not page.show_user(int(recommender.histories.user_ids.max()) + 10)
    assert page.message.is_error


# --------------------------------------------------------------------------- item map


def _motion(canvas, x: float, y: float) -> None:  # noqa: ANN001 - the item map's ImageCanvas
    canvas.process_event("motion_notify_event", x, y)


def test_item_map_hover_and_click(demo_window, qtbot) -> None:  # noqa: ANN001
    window = demo_window
    page = window.embedding_page
    window.show_page("embedding")
    qtbot.waitUntil(lambda: page.scatter is not None and not page.chart.rendering, timeout=20_000)
    assert page.chart.threaded  # drawn on a worker: the interface never waits for 15k points
    ax = page.axes
    assert len(ax.collections) == 1  # one scatter for every item
    assert len(page.frame) == window.state.model.item_map.n_items
    assert ax.get_xlabel() == "Principal component 1" and ax.get_ylabel() == "Principal component 2"
    legend = page.chart.figure.legends[0]
    assert legend.get_title().get_text() == "Primary genre"
    labels = [t.get_text().rsplit(" (", 1)[0] for t in legend.get_texts()]
    assert set(labels) <= set(page.genres) | {"other genres"} and len(labels) >= 3

    # hover: throttled lookups, tooltip text and caption with the title
    row = len(page.frame) // 2
    item = int(page.frame["item_id"].iat[row])
    px, py = ax.transData.transform((page.frame["x"].iat[row], page.frame["y"].iat[row]))
    before = page.lookups
    for dx in np.linspace(-3, 0, 40):
        _motion(page.chart.canvas, px + dx, py)
    assert page.lookups == before  # nothing looked up per event
    qtbot.waitUntil(lambda: page.lookups > before, timeout=2000)
    assert page.lookups - before <= 2
    found = page.hovered_item
    assert found is not None
    assert window.state.catalog.describe(found).split(" (")[0] in page.hover_label.text()
    if found == item:
        assert page.state.catalog.describe(item) in page.hover_label.text()
    assert page.item_at(px + 500, py + 500) is None
    assert page.chart.canvas._ring is not None  # noqa: SLF001 - the ring is painted over the image

    # the wheel zooms around the mouse and a drag pans, each drawn again on the worker
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    page.chart.canvas.process_event("scroll_event", px, py, step=1)
    (zx0, zx1), (zy0, zy1) = page.view_limits
    assert zx1 - zx0 < x1 - x0 and zy1 - zy0 < y1 - y0 and page.reset_view_button.isEnabled()
    qtbot.waitUntil(lambda: not page.chart.rendering and page.axes.get_xlim() == (zx0, zx1), timeout=10_000)
    ax = page.axes
    px, py = ax.transData.transform((page.frame["x"].iat[row], page.frame["y"].iat[row]))
    canvas = page.chart.canvas
    canvas.process_event("button_press_event", px, py, button=1)
    canvas.process_event("motion_notify_event", px + 40, py, button=1)
    canvas.process_event("button_release_event", px + 40, py, button=1)
    assert window.current_page() == "embedding"  # a drag pans, it opens nothing
    (px0, px1), _ = page.view_limits
    assert px0 < zx0 and px1 < zx1  # the view moved left: the points moved right with the mouse
    page.reset_view()
    assert page.view_limits is None and not page.reset_view_button.isEnabled()
    qtbot.waitUntil(lambda: not page.chart.rendering and page.axes is not None, timeout=10_000)
    ax = page.axes
    px, py = ax.transData.transform((page.frame["x"].iat[row], page.frame["y"].iat[row]))
    _motion(canvas, px, py)
    qtbot.waitUntil(lambda: page.hovered_item is not None, timeout=2000)
    found = page.hovered_item

    # a click (press and release in place) opens the item's similar items (and its card)
    canvas.process_event("button_press_event", px, py, button=1)
    canvas.process_event("button_release_event", px, py, button=1)
    assert window.current_page() == "similar"
    assert window.similar_page.current_item == found and window.similar_page.card.item_id == found


@pytest.mark.perf
def test_why_explanation_takes_under_a_second(demo_model) -> None:  # noqa: ANN001
    from core.recommend import Recommender

    _, _, model, histories = demo_model
    recommender = Recommender(model, histories)
    user = _user_with_history(histories)
    item = recommender.recommend([user], k=3)["item_id"].iloc[2]
    t = time.perf_counter()
    leave_one_out_contributions(recommender, user, item)
    assert time.perf_counter() - t < 1.0


@pytest.mark.perf
def test_hover_lookup_is_fast_on_16k_items(demo_window, qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.logic.point_index import PointIndex

    rng = np.random.default_rng(0)
    n = 16_000
    centres = rng.normal(0, 3, (12, 2))
    which = rng.integers(0, 12, n)
    xy = centres[which] + rng.normal(0, 1, (n, 2))
    index = PointIndex(xy[:, 0], xy[:, 1])
    queries = rng.uniform(xy.min(0), xy.max(0), (300, 2))
    for qx, qy in queries[:100]:  # the same answer as brute force
        d = ((xy[:, 0] - qx) / 0.3) ** 2 + ((xy[:, 1] - qy) / 0.2) ** 2
        expected = int(np.argmin(d)) if d.min() <= 1 else None
        assert index.nearest(qx, qy, 0.3, 0.2) == expected

    # the real page with a 16k-item map: one collection, lookups from display pixels
    window = demo_window
    page = window.embedding_page
    window.show_page("embedding")
    qtbot.waitUntil(lambda: page.scatter is not None, timeout=20_000)
    frame = pd.DataFrame({"item_id": np.arange(1, n + 1), "x": xy[:, 0], "y": xy[:, 1]})
    page.set_map(frame, pd.Series(np.array([f"genre {g}" for g in which], dtype=object)))
    page.chart.flush()
    assert len(page.axes.collections) == 1 and len(page.axes.collections[0].get_offsets()) == n
    bbox = page.axes.bbox
    times, hits = [], 0
    for fx, fy in rng.uniform(0, 1, (300, 2)):
        x, y = bbox.x0 + fx * bbox.width, bbox.y0 + fy * bbox.height
        t = time.perf_counter()
        hits += page.item_at(x, y) is not None
        times.append(time.perf_counter() - t)
    times_ms = 1000 * np.array(times)
    print(f"16k-item hover lookup: median {np.median(times_ms):.3f} ms, p95 {np.percentile(times_ms, 95):.3f} ms, "
          f"max {times_ms.max():.3f} ms; {hits}/300 hits")
    assert np.percentile(times_ms, 95) < 5.0 and np.median(times_ms) < 2.0
    assert hits > 30


# --------------------------------------------------------------------------- side by side


def test_sasrec_vs_popularity_side_by_side(demo_window, qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.logic.explanations import interactions_of

    window = demo_window
    recommender = window.state.recommender
    user = _user_with_history(recommender.histories)
    page = window.compare_page
    window.show_page("compare")
    with qtbot.waitSignal(page.compared, timeout=20_000):
        assert page.show_user(user)
    sasrec, popular = page.sasrec_model.frame, page.popular_model.frame
    assert list(sasrec["item_id"]) == list(recommender.recommend([user], k=10)["item_id"])
    train = interactions_of(recommender.histories)
    assert len(train) == int(recommender.histories.lengths.sum())
    assert list(popular["item_id"]) == list(popular_recommendations(train, [user], 10)["item_id"])
    seen = set(recommender.histories.items_of(user))
    assert not seen & set(popular["item_id"]) and not seen & set(sasrec["item_id"])
    shared = set(sasrec["item_id"]) & set(popular["item_id"])
    assert set(sasrec.loc[sasrec["in_both"], "item_id"]) == shared == set(popular.loc[popular["in_both"], "item_id"])
    assert popular["viewers"].is_monotonic_decreasing and (popular["viewers"] > 0).all()
    font = page.popular_model.data(page.popular_model.index(0, 1), Qt.ItemDataRole.FontRole)
    assert (font is not None and font.bold()) == bool(popular["in_both"].iloc[0])
    assert f"{len(shared)} of 10 items in both lists" in page.message.text()
    with qtbot.waitSignal(page.compared, timeout=20_000):
        page.k_spin.setValue(5)
    assert page.sasrec_model.rowCount() == page.popular_model.rowCount() == 5

    page.popular_view.doubleClicked.emit(page.popular_model.index(0, 1))
    assert window.current_page() == "similar"
    assert window.similar_page.current_item == int(page.popular_model.frame["item_id"].iloc[0])


# --------------------------------------------------------------------------- themes and export


def test_dark_theme_presentation_mode_and_full_screen(demo_window, make_window, gui_settings, qtbot) -> None:  # noqa: ANN001
    import matplotlib as mpl
    from PySide6.QtWidgets import QApplication

    from sasrec_gui.services import theme

    window = demo_window
    app = QApplication.instance()
    roots = window.view_modes.roots
    light = roots.sheet
    assert app.styleSheet() == ""  # the window's roots carry the style sheet, never the application
    assert window.view_modes.theme == "light" and not window.view_modes.dark_action.isChecked()
    loss_figure = window.train_page.loss_plot.figure
    window.view_modes.dark_action.trigger()
    assert window.view_modes.theme == "dark" and theme.current() is theme.DARK
    assert roots.sheet == theme.style_sheet("dark") != light
    shown = window.pages[window.current_page()]
    assert shown.styleSheet() == roots.sheet  # the page on screen: at once; the rest one per event-loop turn
    assert roots.waiting and shown not in roots.waiting  # the other roots: a turn later, hidden pages when shown
    qtbot.waitUntil(lambda: not roots.pending)
    assert all(r.styleSheet() == roots.sheet for r in roots.roots if r.isVisible())
    other = next(name for name, p in window.pages.items() if not p.isVisible())
    window.show_page(other)
    assert window.pages[other].styleSheet() == roots.sheet
    roots.flush()
    assert all(p.styleSheet() == roots.sheet for p in window.pages.values())
    assert app.palette().color(app.palette().ColorRole.Window).name() == "#11171d"
    assert mpl.colors.same_color(mpl.rcParams["figure.facecolor"], theme.DARK.figure)
    window.show_page("training")  # charts are recoloured one per event-loop turn, hidden ones when shown
    qtbot.waitUntil(lambda: mpl.colors.same_color(loss_figure.get_facecolor(), theme.DARK.figure))
    assert mpl.colors.same_color(loss_figure.axes[0].xaxis.label.get_color(), theme.DARK.text)

    # remembered: a new window with the same settings starts dark
    window.save_settings()
    other = make_window(gui_settings, interactive=False)
    assert other.view_modes.theme == "dark" and other.view_modes.dark_action.isChecked()

    # presentation mode: larger fonts and full screen, both undone when it ends
    window.view_modes.presentation_action.trigger()
    assert window.isFullScreen() and window.view_modes.full_screen_action.isChecked()
    assert theme.font_scale() == theme.PRESENTATION_SCALE
    assert "font-size: 13pt" in window.pages[window.current_page()].styleSheet()  # 10pt * 1.3
    assert window.sidebar.width() == int(theme.SIDEBAR_WIDTH * theme.PRESENTATION_SCALE)
    assert mpl.rcParams["font.size"] == pytest.approx(10.0 * theme.PRESENTATION_SCALE)
    window.view_modes.presentation_action.trigger()
    assert not window.isFullScreen() and theme.font_scale() == 1.0
    window.view_modes.full_screen_action.trigger()
    assert window.isFullScreen()
    window.view_modes.full_screen_action.trigger()
    assert not window.isFullScreen()

    window.view_modes.set_theme("light")
    roots.flush()
    assert all(r.styleSheet() == light for r in roots.roots)
    qtbot.waitUntil(lambda: mpl.colors.same_color(loss_figure.get_facecolor(), "white"))
    assert mpl.rcParams["font.size"] == pytest.approx(10.0)


def test_every_chart_exports_png(demo_window, qtbot, tmp_path) -> None:  # noqa: ANN001
    from matplotlib.backends.backend_qt import FigureCanvasQT
    from PySide6.QtWidgets import QWidget

    from sasrec_gui.widgets.chart_export import EXPORT_PROPERTY, SAVE_TEXT, chart_menu, default_file_name, save_chart_png

    window = demo_window
    user = _user_with_history(window.state.recommender.histories)
    window.recommend_page.show_user(user)
    window.attention_page.show_user(user)
    _wait_idle(qtbot, window)
    canvases = [w for w in window.findChildren(QWidget) if isinstance(w, FigureCanvasQT) or getattr(w, "is_chart_canvas", False)]
    assert len(canvases) >= 6  # data charts, loss plot, profile, why, attention, item map …
    for canvas in canvases:
        assert canvas.property(EXPORT_PROPERTY)
        assert canvas.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
        assert [a.text() for a in chart_menu(canvas).actions()] == [SAVE_TEXT]

    charts = {
        "profile": window.recommend_page.profile.chart,
        "why": window.recommend_page.why.chart,
        "attention": window.attention_page.chart,
        "loss": window.train_page.loss_plot,
    }
    for name, chart in charts.items():
        path = save_chart_png(chart, tmp_path / name)  # '.png' appended
        assert path.suffix == ".png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        image = QImage(str(path))
        assert image.width() > 300 and image.height() > 200, name
    assert default_file_name(window.attention_page.chart.figure).startswith(f"user-{user}-block-1")


def test_recommendations_page_without_model_clears_the_panels(make_window) -> None:  # noqa: ANN001
    window = make_window(interactive=False)
    page = window.recommend_page
    assert page.card.item_id is None and page.profile.user_id is None and page.why.explanation is None
    assert window.attention_page.placeholder.showing_placeholder
    assert window.embedding_page.placeholder.showing_placeholder
    assert window.compare_page.placeholder.showing_placeholder
    assert page._activate(page.recs_model, QModelIndex()) is None
