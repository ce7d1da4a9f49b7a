"""Command-line interface: ``python -m core {demo-data,train,sweep,recommend,similar,evaluate,report,runs}``.

Errors exit with status 2 and a one-line message on stderr, never a traceback; option values
are checked before any work. Ctrl-C during ``train`` stops after the current step, saves the
last completed epoch's model (the best one with early stopping) and exits 130; during
``sweep`` it stops the current trial, keeps the finished ones and exits 130.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, DataError, SasrecError

if TYPE_CHECKING:
    import pandas as pd

    from .config import SASRecConfig

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

    from .presets import describe, preset_names

    for cls in (SASRecConfig, FilterConfig, HoldoutConfig):
        add_setting_options(p, cls)
    p.add_argument("--preset", choices=preset_names(), default=None,
                   help="start from a named set of hyperparameters, then apply the options given explicitly: "
                        + "; ".join(describe(name) for name in preset_names()).replace("%", "%%"))


def _model_settings(args: argparse.Namespace) -> SASRecConfig:
    """The hyperparameters of ``train``/``sweep``: the options, or with ``--preset`` the
    preset's values under the options given explicitly (``core.presets.preset_config``)."""
    from .cli_settings import settings_from_args
    from .config import SASRecConfig
    from .presets import preset_config

    if getattr(args, "preset", None) is None:
        return settings_from_args(SASRecConfig, args)
    return preset_config(args.preset, _explicit_settings(args.argv))


def _fit_features(config: SASRecConfig, args: argparse.Namespace, items: pd.DataFrame | None) -> SASRecConfig:
    """A preset's item-feature columns that the data's items table lacks are left out, with a
    note on stderr (explicit ``--item-features`` are kept: training then names what is missing)."""
    from .presets import fit_to_items

    if getattr(args, "preset", None) is None:
        return config
    columns = None if items is None else [c for c in items.columns if c != "item_id"]
    config, note = fit_to_items(config, columns, _explicit_settings(args.argv))
    if note:
        print(f"note: {note}", file=sys.stderr)
    return config


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
    p.add_argument("--resume", default=None, metavar="MODEL",
                   help="continue this checkpoint for --epochs more epochs (its weights, Adam state and curves); its "
                        "settings, filters and hold-out apply except the options given (such as --lr); the data must "
                        "have its catalog")
    _add_train_args(p)
    _add_data_args(p)

    p = sub.add_parser("sweep", help="train many configurations on one split, each a run under one sweep id")
    p.add_argument("data_dir", help="the data: a folder, a zip archive or a file")
    p.add_argument("--out-dir", required=True, help="folder for the trials' checkpoints (trial-001.pt, ...; created)")
    p.add_argument("--param", action="append", required=True, metavar="NAME=V1,V2|NAME=LOW:HIGH[:log]",
                   help="a hyperparameter to vary: a list of values, or a range of a number (log: drawn "
                        "log-uniformly); repeat for several, e.g. --param lr=1e-4:1e-2:log --param n_factors=32,64")
    p.add_argument("--trials", type=_int_in(1, 10_000), default=None,
                   help="how many configurations to train (default for grid: every combination)")
    p.add_argument("--sampler", choices=["grid", "random", "tpe"], default=None,
                   help="grid: every combination of the lists in order; random; tpe: Optuna's Bayesian search "
                        "(default: grid when every --param is a list, else tpe)")
    p.add_argument("--prune-after", type=_int_in(1, 10_000), default=2, metavar="N",
                   help="a trial whose best value so far is below the median of the finished trials at the same "
                        "validation is stopped, from its N-th validation on, once 2 trials have finished (default 2)")
    p.add_argument("--no-prune", action="store_true", help="never prune: every trial runs until it ends or stops early")
    _add_train_args(p)
    p.set_defaults(holdout="last")
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
            group.add_argument("--history", nargs="+", metavar="ITEM",
                               help="a what-if session: item ids, oldest first; prints its top-k (user_id 'what-if'); "
                                    "items the model does not know are named on stderr and skipped")
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

    p = sub.add_parser("report", help="write one self-contained HTML report of runs from the run history")
    p.add_argument("run_ids", nargs="+", type=_int_in(1), metavar="RUN_ID", help="run ids as 'python -m core runs' lists them")
    p.add_argument("--out", required=True, help="the HTML file to write (charts embedded; it needs no network)")
    p.add_argument("--k", type=_int_in(1, MAX_K), default=10, help="list length for runs without a hold-out (else the hold-out's k)")
    p.add_argument("--examples", type=_int_in(0, 20), default=4, help="example users per run (default 4)")
    p.add_argument("--strict", action="store_true",
                   help="fail when a run's checkpoint or data is missing instead of leaving those sections out")

    p = sub.add_parser("runs", help="list the run history")
    p.add_argument("--sweep", default=None, metavar="ID", help="only the runs of this sweep")
    p.add_argument("--csv", action="store_true", help="write the table as CSV to stdout")
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
            if event.val_loss is not None:
                extra += f" val_loss {event.val_loss:.4f}"
            if event.is_best:
                extra += " (best so far)"
            elif event.best_epoch:
                extra += f" (best: epoch {event.best_epoch})"
            print(f"epoch {event.epoch}/{event.epochs} done: mean loss {event.mean_loss:.4f} in {event.seconds:.1f} s{extra}", file=stream, flush=True)
            if event.stopping:
                print(f"early stopping after epoch {event.epoch}: no improvement since epoch {event.best_epoch}",
                      file=stream, flush=True)

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
    """Train with the shared pipeline (``core.experiment``), save ``--out``, record the run.

    With ``--resume MODEL`` the run continues that checkpoint (``core.resume``): its settings,
    filters and hold-out apply except the options given explicitly."""
    from . import __version__, experiment
    from .cli_settings import settings_from_args
    from .config import HoldoutConfig, SASRecConfig
    from .errors import CheckpointError
    from .filters import FilterConfig
    from .schema import validate_all
    from .load import load_data
    from .runs import RunStore

    resume = None
    if args.resume is not None:
        from .resume import load_resume, resumed_settings

        _check_not_resumed_over(args.out, args.resume)
        resume = load_resume(args.resume, RunStore.default())
        if args.preset is not None:
            raise ConfigError({"preset": "a continued run keeps its checkpoint's settings; give single options to change them"})
        config, filters, holdout_settings = resumed_settings(resume, _explicit_settings(args.argv))
    else:
        config = _model_settings(args)
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
    for note in data.notes:  # what loading decided (unix milliseconds, made-up times, dropped rows)
        print(f"note: {note}", file=sys.stderr)
    config = _fit_features(config, args, data.items)
    holdout = holdout_settings.to_holdout()
    if resume is None:  # a continued run keeps its checkpoint's item features
        from .item_features import check_feature_columns

        check_feature_columns(data.items, config.item_features)  # --item-features, before any work
    exp = experiment.Experiment(config, filters, holdout, str(Path(args.data_dir).resolve()), data.format, resume,
                                items=data.items)
    filtered = experiment.filter_data(data, filters)
    for step in filtered.steps:
        print(f"{step.name}: {step.rows:,} rows, {step.users:,} users, {step.items:,} items", file=sys.stderr)
    if resume is not None:
        _announce_resume(resume, filtered.interactions, config.epochs)
    if holdout is not None:
        print(holdout.early_stopping().describe(), file=sys.stderr)
    reported = experiment.ReportedHistory(_progress_printer())
    try:
        with _ctrl_c_stops_training(world) as stop:
            outcome = experiment.train(
                filtered.interactions, exp, callback=reported, should_stop=stop.is_set, report_every=1.0,
                validate=rank == 0, on_split=lambda split: print(f"holding out {split.describe()}", file=sys.stderr),
                on_protocol=lambda protocol: print(f"validation protocol: {protocol.describe()}", file=sys.stderr),
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
        steps_per_epoch=reported.steps_per_epoch, data_fingerprint=outcome.data_fingerprint, protocol=outcome.protocol,
    )
    store = RunStore.default(busy_timeout=1.0 if result.cancelled else None)  # after Ctrl-C: keep it pending, not wait
    recorded = experiment.record_run(
        record, store, model=model, checkpoint_path=args.out if model is not None else None,
        extra=experiment.checkpoint_extra(exp, app=f"python -m core {__version__}"),
    )
    if recorded.run_id is not None:
        parent = f", continuing run {record.parent_run_id}" if record.parent_run_id is not None else ""
        print(f"recorded as run {recorded.run_id} ({record.status}{parent})", file=sys.stderr)
    else:
        print(f"warning: {_one_line(recorded.store_error)}", file=sys.stderr)
    if recorded.checkpoint_error:  # the run itself is recorded above, without a checkpoint
        raise CheckpointError(recorded.checkpoint_error)
    if model is None:  # Ctrl-C before the first epoch ended
        print("stopped before the first epoch ended: there is no model to save", file=sys.stderr)
        return 130
    history = model.history
    if result.cancelled:
        which = "the best one" if model.kept_epoch != model.epochs_done else "the last completed one"
        print(f"stopped by Ctrl-C: saved the model of epoch {model.kept_epoch} ({which}) to {args.out}", file=sys.stderr)
        return 130
    kept = ""
    if history.best_epoch:
        best = " ".join(f"{k} {v:.4f}" for k, v in history.best_metrics.items())
        kept = (f"; kept the best epoch, {model.kept_epoch}" if model.kept_epoch != model.epochs_done
                else f"; best epoch {history.best_epoch}") + f" ({best})"
    trained = f"{model.epochs_done} epoch(s)"
    if history.resumed_after:
        trained = f"{model.epochs_done - history.resumed_after} more epoch(s) ({model.epochs_done} in all)"
    print(
        f"trained {trained} on {model.n_sequences:,} sequences, {model.item_map.n_items:,} items "
        f"on {model.device} in {result.seconds:.1f} s (total {time.perf_counter() - start:.1f} s); "
        f"final loss {history.epoch_losses[-1]:.4f}{kept}; saved {args.out}",
        file=sys.stderr,
    )
    return 0


def _explicit_settings(argv: Sequence[str]) -> dict:
    """The settings given explicitly on ``argv`` (``{field: value}``), parsed as ``train``
    parses them: what a resumed run changes from its checkpoint."""
    from .cli_settings import add_setting_options
    from .config import HoldoutConfig, SASRecConfig
    from .filters import FilterConfig
    from .schema import settings_of

    parser = _Parser(prog="python -m core train", add_help=False)
    names: list[str] = []
    for cls in (SASRecConfig, FilterConfig, HoldoutConfig):
        add_setting_options(parser, cls)
        names += list(settings_of(cls))
    for action in parser._actions:  # noqa: SLF001 - argparse has no public way to list them
        if action.dest in names:
            action.default = argparse.SUPPRESS  # an option not given leaves no attribute
    given, _rest = parser.parse_known_args(list(argv)[1:])
    return vars(given)


def _check_not_resumed_over(out: str, resumed: str) -> None:
    """``--out`` must be a new file: the parent run's checkpoint stays as it was."""
    from .errors import CheckpointError

    try:
        same = Path(out).exists() and os.path.samefile(out, resumed)
    except OSError:
        same = False
    if same:
        raise CheckpointError(f"--out '{out}' is the checkpoint given to --resume; write the continued model to a new file")


def _announce_resume(resume, interactions, epochs: int) -> None:  # noqa: ANN001
    """Check the data against the checkpoint (``core.resume.check_resume_data``) and say what continues."""
    from .resume import check_resume_data

    warning = check_resume_data(resume, interactions)
    if warning:
        print(f"warning: {_one_line(warning)}", file=sys.stderr)
    parent = f" (run {resume.parent_run_id})" if resume.parent_run_id is not None else ""
    print(f"continuing '{resume.checkpoint}'{parent} after epoch {resume.epoch} for {epochs} more epoch(s)", file=sys.stderr)
    if not resume.has_optimizer_state:
        print("warning: the checkpoint holds no optimizer state (it was saved by an older version): Adam starts anew",
              file=sys.stderr)


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

    if args.history is not None:
        return _recommend_session(args)
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


def _recommend_session(args: argparse.Namespace) -> int:
    """``recommend --history``: the top-k of a what-if session; unknown items named on stderr."""
    from .recommend import with_titles

    if args.skip_unknown:
        raise ConfigError({"skip_unknown": "applies to --user and --users-file; --history skips unknown items anyway"})
    data, recommender = _load_for_query(args)
    recs = recommender.recommend_session(args.history, k=args.k, filter_viewed=not args.no_filter_viewed)
    unknown = recs.attrs.get("unknown_items", [])
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        print(f"skipped {len(unknown)} item(s) of --history the model does not know: {shown}", file=sys.stderr)
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

    from .evaluate_model import metric_groups

    table = evaluate_checkpoint(args.model, args.data, options=_load_options(args), split=args.split, test_days=args.test_days, ks=args.k)
    accuracy, beyond = metric_groups(table)
    if table.attrs.get("protocol"):
        print(f"measured: {table.attrs['protocol']}")
    print(accuracy.to_string(float_format=lambda v: f"{v:.4f}"))
    print()
    side_by_side = beyond.T.rename_axis("beyond accuracy", axis=0).rename_axis(None, axis=1)
    print(side_by_side.to_string(float_format=lambda v: f"{v:.4f}" if v == 0 or not abs(v) < 5e-5 else f"{v:.1e}"))
    print("\nNovelty in bits; ILD_genre: Jaccard distance of genre sets, ILD_emb: cosine distance of SASRec's item "
          "embeddings (both rows); Serendipity as RecTools defines it; PopShare: share of the top-k in the popularity "
          "top-k (definitions: README, 'Beyond accuracy')")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of ``args.run_ids``; sections that cannot be made are named on stderr."""
    from .report import write_report

    report = write_report(args.run_ids, args.out, k=args.k, n_examples=args.examples, strict=args.strict,
                          progress=lambda text: print(text, file=sys.stderr, flush=True))
    for note in report.notes:
        print(f"warning: {_one_line(note)}", file=sys.stderr)
    print(f"wrote {args.out} ({len(report.runs)} run(s))", file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """Print the run history's table (``core.runs.runs_table``), as text or ``--csv``."""
    from .runs import RunStore

    store = RunStore.default()
    try:
        store.flush_pending()  # runs kept while the history could not be written
    except SasrecError:
        pass  # reading below reports the same problem
    table = store.table(args.sweep)
    if table.empty and args.sweep is not None:
        known = store.sweeps()
        hint = f"; recorded sweeps: {', '.join(known[:5])}" if known else "; no sweep is recorded yet"
        raise ConfigError({"sweep": f"no run belongs to sweep {args.sweep!r}{hint}"})
    if args.csv:
        table.to_csv(sys.stdout, index=False, lineterminator="\n")
    elif table.empty:
        print("no runs recorded yet")
    else:
        shown = table.copy()
        for column in shown.columns:  # whole-number columns with gaps (parent, best epoch): "-" there too
            if str(shown[column].dtype) == "Int64":
                shown[column] = shown[column].astype(object).where(shown[column].notna(), "-")
        print(shown.to_string(index=False, na_rep="-"))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep (``core.sweep.run_sweep``): progress on stderr, the trials' table on stdout."""
    from . import __version__, experiment
    from .cli_settings import settings_from_args
    from .config import HoldoutConfig, SASRecConfig
    from .filters import FilterConfig
    from .load import load_data
    from .out_path import check_checkpoint_target, check_output_folder
    from .runs import RunStore
    from .schema import validate_all
    from .sweep import SweepSpec, TrialEnded, TrialProgress, TrialStarted, check_fresh_out_dir, parse_param, run_sweep, trial_checkpoint
    from .train import StepReport, resolve_device

    config = _model_settings(args)
    filters = settings_from_args(FilterConfig, args)
    holdout_settings = settings_from_args(HoldoutConfig, args)
    validate_all(config, filters, holdout_settings)
    if holdout_settings.holdout == "none":
        raise ConfigError({"holdout": "a sweep compares its trials on a hold-out: choose last or time"})
    spec = SweepSpec([parse_param(text) for text in args.param], args.trials, args.sampler, seed=config.seed,
                     prune=not args.no_prune, prune_warmup=args.prune_after)
    spec.validate()
    load_options = _load_options(args)
    resolve_device(config.device)
    out_dir = check_output_folder(args.out_dir, "--out-dir")
    if out_dir.is_dir():  # never over an input or an earlier sweep's trials, before any work
        check_fresh_out_dir(out_dir, spec.n_trials)
        for number in range(1, spec.n_trials + 1):
            check_checkpoint_target(trial_checkpoint(out_dir, number), [args.data_dir], option="--out-dir")
    data = load_data(args.data_dir, load_options)
    config = _fit_features(config, args, data.items)
    from .item_features import check_feature_columns

    check_feature_columns(data.items, config.item_features)  # --item-features, before any trial
    base = experiment.Experiment(config, filters, holdout_settings.to_holdout(), str(Path(args.data_dir).resolve()), data.format,
                                 items=data.items)
    filtered = experiment.filter_data(data, filters)
    for step in filtered.steps:
        print(f"{step.name}: {step.rows:,} rows, {step.users:,} users, {step.items:,} items", file=sys.stderr)
    print(f"{spec.resolved_sampler} search over {', '.join(p.describe() for p in spec.params)}: {spec.n_trials} trial(s); "
          f"{base.holdout.early_stopping().describe()}", file=sys.stderr)
    printer = _progress_printer()

    def report(event) -> None:  # noqa: ANN001
        if isinstance(event, TrialStarted):
            params = " ".join(f"{k}={v}" for k, v in event.params.items())
            print(f"trial {event.number}/{event.n_trials}: {params}", file=sys.stderr, flush=True)
        elif isinstance(event, TrialProgress):
            if not isinstance(event.report, StepReport):
                printer(event.report)
            if event.pruned:
                print(f"trial {event.number} pruned: below the median of the finished trials", file=sys.stderr, flush=True)
        elif isinstance(event, TrialEnded):
            t = event.result
            value = f" {monitor} {t.value:.4f} (epoch {t.best_epoch})" if t.value is not None else ""
            run = f", run {t.run_id}" if t.run_id is not None else ""
            print(f"trial {t.number} {t.state}{value}{run}" + (f": {t.error}" if t.error else ""), file=sys.stderr, flush=True)
            if event.warning:
                print(f"warning: {_one_line(event.warning)}", file=sys.stderr, flush=True)

    monitor = base.holdout.early_stopping().monitor
    with _ctrl_c_stops_training(1) as stop:
        result = run_sweep(filtered.interactions, spec, base, out_dir=out_dir, store=RunStore.default(), callback=report,
                           should_stop=stop.is_set, report_every=1.0, app=f"python -m core {__version__}")
    table = result.table()
    if not table.empty:
        print(table.drop(columns=["error"]).to_string(index=False))
    best = result.best
    summary = f"sweep {result.sweep_id}: {len(result.trials)} trial(s)"
    if best is not None:
        summary += f"; best trial {best.number} ({monitor} {best.value:.4f}): {best.checkpoint_path}"
    print(summary + f"; list them with: python -m core runs --sweep {result.sweep_id}", file=sys.stderr)
    return 130 if result.stopped else 0


COMMANDS = {
    "demo-data": cmd_demo_data, "train": cmd_train, "recommend": cmd_recommend,
    "similar": cmd_similar, "evaluate": cmd_evaluate, "report": cmd_report, "runs": cmd_runs,
    "sweep": cmd_sweep,
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
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported in one line
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = argv  # which settings were given explicitly (train --resume)
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
