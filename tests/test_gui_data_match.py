"""The window flags data that does not belong to the open model with a visible banner."""
from __future__ import annotations

from core.demo import write_demo
from tests.conftest import GUI_DEMO_SIZES


def test_banner_when_other_data_is_opened_with_the_model(window, open_demo, train, qtbot, tmp_path):
    open_demo(window)
    assert train(window) == "finished"
    assert window.state.model.data_fingerprint
    assert window.data_banner.isHidden()

    other = tmp_path / "other"
    write_demo(other, **{**GUI_DEMO_SIZES, "seed": GUI_DEMO_SIZES["seed"] + 1})
    window.open_folder(other)
    qtbot.waitUntil(lambda: window.data_banner.isVisible(), timeout=20_000)
    assert "differs from the data this model was trained on" in window.data_banner.text() \
        or "does not match the model's catalog" in window.data_banner.text()
    assert window.state.data_warning


def test_no_banner_for_a_checkpoint_opened_with_its_own_data(window, open_demo, train, qtbot, tmp_path):
    open_demo(window)
    assert train(window) == "finished"
    path = tmp_path / "model.pt"
    with qtbot.waitSignal(window.controller.checkpoint_saved, timeout=20_000):
        assert window.save_checkpoint(path)
    with qtbot.waitSignal(window.controller.checkpoint_opened, timeout=20_000):
        window.open_checkpoint(path)
    assert window.state.model_origin.startswith("checkpoint")
    assert window.data_banner.isHidden() and window.state.data_warning == ""
