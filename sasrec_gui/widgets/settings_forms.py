"""The settings forms, generated from ``core.schema``: hyperparameters and validation (Training
page) and filters (Data page). Each adds only its special cases to ``form.ValidatedForm``."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QDate, QSignalBlocker
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from core.config import HoldoutConfig, SASRecConfig
from core.experiment import Holdout
from core.filters import FilterConfig
from core.item_features import available_columns, suggested_columns
from core.presets import RUN_SETTINGS, describe, fit_to_items, preset_config, preset_names

from ..logic.training_job import device_choices
from .form import OptionalDateEdit, ValidatedForm
from .item_features_edit import ItemFeaturesEdit

#: The preset menu's entry shown when the form matches no preset.
CUSTOM = "Custom"


class HyperparameterForm(ValidatedForm):
    """Every field of ``SASRecConfig``, generated from its declarations (``core.schema``): a
    sensible range, a one-sentence tooltip, an error line; the device lists the devices there
    are, item features are a check box per column of the loaded items table, and a preset menu
    on top fills the model and optimisation settings in one step (``core.presets``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preset = QComboBox()
        self.preset.addItem(CUSTOM, "")
        for name in preset_names():
            self.preset.addItem(name.capitalize(), name)
            self.preset.setItemData(self.preset.count() - 1, describe(name), 3)  # Qt.ToolTipRole
        self.preset.setToolTip("Fill the model and optimisation settings from a named preset; epochs, device, "
                               "seed and precision stay as they are. Any setting can be changed afterwards.")
        row = QHBoxLayout()
        row.addWidget(QLabel("Preset"))
        row.addWidget(self.preset, 1)
        self._layout.addLayout(row)
        device = QComboBox()
        for label, value in device_choices():
            device.addItem(label, value)
        self.item_features = ItemFeaturesEdit()
        self.add_settings(SASRecConfig, widgets={"device": device, "item_features": self.item_features})
        self.add_stretch()
        self.widgets["loss"].currentIndexChanged.connect(self._loss_changed)  # type: ignore[attr-defined]
        self.widgets["deterministic"].toggled.connect(self._loss_changed)  # type: ignore[attr-defined]
        self.changed.connect(self._features_changed)
        self.preset.activated.connect(lambda index: self.apply_preset(self.preset.itemData(index)))
        self.changed.connect(self._show_matching_preset)
        self._loss_changed()
        self._features_changed()
        self._show_matching_preset()

    def _features_changed(self) -> None:
        """The feature init scale applies only with item features."""
        self.widgets["feature_init_scale"].setEnabled(bool(self.item_features.value()))

    def apply_preset(self, name: str) -> None:
        """Fill the form from preset ``name`` ("" for Custom: nothing changes), keeping the run's
        own settings (epochs, device, seed, precision) and only the feature columns the loaded
        items table has."""
        if not name:
            return
        config, _note = fit_to_items(preset_config(name), self.item_features.available() or None)
        self.set_config({k: v for k, v in config.to_dict().items() if k not in RUN_SETTINGS})

    def set_item_columns(self, items: pd.DataFrame | None) -> None:
        """Offer the loaded items table's columns as features (``core.item_features``; None:
        no items table, ids only)."""
        self.item_features.set_columns(suggested_columns(items), available_columns(items))

    def _show_matching_preset(self) -> None:
        """Show the preset the form's settings match (run settings and unavailable feature
        columns aside), or Custom."""
        try:
            current = self.config().to_dict()
        except (TypeError, ValueError):
            current = {}
        match = ""
        columns = self.item_features.available() or None
        for name in preset_names():
            config, _note = fit_to_items(preset_config(name), columns)
            wanted = config.to_dict()
            if current and all(current.get(k) == v for k, v in wanted.items() if k not in RUN_SETTINGS):
                match = name
                break
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(max(self.preset.findData(match), 0))

    def config(self) -> SASRecConfig:
        return SASRecConfig(**self.values())

    def errors(self) -> dict[str, str]:
        """Core's message per invalid field, and item-feature columns the loaded data lacks."""
        errs = self.config().errors()
        missing = self.item_features.missing()
        if missing and "item_features" not in errs:
            have = ", ".join(self.item_features.available()) or "none: the data has no items table"
            errs["item_features"] = f"no column {', '.join(repr(c) for c in missing)} in the items table; available: {have}"
        return errs

    def set_config(self, values: dict) -> None:
        """Fill the form from a config dict (unknown keys ignored; unknown devices fall back to auto)."""
        values = dict(values)
        device: QComboBox = self.widgets["device"]  # type: ignore[assignment]
        if device.findData(values.get("device")) < 0:
            values["device"] = "auto"
        self.set_values(values)
        self._loss_changed()

    def _loss_changed(self) -> None:
        """Enable only the fields that apply: negatives for bce/gbce/sampled softmax, t for gbce, CUDA graphs
        for the softmax loss without deterministic mode."""
        loss = self.widgets["loss"].currentData()  # type: ignore[attr-defined]
        self.widgets["n_negatives"].setEnabled(loss in ("bce", "gbce", "sampled_softmax"))
        self.widgets["gbce_t"].setEnabled(loss == "gbce")
        deterministic = self.widgets["deterministic"].isChecked()  # type: ignore[attr-defined]
        self.widgets["cuda_graph"].setEnabled(loss == "softmax" and not deterministic)


class ValidationForm(ValidatedForm):
    """Optional validation during training: a hold-out split, how often to validate, and k."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.add_settings(HoldoutConfig)
        self.changed.connect(self._update_enabled)
        self._update_enabled()

    def holdout(self) -> Holdout | None:
        """The chosen hold-out, or None when validation is off."""
        return HoldoutConfig(**self.values()).to_holdout()

    def set_holdout(self, holdout: Holdout | None) -> None:
        """Show ``holdout`` (None: validation off; the other fields keep their values)."""
        self.set_values({"holdout": "none"} if holdout is None else HoldoutConfig.from_holdout(holdout).to_dict())

    def _update_enabled(self) -> None:
        scheme = self.widgets["holdout"].currentData()  # type: ignore[attr-defined]
        self.widgets["test_days"].setEnabled(scheme == "time")
        for name in ("validate_every", "k", "early_stopping", "monitor", "min_delta"):
            self.widgets[name].setEnabled(scheme != "none")


class FilterForm(ValidatedForm):
    """Every ``FilterConfig`` setting, generated from its declarations (``core.schema``), with
    tooltips and per-field errors; "weight by" offers the usual columns."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        weight_by = QComboBox()
        weight_by.addItem("watched_pct", "watched_pct")
        weight_by.addItem("rating", "rating")
        weight_by.addItem("(none: keep weights)", "")
        self.add_settings(FilterConfig, widgets={"weight_by": weight_by})

    def config(self) -> FilterConfig:
        return FilterConfig(**self.values())

    def errors(self) -> dict[str, str]:
        """Core's message per invalid field (a widget value core cannot take at all: on "weight_by")."""
        try:
            return self.config().errors()
        except TypeError as exc:
            return {"weight_by": str(exc)}

    def set_date_range(self, first: pd.Timestamp | None, last: pd.Timestamp | None) -> None:
        """Limit both date fields to the data's dates; an unchecked field shows its end of the range."""
        if first is None or last is None:
            return
        q_first = QDate(first.year, first.month, first.day)
        q_last = QDate(last.year, last.month, last.day)
        for name, default in (("date_from", q_first), ("date_to", q_last)):
            edit: OptionalDateEdit = self.widgets[name]  # type: ignore[assignment]
            checked = edit.check.isChecked()
            edit.date.blockSignals(True)
            edit.set_range(q_first, q_last)
            if not checked:
                edit.date.setDate(default)
            edit.date.blockSignals(False)
