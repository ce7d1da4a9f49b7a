"""The app with text user and item ids (``u_148``, Amazon-style ``B00148X``): found through
the search boxes, shown in the tables and cards as written, exported as written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from tests.conftest import GUI_MIN_ITEM_FREQ


def _user(u: str) -> str:
    return f"u_{u}"


def _item(i: str) -> str:
    return f"B00{i}X"


@pytest.fixture(scope="session")
def text_demo_dir(gui_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo folder with every user and item id rewritten as text."""
    folder = tmp_path_factory.mktemp("gui-text-demo")
    for name, columns in (("interactions.csv", ("user_id", "item_id")), ("items_en.csv", ("item_id",)), ("users_en.csv", ("user_id",))):
        frame = pd.read_csv(gui_demo_dir / name, dtype=str, keep_default_na=False)
        for column in columns:
            frame[column] = [(_user if column == "user_id" else _item)(v) for v in frame[column]]
        frame.to_csv(folder / name, index=False)
    return folder


@pytest.fixture
def text_window(window, text_demo_dir, train, qtbot):  # noqa: ANN001, ANN201
    """A window with the text-id demo data loaded and a tiny model trained on it."""
    window.data_page.filters.widgets["min_item_freq"].setValue(GUI_MIN_ITEM_FREQ)
    window.open_folder(text_demo_dir)
    qtbot.waitUntil(
        lambda: window.state.filtered is not None and window.state.filtered.config.min_item_freq == GUI_MIN_ITEM_FREQ,
        timeout=20_000,
    )
    window.show_page("training")
    assert train(window, epochs=1) == "finished"
    return window


def _texts(model, column: str) -> list[str]:  # noqa: ANN001
    col = model.column_of(column)
    return [model.data(model.index(r, col)) for r in range(model.rowCount())]


def test_text_user_found_through_the_search_box_shows_recommendations(text_window, qtbot, tmp_path) -> None:  # noqa: ANN001
    window = text_window
    state = window.state
    assert state.data.interactions["user_id"].dtype == "str" and state.data.interactions["item_id"].dtype == "str"
    histories = state.recommender.histories
    assert histories.text_ids and state.users.text
    user = str(histories.user_ids[int(np.argmax(histories.lengths))])

    window.show_page("recommendations")
    page = window.recommend_page
    assert not page.placeholder.showing_placeholder
    page.user_edit.setFocus()
    prefix = user[:4]
    qtbot.keyClicks(page.user_edit, prefix)
    qtbot.waitUntil(lambda: page.completions.rowCount() > 0, timeout=3000)
    shown = page.completions.stringList()
    assert all(s.startswith(prefix) for s in shown)
    assert f"start with {prefix}" in page.hint.text()

    page.user_edit.setText(user)
    page.update_completions()
    assert user in page.completions.stringList() and "exact match" in page.hint.text()
    qtbot.keyClick(page.user_edit, Qt.Key.Key_Return)
    assert page.current_user == user and not page.message.is_error
    assert page.recs_model.rowCount() == 10
    rec_ids = list(page.recs_model.frame["item_id"])
    assert all(isinstance(i, str) and i.startswith("B00") and i.endswith("X") for i in rec_ids)
    titles = _texts(page.recs_model, "title")
    assert all(titles) and not any(t.startswith("Item ") for t in titles)  # the text-id catalog matched
    assert not set(page.history_model.frame["item_id"]) & set(rec_ids)
    assert user in page.history_box.title()
    # the users table (text ids too) gives the profile its demographics
    assert page.profile.heading.text() == f"User {user}" and page.profile._demographics

    # the card of the selected recommendation names the item by its text id, and "why" explains it
    assert page.card.item_id == rec_ids[0] and f"item {rec_ids[0]}" in page.card.subtitle_label.text()
    qtbot.waitUntil(lambda: page.why.explanation is not None, timeout=10_000)
    assert page.why.explanation.user_id == user and page.why.explanation.item_id == rec_ids[0]
    assert f"for user {user}" in page.why.heading.text() and not page.why.message.is_error
    assert set(page.why.frame["item_id"]) <= set(page.history_model.frame["item_id"])

    # export writes the ids as given
    out = tmp_path / "recs.csv"
    assert window.export_recommendations(out)
    exported = pd.read_csv(out, dtype=str)
    assert set(exported["user_id"]) == {user} and list(exported["item_id"]) == rec_ids

    # an unknown text id is a clear message, not a crash
    page.user_edit.setText("u_nobody")
    assert not page.show_typed_user()
    assert page.message.is_error and "u_nobody" in page.message.text()

    # a random user is one of the text ids
    assert page.show_random_user()
    assert isinstance(page.current_user, str) and page.current_user in set(histories.user_ids.tolist())


def test_text_items_in_similar_items_and_followers(text_window, qtbot) -> None:  # noqa: ANN001
    window = text_window
    state = window.state
    page = window.recommend_page
    user = str(state.recommender.histories.user_ids[0])
    assert page.show_user(user)
    target = page.recs_model.frame["item_id"].iloc[0]
    page.recs_view.doubleClicked.emit(page.recs_model.index(0, 1))
    assert window.current_page() == "similar"
    sim = window.similar_page
    assert sim.current_item == target and sim.similar_model.rowCount() == 10
    assert all(isinstance(i, str) for i in sim.similar_model.frame["item_id"])
    assert target not in set(sim.similar_model.frame["item_id"])
    assert target in sim.target_label.text()

    # search by the whole id (listed first) and by an id prefix
    matches = sim.search(target)
    assert matches["item_id"].iloc[0] == target
    assert _texts(sim.matches_model, "item_id")[0] == target  # the id column shows it as written
    prefix = target[:4]
    matches = sim.search(prefix)
    assert len(matches) and all(i.startswith(prefix) or prefix.lower() in t.lower() for i, t in zip(matches["item_id"], matches["title"]))
    sim.search_edit.setText(target)
    qtbot.keyClick(sim.search_edit, Qt.Key.Key_Return)
    assert sim.current_item == target

    # the pages that follow the user take the text id
    window.show_page("compare")
    compare = window.compare_page
    qtbot.waitUntil(lambda: compare.current_user == user and compare.popular_model.rowCount() > 0, timeout=10_000)
    assert all(isinstance(i, str) for i in compare.popular_model.frame["item_id"])
    assert list(compare.sasrec_model.frame["item_id"]) == list(page.recs_model.frame["item_id"])
    window.show_page("attention")
    qtbot.waitUntil(lambda: window.attention_page.current_user == user, timeout=5000)
    assert window.attention_page.picker.edit.text() == user
    assert len(window.attention_page.items) and all(isinstance(i, str) for i in window.attention_page.items)
    window.attention_page.picker.edit.setText("u_nobody")
    window.attention_page.picker.request_typed()  # a text id: asked for, and refused with a message
    assert window.attention_page.message.is_error and "u_nobody" in window.attention_page.message.text()


def test_text_user_lookup_completes_from_a_million_ids(window, qtbot) -> None:  # noqa: ANN001
    """Debounced prefix completion over 1M sorted text ids (searchsorted, no full list)."""
    from core.ids import as_id_array
    from sasrec_gui.logic.user_index import UserIndex

    ids = as_id_array([f"A{i:07d}" for i in range(1_000_000)])
    index = UserIndex(ids)
    assert index.text and len(index) == 1_000_000
    assert index.complete("A00001", 3) == ["A0000100", "A0000101", "A0000102"] and index.count_prefix("A00001") == 100
    assert "A0000100" in index and "A00001" not in index and 100 not in index
    window.state.users = index
    page = window.recommend_page
    window.show_page("recommendations")
    page.placeholder.show_content()
    page.user_edit.setFocus()
    qtbot.keyClicks(page.user_edit, "A012345")
    assert page.completions.rowCount() == 0  # debounced: nothing per keystroke
    qtbot.waitUntil(lambda: page.completions.rowCount() > 0, timeout=2000)
    shown = page.completions.stringList()
    assert len(shown) == 10 and all(s.startswith("A012345") for s in shown)
    assert "10 user id(s) start with A012345" in page.hint.text()


def test_catalog_and_cards_look_up_text_ids() -> None:
    from core.ids import as_id_array
    from sasrec_gui.logic.catalog import ItemCatalog
    from sasrec_gui.logic.explanations import ItemDetails, user_demographics

    items = pd.DataFrame({"item_id": as_id_array(["B0012X", "012", "B0099X"]), "title": ["Alpha", "Zero", "Beta"]})
    catalog = ItemCatalog(items)
    assert catalog.text_ids
    assert catalog.describe("012") == "Zero" and catalog.describe(12) == "Item 12"  # "012" is not 12
    assert catalog.search("B00")["item_id"].tolist() == ["B0012X", "B0099X"]  # id prefix
    assert catalog.search("B0099X")["item_id"].tolist()[0] == "B0099X"
    assert catalog.search("beta")["item_id"].tolist() == ["B0099X"]
    among = as_id_array(["B0099X", "012"])
    assert catalog.search("", among=among)["item_id"].tolist() == ["012", "B0099X"]
    missing = catalog.titled(pd.DataFrame({"item_id": as_id_array(["nope"])}))
    assert missing["title"].tolist() == ["Item nope"]  # its id, never another item's title

    ints = ItemCatalog(pd.DataFrame({"item_id": np.array([12, 7]), "title": ["Twelve", "Seven"]}))
    assert ints.describe("12") == "Twelve" and ints.describe("x") == "Item x"  # typed text, integer catalog
    assert ints.search("7")["item_id"].tolist()[0] == 7

    details = ItemDetails(items)
    assert "012" in details and 12 not in details
    assert details.fields("B0012X")["Title"] == "Alpha" and details.fields("zzz") == {"Title": "Item zzz"}
    users = pd.DataFrame({"user_id": as_id_array(["u_1", "u_2"]), "age": ["age_25_34", "age_35_44"]})
    assert user_demographics(users, "u_2") and user_demographics(users, "u_3") == {}
    assert user_demographics(pd.DataFrame({"user_id": np.array([1]), "age": ["age_25_34"]}), "u_1") == {}
