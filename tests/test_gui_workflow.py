"""The whole workflow on small demo data: open, filter, train, recommend, similar items, files."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import SASRecConfig
from sasrec_gui.services.settings import Settings
from tests.conftest import GUI_MIN_ITEM_FREQ, GUI_TINY_CONFIG


def _texts(model, column: str) -> list[str]:  # noqa: ANN001
    col = model.column_of(column)
    return [model.data(model.index(r, col)) for r in range(model.rowCount())]


def test_open_filter_train_recommend_similar(window, open_demo, train, qtbot, tmp_path) -> None:  # noqa: ANN001
    # Data page: summary, report, charts, preview
    open_demo(window)
    state = window.state
    page = window.data_page
    assert page.summary.text("Interactions") == f"{len(state.data.interactions):,}"
    assert page.summary.text("Items", "filtered") == f"{state.filtered.summary.n_items:,}"
    assert page.summary.text("Median session length") not in ("", "–")
    steps = list(page.report_model.frame["name"])
    assert steps[0] == "loaded" and "min item frequency" in steps
    assert page.report_model.rowCount() == len(state.filtered.result.steps)
    assert page.preview_model.rowCount() == len(state.data.interactions)
    assert page.charts.length_ax.get_xlabel() and page.charts.length_ax.get_ylabel()
    assert page.charts.pop_ax.get_xlabel() and page.charts.pop_ax.get_ylabel()
    assert window.recommend_page.placeholder.showing_placeholder
    assert "Train a model or open a checkpoint" in window.recommend_page.placeholder.label.text()

    # Training page: a short run ends with a model and a drawn loss curve
    window.show_page("training")
    assert train(window) == "finished"
    model = state.model
    assert model is not None and model.epochs_done == GUI_TINY_CONFIG["epochs"]
    plot = window.train_page.loss_plot
    steps_losses, ema, epoch_means = plot.values()
    assert len(steps_losses) == len(model.history.step_losses) > 0
    assert len(ema) == len(steps_losses) and len(epoch_means) == GUI_TINY_CONFIG["epochs"]
    assert len(plot.step_line.get_xdata()) == len(steps_losses)
    assert plot.ax.get_xlabel() and plot.ax.get_ylabel()
    assert window.train_page.progress.value() == 1000
    assert window.train_page.stats["Elapsed"].text() != "–"
    assert window.train_page.train_button.isEnabled()

    # Recommendations: titled top-k beside the history, most recent first
    window.show_page("recommendations")
    rec_page = window.recommend_page
    assert not rec_page.placeholder.showing_placeholder
    histories = state.recommender.histories
    lengths = histories.lengths
    user = int(histories.user_ids[int(np.argmax(lengths))])
    rec_page.user_edit.setText(str(user))
    rec_page.show_typed_user()
    assert rec_page.recs_model.rowCount() == 10
    titles = _texts(rec_page.recs_model, "title")
    assert all(titles) and not any(t.startswith("Item ") for t in titles)
    assert _texts(rec_page.recs_model, "rank") == [str(i) for i in range(1, 11)]
    scores = rec_page.recs_model.frame["score"].to_numpy()
    assert np.all(np.diff(scores) <= 1e-6)
    history = rec_page.history_model.frame
    assert len(history) == lengths.max()
    assert history["datetime"].is_monotonic_decreasing
    assert {"title", "title_orig", "release_year", "genres", "datetime", "weight"} <= set(history.columns)
    seen = set(history["item_id"])
    assert not seen & set(rec_page.recs_model.frame["item_id"])  # filter viewed is on by default

    rec_page.k_spin.setValue(5)
    assert rec_page.recs_model.rowCount() == 5
    rec_page.filter_viewed.setChecked(False)
    assert rec_page.recs_model.rowCount() == 5

    # export what is shown
    assert window.export_action.isEnabled()
    out = tmp_path / "recs.csv"
    assert window.export_recommendations(out)
    exported = pd.read_csv(out)
    assert list(exported["rank"]) == [1, 2, 3, 4, 5] and exported["title"].notna().all()
    assert (exported["user_id"] == user).all()

    # a one-interaction user works; an unknown user gets a clear message
    one = histories.user_ids[lengths == 1]
    assert len(one), "the demo data should have users with one interaction"
    assert rec_page.show_user(int(one[0]))
    assert rec_page.recs_model.rowCount() == 5 and rec_page.history_model.rowCount() == 1
    unknown = int(histories.user_ids.max()) + 1000
    rec_page.user_edit.setText(str(unknown))
    assert not rec_page.show_typed_user()
    assert rec_page.message.is_error and str(unknown) in rec_page.message.text()
    assert rec_page.recs_model.rowCount() == 0
    assert rec_page.random_button.isEnabled() and rec_page.show_random_user()

    # double-click in the recommendations opens the similar items of that item
    target = int(rec_page.recs_model.frame["item_id"].iloc[0])
    rec_page.recs_view.doubleClicked.emit(rec_page.recs_model.index(0, 1))
    assert window.current_page() == "similar"
    sim_page = window.similar_page
    assert sim_page.current_item == target
    assert sim_page.similar_model.rowCount() == 10
    assert all(_texts(sim_page.similar_model, "title"))
    cos = sim_page.similar_model.frame["score"].to_numpy()
    assert np.all(cos <= 1.0 + 1e-5) and np.all(cos >= -1.0 - 1e-5) and np.all(np.diff(cos) <= 1e-6)
    assert target not in set(sim_page.similar_model.frame["item_id"])

    # double-click in the history as well
    window.show_page("recommendations")
    first_hist = int(rec_page.history_model.frame["item_id"].iloc[0])
    rec_page.history_view.doubleClicked.emit(rec_page.history_model.index(0, 0))
    assert window.current_page() == "similar" and sim_page.current_item == first_hist

    # Similar items: search by title substring (any case) and by id; follow a neighbour; back
    title = str(state.catalog.items.loc[state.catalog.items["item_id"] == target, "title"].iloc[0])
    word = title.split()[-1][:4].swapcase()
    all_items = sim_page.matches_model.rowCount()

    def only_matches() -> bool:
        frame = sim_page.matches_model.frame
        return 0 < len(frame) < all_items and all(
            word.lower() in f"{t}\n{o}".lower() for t, o in zip(frame["title"], frame["title_orig"])
        )

    sim_page.search_edit.setText(word)  # as you type: debounced search, no Enter needed
    qtbot.waitUntil(only_matches, timeout=3000)
    assert target in set(sim_page.matches_model.frame["item_id"])
    matches = sim_page.search(str(target))
    assert int(matches["item_id"].iloc[0]) == target
    sim_page.matches_view.clicked.emit(sim_page.matches_model.index(0, 0))
    assert sim_page.current_item == target
    neighbour = int(sim_page.similar_model.frame["item_id"].iloc[0])
    sim_page.similar_view.doubleClicked.emit(sim_page.similar_model.index(0, 1))
    assert sim_page.current_item == neighbour
    sim_page.go_back()
    assert sim_page.current_item == target
    sim_page.k_spin.setValue(3)
    assert sim_page.similar_model.rowCount() == 3


def test_checkpoint_round_trip_restores_form_and_pages(make_window, open_demo, train, qtbot, tmp_path) -> None:  # noqa: ANN001
    window = open_demo(make_window())
    assert not window.save_checkpoint_action.isEnabled()
    assert train(window, epochs=1, seed=5, n_factors=24) == "finished"
    assert window.save_checkpoint_action.isEnabled()
    path = tmp_path / "model.pt"
    with qtbot.waitSignal(window.controller.checkpoint_saved, timeout=10_000):
        assert window.save_checkpoint(path)
    assert path.is_file()

    # a fresh window without data: similar items work, recommendations say data is needed
    other = make_window(Settings.from_file(tmp_path / "other.ini"))
    assert other.train_page.form.config().n_factors == SASRecConfig().n_factors
    with qtbot.waitSignal(other.controller.checkpoint_opened, timeout=10_000):
        other.open_checkpoint(path)
    form_config = other.train_page.form.config()
    assert form_config.n_factors == 24 and form_config.seed == 5 and form_config.epochs == 1
    assert len(other.train_page.loss_plot.values()[0]) == len(window.state.model.history.step_losses)
    assert other.recommend_page.placeholder.showing_placeholder
    assert "no data is loaded" in other.recommend_page.placeholder.label.text()
    assert str(window.state.loaded.folder) in other.recommend_page.placeholder.label.text()
    item = int(other.state.model.item_map.external[1])
    assert other.similar_page.show_item(item)
    assert other.similar_page.similar_model.rowCount() == 10

    # loading the data afterwards applies the model's own filters and enables recommendations
    other.data_page.filters.widgets["min_item_freq"].setValue(50)  # different from the model's
    other.open_folder(window.state.loaded.folder)
    qtbot.waitUntil(lambda: other.state.model_has_data, timeout=20_000)
    assert not other.recommend_page.placeholder.showing_placeholder
    assert other.state.model.filter_config["min_item_freq"] == GUI_MIN_ITEM_FREQ
    np.testing.assert_array_equal(other.state.users.ids, window.state.users.ids)
    user = int(window.state.users.ids[0])
    assert other.recommend_page.show_user(user) and window.recommend_page.show_user(user)
    a = other.recommend_page.recs_model.frame[["item_id", "score"]]
    b = window.recommend_page.recs_model.frame[["item_id", "score"]]
    assert list(a["item_id"]) == list(b["item_id"])
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-4, atol=1e-4)

    # a checkpoint opened with data loaded enables the recommendation page at once
    third = open_demo(make_window(Settings.from_file(tmp_path / "third.ini")))
    with qtbot.waitSignal(third.controller.checkpoint_opened, timeout=10_000):
        third.open_checkpoint(path)
    assert third.state.model_has_data and third.recommend_page.show_user(user)


def test_bad_checkpoint_shows_dialog(window, dialogs, qtbot, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    window.open_checkpoint(bad)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=10_000)
    kind, title, text = dialogs[-1]
    assert kind == "critical" and "broken.pt" in text and title == "Checkpoint problem"
    assert window.state.model is None


def test_user_lookup_completes_from_a_million_ids(window, qtbot) -> None:  # noqa: ANN001
    """Debounced completion over ~1M sorted ids (searchsorted; no 1M-row completer model)."""
    from sasrec_gui.logic.user_index import UserIndex

    window.state.users = UserIndex(np.arange(0, 2_000_000, 2, dtype=np.int64))
    page = window.recommend_page
    window.show_page("recommendations")
    page.placeholder.show_content()
    page.user_edit.setFocus()
    qtbot.keyClicks(page.user_edit, "12345")
    assert page.completions.rowCount() == 0  # debounced: nothing per keystroke
    qtbot.waitUntil(lambda: page.completions.rowCount() > 0, timeout=2000)
    shown = page.completions.stringList()
    assert 0 < len(shown) <= 15 and all(s.startswith("12345") for s in shown)
    assert "start with 12345" in page.hint.text()
    qtbot.keyClicks(page.user_edit, "x")
    qtbot.waitUntil(lambda: page.completions.rowCount() == 0, timeout=2000)
    assert "whole numbers" in page.hint.text()
