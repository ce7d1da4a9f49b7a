"""Command-line interface: ``python -m core {demo-data,train,recommend,similar,evaluate,runs}``.

Errors exit with status 2 and a one-line message on stderr, never a traceback; option values
are checked before any work. Ctrl-C during ``train`` stops after the current step, saves the
last completed epoch's model and exits 130.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigError, DataError, SasrecError

#: Upper bounds of options that would otherwise only fail (or allocate without end) deep in the work.
MAX_K = 100_000
MAX_TEST_DAYS = 36_500
MAX_DEMO_USERS, MAX_DEMO_ITEMS, MIN_DEMO_ITEMS = 10_000_000, 1_000_000, 20


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _int_in(low: int, high: int | None = None):  # noqa: ANN202
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def _add_train_args(p: argparse.ArgumentParser) -> None:
    """One option per hyperparameter, filter and hold-out setting, generated from their
    declarations (``core.schema``): help text and default in ``--help``."""
    from .cli_settings import add_setting_options
    from .config import HoldoutConfig, SASRecConfig
    from .filters import FilterConfig

    for cls in (SASRecConfig, FilterConfig, HoldoutConfig):
        add_setting_options(p, cls)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    """The options that say how to read the data (every subcommand that reads data)."""
    from .load import FORMATS

    g = p.add_argument_group("data format")
    g.add_argument("--format", choices=list(FORMATS), default="auto",
                   help="auto (default: KION, MovieLens or SASRec, from the files), kion, movielens, sasrec "
                        "('user item' per line, in time order) or csv (any log: give the columns below)")
    g.add_argument("--date-format", default=None, metavar="FMT",
                   help="how the time column is written, when it cannot be inferred: iso, dayfirst, monthfirst, "
                        "unix_s, unix_ms or a pattern such as %%d.%%m.%%Y (default: inferred from all values)")
    g.add_argument("--user-col", default=None, metavar="C",
                   help="--format csv: the user id column (its header name, or 0-based position with --no-header)")
    g.add_argument("--item-col", default=None, metavar="C", help="--format csv: the item id column")
    g.add_argument("--time-col", default=None, metavar="C",
                   help="--format csv: the time column (dates, or unix seconds/milliseconds)")
    g.add_argument("--weight-col", default=None, metavar="C",
                   help="--format csv: an optional column of interaction weights (default weight 1)")
    g.add_argument("--no-header", action="store_true",
                   help="--format csv: the file has no header line; columns are 0-based positions")
    g.add_argument("--sep", default=None, metavar="S",
                   help="--format csv: the separator, one character or comma, semicolon, tab, pipe, whitespace "
                        "(default: guessed from the first lines)")


def _load_options(args: argparse.Namespace):  # noqa: ANN202 - core.load.LoadOptions
    """The checked ``LoadOptions`` of the data options in ``args``; raises ``DataError``."""
    from .load import CsvMapping, LoadOptions

    cols = {"user": args.user_col, "item": args.item_col, "time": args.time_col}
    mapping = None
    if any(v is not None for v in cols.values()) or args.weight_col is not None or args.no_header or args.sep:
        missing = [f"--{role}-col" for role, col in cols.items() if col is None]
        if missing:
            raise DataError(
                f"{' and '.join(missing)} missing: a column mapping (--format csv) needs --user-col, --item-col "
                "and --time-col"
            )
        mapping = CsvMapping(user=args.user_col, item=args.item_col, time=args.time_col, weight=args.weight_col,
                             header=not args.no_header, sep=args.sep)
    options = LoadOptions(fmt=args.format, date_format=args.date_format, mapping=mapping)
    options.validate()
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="SASRec Studio core: train and query SASRec models.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write KION-shaped demo CSVs")
    p.add_argument("out_dir")
    p.add_argument("--users", type=_int_in(1, MAX_DEMO_USERS), default=None)
    p.add_argument("--items", type=_int_in(MIN_DEMO_ITEMS, MAX_DEMO_ITEMS), default=None)
    p.add_argument("--seed", type=_int_in(0, (1 << 64) - 1), default=42)
    p.add_argument("--overwrite", action="store_true",
                   help="replace interactions.csv, items_en.csv and users_en.csv when out_dir already has them")

    p = sub.add_parser("train", help="train SASRec on a data folder and save a checkpoint")
    p.add_argument("data_dir", help="the data: a folder, a zip archive (such as KION's data_en.zip) or a file")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    _add_train_args(p)
    _add_data_args(p)

    for name, key, what in (("recommend", "user", "users"), ("similar", "item", "items")):
        p = sub.add_parser(name, help=f"top-k for {what} as CSV on stdout")
        p.add_argument("model")
        p.add_argument("--data", required=True, help="the data (folder, zip archive or file) the model was trained on")
        _add_data_args(p)
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument(f"--{key}", nargs="+", dest="ids", metavar="ID",
                           help=f"{key} ids as written in the data (whole numbers or text)")
        group.add_argument(f"--{what}-file", dest="ids_file", help=f"file with one {key} id per line")
        p.add_argument("--k", type=_int_in(1, MAX_K), default=10)
        if name == "recommend":
            p.add_argument("--no-filter-viewed", action="store_true")
            p.add_argument("--skip-unknown", action="store_true",
                           help="leave out users the model cannot recommend for (listed on stderr) instead of failing")

    p = sub.add_parser("evaluate", help="metrics of a model and the popularity baseline on a held-out split")
    p.add_argument("model")
    p.add_argument("--data", required=True, help="the data (folder, zip archive or file) to evaluate on")
    _add_data_args(p)
    p.add_argument("--split", choices=["last", "time"], default="last")
    p.add_argument("--test-days", type=_int_in(1, MAX_TEST_DAYS), default=7)
    p.add_argument("--k", type=_int_in(1, MAX_K), nargs="+", default=[10])

    sub.add_parser("runs", help="list the run history")
    return parser


def _read_ids(path: str, what: str) -> list[tuple[str, int]]:
    """The ids of an ids file as text, each with its 1-based line number.

    One id per line: the line's first comma-separated field (CSV quoting understood, so a
    ``recommend``/``similar`` output can be fed back), surrounding spaces removed. Blank
    lines and a header on line 1 (``user_id``, ``item_id``, ``target_item_id``) are skipped.
    Raises ``DataError`` when the file cannot be read or holds no id.
    """
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", file=str(file)) from exc
    except UnicodeDecodeError as exc:
        raise DataError("is not UTF-8 text", file=str(file)) from exc
    ids: list[tuple[str, int]] = []
    for number, line in enumerate(lines, start=1):
        fields = next(csv.reader([line]), [""]) if line.strip() else [""]
        text = (fields[0] if fields else "").strip()
        if not text or (number == 1 and text in (f"{what}_id", "target_item_id")):
            continue
        ids.append((text, number))
    if not ids:
        raise DataError(f"no {what} ids found", file=str(file))
    return ids


def _query_ids(args: argparse.Namespace, what: str, like: object) -> list[int | str]:
    """``--user``/``--item`` values (as given) or the ids file's ids in the kind of ``like``
    (the data's user ids, the model's item ids): text stays text; for whole-number ids each
    value must be a whole number that fits in 64 bits, else ``ConfigError`` naming the
    option or ``DataError`` naming the file and lines. Returns ints or strs."""
    from .ids import is_text_ids, parse_id

    kind = "text" if is_text_ids(like) else "int"
    entries = [(v, 0) for v in args.ids] if args.ids_file is None else args.file_ids
    out, bad = [], []
    for text, line in entries:
        try:
            out.append(parse_id(text, kind))
        except ValueError as exc:
            bad.append((text, line, str(exc)))
    if bad:
        text, _line, reason = bad[0]
        owner = "data's user" if what == "user" else "model's item"
        problem = f"{text!r} {reason} (the {owner} ids are whole numbers)"
        if args.ids_file is None:
            raise ConfigError({what: problem})  # shown as --user / --item
        raise DataError(f"{what} id {problem}", file=args.ids_file, column=f"{what}_id", rows=[b[1] for b in bad])
    return out


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
    from .out_path import check_output_folder

    check_output_folder(args.out_dir)
    present = [name for name in demo.DEMO_FILES if (Path(args.out_dir) / name).exists()]
    if present and not args.overwrite:  # never write over someone's data by accident
        raise DataError(f"already holds {', '.join(present)}; choose an empty folder or add --overwrite", file=args.out_dir)
    kwargs = {"seed": args.seed}
    if args.users is not None:
        kwargs["n_users"] = args.users
    if args.items is not None:
        kwargs["n_items"] = args.items
    out = demo.write_demo(args.out_dir, **kwargs)
    print(f"wrote demo data to {out}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train with the shared pipeline (``core.experiment``), save ``--out``, record the run."""
    from . import __version__, experiment
    from .cli_settings import settings_from_args
    from .config import HoldoutConfig, SASRecConfig
    from .errors import CheckpointError
    from .filters import FilterConfig
    from .schema import validate_all
    from .load import load_data
    from .runs import RunStore

    config = settings_from_args(SASRecConfig, args)
    filters = settings_from_args(FilterConfig, args)
    holdout_settings = settings_from_args(HoldoutConfig, args)
    validate_all(config, filters, holdout_settings)  # every bad option in one line, before any work
    load_options = _load_options(args)
    from .out_path import check_checkpoint_target
    from .train import resolve_device

    resolve_device(config.device)  # before any work: a device that is not there
    check_checkpoint_target(args.out, [args.data_dir])  # never trained in vain, never over an input
    rank, world = _init_distributed(config)
    if rank != 0:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - only rank 0 reports
    start = time.perf_counter()
    data = load_data(args.data_dir, load_options)
    holdout = holdout_settings.to_holdout()
    exp = experiment.Experiment(config, filters, holdout, str(Path(args.data_dir).resolve()), data.format)
    filtered = experiment.filter_data(data, filters)
    for step in filtered.steps:
        print(f"{step.name}: {step.rows:,} rows, {step.users:,} users, {step.items:,} items", file=sys.stderr)
    reported = experiment.ReportedHistory(_progress_printer())
    try:
        with _ctrl_c_stops_training(world) as stop:
            outcome = experiment.train(
                filtered.interactions, exp, callback=reported, should_stop=stop.is_set, report_every=1.0,
                validate=rank == 0, on_split=lambda split: print(f"holding out {split.describe()}", file=sys.stderr),
            )
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    if rank != 0:
        return 0
    result, model = outcome.result, outcome.result.model
    record = experiment.run_record(
        exp, status=outcome.status, history=model.history if model is not None else reported.history,
        seconds=result.seconds, device=model.device if model is not None else config.device,
        steps_per_epoch=reported.steps_per_epoch, data_fingerprint=outcome.data_fingerprint,
    )
    store = RunStore.default(busy_timeout=1.0 if result.cancelled else None)  # after Ctrl-C: keep it pending, not wait
    recorded = experiment.record_run(
        record, store, model=model, checkpoint_path=args.out if model is not None else None,
        extra=experiment.checkpoint_extra(exp, app=f"python -m core {__version__}"),
    )
    if recorded.run_id is not None:
        print(f"recorded as run {recorded.run_id} ({record.status})", file=sys.stderr)
    else:
        print(f"warning: {_one_line(recorded.store_error)}", file=sys.stderr)
    if recorded.checkpoint_error:  # the run itself is recorded above, without a checkpoint
        raise CheckpointError(recorded.checkpoint_error)
    if model is None:  # Ctrl-C before the first epoch ended
        print("stopped before the first epoch ended: there is no model to save", file=sys.stderr)
        return 130
    if result.cancelled:
        print(f"stopped by Ctrl-C: saved the model of epoch {model.epochs_done} (the last completed one) to {args.out}", file=sys.stderr)
        return 130
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


def _ctrl_c_stops_training(world: int):  # noqa: ANN202
    """A context yielding an event that the first Ctrl-C sets (``fit`` then stops within one
    step). Under torchrun (``world`` > 1) Ctrl-C interrupts as usual: ranks polling their own
    flag would stop at different steps and hang the collective."""
    import contextlib
    import threading

    from .interrupt import stop_on_sigint

    if world > 1:
        return contextlib.nullcontext(threading.Event())
    return stop_on_sigint(lambda: print("stopping after the current step (Ctrl-C again to abort)", file=sys.stderr, flush=True))


def _load_for_query(args: argparse.Namespace):  # noqa: ANN202
    from .checkpoint import load_checkpoint
    from .load import load_data
    from .model_data import check_data_match, filter_for_model
    from .recommend import Recommender
    from .sequences import UserHistories

    load_options = _load_options(args)
    model, _extra = load_checkpoint(args.model)
    data = load_data(args.data, load_options)
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
    from .errors import UnknownUserError
    from .recommend import with_titles

    # read once, before loading anything: an unreadable file fails at once, and a pipe
    # (--users-file /dev/stdin) is not read twice
    args.file_ids = _read_ids(args.ids_file, "user") if args.ids_file is not None else None
    data, recommender = _load_for_query(args)
    ids = _query_ids(args, "user", recommender.histories.user_ids)
    try:
        recs = recommender.recommend(ids, k=args.k, filter_viewed=not args.no_filter_viewed, skip_unknown=args.skip_unknown)
    except UnknownUserError as exc:
        raise UnknownUserError(f"{exc} Add --skip-unknown to leave out the users the model cannot recommend for.") from None
    skipped = recs.attrs.get("skipped_users", [])
    if skipped:
        shown = ", ".join(map(str, skipped[:10])) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
        print(f"skipped {len(skipped)} user(s) the model cannot recommend for: {shown}", file=sys.stderr)
    _write_csv(with_titles(recs, data.items, ["title"]), ["user_id", "item_id", "score", "rank", "title"])
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from .recommend import with_titles

    args.file_ids = _read_ids(args.ids_file, "item") if args.ids_file is not None else None  # read once
    data, recommender = _load_for_query(args)
    ids = _query_ids(args, "item", recommender.item_map.external)
    recs = recommender.similar(ids, k=args.k)
    _write_csv(with_titles(recs, data.items, ["title"]), ["target_item_id", "item_id", "score", "rank", "title"])
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate_model import evaluate_checkpoint

    table = evaluate_checkpoint(args.model, args.data, options=_load_options(args), split=args.split, test_days=args.test_days, ks=args.k)
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from .runs import RunStore

    store = RunStore.default()
    try:
        store.flush_pending()  # runs kept while the history could not be written
    except SasrecError:
        pass  # reading below reports the same problem
    table = store.table()
    if table.empty:
        print("no runs recorded yet")
    else:
        print(table.to_string(index=False))
    return 0


COMMANDS = {
    "demo-data": cmd_demo_data, "train": cmd_train, "recommend": cmd_recommend,
    "similar": cmd_similar, "evaluate": cmd_evaluate, "runs": cmd_runs,
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _config_message(exc: ConfigError) -> str:
    """A ``ConfigError`` in the CLI's terms: each field as the option that sets it."""
    from .cli_settings import option_of_field

    return "; ".join(f"{option_of_field(f)}: {m}" for f, m in exc.errors.items())


def _unexpected(exc: BaseException, command: str) -> str:
    from .train import is_out_of_memory

    if is_out_of_memory(exc):
        knobs = {"train": "--batch-size, --session-maxlen or --n-factors", "demo-data": "--users"}.get(
            command, "fewer ids per call, a smaller --k, or a smaller data set")
        return f"out of memory during {command}: free memory or lower {knobs}"
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return (f"unexpected {type(exc).__name__} during {command}: {first} (a bug: please report it; "
            "set SASREC_STUDIO_DEBUG=1 to see the traceback)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status: 0, 2 for any error (one line on stderr, never a
    traceback), 130 after Ctrl-C, 141 when the reader of stdout went away. Usage errors are one
    line too and return 2; --help returns 0. ``SASREC_STUDIO_DEBUG=1`` re-raises unexpected errors."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported in one line
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        message = _config_message(exc)
    except SasrecError as exc:
        message = str(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (``... | head``): stop quietly, as Unix tools do
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes stdout
        except (OSError, ValueError):
            pass
        return 141
    except OSError as exc:
        message = f"{exc.strerror}: '{exc.filename}'" if exc.strerror and exc.filename else str(exc) or type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - memory exhaustion, and bugs: still one line, no traceback
        if os.environ.get("SASREC_STUDIO_DEBUG"):
            raise
        message = _unexpected(exc, args.command)
    print(f"error: {_one_line(message)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
