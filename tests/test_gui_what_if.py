"""What-if sessions on the Recommendations page: the session editor (title search, remove,
reorder by buttons and by drag), its debounced top-k scored in a worker, equal to
``Recommender.recommend_session`` for the same list; starting from a user's history gives that
user's recommendations; unknown items are named and skipped, an empty session shows a message;
the "why" panel and the Attention page follow the edited session.

One tiny model is trained once for the module and put into each test window directly.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex

from core.explain import session_attention_maps, session_leave_one_out_contributions
from core.recommend import WHAT_IF_USER
from tests.conftest import GUI_TINY_CONFIG, train_demo_model, window_with_model

VIEW_CONFIG = {**GUI_TINY_CONFIG, "n_blocks": 2, "n_heads": 2, "epochs": 2, "seed": 5}


@pytest.fixture(scope="module")
def demo_model(gui_demo_dir):  # noqa: ANN001, ANN201
    """(loaded data, filtered data, trained model, user histories) shared by the module."""
    return train_demo_model(gui_demo_dir, VIEW_CONFIG)


@pytest.fixture
def demo_window(make_window, demo_model):  # noqa: ANN001, ANN201
    window = window_with_model(make_window, demo_model)
    window.show_page("recommendations")
    return window


def _model_items(window, n: int, start: int = 0) -> list[int]:  # noqa: ANN001
    """``n`` items of the model's catalog that the item table titles."""
    return [int(i) for i in window.state.model_item_ids()[start : start + n]]


def _unknown_item(window) -> int:  # noqa: ANN001
    """An item of the data that the model's catalog left out (fewer than min_item_freq users)."""
    known = set(window.state.model_item_ids().tolist())
    return next(int(i) for i in window.state.data.items["item_id"] if int(i) not in known)


def _wait_scored(qtbot, page, items: list) -> None:  # noqa: ANN001
    """Wait until the page shows the top-k of exactly ``items`` (scored in the window's runner)."""
    qtbot.waitUntil(lambda: page.what_if is not None and page.what_if.items == items and not page._session_timer.isActive(),
                    timeout=20_000)


def _assert_top_k(window, items: list, k: int = 10) -> None:  # noqa: ANN001
    page = window.recommend_page
    expected = window.state.recommender.recommend_session(items, k=k, filter_viewed=page.filter_viewed.isChecked())
    shown = page.recs_model.frame
    assert list(shown["item_id"]) == list(expected["item_id"]) and len(shown) == min(k, len(expected))
    np.testing.assert_allclose(shown["score"].to_numpy(float), expected["score"].to_numpy(float), rtol=1e-5, atol=1e-6)
    assert set(shown["user_id"]) == {WHAT_IF_USER}
    assert page.recs_box.title() == f"Top {len(expected)} for the what-if session"
    assert not page.recs_stack.showing_placeholder


def test_editing_the_session_updates_the_top_k(demo_window, qtbot) -> None:  # noqa: ANN001
    window = demo_window
    page, editor = window.recommend_page, window.recommend_page.session_editor
    page.show_what_if([])
    assert page.what_if_mode and page.recs_stack.showing_placeholder

    # add items by title search (the catalog search of the Similar items page, the model's items only)
    wanted = _model_items(window, 4, start=3)
    for item in wanted:
        title = window.state.catalog.describe(item).split(" (")[0]
        matches = editor.search(title)
        assert set(matches["item_id"]) <= set(window.state.model_item_ids().tolist())
        row = list(matches["item_id"]).index(item)
        assert editor.add_match(row) == item
        assert page._session_timer.isActive()  # debounced: scored after the edits settle
    assert editor.items() == wanted and editor.search_edit.text() == ""
    _wait_scored(qtbot, page, wanted)
    _assert_top_k(window, wanted)
    assert page.message.text().startswith(f"What-if session: 4 item(s), 4 known to the model; top 10")
    assert [editor.list_widget.item(r).text().split(". ")[0] for r in range(4)] == ["1", "2", "3", "4"]

    # scored off the UI thread, in the window's runner
    page.recommend_session_now()
    assert window.runner.is_busy("what-if")
    _wait_scored(qtbot, page, wanted)

    # remove the second item with the button
    editor.list_widget.setCurrentRow(1)
    editor.remove_button.click()
    after_remove = [wanted[0], *wanted[2:]]
    assert editor.items() == after_remove
    _wait_scored(qtbot, page, after_remove)
    _assert_top_k(window, after_remove)

    # reorder with the buttons: the first item one place later
    editor.list_widget.setCurrentRow(0)
    assert not editor.up_button.isEnabled() and editor.down_button.isEnabled()
    editor.down_button.click()
    moved = [after_remove[1], after_remove[0], after_remove[2]]
    assert editor.items() == moved and editor.current_row() == 1
    _wait_scored(qtbot, page, moved)
    _assert_top_k(window, moved)

    # reorder by dragging: the list's model moves the row as a drop does
    assert editor.list_widget.model().moveRow(QModelIndex(), 2, QModelIndex(), 0)
    dragged = [moved[2], moved[0], moved[1]]
    assert editor.items() == dragged
    _wait_scored(qtbot, page, dragged)
    _assert_top_k(window, dragged)

    # the list length and "hide seen" apply to the session too
    page.k_spin.setValue(5)
    qtbot.waitUntil(lambda: page.what_if is not None and page.what_if.k == 5, timeout=20_000)
    _assert_top_k(window, dragged, k=5)
    page.filter_viewed.setChecked(False)
    qtbot.waitUntil(lambda: page.what_if is not None and not page.what_if.filter_viewed, timeout=20_000)
    _assert_top_k(window, dragged, k=5)

    # Delete removes the selected row
    editor.list_widget.setCurrentRow(0)
    editor.remove_action.trigger()
    assert editor.items() == dragged[1:]


def test_starting_from_a_users_history_gives_that_users_recommendations(demo_window, qtbot) -> None:  # noqa: ANN001
    window = demo_window
    page, editor = window.recommend_page, window.recommend_page.session_editor
    histories = window.state.recommender.histories
    user = int(histories.user_ids[(histories.lengths >= 8)][0])
    assert not editor.history_button.isEnabled()  # no user shown yet
    assert page.show_user(user)
    user_recs = page.recommendations()
    assert editor.history_button.isEnabled() and str(user) in editor.history_button.text()

    page.left_tabs.setCurrentWidget(page.session_box)  # the what-if tab, still empty
    assert page.what_if_mode and page.recs_stack.showing_placeholder and page.recommendations() is None
    editor.history_button.click()
    history = [int(i) for i in histories.items_of(user)]
    assert editor.items() == history
    _wait_scored(qtbot, page, history)
    session_recs = page.recommendations()
    assert list(session_recs["item_id"]) == list(user_recs["item_id"])
    np.testing.assert_allclose(session_recs["score"].to_numpy(float), user_recs["score"].to_numpy(float), rtol=1e-5, atol=1e-6)

    # back on the history tab, the user's own list returns; showing a user leaves the what-if tab
    with qtbot.waitSignal(page.user_shown, timeout=5_000):
        page.left_tabs.setCurrentWidget(page.history_box)
    assert set(page.recommendations()["user_id"]) == {user}
    page.show_what_if()
    _wait_scored(qtbot, page, history)
    other = int(histories.user_ids[1])
    assert page.show_user(other)
    assert not page.what_if_mode and set(page.recommendations()["user_id"]) == {other}


def test_unknown_items_are_named_and_an_empty_session_shows_a_message(demo_window, qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.logic.what_if import EMPTY_SESSION_TEXT

    window = demo_window
    page, editor = window.recommend_page, window.recommend_page.session_editor
    unknown = _unknown_item(window)
    known = _model_items(window, 2)
    title = window.state.catalog.describe(unknown).split(" · ")[0]

    page.show_what_if([unknown, *known])
    _wait_scored(qtbot, page, [unknown, *known])
    _assert_top_k(window, known)  # the unknown item is skipped, as recommend_session does
    assert page.what_if.unknown == [unknown]
    assert f"Skipped 1 item(s) the model does not know: “{title}” (item {unknown})" in page.message.text()
    assert not page.message.is_error
    assert editor.unknown_rows() == [0] and "not in the model's catalog" in editor.list_widget.item(0).text()

    # nothing the model knows: no recommendations, the items named, in the table's place too
    never = 987_654_321
    editor.set_items([unknown, never])
    qtbot.waitUntil(lambda: page.recs_stack.showing_placeholder and page.message.is_error, timeout=20_000)
    assert page.what_if is None and page.recommendations() is None and page.recs_model.rowCount() == 0
    for text in (page.message.text(), page.recs_stack.label.text()):
        assert str(unknown) in text and str(never) in text and "None of the 2 item(s)" in text
    assert page.why.explanation is None

    # an empty session: a clear message instead of recommendations (not an error)
    editor.clear_button.click()
    qtbot.waitUntil(lambda: page.recs_stack.label.text() == EMPTY_SESSION_TEXT, timeout=20_000)
    assert page.recs_stack.showing_placeholder and page.message.text() == EMPTY_SESSION_TEXT and not page.message.is_error
    assert page.recommendations() is None and not editor.clear_button.isEnabled()
    assert not window.export_action.isEnabled()

    # a search that matches nothing adds nothing and says so
    editor.search_edit.setText("zzzz no such title zzzz")
    editor.search_edit.returnPressed.emit()
    assert editor.items() == [] and "no item of the model's catalog matches" in editor.search_hint.text()


def test_why_panel_and_attention_page_follow_the_session(demo_window, qtbot) -> None:  # noqa: ANN001
    window = demo_window
    page = window.recommend_page
    recommender = window.state.recommender
    items = _model_items(window, 5, start=10)
    page.details.setCurrentWidget(page.why)
    with qtbot.waitSignal(page.why.explained, timeout=20_000):
        page.show_what_if(items)  # the top recommendation is explained at once
    with qtbot.waitSignal(page.why.explained, timeout=20_000) as blocker:
        item = page.select_recommendation(1)
    result = blocker.args[0]
    assert (result.user_id, result.item_id) == (WHAT_IF_USER, item)
    assert "the what-if session" in page.why.heading.text()
    expected = session_leave_one_out_contributions(recommender, items, item)
    merged = page.why.model.frame.merge(expected, on="position", suffixes=("", "_core"))
    assert len(merged) == len(items)
    np.testing.assert_allclose(merged["score_drop"], merged["score_drop_core"], rtol=1e-4, atol=1e-5)
    assert page.profile.heading.text() == "What-if session" and page.profile._n_history == len(items)

    # the Attention page shows the session it was sent while hidden once it is shown
    attention = window.attention_page
    window.show_page("attention")
    assert attention.session == items and attention.current_user is None
    maps, shown = session_attention_maps(recommender, items)
    assert list(attention.items) == list(shown)
    np.testing.assert_allclose(attention.matrix(), maps[attention.block].mean(axis=0), rtol=1e-5)
    attention.chart.flush()
    assert attention.chart.figure.axes[0].get_title().startswith("What-if session: block 1")

    # while shown, it follows every edit
    page.session_editor.remove_row(0)
    qtbot.waitUntil(lambda: attention.session == items[1:], timeout=20_000)
    assert len(attention.items) == len(items) - 1
    page.session_editor.clear()
    qtbot.waitUntil(lambda: attention.session == [], timeout=20_000)
    assert attention.matrix().size == 0 and "empty" in attention.message.text()

    # a user shown on the Recommendations page replaces the session
    histories = recommender.histories
    user = int(histories.user_ids[histories.lengths >= 4][0])
    page.show_user(user)
    assert attention.session is None and attention.current_user == user


@pytest.mark.perf
def test_an_edit_shows_its_top_k_well_under_a_second(demo_window, qtbot) -> None:  # noqa: ANN001
    import time

    page, editor = demo_window.recommend_page, demo_window.recommend_page.session_editor
    items = _model_items(demo_window, 6)
    page.show_what_if(items[:5])
    _wait_scored(qtbot, page, items[:5])
    start = time.perf_counter()
    editor.add_item(items[5])  # debounce, worker, titles, table
    _wait_scored(qtbot, page, items)
    assert time.perf_counter() - start < 0.5


def test_the_search_popup_adds_the_chosen_match(demo_window, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    window = demo_window
    page, editor = window.recommend_page, window.recommend_page.session_editor
    page.show_what_if([])
    title = window.state.catalog.describe(_model_items(window, 1, start=7)[0]).split(" (")[0]
    word = max(title.replace(":", " ").split(), key=len)
    editor.search_edit.setFocus()
    editor.search_edit.setText(word)
    editor.search(word)  # what typing does after the debounce: the matches, in the popup
    qtbot.waitUntil(lambda: editor.completer.popup().isVisible(), timeout=5_000)
    matches = list(editor.matches["item_id"])
    assert matches and editor.match_model.rowCount() == len(matches)
    row = min(1, len(matches) - 1)
    popup = editor.completer.popup()
    popup.setCurrentIndex(editor.completer.completionModel().index(row, 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert editor.items() == [matches[row]] and editor.search_edit.text() == ""
    _wait_scored(qtbot, page, [matches[row]])
    _assert_top_k(window, [matches[row]])
