"""The Runs page's views of the shown runs, as tabs: the selected runs' curves
(``run_compare.RunsPlot``), the parallel coordinates of settings and a metric, and a scatter
of any setting against any metric. Clicking a run in either view says which (``run_clicked``);
the page selects it in the table."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from ..logic.run_records import RunView
from .parallel_coordinates import ParallelCoordinates
from .run_compare import RunsPlot
from .settings_scatter import SettingsScatter


class RunInsights(QTabWidget):
    """Tabs "Curves", "Parallel coordinates", "Setting vs metric"; ``run_clicked(run_id, add)``."""

    run_clicked = Signal(int, bool)

    def __init__(self, curves: RunsPlot, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves = curves
        self.parallel = ParallelCoordinates()
        self.scatter = SettingsScatter()
        self.addTab(curves, "Curves")
        self.addTab(self.parallel, "Parallel coordinates")
        self.addTab(self.scatter, "Setting vs metric")
        self.setTabToolTip(0, "The selected runs' training loss and validation metrics per epoch.")
        self.setTabToolTip(1, "Every shown run's differing settings and a metric, one line per run coloured by the "
                              "metric; click a line to select its run.")
        self.setTabToolTip(2, "Any setting against any metric, one point per shown run; click a point to select its run.")
        for view in (self.parallel, self.scatter):
            view.run_clicked.connect(self.run_clicked)

    def set_runs(self, views: list[RunView], selected: list[int]) -> None:
        """The runs shown in the table (the views draw these; ``selected`` highlighted)."""
        self.parallel.set_runs(views, selected)
        self.scatter.set_runs(views, selected)

    def set_selected(self, views: list[RunView]) -> None:
        """The selected runs: their curves, and highlighted in the views."""
        self.curves.show_runs(views)
        ids = [v.run_id for v in views]
        self.parallel.set_selected(ids)
        self.scatter.set_selected(ids)
