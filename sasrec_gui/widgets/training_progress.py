"""The Training page's progress box: a progress bar and the run's figures (elapsed, ETA,
throughput, last epoch loss)."""
from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QProgressBar, QWidget

from core.train import EpochReport

from ..logic.training import MIN_ETA_SECONDS, MIN_ETA_STEPS, RunStatus, format_seconds

#: The figures shown, in reading order (two columns).
FIGURES = ("Elapsed", "ETA", "Sequences/s", "Last epoch loss")
ETA_TIP = (f"Time left at this run's pace so far; shown after {MIN_ETA_STEPS} steps and "
           f"{MIN_ETA_SECONDS:g} s of training, cleared when the run stops.")


class TrainingProgress(QGroupBox):
    """``bar`` (0..1000) and one value label per figure in ``stats``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Progress", parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setFormat("Not started")
        grid = QGridLayout(self)
        grid.addWidget(self.bar, 0, 0, 1, 4)
        self.stats: dict[str, QLabel] = {}
        for i, name in enumerate(FIGURES):
            caption = QLabel(name)
            caption.setObjectName("muted")
            value = QLabel("–")
            value.setObjectName("statValue")
            row, col = 1 + i % 2, 2 * (i // 2)
            grid.addWidget(caption, row, col)
            grid.addWidget(value, row, col + 1)
            self.stats[name] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

    def reset(self, text: str) -> None:
        """A run is starting: empty bar with ``text``, every figure '–'."""
        self.bar.setValue(0)
        self.bar.setFormat(text)
        for label in self.stats.values():
            label.setText("–")

    def show_status(self, status: RunStatus) -> None:
        """The running run's elapsed time, and its progress once it reported."""
        self.stats["Elapsed"].setText(format_seconds(status.elapsed))
        p = status.progress
        if p is None:
            return
        self.bar.setValue(int(p.fraction * 1000))
        self.bar.setFormat(status.progress_text)
        # no ETA while stopping, nor before it rests on enough steps (Progress.eta is None then)
        self.stats["ETA"].setText("–" if status.stopping else format_seconds(p.eta))
        self.stats["ETA"].setToolTip(ETA_TIP)
        self.stats["Sequences/s"].setText(f"{p.sequences_per_sec:,.0f}")

    def show_epoch(self, report: EpochReport) -> None:
        """The last epoch's mean loss (and its NDCG@k when the run validates)."""
        text = f"{report.mean_loss:.4f} (epoch {report.epoch})"
        ndcg = next((f"{k} {v:.4f}" for k, v in report.metrics.items() if k.startswith("NDCG@")), "")
        self.stats["Last epoch loss"].setText(f"{text} · {ndcg}" if ndcg else text)

    def show_stopping(self) -> None:
        self.bar.setFormat(self.bar.format() + " — stopping …")
        self.stats["ETA"].setText("–")

    def show_end(self, progress_text: str, done: bool, seconds: float | None) -> None:
        """The run ended: the bar's text (full when ``done``) and its duration (None: keep)."""
        if done:
            self.bar.setValue(1000)
        self.bar.setFormat(progress_text)
        self.stats["ETA"].setText("–")
        if seconds is not None:
            self.stats["Elapsed"].setText(format_seconds(seconds))

    def show_checkpoint(self, epochs_done: int, epoch_losses: list[float]) -> None:
        """A checkpoint was opened: its epochs and last epoch loss."""
        self.bar.setValue(1000)
        self.bar.setFormat(f"Checkpoint: {epochs_done} epoch(s)")
        if epoch_losses:
            self.stats["Last epoch loss"].setText(f"{epoch_losses[-1]:.4f} (epoch {len(epoch_losses)})")
