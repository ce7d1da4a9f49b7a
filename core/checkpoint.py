"""Versioned, atomic save/load of a trained model in one file.

The file is a ``torch.save`` archive holding only tensors, numbers, strings, lists and
dicts, and is read with ``weights_only=True``: loading never runs code from the file.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .config import SASRecConfig
from .errors import CheckpointError
from .model import SASRec
from .sequences import ItemIdMap
from .train import TrainedModel, TrainingHistory

FORMAT_NAME = "sasrec-studio-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(model: TrainedModel, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``model`` to ``path`` atomically (an interrupted save leaves any old file intact)."""
    path = Path(path)
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "filter_config": dict(model.filter_config),
        "item_ids": torch.from_numpy(np.asarray(model.item_map.external, dtype=np.int64).copy()),
        "state_dict": {k: v.detach().cpu() for k, v in model.module.state_dict().items()},
        "history": model.history.to_dict(),
        "n_sequences": int(model.n_sequences),
        "device": str(model.device),
        "epochs_done": int(model.epochs_done),
        "data_fingerprint": str(model.data_fingerprint),
        "extra": dict(extra or {}),
    }
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise CheckpointError(f"Cannot save checkpoint: folder '{directory}' does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise CheckpointError(f"Cannot save checkpoint to '{path}': {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[TrainedModel, dict]:
    """Read a checkpoint onto the CPU; returns the model and the ``extra`` dict saved with it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint '{path}' does not exist.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt files; all mean 'unreadable'
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"'{path}' is not a readable SASRec Studio checkpoint (truncated, corrupt or not ours): {first_line[:200]}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"'{path}' is not a SASRec Studio checkpoint.")
    version = payload.get("version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"'{path}' has checkpoint format version {version}; this build reads version {FORMAT_VERSION}.")
    try:
        config = SASRecConfig.from_dict(payload["config"])
        config.validate()
        item_ids = payload["item_ids"].numpy()
        module = SASRec(len(item_ids) - 1, config)
        module.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"'{path}' does not match the model it describes: {str(exc).splitlines()[0][:300]}") from exc
    module.eval()
    model = TrainedModel(
        module=module,
        config=config,
        item_map=ItemIdMap(item_ids),
        history=TrainingHistory.from_dict(payload.get("history", {})),
        filter_config=dict(payload.get("filter_config", {})),
        n_sequences=int(payload.get("n_sequences", 0)),
        device=str(payload.get("device", "cpu")),
        epochs_done=int(payload.get("epochs_done", 0)),
        data_fingerprint=str(payload.get("data_fingerprint", "")),
    )
    return model, dict(payload.get("extra", {}))
