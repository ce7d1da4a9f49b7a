"""Hyperparameters of SASRec and the hold-out settings, each declared once (``core.schema``):
its label, help, CLI flag and valid range; validation gives one message per invalid field."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .early_stopping import MONITORS
from .schema import SettingGroup, setting

if TYPE_CHECKING:
    from .experiment import Holdout

LOSSES = ("softmax", "bce", "gbce", "sampled_softmax")
#: Learning-rate decay after the warm-up (``core.optim``); "constant" keeps the lr.
LR_SCHEDULES = ("constant", "linear", "cosine")
PRECISIONS = ("fp32", "tf32", "bf16")
#: the largest seed torch accepts (64 bits, unsigned)
MAX_SEED = (1 << 64) - 1
#: The hold-out schemes the CLI and the form offer ("none": train on everything, no validation).
HOLDOUT_CHOICES = ("none", "last", "time")
#: The longest test period of the last-N-days hold-out (about 100 years).
MAX_TEST_DAYS = 36_500

_MODEL, _OPTIMISATION, _RUN = "Model", "Optimisation", "Run"


@dataclass
class SASRecConfig(SettingGroup):
    """Every hyperparameter of the notebook's ``SASRecModel`` plus seed and determinism.

    Defaults are the notebook's (128 factors, 2 blocks, 1 head, dropout 0.2, maxlen 32,
    lr 1e-3, batch 128, 5 epochs, softmax loss, seed 32).
    """

    n_factors: int = setting(
        128, label="Factors", section=_MODEL, low=1, high=4096, step=16,
        help="Size of the item embeddings and hidden states (the notebook uses 128).")
    n_blocks: int = setting(
        2, label="Blocks", section=_MODEL, low=1, high=64,
        help="Number of stacked self-attention blocks.")
    n_heads: int = setting(
        1, label="Attention heads", section=_MODEL, low=1, high=64,
        help="Attention heads per block; the number of factors must be divisible by it.")
    dropout_rate: float = setting(
        0.2, label="Dropout", section=_MODEL, flag="dropout", low=0.0, high=1.0, high_open=True, step=0.05,
        help="Share of activations dropped during training, to regularise the model.")
    use_pos_emb: bool = setting(
        True, label="Positions", section=_MODEL, flag="pos-emb", check_text="learnable positional embedding",
        help="Add a learnable embedding of each position in the sequence to the item embedding.")
    use_key_padding_mask: bool = setting(
        False, label="Key padding mask", section=_MODEL, check_text="attention ignores padding",
        help="Attention skips the padding before short sessions (RecTools' use_key_padding_mask); off: padding "
             "positions are attended to, as in the notebook.")
    session_maxlen: int = setting(
        32, label="Max session length", section=_MODEL, low=1, high=4096, step=8,
        help="How many of each user's most recent interactions the model looks at.")
    #: items-table columns whose values are embedded and added to each item's id embedding
    #: (RecTools' CatFeaturesItemNet; rules in core.item_features); "" = item ids only
    item_features: str = setting(
        "", label="Item features", section=_MODEL,
        help="Items-table columns, separated by commas (genres,countries), whose values are embedded and added to "
             "each item's id embedding, as RecTools' category features (empty: item ids only).")
    feature_init_scale: float = setting(
        1.0, label="Feature init scale", section=_MODEL, low=0.0, high=10.0, step=0.05,
        help="Multiplies the Xavier-initialised feature embeddings (1: RecTools' init); below 1 the model starts "
             "closer to the ids-only one, so shared genre vectors do not swamp the item ids in short runs.")
    lr: float = setting(
        1e-3, label="Learning rate", section=_OPTIMISATION, low=0.0, low_open=True, high=10.0, free_text=True,
        help="Adam (AdamW) learning rate, for example 0.001 or 1e-3; the peak of the warm-up and schedule.")
    batch_size: int = setting(
        128, label="Batch size", section=_OPTIMISATION, low=1, high=1 << 20, step=32,
        help="Sequences per training step; lower it if the device runs out of memory.")
    epochs: int = setting(
        5, label="Epochs", section=_OPTIMISATION, low=1, high=10_000,
        help="Number of passes over all training sequences.")
    loss: str = setting(
        "softmax", label="Loss", section=_OPTIMISATION, choices=LOSSES,
        help="softmax: cross-entropy over the whole catalog; sampled_softmax: cross-entropy over the positive and "
             "n_negatives sampled items; bce / gbce: sampled negatives (the sampled losses are cheaper on big catalogs).")
    n_negatives: int = setting(
        1, label="Negatives", section=_OPTIMISATION, low=1, high=100_000,
        help="Negative items sampled per position (uniformly from the catalog) for the bce, gbce and "
             "sampled_softmax losses.")
    gbce_t: float = setting(
        0.2, label="gBCE t", section=_OPTIMISATION, low=0.0, high=1.0, step=0.05,
        help="Calibration strength of the gBCE loss (0 behaves like BCE, 1 is fully calibrated).")
    weight_decay: float = setting(
        0.0, label="Weight decay", section=_OPTIMISATION, low=0.0, high=10.0, free_text=True,
        help="Above 0: train with AdamW and this decoupled weight decay, for example 0.01 (0: Adam, as the notebook).")
    warmup_steps: int = setting(
        0, label="Warm-up steps", section=_OPTIMISATION, low=0, high=10_000_000, ui_high=1_000_000, step=100,
        unit="steps",
        help="Raise the learning rate linearly from lr / warm-up steps to lr over this many first steps (0: no warm-up).")
    lr_schedule: str = setting(
        "constant", label="LR schedule", section=_OPTIMISATION, choices=LR_SCHEDULES,
        choice_labels=("Constant", "Linear decay", "Cosine decay"),
        help="After the warm-up keep the learning rate (constant) or decay it to 0 by the run's last step "
             "(linear, cosine).")
    device: str = setting(
        "auto", label="Device", section=_RUN,
        help="Where to train: auto (the first CUDA GPU when there is one, else the CPU), cpu, cuda or cuda:N.")
    seed: int = setting(
        32, label="Seed", section=_RUN, low=0, high=MAX_SEED,
        help="Random seed for initialisation, shuffling and negative sampling.")
    deterministic: bool = setting(
        False, label="Determinism", section=_RUN, check_text="deterministic algorithms",
        help="Force deterministic kernels so GPU runs repeat exactly (somewhat slower).")
    #: fp32 (exact, default); tf32 (CUDA matmuls in TF32); bf16 (autocast to bfloat16)
    precision: str = setting(
        "fp32", label="Precision", section=_RUN, choices=PRECISIONS,
        help="fp32 is exact; tf32 speeds up CUDA matrix products; bf16 trains in bfloat16 on recent GPUs.")
    #: on CUDA (softmax loss, one process, not deterministic) capture the training step in a
    #: CUDA graph and replay it per batch; same batches and maths, far fewer kernel launches
    cuda_graph: bool = setting(
        True, label="CUDA graphs", section=_RUN, check_text="replay the training step as a CUDA graph",
        help="On a GPU (softmax loss, not deterministic) capture the training step once and replay it per "
             "batch: the same training with far fewer kernel launches; turn off to debug with eager kernels.")

    def check(self, errs: dict[str, str]) -> None:
        """Heads must divide the factors; the device must be a name torch knows."""
        if "n_factors" not in errs and "n_heads" not in errs and self.n_factors % self.n_heads:
            errs["n_heads"] = f"n_factors ({self.n_factors}) must be divisible by n_heads ({self.n_heads})"
        if not _valid_device_name(self.device):
            errs["device"] = f"must be auto, cpu, cuda or cuda:N, got {self.device!r}"
        if "item_features" not in errs:
            from .errors import ConfigError
            from .item_features import parse_feature_columns

            try:
                parse_feature_columns(self.item_features)
            except ConfigError as exc:
                errs.update(exc.errors)


_VALIDATION = "Validation"


@dataclass
class HoldoutConfig(SettingGroup):
    """Validation during training as the CLI and the Training page set it: a hold-out scheme
    ("none" for none), the test period of the "time" scheme in days, validating every
    ``validate_every`` epochs on top-``k`` lists. ``to_holdout()`` gives the pipeline's
    ``core.experiment.Holdout``."""

    holdout: str = setting(
        "none", label="Hold-out", section=_VALIDATION, choices=HOLDOUT_CHOICES,
        choice_labels=("Off", "Leave last out", "Last N days"),
        help="Hold out each user's last interaction (last) or the last days (time), train on the rest and "
             "validate on them (none: train on everything).")
    test_days: int = setting(
        7, label="Test days", section=_VALIDATION, low=1, high=MAX_TEST_DAYS, ui_high=3650, unit="days",
        help="Length of the test period at the end of the data for the last-N-days hold-out.")
    validate_every: int = setting(
        1, label="Validate every", section=_VALIDATION, low=1, ui_high=10_000,
        help="Validate on the hold-out (HR@k, NDCG@k and the validation loss) after every this many epochs "
             "(and after the last one).")
    k: int = setting(
        10, label="k", section=_VALIDATION, low=1, high=100_000, ui_high=1000,
        help="Length of the recommendation lists the metrics are computed on.")
    early_stopping: int = setting(
        0, label="Early stopping", section=_VALIDATION, low=0, high=10_000, ui_high=1000, unit="validations",
        help="Stop when the monitored value has not improved for this many validations and keep the best "
             "epoch's weights (0: off; needs a hold-out).")
    monitor: str = setting(
        "ndcg", label="Monitor", section=_VALIDATION, choices=MONITORS,
        choice_labels=("NDCG@k", "HR@k", "Validation loss"),
        help="The validation value that picks the best epoch and drives early stopping: NDCG@k, HR@k "
             "(higher is better) or the loss on the held-out targets (lower is better).")
    min_delta: float = setting(
        0.0, label="Min. improvement", section=_VALIDATION, low=0.0, ui_high=10.0, step=0.001, decimals=4,
        help="How much the monitored value must improve to count as better (0: any improvement).")

    def check(self, errs: dict[str, str]) -> None:
        """Early stopping needs a hold-out to validate on."""
        if self.holdout == "none" and "early_stopping" not in errs and self.early_stopping:
            errs["early_stopping"] = "needs a hold-out to validate on (holdout last or time)"

    def to_holdout(self) -> Holdout | None:
        """The pipeline's ``Holdout``, or None when the scheme is "none" (validate first)."""
        from .experiment import Holdout

        if self.holdout == "none":
            return None
        return Holdout(self.holdout, int(self.test_days), int(self.validate_every), int(self.k),
                       int(self.early_stopping), str(self.monitor), float(self.min_delta))

    @classmethod
    def from_holdout(cls, holdout: Holdout | None) -> HoldoutConfig:
        """The settings of ``holdout`` (None: scheme "none", the other fields at their defaults)."""
        if holdout is None:
            return cls()
        return cls(holdout.scheme, holdout.test_days, holdout.every, holdout.k, holdout.patience, holdout.monitor,
                   holdout.min_delta)


def _valid_device_name(device: object) -> bool:
    if not isinstance(device, str):
        return False
    if device in ("auto", "cpu", "cuda"):
        return True
    if device.startswith("cuda:"):
        return device[5:].isdigit()
    return False
