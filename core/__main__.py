"""Command-line interface: ``python -m core {demo-data,train,recommend,similar,evaluate,runs}``.

Errors exit with status 2 and a one-line message on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import DataError, SasrecError


def _add_train_args(p: argparse.ArgumentParser) -> None:
    from .config import SASRecConfig
    from .filters import FilterConfig

    d, f = SASRecConfig(), FilterConfig()
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--n-factors", type=int, default=d.n_factors)
    p.add_argument("--n-blocks", type=int, default=d.n_blocks)
    p.add_argument("--n-heads", type=int, default=d.n_heads)
    p.add_argument("--dropout", type=float, default=d.dropout_rate)
    p.add_argument("--no-pos-emb", action="store_true", help="disable the learnable positional embedding")
    p.add_argument("--session-maxlen", type=int, default=d.session_maxlen)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--loss", choices=["softmax", "bce", "gbce"], default=d.loss)
    p.add_argument("--n-negatives", type=int, default=d.n_negatives)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--deterministic", action="store_true")
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default=d.precision,
                   help="fp32 (default, exact), tf32 (CUDA matmuls) or bf16 (autocast)")
    p.add_argument("--no-cuda-graph", action="store_true",
                   help="on CUDA, run the training step eagerly instead of replaying a captured CUDA graph")
    p.add_argument("--min-total-dur", type=float, default=f.min_total_dur)
    p.add_argument("--min-item-freq", type=int, default=f.min_item_freq)
    p.add_argument("--min-user-interactions", type=int, default=f.min_user_interactions)
    p.add_argument("--format", choices=["auto", "kion", "movielens"], default="auto")
    p.add_argument("--holdout", choices=["none", "last", "time"], default="none",
                   help="hold out a test split, train on the rest and report validation metrics per epoch")
    p.add_argument("--test-days", type=int, default=7, help="test period of --holdout time")
    p.add_argument("--validate-every", type=int, default=1, help="validate every N epochs (with --holdout)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="SASRec Studio core: train and query SASRec models.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write KION-shaped demo CSVs")
    p.add_argument("out_dir")
    p.add_argument("--users", type=int, default=None)
    p.add_argument("--items", type=int, default=None)
    p.add_argument("--seed", type=int, default=42)

    p = sub.add_parser("train", help="train SASRec on a data folder and save a checkpoint")
    p.add_argument("data_dir")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    _add_train_args(p)

    for name, key, what in (("recommend", "user", "users"), ("similar", "item", "items")):
        p = sub.add_parser(name, help=f"top-k for {what} as CSV on stdout")
        p.add_argument("model")
        p.add_argument("--data", required=True, help="the data folder the model was trained on")
        p.add_argument("--format", choices=["auto", "kion", "movielens"], default="auto")
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument(f"--{key}", type=int, nargs="+", dest="ids")
        group.add_argument(f"--{what}-file", dest="ids_file", help=f"file with one {key} id per line")
        p.add_argument("--k", type=int, default=10)
        if name == "recommend":
            p.add_argument("--no-filter-viewed", action="store_true")
            p.add_argument("--skip-unknown", action="store_true",
                           help="leave out users the model cannot recommend for (listed on stderr) instead of failing")

    p = sub.add_parser("evaluate", help="metrics of a model and the popularity baseline on a held-out split")
    p.add_argument("model")
    p.add_argument("--data", required=True)
    p.add_argument("--format", choices=["auto", "kion", "movielens"], default="auto")
    p.add_argument("--split", choices=["last", "time"], default="last")
    p.add_argument("--test-days", type=int, default=7)
    p.add_argument("--k", type=int, nargs="+", default=[10])

    sub.add_parser("runs", help="list the run history")
    return parser


def _read_ids(path: str, what: str) -> list[int]:
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", file=str(file)) from exc
    except UnicodeDecodeError as exc:
        raise DataError("is not UTF-8 text", file=str(file)) from exc
    ids, bad = [], []
    for number, line in enumerate(lines, start=1):
        text = line.strip().split(",")[0].strip()
        if not text or (number == 1 and text in (f"{what}_id", "target_item_id")):
            continue
        try:
            ids.append(int(text))
        except ValueError:
            bad.append(number)
    if bad:
        raise DataError(f"{what} ids must be whole numbers", file=str(file), column=f"{what}_id", rows=bad)
    if not ids:
        raise DataError(f"no {what} ids found", file=str(file))
    return ids


def _progress_printer(stream=None):  # noqa: ANN001, ANN202
    from .train import EpochReport, StepReport

    stream = stream or sys.stderr

    def callback(event: StepReport | EpochReport) -> None:
        if isinstance(event, StepReport):
            print(
                f"epoch {event.epoch}/{event.epochs} step {event.step}/{event.steps_per_epoch} "
                f"loss {event.losses[-1]:.4f} {event.sequences_per_sec:,.0f} seq/s",
                file=stream, flush=True,
            )
        else:
            extra = "".join(f" {k} {v:.4f}" for k, v in event.metrics.items())
            print(f"epoch {event.epoch}/{event.epochs} done: mean loss {event.mean_loss:.4f} in {event.seconds:.1f} s{extra}", file=stream, flush=True)

    return callback


def cmd_demo_data(args: argparse.Namespace) -> int:
    from . import demo

    kwargs = {"seed": args.seed}
    if args.users is not None:
        kwargs["n_users"] = args.users
    if args.items is not None:
        kwargs["n_items"] = args.items
    out = demo.write_demo(args.out_dir, **kwargs)
    print(f"wrote demo data to {out}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .checkpoint import save_checkpoint
    from .config import SASRecConfig
    from .data import load_folder
    from .filters import FilterConfig, apply_filters
    from .train import fit

    config = SASRecConfig(
        n_factors=args.n_factors, n_blocks=args.n_blocks, n_heads=args.n_heads, dropout_rate=args.dropout,
        use_pos_emb=not args.no_pos_emb, session_maxlen=args.session_maxlen, lr=args.lr,
        batch_size=args.batch_size, epochs=args.epochs, loss=args.loss, n_negatives=args.n_negatives,
        device=args.device, seed=args.seed, deterministic=args.deterministic, precision=args.precision,
        cuda_graph=not args.no_cuda_graph,
    )
    filters = FilterConfig(min_total_dur=args.min_total_dur, min_item_freq=args.min_item_freq, min_user_interactions=args.min_user_interactions)
    config.validate()
    filters.validate()
    rank, world = _init_distributed(config)
    if rank != 0:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - only rank 0 reports
    start = time.perf_counter()
    data = load_folder(args.data_dir, fmt=args.format)
    filtered = apply_filters(data.interactions, filters)
    for step in filtered.steps:
        print(f"{step.name}: {step.rows:,} rows, {step.users:,} users, {step.items:,} items", file=sys.stderr)
    train_df, validator, holdout = filtered.interactions, None, {}
    if args.holdout != "none":
        from .evaluate_model import make_split, make_validator

        split = make_split(filtered.interactions, args.holdout, args.test_days)
        train_df, validator = split.train, make_validator(split)
        holdout = {"split": args.holdout, "test_days": args.test_days}
        print(f"holding out {split.describe()}", file=sys.stderr)
    try:
        result = fit(train_df, config, callback=_progress_printer(), report_every=1.0, filter_config=filters.to_dict(),
                     validator=validator if rank == 0 else None, validate_every=args.validate_every)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    assert result.model is not None
    if rank != 0:
        return 0
    extra = {"data_dir": str(Path(args.data_dir).resolve()), "format": data.format, "holdout": holdout}
    from .runs import data_fingerprint

    result.model.data_fingerprint = data_fingerprint(filtered.interactions)
    save_checkpoint(result.model, args.out, extra=extra)
    model = result.model
    _record_run(model, result.seconds, filtered.interactions, str(Path(args.data_dir).resolve()), str(Path(args.out).resolve()))
    print(
        f"trained {model.epochs_done} epoch(s) on {model.n_sequences:,} sequences, {model.item_map.n_items:,} items "
        f"on {model.device} in {result.seconds:.1f} s (total {time.perf_counter() - start:.1f} s); "
        f"final loss {model.history.epoch_losses[-1]:.4f}; saved {args.out}",
        file=sys.stderr,
    )
    return 0


def _init_distributed(config) -> tuple[int, int]:  # noqa: ANN001
    """Under torchrun (WORLD_SIZE > 1): join the process group (NCCL on CUDA, else gloo) and
    pin this rank's device. Returns (rank, world size)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    from .errors import TrainingError
    from .train import resolve_device

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(config.device)
    if device.type == "cuda":
        config.device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if os.environ.get("SASREC_STUDIO_FAIL_RANK") == str(rank):  # fault injection for tests
        raise TrainingError(f"rank {rank} failed on purpose (SASREC_STUDIO_FAIL_RANK)")
    return rank, world


def _record_run(model, seconds: float, interactions, source: str, checkpoint: str) -> None:  # noqa: ANN001
    from .runs import RunRecord, RunStore, RunStoreError, data_fingerprint

    metrics = next((m for m in reversed(model.history.epoch_metrics) if m), {})
    record = RunRecord(
        config=model.config.to_dict(), filter_config=model.filter_config, data_fingerprint=model.data_fingerprint or data_fingerprint(interactions),
        data_source=source, history=model.history.to_dict(), metrics=metrics, device=model.device, seconds=seconds,
        checkpoint_path=checkpoint,
    )
    try:
        run_id = RunStore.default().add(record)
        print(f"recorded as run {run_id}", file=sys.stderr)
    except RunStoreError as exc:
        print(f"warning: {exc} (the run is kept and will be written next time)", file=sys.stderr)


def _load_for_query(args: argparse.Namespace):  # noqa: ANN202
    from .checkpoint import load_checkpoint
    from .data import load_folder
    from .model_data import check_data_match, filter_for_model
    from .recommend import Recommender
    from .sequences import UserHistories

    model, _extra = load_checkpoint(args.model)
    data = load_folder(args.data, fmt=args.format)
    filtered = filter_for_model(model, data.interactions).interactions
    warning = check_data_match(model, filtered).warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return data, Recommender(model, UserHistories.from_interactions(filtered))


def _write_csv(frame, columns: Sequence[str]) -> None:  # noqa: ANN001
    for col in columns:
        if col not in frame.columns:
            frame[col] = ""
    frame[list(columns)].to_csv(sys.stdout, index=False, lineterminator="\n")


def cmd_recommend(args: argparse.Namespace) -> int:
    from .recommend import with_titles

    ids = args.ids or _read_ids(args.ids_file, "user")
    data, recommender = _load_for_query(args)
    recs = recommender.recommend(ids, k=args.k, filter_viewed=not args.no_filter_viewed, skip_unknown=args.skip_unknown)
    skipped = recs.attrs.get("skipped_users", [])
    if skipped:
        shown = ", ".join(map(str, skipped[:10])) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
        print(f"skipped {len(skipped)} user(s) the model cannot recommend for: {shown}", file=sys.stderr)
    _write_csv(with_titles(recs, data.items, ["title"]), ["user_id", "item_id", "score", "rank", "title"])
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from .recommend import with_titles

    ids = args.ids or _read_ids(args.ids_file, "item")
    data, recommender = _load_for_query(args)
    recs = recommender.similar(ids, k=args.k)
    _write_csv(with_titles(recs, data.items, ["title"]), ["target_item_id", "item_id", "score", "rank", "title"])
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate_model import evaluate_checkpoint

    table = evaluate_checkpoint(args.model, args.data, fmt=args.format, split=args.split, test_days=args.test_days, ks=args.k)
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from .runs import RunStore

    table = RunStore.default().table()
    if table.empty:
        print("no runs recorded yet")
    else:
        print(table.to_string(index=False))
    return 0


COMMANDS = {
    "demo-data": cmd_demo_data, "train": cmd_train, "recommend": cmd_recommend,
    "similar": cmd_similar, "evaluate": cmd_evaluate, "runs": cmd_runs,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SasrecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
