"""Ctrl-C during CLI training (issue 10, point 8): the run is recorded as stopped, the last
completed epoch's model is written to --out (and stderr says so), and the exit status is 130."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import core.__main__ as cli
from core.checkpoint import load_checkpoint
from core.interrupt import stop_on_sigint
from core.runs import RunStore
from core.train import EpochReport

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "48", "--min-item-freq", "1",
         "--device", "cpu"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from core.demo import write_demo

    folder = tmp_path_factory.mktemp("interrupt-demo")
    write_demo(folder, n_users=600, n_items=80, seed=4)
    return folder


def test_first_ctrl_c_sets_the_flag_second_interrupts_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    calls = []
    with stop_on_sigint(lambda: calls.append(1)) as stop:
        assert not stop.is_set()
        signal.raise_signal(signal.SIGINT)
        assert stop.is_set() and calls == [1]
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def _ctrl_c_at(monkeypatch, when) -> None:  # noqa: ANN001
    """Send this process SIGINT from the progress printer when ``when(event)`` is true (once)."""
    real = cli._progress_printer
    sent = []

    def printer(stream=None):  # noqa: ANN001, ANN202
        callback = real(stream)

        def wrapped(event):  # noqa: ANN001, ANN202
            callback(event)
            if not sent and when(event):
                sent.append(event)
                signal.raise_signal(signal.SIGINT)

        return wrapped

    monkeypatch.setattr(cli, "_progress_printer", printer)


def test_ctrl_c_after_an_epoch_saves_it_records_stopped_and_exits_130(demo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    _ctrl_c_at(monkeypatch, lambda e: isinstance(e, EpochReport) and e.epoch == 2)
    out = tmp_path / "model.pt"
    code = cli.main(["train", str(demo), "--out", str(out), "--epochs", "50", *SMALL])
    err = capsys.readouterr().err
    assert code == 130, err
    assert "Traceback" not in err and "epoch 3/50 done" not in err
    assert f"saved the model of epoch 2 (the last completed one) to {out}" in err
    model, _ = load_checkpoint(out)
    assert model.epochs_done == 2 and len(model.history.epoch_losses) == 2
    (run,) = RunStore.default().runs()
    assert run.status == "stopped" and len(run.history["epoch_losses"]) == 2
    assert run.checkpoint_path == str(out.resolve())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored after training


def test_ctrl_c_before_the_first_epoch_ends_saves_nothing_and_records_stopped(demo, tmp_path, capsys, monkeypatch):
    import core.train

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    real, calls = core.train.sequence_loss, []

    def loss(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - Ctrl-C during the third step of epoch 1
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(core.train, "sequence_loss", loss)
    out = tmp_path / "model.pt"
    code = cli.main(["train", str(demo), "--out", str(out), "--epochs", "50", *SMALL])
    err = capsys.readouterr().err
    assert code == 130 and "no model to save" in err and not out.exists()
    assert len(calls) == 3  # stopped within the step the signal came in
    (run,) = RunStore.default().runs()
    assert run.status == "stopped" and run.history["epoch_losses"] == [] and run.checkpoint_path == ""


def test_a_non_finite_loss_stops_cli_training_with_one_line_naming_the_learning_rate(demo, tmp_path, capsys, monkeypatch):
    import core.train

    real = core.train.sequence_loss
    monkeypatch.setattr(core.train, "sequence_loss", lambda *a, **k: real(*a, **k) * float("nan"))
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    out = tmp_path / "model.pt"
    code = cli.main(["train", str(demo), "--out", str(out), "--epochs", "3", "--lr", "0.05", *SMALL])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("error: Training stopped: the loss became nan")
    assert "lr 0.05" in err and "lower it" in err and not out.exists()


@pytest.mark.slow
def test_ctrl_c_in_a_real_training_process(demo, tmp_path):
    """SIGINT from outside, right after epoch 1 is reported: exit 130, epoch 1 saved, run stopped."""
    home, out = tmp_path / "home", tmp_path / "model.pt"
    env = {**os.environ, "SASREC_STUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "train", str(demo), "--out", str(out), "--epochs", "10000", *SMALL],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("epoch 1/10000 done"):
                signalled = time.perf_counter()
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.communicate(timeout=120)[1]  # a hang guard, not a timing assertion
    finally:
        if proc.poll() is None:
            proc.kill()
    seconds = time.perf_counter() - signalled
    err = "".join(seen) + (rest or "")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "epoch 2/10000 done" not in err
    assert "stopping after the current step" in err and f"saved the model of epoch 1 (the last completed one) to {out}" in err
    assert load_checkpoint(out)[0].epochs_done == 1
    (run,) = RunStore(home / "runs.sqlite").runs()
    assert run.status == "stopped" and len(run.history["epoch_losses"]) == 1
    print(f"exited {seconds:.2f} s after SIGINT")  # the issue asks for < 2 s; shown with -s, not asserted
