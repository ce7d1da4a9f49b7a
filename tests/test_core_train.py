"""Training: progress callback, cancel, determinism, validation of hyperparameters, OOM mapping."""
import pytest
import torch

from core import train as train_mod
from core.config import SASRecConfig
from core.errors import ConfigError, OutOfMemoryError, TrainingError
from core.train import EpochReport, StepReport, fit
from tests.synthetic import chain_interactions

SMALL = dict(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=32, device="cpu", dropout_rate=0.1)


def test_progress_reports_every_step_and_epoch():
    events = []
    result = fit(chain_interactions(), SASRecConfig(epochs=2, **SMALL), callback=events.append, report_every=0.0)
    steps = [e for e in events if isinstance(e, StepReport)]
    epochs = [e for e in events if isinstance(e, EpochReport)]
    steps_per_epoch = steps[0].steps_per_epoch
    assert steps_per_epoch == 10  # 300 sequences / 32
    assert sum(len(s.losses) for s in steps) == 2 * steps_per_epoch
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(e.seconds > 0 for e in epochs)
    model = result.model
    assert len(model.history.step_losses) == 2 * steps_per_epoch
    assert model.history.epoch_losses[0] == pytest.approx(sum(model.history.step_losses[:10]) / 10, rel=1e-5)
    assert steps[-1].sequences_per_sec > 0


def test_training_learns_a_learnable_pattern():
    result = fit(chain_interactions(), SASRecConfig(epochs=8, lr=5e-3, **SMALL))
    losses = result.model.history.epoch_losses
    assert losses[-1] < 0.5 * losses[0]


def test_deterministic_cpu_runs_give_identical_losses():
    config = SASRecConfig(epochs=2, deterministic=True, seed=7, **SMALL)
    a = fit(chain_interactions(), config).model.history.step_losses
    b = fit(chain_interactions(), config).model.history.step_losses
    assert a == b
    c = fit(chain_interactions(), SASRecConfig(epochs=2, deterministic=True, seed=8, **SMALL)).model.history.step_losses
    assert a != c
    assert not torch.are_deterministic_algorithms_enabled()  # restored after training


@pytest.mark.parametrize("loss", ["bce", "gbce"])
def test_sampled_losses_train(loss):
    result = fit(chain_interactions(), SASRecConfig(epochs=3, loss=loss, n_negatives=4, lr=5e-3, **SMALL))
    losses = result.model.history.epoch_losses
    assert all(l == l for l in losses) and losses[-1] < losses[0]


def test_stop_keeps_last_completed_epoch():
    stop_after = {"calls": 0}
    events = []

    def should_stop():
        stop_after["calls"] += 1
        return stop_after["calls"] > 13  # epoch 1 = 10 steps, stop in epoch 2

    result = fit(chain_interactions(), SASRecConfig(epochs=5, **SMALL), should_stop=should_stop, callback=events.append)
    assert result.cancelled
    assert result.model is not None and result.model.epochs_done == 1
    # the model really has epoch 1's weights: same as a 1-epoch run with the same seed
    one = fit(chain_interactions(), SASRecConfig(epochs=1, deterministic=True, **SMALL)).model
    stopped = fit(chain_interactions(), SASRecConfig(epochs=5, deterministic=True, **SMALL), should_stop=lambda c=iter(range(100)): next(c) >= 13).model
    for (k, v), (_, w) in zip(one.module.state_dict().items(), stopped.module.state_dict().items()):
        assert torch.equal(v, w), k


def test_stop_before_first_epoch_returns_no_model():
    result = fit(chain_interactions(), SASRecConfig(epochs=2, **SMALL), should_stop=lambda: True)
    assert result.cancelled and result.model is None


def test_invalid_hyperparameters_rejected_before_training_with_a_message_per_field():
    config = SASRecConfig(n_factors=10, n_heads=3, epochs=0, dropout_rate=1.0, lr=-1, loss="hinge", device="tpu")
    with pytest.raises(ConfigError) as info:
        fit(chain_interactions(), config)
    errors = info.value.errors
    assert set(errors) >= {"n_heads", "epochs", "dropout_rate", "lr", "loss", "device"}
    assert "divisible" in errors["n_heads"]


def test_cuda_requested_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TrainingError, match="no CUDA device"):
        fit(chain_interactions(), SASRecConfig(epochs=1, **{**SMALL, "device": "cuda"}))
    assert train_mod.resolve_device("auto").type == "cpu"


def test_out_of_memory_names_the_knobs(monkeypatch):
    def boom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(train_mod, "sequence_loss", boom)
    with pytest.raises(OutOfMemoryError) as info:
        fit(chain_interactions(), SASRecConfig(epochs=1, **SMALL))
    message = str(info.value)
    assert "batch_size" in message and "session_maxlen" in message and "n_factors" in message


def test_no_trainable_users_is_a_clear_error():
    df = chain_interactions(n_users=5, length=1)
    with pytest.raises(TrainingError, match="at least 2 interactions"):
        fit(df, SASRecConfig(epochs=1, **SMALL))


def test_bf16_precision_option_trains_to_a_similar_loss():
    base = fit(chain_interactions(), SASRecConfig(epochs=3, lr=5e-3, **SMALL)).model.history.epoch_losses
    bf16 = fit(chain_interactions(), SASRecConfig(epochs=3, lr=5e-3, precision="bf16", **SMALL)).model.history.epoch_losses
    assert bf16[-1] < bf16[0]
    assert abs(bf16[-1] - base[-1]) < 0.15 * base[-1]
    assert "precision" in SASRecConfig(precision="fp8").errors()


def _nan_after(steps: int, monkeypatch):  # noqa: ANN001, ANN202
    """Make the loss NaN from step ``steps + 1`` on (as a too-high learning rate does)."""
    real = train_mod.sequence_loss
    calls = {"n": 0}

    def loss(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        value = real(*args, **kwargs)
        return value * float("nan") if calls["n"] > steps else value

    monkeypatch.setattr(train_mod, "sequence_loss", loss)


@pytest.mark.parametrize("with_callback", [True, False])
def test_non_finite_loss_stops_training_naming_the_learning_rate(monkeypatch, with_callback):
    _nan_after(13, monkeypatch)  # epoch 1 = 10 steps: NaN from epoch 2, step 4
    events = []
    with pytest.raises(TrainingError) as info:
        fit(chain_interactions(), SASRecConfig(epochs=5, lr=0.004, **SMALL),
            callback=events.append if with_callback else None, report_every=0.0)
    message = str(info.value)
    assert "nan" in message and "lr 0.004" in message and "lower it" in message and "epoch 2" in message
    if with_callback:
        assert "step 4" in message  # caught at the step's report, not only at the epoch's end
        assert [e.epoch for e in events if isinstance(e, EpochReport)] == [1]


def test_infinite_loss_at_an_epoch_end_is_refused(monkeypatch):
    real = train_mod.sequence_loss
    monkeypatch.setattr(train_mod, "sequence_loss", lambda *a, **k: real(*a, **k) + float("inf"))
    with pytest.raises(TrainingError, match=r"inf in epoch 1\. The learning rate \(lr 0\.001\)"):
        fit(chain_interactions(), SASRecConfig(epochs=2, lr=0.001, **SMALL))


def test_cpu_memory_exhaustion_is_reported_like_cuda_oom(monkeypatch):
    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 68719476736 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(train_mod, "sequence_loss", boom)
    with pytest.raises(OutOfMemoryError, match="Out of memory on cpu.*batch_size.*session_maxlen.*n_factors"):
        fit(chain_interactions(), SASRecConfig(epochs=1, **SMALL))


def test_memory_exhaustion_while_building_sequences_is_reported(monkeypatch):
    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise MemoryError()

    monkeypatch.setattr(train_mod, "build_training_sequences", boom)
    with pytest.raises(OutOfMemoryError, match="batch_size"):
        fit(chain_interactions(), SASRecConfig(epochs=1, **SMALL))


def test_other_runtime_errors_are_not_mistaken_for_memory():
    assert not train_mod.is_out_of_memory(RuntimeError("shape mismatch"))
    assert train_mod.is_out_of_memory(MemoryError())


@pytest.mark.parametrize("every", [0, -1])
def test_validate_every_below_one_is_a_config_error(every):
    with pytest.raises(ConfigError, match="validate_every"):
        fit(chain_interactions(), SASRecConfig(epochs=1, **SMALL), validate_every=every)


@pytest.mark.parametrize("field", ["lr", "dropout_rate"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_hyperparameters_are_refused(field, value):
    assert field in SASRecConfig(**{field: value}).errors()
