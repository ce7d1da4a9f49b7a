"""The Training form's preset menu and item-feature check boxes, and a run with item features
trained from the app (the items table reaches the pipeline)."""
from __future__ import annotations

import pandas as pd
import pytest

from core.config import SASRecConfig
from core.presets import preset_values

pytest.importorskip("pytestqt")

ITEMS = pd.DataFrame({"item_id": [1, 2], "title": ["A", "B"], "genres": ["drama, comedy", "crime"],
                      "content_type": ["film", "series"], "description": ["long text", "more text"]})


@pytest.fixture
def form(qtbot):  # noqa: ANN001, ANN201
    from sasrec_gui.widgets.settings_forms import HyperparameterForm

    widget = HyperparameterForm()
    qtbot.addWidget(widget)
    return widget


def test_the_checklist_offers_categorical_columns_of_the_items_table(form):
    form.set_item_columns(ITEMS)
    boxes = form.item_features._boxes  # noqa: SLF001 - the check boxes are the widget's content
    assert list(boxes) == ["genres", "content_type"]  # item_id and free text (title, description) not offered
    boxes["content_type"].setChecked(True)
    boxes["genres"].setChecked(True)
    assert form.config().item_features == "genres,content_type"  # table order
    assert form.widgets["feature_init_scale"].isEnabled()
    form.set_item_columns(None)  # data without an items table: the checked columns stay, marked
    assert form.item_features.missing() == ["genres", "content_type"]
    assert form.item_features._boxes["genres"].text() == "genres (not in the data)"  # noqa: SLF001
    form.set_config({"item_features": ""})
    assert form.item_features.empty_label.isVisibleTo(form) and not form.item_features._boxes  # noqa: SLF001
    assert not form.widgets["feature_init_scale"].isEnabled()  # only with features


def test_a_column_the_data_lacks_stays_checked_and_is_an_error(form):
    form.set_item_columns(ITEMS)
    form.set_config({"item_features": "genres,colour"})
    assert form.config().item_features == "genres,colour"
    assert form.item_features.missing() == ["colour"]
    assert form.errors() == {"item_features": "no column 'colour' in the items table; available: title, genres, "
                                              "content_type, description"}
    form.set_config({"item_features": "genres"})
    assert form.errors() == {}


def test_the_preset_menu_fills_model_settings_and_follows_edits(form):
    form.set_item_columns(ITEMS)
    form.set_config({"epochs": 9, "seed": 5})
    assert form.preset.currentData() == "notebook"
    index = form.preset.findData("studio")
    form.preset.setCurrentIndex(index)
    form.preset.activated.emit(index)
    config = form.config()
    studio = preset_values("studio")
    assert config.item_features == "genres,content_type"  # the preset's columns this table has
    assert config.weight_decay == studio["weight_decay"] and config.lr_schedule == studio["lr_schedule"]
    assert config.epochs == 9 and config.seed == 5  # run settings stay
    assert form.preset.currentData() == "studio"
    form.set_config({"lr": 0.02})
    assert form.preset.currentData() == ""  # Custom
    form.set_config(SASRecConfig().to_dict())
    assert form.preset.currentData() == "notebook"


def test_a_run_with_item_features_trains_from_the_app(make_window, open_demo, train):
    window = open_demo(make_window())
    form = window.train_page.form
    assert "genres" in form.item_features.available()
    assert train(window, item_features="genres") == "finished"
    model = window.state.model
    assert model.config.item_features == "genres"
    assert model.module.item_features is not None and "genres" in model.module.item_features.columns
