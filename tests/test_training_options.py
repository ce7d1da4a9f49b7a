"""Stronger training options (issue 14, point 2): RecTools' key padding mask, the sampled softmax
loss, AdamW weight decay and a learning-rate warm-up with a decay schedule. Each is a setting
whose default keeps the notebook's training exactly; each changes training when on."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import core.model as model_module
import core.train as train_module
from core import experiment
from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import LOSSES, LR_SCHEDULES, SASRecConfig
from core.errors import ConfigError
from core.experiment import Holdout
from core.model import SASRec, attention_mask
from core.optim import LRSchedule, is_scheduled, lr_factor, make_optimizer
from core.train import fit, target_losses, uses_static_step
from core.validation import make_loss_validator
from tests.cli_runner import run_cli
from tests.synthetic import chain_interactions

# session_maxlen above the sessions' length: every sequence is left-padded
SMALL = dict(n_factors=16, n_blocks=2, n_heads=2, session_maxlen=8, batch_size=32, device="cpu", dropout_rate=0.2,
             lr=3e-3, deterministic=True, seed=11)
NEW_DEFAULTS = dict(use_key_padding_mask=False, weight_decay=0.0, warmup_steps=0, lr_schedule="constant")


@pytest.fixture(scope="module")
def data():
    return chain_interactions(n_users=120, n_items=20, length=6)


def _weights_equal(a: SASRec, b: SASRec) -> bool:
    return all(torch.equal(value, b.state_dict()[name]) for name, value in a.state_dict().items())


def _record_lrs(monkeypatch: pytest.MonkeyPatch) -> tuple[list[float], list[torch.optim.Optimizer]]:
    """Spy on ``fit``'s optimizer: the learning rate of every step, and the optimizer itself."""
    lrs: list[float] = []
    made: list[torch.optim.Optimizer] = []

    def spy(params, config, **options):  # noqa: ANN001, ANN003, ANN202
        optimizer = make_optimizer(params, config, **options)
        optimizer.register_step_pre_hook(lambda opt, args, kwargs: lrs.append(opt.param_groups[0]["lr"]))
        made.append(optimizer)
        return optimizer

    monkeypatch.setattr(train_module, "make_optimizer", spy)
    return lrs, made


# -- defaults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_defaults_train_exactly_as_without_the_new_settings(data, monkeypatch, loss):
    """The new fields at their defaults: the same losses and weights, bit for bit, as a run that
    does not set them; Adam (not AdamW) with betas (0.9, 0.98) at a constant lr; causal attention."""
    extra = {"loss": loss, "n_negatives": 3} if loss == "bce" else {}
    plain = fit(data, SASRecConfig(epochs=2, **SMALL, **extra)).model
    lrs, made = _record_lrs(monkeypatch)
    calls: list[dict] = []
    sdpa = F.scaled_dot_product_attention

    def spy_sdpa(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs)
        return sdpa(*args, **kwargs)

    monkeypatch.setattr(model_module.F, "scaled_dot_product_attention", spy_sdpa)
    explicit = fit(data, SASRecConfig(epochs=2, **SMALL, **extra, **NEW_DEFAULTS)).model
    assert explicit.history.step_losses == plain.history.step_losses
    assert _weights_equal(explicit.module, plain.module)
    assert type(made[0]) is torch.optim.Adam and made[0].defaults["betas"] == (0.9, 0.98)
    assert made[0].defaults["weight_decay"] == 0
    assert lrs == [SMALL["lr"]] * len(plain.history.step_losses)
    assert calls and all(c.get("is_causal") is True and c.get("attn_mask") is None for c in calls)
    assert not explicit.module.use_key_padding_mask


def test_the_new_settings_are_stored_with_the_model_and_older_configs_get_the_defaults(data, tmp_path):
    config = SASRecConfig(epochs=1, **SMALL, use_key_padding_mask=True, weight_decay=0.01, warmup_steps=2,
                          lr_schedule="linear", loss="sampled_softmax", n_negatives=4)
    model = fit(data, config).model
    loaded, _ = load_checkpoint(save_checkpoint(model, tmp_path / "m.pt"))
    assert loaded.config == config and loaded.module.use_key_padding_mask
    older = {k: v for k, v in config.to_dict().items() if k not in NEW_DEFAULTS}
    assert {k: getattr(SASRecConfig.from_dict(older), k) for k in NEW_DEFAULTS} == NEW_DEFAULTS


# -- each option changes training ----------------------------------------------------------------


@pytest.mark.parametrize("option", [
    {"use_key_padding_mask": True},
    {"weight_decay": 0.1},
    {"warmup_steps": 3},
    {"lr_schedule": "linear"},
    {"lr_schedule": "cosine"},
    {"loss": "sampled_softmax", "n_negatives": 5},
])
def test_each_option_changes_training(data, option):
    default = fit(data, SASRecConfig(epochs=2, **SMALL)).model
    changed = fit(data, SASRecConfig(epochs=2, **{**SMALL, **option})).model
    assert len(changed.history.step_losses) == len(default.history.step_losses) == 8
    assert all(math.isfinite(v) for v in changed.history.step_losses)
    assert changed.history.step_losses != default.history.step_losses
    assert not _weights_equal(changed.module, default.module)


# -- key padding mask -----------------------------------------------------------------------------


def test_attention_mask_is_causal_without_pad_keys_and_lets_pad_queries_see_themselves():
    x = torch.tensor([[0, 0, 3, 5], [1, 2, 3, 4]])
    allowed = attention_mask(x)
    assert allowed.shape == (2, 1, 4, 4) and allowed.dtype == torch.bool
    expected_padded = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], dtype=torch.bool)
    assert torch.equal(allowed[0, 0], expected_padded)
    assert torch.equal(allowed[1, 0], torch.ones(4, 4, dtype=torch.bool).tril())  # no PAD: causal only


def _rectools_merged_mask(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """RecTools 0.19's ``TransformerTorchBackbone._merge_masks``, re-typed from its source."""
    batch, length = x.shape
    key_padding = torch.zeros(batch, length).masked_fill_(x == 0, float("-inf")).view(batch, 1, length)
    causal = ~torch.tril(torch.ones(length, length, dtype=torch.bool))
    causal = torch.zeros(length, length).masked_fill_(causal, float("-inf")).view(1, length, length).expand(batch, -1, -1)
    merged = (causal + key_padding).view(batch, 1, length, length).expand(-1, n_heads, -1, -1).reshape(-1, length, length)
    torch.diagonal(merged, dim1=1, dim2=2).zero_()
    return merged


def _rectools_forward(model: SASRec, x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """RecTools' SASRec encoder (nn.MultiheadAttention with the merged mask) on ``model``'s weights."""
    d = model.item_emb.weight.shape[1]
    length = x.shape[1]
    seqs = model.item_emb.weight[x] + model.pos_emb(torch.arange(length - 1, -1, -1).expand(x.shape[0], length))
    timeline = (x != 0).unsqueeze(-1)
    mask = _rectools_merged_mask(x, n_heads)
    for block in model.blocks:
        mha = nn.MultiheadAttention(d, n_heads, 0.0, batch_first=True).eval()
        mha.in_proj_weight.data.copy_(block.multi_head_attn.in_proj_weight)
        mha.in_proj_bias.data.copy_(block.multi_head_attn.in_proj_bias)
        mha.out_proj.load_state_dict(block.multi_head_attn.out_proj.state_dict())
        seqs = seqs * timeline
        q = block.q_layer_norm(seqs)
        seqs = q + mha(q, seqs, seqs, attn_mask=mask, need_weights=False)[0]
        f = block.ff_layer_norm(seqs)
        seqs = block.feed_forward(f) + f
    return model.last_layernorm(seqs * timeline)


def _masked_model(n_heads: int, use_mask: bool = True) -> SASRec:
    torch.manual_seed(3)
    model = SASRec(20, SASRecConfig(n_factors=16, n_blocks=2, n_heads=n_heads, session_maxlen=6,
                                    use_key_padding_mask=use_mask))
    model.xavier_init()
    with torch.no_grad():
        for block in model.blocks:
            block.multi_head_attn.in_proj_bias.normal_()  # PAD keys are then not zero vectors
    return model.eval()


X = torch.tensor([[0, 0, 3, 5, 7, 9], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 11]])


@pytest.mark.parametrize("n_heads", [1, 2])
def test_key_padding_mask_matches_rectools_merged_masks(n_heads):
    model = _masked_model(n_heads)
    with torch.no_grad():
        ours = model(X)
        reference = _rectools_forward(model, X, n_heads)
        unmasked = _masked_model(n_heads, use_mask=False)(X)
    assert ours.shape == (3, 6, 16) and torch.isfinite(ours).all()
    assert torch.allclose(ours, reference, atol=1e-5)
    # the unpadded row is unchanged; padded rows differ from attending to PAD keys
    assert torch.allclose(ours[1], unmasked[1], atol=1e-6)
    assert not torch.allclose(ours[0, 2:], unmasked[0, 2:], atol=1e-4)


@pytest.mark.parametrize("n_heads", [1, 2])
def test_packed_hidden_states_equal_the_padded_forward_with_the_mask(n_heads):
    model = _masked_model(n_heads)
    positions = torch.nonzero(X.reshape(-1)).squeeze(1)
    with torch.no_grad():
        full = model(X).reshape(-1, 16)[positions]
        packed = model.hidden_at(X, positions)
    assert packed.shape == (len(positions), 16)
    assert torch.allclose(full, packed, atol=1e-5)


def test_attention_maps_give_pad_keys_no_weight_with_the_mask():
    model = _masked_model(2)
    maps = model.attention_maps(X)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 6, 6)
    for probs in maps:
        assert torch.isfinite(probs).all() and torch.allclose(probs.sum(-1), torch.ones(3, 2, 6))
        assert torch.all(probs[0, :, 2:, :2] == 0) and torch.all(probs[2, :, 5, :5] == 0)  # PAD keys
        assert torch.all(probs.triu(1) == 0)  # causal


def test_the_static_step_honours_the_mask_as_the_eager_step_does(data, monkeypatch):
    """The graph-capturable step (run eagerly on the CPU) uses the padded forward: the same losses."""
    config = SASRecConfig(epochs=2, **{**SMALL, "dropout_rate": 0.0, "deterministic": False, "use_key_padding_mask": True})
    eager = fit(data, config).model
    monkeypatch.setattr(train_module, "uses_static_step", lambda *args: True)
    static = fit(data, config).model
    assert static.history.step_losses == pytest.approx(eager.history.step_losses, rel=1e-5)


# -- sampled softmax ------------------------------------------------------------------------------


def test_sampled_softmax_is_cross_entropy_over_the_positive_and_uniform_negatives():
    """As RecTools' ``_calc_sampled_softmax_loss``: no logQ correction, negatives equal to the
    positive not masked; negatives drawn as bce's, uniformly over the real items."""
    torch.manual_seed(0)
    model = SASRec(30, SASRecConfig(n_factors=8, n_blocks=1, session_maxlen=4))
    model.xavier_init()
    h = torch.randn(5, 8)
    targets = torch.tensor([1, 7, 30, 2, 7])
    config = SASRecConfig(loss="sampled_softmax", n_negatives=6)
    losses = target_losses(model, h, targets, config, torch.Generator().manual_seed(4))
    negatives = torch.randint(1, 31, (5, 6), generator=torch.Generator().manual_seed(4))
    emb = model.output_embeddings()
    logits = torch.cat(((h * emb[targets]).sum(-1, keepdim=True), torch.einsum("md,mkd->mk", h, emb[negatives])), dim=1)
    # RecTools swaps the positive to class 1 (class 0 is its PAD index); cross-entropy does not care
    swapped = logits.clone()
    swapped[:, [0, 1]] = swapped[:, [1, 0]]
    expected = F.cross_entropy(swapped, torch.ones(5, dtype=torch.long), reduction="none")
    assert losses.shape == (5,) and torch.allclose(losses, expected, atol=1e-6)
    assert torch.allclose(losses, -logits.log_softmax(-1)[:, 0], atol=1e-6)


def test_sampled_softmax_with_more_negatives_than_items_stays_finite_and_learns():
    data = chain_interactions(n_users=120, n_items=5, length=6)
    model = fit(data, SASRecConfig(epochs=6, **{**SMALL, "lr": 1e-2, "loss": "sampled_softmax", "n_negatives": 40})).model
    losses = model.history.epoch_losses
    assert all(math.isfinite(v) and v > 0 for v in model.history.step_losses)
    assert losses[-1] < losses[0]
    # a positive drawn among the negatives is not masked: the loss cannot fall below log(1 + its copies)
    assert min(model.history.step_losses) > math.log(1 + 40 / 5) * 0.5


def test_sampled_softmax_validation_loss_repeats_for_the_same_model():
    df = chain_interactions(n_users=60, n_items=20, length=6)
    split = experiment.prepare_holdout(df, Holdout("last", k=5))[0]
    model = fit(split.train, SASRecConfig(epochs=1, **{**SMALL, "loss": "sampled_softmax", "n_negatives": 4})).model
    validate = make_loss_validator(split)
    with torch.no_grad():
        first, second = validate(model), validate(model)
    assert math.isfinite(first) and first == second and 0 < first


def test_only_the_plain_softmax_uses_the_cuda_graph_step():
    cuda = torch.device("cuda")  # only named: nothing runs on it
    assert uses_static_step(SASRecConfig(), cuda, 1)
    assert "sampled_softmax" in LOSSES
    assert not uses_static_step(SASRecConfig(loss="sampled_softmax"), cuda, 1)
    assert uses_static_step(SASRecConfig(weight_decay=0.01, use_key_padding_mask=True), cuda, 1)
    # a changing learning rate falls back to the eager step (a graph replays its captured lr)
    assert not uses_static_step(SASRecConfig(warmup_steps=10), cuda, 1)
    assert not uses_static_step(SASRecConfig(lr_schedule="cosine"), cuda, 1)


# -- weight decay ---------------------------------------------------------------------------------


def test_weight_decay_trains_with_adamw(data, monkeypatch):
    _, made = _record_lrs(monkeypatch)
    fit(data, SASRecConfig(epochs=1, **SMALL, weight_decay=0.05))
    optimizer = made[0]
    assert type(optimizer) is torch.optim.AdamW
    assert optimizer.defaults["weight_decay"] == 0.05 and optimizer.defaults["betas"] == (0.9, 0.98)


# -- learning-rate schedule -----------------------------------------------------------------------


def test_lr_factor_warms_up_then_decays_to_zero_by_the_end():
    assert [lr_factor(s, 10, 4, "constant") for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    linear = [lr_factor(s, 10, 4, "linear") for s in range(10)]
    assert linear[:4] == [0.25, 0.5, 0.75, 1.0] and linear[4] == 1.0
    assert linear[4:] == pytest.approx([6 / 6, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])
    cosine = [lr_factor(s, 100, 0, "cosine") for s in range(100)]
    assert cosine[0] == 1.0 and cosine[50] == pytest.approx(0.5) and 0 < cosine[-1] < 1e-3
    assert all(a >= b for a, b in zip(cosine, cosine[1:]))
    assert lr_factor(20, 10, 0, "linear") == lr_factor(9, 10, 0, "linear")  # past the end: the last share
    assert lr_factor(3, 2, 5, "cosine") == 0.8  # a warm-up longer than the run
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_factor(0, 10, 0, "step")
    assert not is_scheduled(SASRecConfig()) and is_scheduled(SASRecConfig(warmup_steps=1))


@pytest.mark.parametrize("schedule", LR_SCHEDULES)
def test_the_optimizer_follows_the_schedule(data, monkeypatch, schedule):
    lrs, _ = _record_lrs(monkeypatch)
    config = SASRecConfig(epochs=3, **SMALL, warmup_steps=3, lr_schedule=schedule)
    model = fit(data, config).model
    total = 3 * model.history.steps_per_epoch
    lr = SMALL["lr"]
    assert len(lrs) == total == 12
    assert lrs[:3] == pytest.approx([lr / 3, 2 * lr / 3, lr])  # the warm-up ramps
    assert lrs == pytest.approx([LRSchedule(config, total).lr_at(s) for s in range(total)])
    if schedule == "constant":
        assert lrs[3:] == [lr] * 9
    else:
        assert lrs[3] == lr and all(a > b for a, b in zip(lrs[3:], lrs[4:]))
        assert lrs[-1] < (0.12 if schedule == "linear" else 0.05) * lr  # ends near 0
        assert lrs[-1] == pytest.approx(lr / 9 if schedule == "linear" else lr * (1 - math.cos(math.pi / 9)) / 2)


# -- continuing a run -----------------------------------------------------------------------------


@pytest.mark.parametrize("old_checkpoint", [False, True])
def test_resuming_a_stopped_scheduled_run_equals_the_straight_run(data, tmp_path, old_checkpoint):
    """A 4-epoch cosine run with warm-up, stopped after epoch 2 and continued for 2 epochs, is the
    4-epoch run: the schedule's position is in the checkpoint (or follows from its epochs)."""
    config = SASRecConfig(epochs=4, **SMALL, warmup_steps=3, lr_schedule="cosine", weight_decay=0.01)
    straight = fit(data, config).model
    per_epoch = straight.history.steps_per_epoch
    calls = []
    stopped = fit(data, config, should_stop=lambda: calls.append(1) or len(calls) > 2 * per_epoch)
    assert stopped.cancelled and stopped.model.epochs_done == 2
    first = stopped.model
    assert first.training_state["optimizer"]["steps"] == 2 * per_epoch
    if old_checkpoint:
        del first.training_state["optimizer"]["steps"]
    loaded, _ = load_checkpoint(save_checkpoint(first, tmp_path / "two.pt"))
    resumed = fit(data, SASRecConfig(**{**config.to_dict(), "epochs": 2}), init_model=loaded).model
    assert resumed.epochs_done == 4 and resumed.training_state["optimizer"]["steps"] == 4 * per_epoch
    assert resumed.history.step_losses == pytest.approx(straight.history.step_losses, rel=1e-6)
    for name, value in straight.module.state_dict().items():
        assert torch.allclose(resumed.module.state_dict()[name], value, rtol=1e-5, atol=1e-7), name


def test_a_continued_run_takes_the_schedule_from_its_steps_so_far(data, monkeypatch):
    """Continuing a finished 2-epoch run for 2 more stretches the schedule over the 4 epochs."""
    config = SASRecConfig(epochs=2, **SMALL, lr_schedule="linear")
    first = fit(data, config).model
    lrs, _ = _record_lrs(monkeypatch)
    fit(data, config, init_model=first)
    per_epoch = first.history.steps_per_epoch
    expected = [LRSchedule(config, 4 * per_epoch).lr_at(s) for s in range(2 * per_epoch, 4 * per_epoch)]
    assert lrs == pytest.approx(expected) and lrs[0] == pytest.approx(SMALL["lr"] / 2)


def test_weight_decay_runs_continue_exactly_and_adam_runs_continue_with_adamw(data, monkeypatch):
    decayed = dict(SMALL, weight_decay=0.05)
    straight = fit(data, SASRecConfig(epochs=4, **decayed)).model
    first = fit(data, SASRecConfig(epochs=2, **decayed)).model
    resumed = fit(data, SASRecConfig(epochs=2, **decayed), init_model=first).model
    assert resumed.history.step_losses == pytest.approx(straight.history.step_losses, rel=1e-6)
    adam = fit(data, SASRecConfig(epochs=2, **SMALL)).model
    _, made = _record_lrs(monkeypatch)
    switched = fit(data, SASRecConfig(epochs=1, **decayed), init_model=adam).model
    assert type(made[0]) is torch.optim.AdamW
    steps = switched.training_state["optimizer"]["state"][0]["step"]
    assert int(steps) == 3 * switched.history.steps_per_epoch  # Adam's moments and step count went on


# -- invalid values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), [
    ("weight_decay", -0.1, "must be in [0, 10], got -0.1"),
    ("weight_decay", float("nan"), "must be in [0, 10], got nan"),
    ("warmup_steps", -1, "must be a whole number from 0 to 10000000, got -1"),
    ("warmup_steps", 2.5, "must be a whole number from 0 to 10000000, got 2.5"),
    ("lr_schedule", "step", "must be one of constant, linear, cosine, got 'step'"),
    ("use_key_padding_mask", "yes", "must be true or false, got 'yes'"),
    ("loss", "sampled", "must be one of softmax, bce, gbce, sampled_softmax, got 'sampled'"),
])
def test_invalid_values_are_refused_naming_the_setting(data, field, value, message):
    config = SASRecConfig(**{**SMALL, field: value})
    assert config.errors() == {field: message}
    with pytest.raises(ConfigError, match=field):
        fit(data, config)


# -- command line -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SASREC_STUDIO_HOME", str(home))
    folder = tmp_path_factory.mktemp("demo")
    code, _, err = run_cli("demo-data", str(folder), "--users", "200", "--items", "60", "--seed", "3")
    assert code == 0, err
    yield folder
    mp.undo()


TRAIN = ["--epochs", "2", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64",
         "--min-item-freq", "1", "--device", "cpu"]


def test_the_cli_trains_with_the_new_options(demo, tmp_path):
    out = tmp_path / "m.pt"
    code, _, err = run_cli("train", str(demo), "--out", str(out), *TRAIN, "--use-key-padding-mask",
                           "--loss", "sampled_softmax", "--n-negatives", "8", "--weight-decay", "0.01",
                           "--warmup-steps", "2", "--lr-schedule", "cosine")
    assert code == 0, err
    config = load_checkpoint(out)[0].config
    assert (config.use_key_padding_mask, config.loss, config.n_negatives, config.weight_decay, config.warmup_steps,
            config.lr_schedule) == (True, "sampled_softmax", 8, 0.01, 2, "cosine")


@pytest.mark.parametrize(("flags", "expected"), [
    (["--weight-decay", "-0.1"], "--weight-decay: must be in [0, 10], got -0.1"),
    (["--warmup-steps", "-5"], "--warmup-steps: must be a whole number from 0 to 10000000, got -5"),
    (["--lr-schedule", "step"], "--lr-schedule"),
    (["--weight-decay", "lots"], "--weight-decay"),
])
def test_the_cli_refuses_invalid_values_naming_the_option(demo, tmp_path, flags, expected):
    code, _, err = run_cli("train", str(demo), "--out", str(tmp_path / "m.pt"), *TRAIN, *flags)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.pt").exists()
