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
from .filters import FilterConfig
from .errors import CheckpointError
from .item_features import ItemFeatures, parse_feature_columns
from .model import SASRec
from .sequences import ItemIdMap
from .train import TrainedModel, TrainingHistory

FORMAT_NAME = "sasrec-studio-checkpoint"
#: The newest format. Version 1 stores the item ids as an int64 tensor; version 2 stores
#: text item ids as a list of str (no pickle either way). A model with integer item ids is
#: still written as version 1, so older builds read it; both versions are read.
#:
#: Either version may carry an optional ``"training_state"`` (what continuing the run needs:
#: Adam's per-parameter tensors and the random generators' states, as of the kept epoch;
#: see ``TrainedModel.training_state``). Older builds ignore the key, files without it load
#: as before (a run continued from them starts Adam anew), so the version is unchanged.
FORMAT_VERSION = 2
READ_VERSIONS = (1, 2)
TRAINING_STATE_KEY = "training_state"
#: A model with item features (``SASRecConfig.item_features``) also carries
#: ``"item_features"``: ``core.item_features.ItemFeatures.to_payload()`` (the chosen columns,
#: the (column, value) vocabulary as lists of str, per-item CSR offsets and indices as int64
#: tensors), from which the model is rebuilt exactly; its ``feature_emb.weight`` is in the
#: state dict. Files without it load as ids-only models. Older builds refuse such a file
#: (an unexpected weight), they never misread it.
ITEM_FEATURES_KEY = "item_features"


def _item_ids_payload(external: np.ndarray) -> torch.Tensor | list[str]:
    """External item ids as stored: an int64 tensor, or a list of str for text ids."""
    if external.dtype == object:
        return [str(v) for v in external.tolist()]
    return torch.from_numpy(np.asarray(external, dtype=np.int64).copy())


def _item_ids_from_payload(value: object) -> np.ndarray:
    """The stored item ids back as an id array (int64, or object of str); ``TypeError`` otherwise."""
    if isinstance(value, torch.Tensor):
        if value.dtype != torch.int64 or value.dim() != 1:
            raise TypeError(f"item_ids must be a 1-D int64 tensor, got {value.dtype} with shape {tuple(value.shape)}")
        return value.numpy()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        ids = np.empty(len(value), dtype=object)
        ids[:] = value
        return ids
    raise TypeError("item_ids must be an int64 tensor or a list of text ids")


def _check_finite(module: SASRec, path: Path) -> None:
    """Refuse weights holding NaN or infinity (the training that wrote them diverged)."""
    bad = [name for name, value in module.state_dict().items() if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        raise CheckpointError(
            f"'{path}' holds NaN or infinite weights ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}): the training "
            "that wrote it diverged; retrain with a lower learning rate"
        )


def save_checkpoint(model: TrainedModel, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``model`` to ``path`` atomically (an interrupted save leaves any old file intact)."""
    path = Path(path)
    payload = {
        "format": FORMAT_NAME,
        "version": 2 if model.item_map.text_ids else 1,
        "config": model.config.to_dict(),
        "filter_config": dict(model.filter_config),
        "item_ids": _item_ids_payload(model.item_map.external),
        "state_dict": {k: v.detach().cpu() for k, v in model.module.state_dict().items()},
        "history": model.history.to_dict(),
        "n_sequences": int(model.n_sequences),
        "device": str(model.device),
        "epochs_done": int(model.epochs_done),
        "data_fingerprint": str(model.data_fingerprint),
        "extra": dict(extra or {}),
    }
    features = getattr(model.module, "item_features", None)
    if features is not None:
        payload[ITEM_FEATURES_KEY] = features.to_payload()
    if model.training_state:
        payload[TRAINING_STATE_KEY] = _cpu_tensors(model.training_state)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise CheckpointError(f"Cannot save checkpoint: folder '{directory}' does not exist.")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as RuntimeError
        # name the target, never the temporary file the OS error is about
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"Cannot save checkpoint to '{path}': {reason[:200]}") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[TrainedModel, dict]:
    """Read a checkpoint onto the CPU; returns the model and the ``extra`` dict saved with it."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"'{path}' is a folder, not a checkpoint file (a .pt file written by train or the app).")
    if not path.is_file():
        raise CheckpointError(f"Checkpoint '{path}' does not exist.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt files; all mean 'unreadable'
        # torch's own text suggests weights_only=False, i.e. running code from the file: never shown
        raise CheckpointError(
            f"'{path}' is not a readable SASRec Studio checkpoint: it is truncated, corrupt or another kind of "
            f"file ({type(exc).__name__})."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"'{path}' is not a SASRec Studio checkpoint.")
    version = payload.get("version")
    if version not in READ_VERSIONS:
        raise CheckpointError(
            f"'{path}' has checkpoint format version {version}; this build reads versions "
            f"{', '.join(map(str, READ_VERSIONS))}."
        )
    try:
        config = SASRecConfig.from_dict(payload["config"])
        problems = config.errors()
        if payload.get("filter_config"):
            problems.update(FilterConfig.from_dict(payload["filter_config"]).errors())
        if problems:
            raise CheckpointError(
                f"'{path}' holds invalid settings ({'; '.join(f'{k}: {v}' for k, v in problems.items())}): "
                "it was edited or written by another program; retrain the model"
            )
        item_ids = _item_ids_from_payload(payload["item_ids"])
        module = SASRec(len(item_ids) - 1, config, _item_features(payload, config, path))
        module.load_state_dict(payload["state_dict"], strict=True)
        _check_finite(module, path)
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"'{path}' does not match the model it describes: {str(exc).splitlines()[0][:300]}") from exc
    module.eval()
    training_state = payload.get(TRAINING_STATE_KEY)
    if training_state is not None and not _valid_training_state(training_state):
        raise CheckpointError(
            f"'{path}' holds an unreadable training state (optimizer and random state): it was edited or written by "
            "another program; it can still be used after removing that part, or retrain the model"
        )
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
        training_state=training_state,
    )
    return model, dict(payload.get("extra", {}))


def _item_features(payload: dict, config: SASRecConfig, path: Path) -> ItemFeatures | None:
    """The stored item features, checked against ``config.item_features``; None for an ids-only model.
    Raises ``CheckpointError`` when the two disagree, ``ValueError`` for an unreadable payload."""
    stored = payload.get(ITEM_FEATURES_KEY)
    columns = parse_feature_columns(config.item_features)
    if stored is None:
        if columns:
            raise CheckpointError(
                f"'{path}' was trained with item features ({', '.join(columns)}) but holds no feature vocabulary: "
                "it was edited or written by another program; retrain the model")
        return None
    features = ItemFeatures.from_payload(stored)
    if features.columns != columns:
        raise CheckpointError(
            f"'{path}' holds item features of the columns {', '.join(features.columns)} but its settings name "
            f"{', '.join(columns) or 'none'}: it was edited or written by another program; retrain the model")
    return features


def _cpu_tensors(value: object) -> object:
    """``value`` (nested dicts of tensors and plain values) with every tensor on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _cpu_tensors(v) for k, v in value.items()}
    return value


def _valid_training_state(state: object) -> bool:
    """Whether ``state`` has the shape ``TrainedModel.training_state`` describes."""
    if not isinstance(state, dict) or not isinstance(state.get("optimizer"), dict) or not isinstance(state.get("rng", {}), dict):
        return False
    per_param = state["optimizer"].get("state", {})
    if not isinstance(per_param, dict):
        return False
    for index, values in per_param.items():
        if not isinstance(index, int) or not isinstance(values, dict):
            return False
        if not all(isinstance(values.get(name), torch.Tensor) for name in ("exp_avg", "exp_avg_sq")):
            return False
    return all(isinstance(v, (torch.Tensor, str)) for v in state.get("rng", {}).values())
