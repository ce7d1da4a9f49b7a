"""The Training, Validation and Data forms are generated from the settings schema (issue 12,
point 2): a widget per field, its label, section, range and tooltip from the declaration."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QGroupBox, QLabel, QSpinBox

from core.config import HoldoutConfig, SASRecConfig
from core.filters import FilterConfig
from core.schema import SettingGroup, setting, settings_of
from sasrec_gui.widgets.form import SPIN_INT_MAX, FloatEdit, OptionalDateEdit, ValidatedForm
from sasrec_gui.widgets.settings_forms import FilterForm, HyperparameterForm, ValidationForm

FORMS = ((HyperparameterForm, SASRecConfig), (FilterForm, FilterConfig), (ValidationForm, HoldoutConfig))
#: Fields whose widget the form makes itself (the devices there are; the usual weight columns).
SPECIAL = {"device", "weight_by", "item_features"}


def label_and_section(widget) -> tuple[str, str]:  # noqa: ANN001
    """The text of a field's label and the title of its section box."""
    cell = widget.parentWidget()
    box = cell.parentWidget()
    assert isinstance(box, QGroupBox)
    label = box.layout().labelForField(cell)
    assert isinstance(label, QLabel)
    return label.text(), box.title()


@pytest.mark.parametrize("form_class, cls", FORMS, ids=lambda x: getattr(x, "__name__", ""))
def test_a_widget_per_field_with_the_declared_label_section_range_and_tooltip(qtbot, form_class, cls) -> None:  # noqa: ANN001
    form = form_class()
    qtbot.addWidget(form)
    specs = settings_of(cls)
    assert list(form.widgets) == list(specs)
    for name, spec in specs.items():
        widget = form.widgets[name]
        assert widget.toolTip() == spec.help, name
        assert label_and_section(widget) == (spec.label, spec.section), name
        if name in SPECIAL:
            continue
        low, high = spec.form_range()
        if spec.kind == "bool":
            assert isinstance(widget, QCheckBox) and widget.text() == spec.check_text
        elif spec.kind == "date":
            assert isinstance(widget, OptionalDateEdit) and widget.check.text() == spec.check_text
        elif spec.choices:
            assert isinstance(widget, QComboBox)
            assert [widget.itemData(i) for i in range(widget.count())] == list(spec.choices)
            assert [widget.itemText(i) for i in range(widget.count())] == list(spec.choice_labels or spec.choices)
        elif spec.free_text:
            assert isinstance(widget, FloatEdit)
        elif spec.kind == "int":
            assert isinstance(widget, QSpinBox)
            assert (widget.minimum(), widget.maximum()) == (low, min(high if high is not None else SPIN_INT_MAX, SPIN_INT_MAX))
            assert widget.singleStep() == spec.step and widget.suffix() == (f" {spec.unit}" if spec.unit else "")
        else:
            assert isinstance(widget, QDoubleSpinBox)
            if low is not None:
                assert widget.minimum() == pytest.approx(low)
            if high is not None:
                assert widget.maximum() == pytest.approx(high)
            assert widget.singleStep() == pytest.approx(spec.step) and widget.decimals() == spec.decimals
    assert cls(**form.values()) == cls()  # the form starts at the declared defaults


def test_an_out_of_range_value_shows_the_declared_message(qtbot) -> None:  # noqa: ANN001
    form = HyperparameterForm()
    qtbot.addWidget(form)
    form.widgets["lr"].setText("20")
    form.show_errors(form.errors())
    assert form.visible_errors() == {"lr": SASRecConfig(lr=20.0).errors()["lr"]}
    assert "at most 10" in form.visible_errors()["lr"]  # the declared high


def test_a_new_declaration_is_all_a_form_needs(qtbot) -> None:  # noqa: ANN001
    @dataclass
    class Extra(SettingGroup):
        warmup: int = setting(3, label="Warm-up", help="Epochs of warm-up.", section="Schedule", low=0, high=50,
                              step=5, unit="epochs")
        decay: float = setting(0.5, label="Decay", help="Decay per epoch.", section="Schedule", low=0.0, high=1.0,
                               high_open=True, step=0.1, decimals=1)
        eps: float = setting(1e-8, label="Epsilon", help="Adam epsilon.", section="Schedule", low=0.0, low_open=True,
                             free_text=True)
        mode: str = setting("a", label="Mode", help="Which mode.", section="Other", choices=("a", "b"),
                            choice_labels=("Mode A", "Mode B"))
        fused: bool = setting(True, label="Fused", help="Fuse the kernels.", section="Other", check_text="fused")
        until: str | None = setting(None, kind="date", label="Until", help="Last day.", section="Other",
                                    optional=True, check_text="not after")

    form = ValidatedForm()
    qtbot.addWidget(form)
    form.add_settings(Extra)
    w = form.widgets
    assert isinstance(w["warmup"], QSpinBox) and (w["warmup"].minimum(), w["warmup"].maximum()) == (0, 50)
    assert w["warmup"].suffix() == " epochs" and w["warmup"].singleStep() == 5
    assert isinstance(w["decay"], QDoubleSpinBox) and w["decay"].maximum() == pytest.approx(0.9)  # open end: one step in
    assert isinstance(w["eps"], FloatEdit) and isinstance(w["fused"], QCheckBox) and isinstance(w["until"], OptionalDateEdit)
    assert [w["mode"].itemText(i) for i in range(2)] == ["Mode A", "Mode B"]
    assert label_and_section(w["decay"]) == ("Decay", "Schedule") and w["decay"].toolTip() == "Decay per epoch."
    assert Extra(**form.values()) == Extra()
    w["eps"].setText("0")
    errors = Extra(**form.values()).errors()
    assert errors == {"eps": "must be a positive number, got 0.0"}
