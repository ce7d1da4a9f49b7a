"""Hyperparameters of SASRec and their validation (one message per invalid field)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import ConfigError

LOSSES = ("softmax", "bce", "gbce")
PRECISIONS = ("fp32", "tf32", "bf16")


@dataclass
class SASRecConfig:
    """Every hyperparameter of the notebook's ``SASRecModel`` plus seed and determinism.

    Defaults are the notebook's (128 factors, 2 blocks, 1 head, dropout 0.2, maxlen 32,
    lr 1e-3, batch 128, 5 epochs, softmax loss, seed 32).
    """

    n_factors: int = 128
    n_blocks: int = 2
    n_heads: int = 1
    dropout_rate: float = 0.2
    use_pos_emb: bool = True
    session_maxlen: int = 32
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 5
    loss: str = "softmax"
    n_negatives: int = 1
    gbce_t: float = 0.2
    device: str = "auto"
    seed: int = 32
    deterministic: bool = False
    #: fp32 (exact, default); tf32 (CUDA matmuls in TF32); bf16 (autocast to bfloat16)
    precision: str = "fp32"
    #: on CUDA (softmax loss, one process, not deterministic) capture the training step in a
    #: CUDA graph and replay it per batch; same batches and maths, far fewer kernel launches
    cuda_graph: bool = True

    def errors(self) -> dict[str, str]:
        """Return ``{field: message}`` for every invalid field (empty when all are valid)."""
        errs: dict[str, str] = {}

        def positive_int(name: str, upper: int | None = None) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                errs[name] = f"must be a whole number, got {value!r}"
            elif value < 1:
                errs[name] = f"must be at least 1, got {value}"
            elif upper is not None and value > upper:
                errs[name] = f"must be at most {upper}, got {value}"

        positive_int("n_factors", 4096)
        positive_int("n_blocks", 64)
        positive_int("n_heads", 64)
        positive_int("session_maxlen", 4096)
        positive_int("batch_size", 1 << 20)
        positive_int("epochs", 10_000)
        positive_int("n_negatives", 100_000)
        if "n_factors" not in errs and "n_heads" not in errs and self.n_factors % self.n_heads:
            errs["n_heads"] = f"n_factors ({self.n_factors}) must be divisible by n_heads ({self.n_heads})"
        if not isinstance(self.dropout_rate, (int, float)) or not 0.0 <= float(self.dropout_rate) < 1.0:
            errs["dropout_rate"] = f"must be in [0, 1), got {self.dropout_rate!r}"
        if not isinstance(self.lr, (int, float)) or not 0.0 < float(self.lr) <= 10.0:
            errs["lr"] = f"must be a positive number (at most 10), got {self.lr!r}"
        if self.loss not in LOSSES:
            errs["loss"] = f"must be one of {', '.join(LOSSES)}, got {self.loss!r}"
        if not isinstance(self.gbce_t, (int, float)) or not 0.0 <= float(self.gbce_t) <= 1.0:
            errs["gbce_t"] = f"must be in [0, 1], got {self.gbce_t!r}"
        if self.precision not in PRECISIONS:
            errs["precision"] = f"must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
        if not isinstance(self.cuda_graph, bool):
            errs["cuda_graph"] = f"must be true or false, got {self.cuda_graph!r}"
        if not _valid_device_name(self.device):
            errs["device"] = f"must be auto, cpu, cuda or cuda:N, got {self.device!r}"
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            errs["seed"] = f"must be a non-negative whole number, got {self.seed!r}"
        return errs

    def validate(self) -> None:
        """Raise ``ConfigError`` listing every invalid field."""
        errs = self.errors()
        if errs:
            raise ConfigError(errs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SASRecConfig":
        """Build from a dict, ignoring unknown keys (older/newer checkpoints)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _valid_device_name(device: object) -> bool:
    if not isinstance(device, str):
        return False
    if device in ("auto", "cpu", "cuda"):
        return True
    if device.startswith("cuda:"):
        return device[5:].isdigit()
    return False
