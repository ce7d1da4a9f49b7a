"""A report to send: one self-contained HTML file about one or more runs of the run history.

``write_report([3, 4], "report.html")`` (and ``python -m core report 3 4 --out report.html``)
gathers, for each run (``core.runs.RunRecord``): the data and filter report (the run's data
source re-read and re-filtered with its own settings), the settings, the loss and validation
curves, the metrics on the run's hold-out beside the popularity baseline with their
protocol, the beyond-accuracy table (``core.metrics_beyond``) and example users with their
titled history and recommendations; with several runs, a comparison table and overlaid
curves. The HTML (``core.report_html``) embeds its charts as base64 PNG and its CSS inline:
no network, no script.

A run whose checkpoint or data is gone still gets a report of what its record holds (the
settings and curves); what is missing is listed in ``Report.notes`` and in the report
itself, or raised as ``ReportError`` with ``strict=True``.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SasrecError
from .runs import RunRecord, RunStore

#: Headings of every run's sections, in order (the comparison comes first with several runs).
REPORT_SECTIONS = ("Data and filters", "Settings", "Training curves", "Metrics", "Beyond accuracy", "Example users")
COMPARISON_SECTION = "Comparison"
#: Test users evaluated per run at most (a seeded random sample beyond that).
MAX_EVAL_USERS = 20_000
#: History items shown per example user (most recent first).
EXAMPLE_HISTORY = 8


class ReportError(SasrecError):
    """A report cannot be made: unknown run ids, an output that cannot be written, or (with
    ``strict``) a run whose checkpoint or data is missing."""


@dataclass
class Evaluation:
    """Metrics of one run's model beside the popularity baseline.

    ``table``: ``core.evaluate_model.evaluate_split``'s (rows SASRec, Popular). ``honest``:
    measured on the run's own hold-out (else: no accuracy metrics, beyond-accuracy metrics of
    recommendations from full histories). ``protocol``: (label, text) lines saying how.
    """

    table: pd.DataFrame
    k: int
    honest: bool
    protocol: list[tuple[str, str]]


@dataclass
class ExampleUser:
    """One user shown in the report: the latest history items (most recent first; columns
    item_id, title, release_year, genres when known, datetime), the titled top-k (item_id,
    score, rank, title, ..., popular: in the popularity top-k, hit: a held-out item) and the
    held-out items with the rank the model gave them (None: not in the top-k)."""

    user_id: int | str
    history: pd.DataFrame
    n_history: int
    recommendations: pd.DataFrame
    held_out: list[tuple[int | str, str, int | None]] = field(default_factory=list)


@dataclass
class RunReport:
    """Everything the report shows about one run; None where it could not be computed (the
    reason is in ``notes``)."""

    record: RunRecord
    data_format: str = ""
    data_items: int | None = None
    filter_steps: pd.DataFrame | None = None
    data_matches: bool | None = None
    evaluation: Evaluation | None = None
    examples: list[ExampleUser] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Run {self.record.run_id}"


@dataclass
class Report:
    """A built report: the HTML text and what could not be included (one line per problem)."""

    runs: list[RunReport]
    html: str
    created_at: float

    @property
    def notes(self) -> list[str]:
        return [f"run {r.record.run_id}: {note}" for r in self.runs for note in r.notes]


# --------------------------------------------------------------------------- runs and output




def _not_this_runs_model(record, model) -> str:  # noqa: ANN001 - RunRecord, TrainedModel
    """Why ``model`` (read from the run's checkpoint path) cannot be the run's own: its data
    fingerprint or its settings differ from the record's; "" when they agree."""
    if record.data_fingerprint and model.data_fingerprint and record.data_fingerprint != model.data_fingerprint:
        return "trained on other data"
    stored = record.config or {}
    differing = [k for k, v in model.config.to_dict().items() if k in stored and stored[k] != v and k != "epochs"]
    if differing:
        return f"other settings: {', '.join(differing[:3])}"
    return ""

def get_runs(run_ids: Sequence[int], store: RunStore | None = None) -> list[RunRecord]:
    """The records of ``run_ids``, in the order given (repeats once). Raises ``ReportError``
    naming every id the history does not hold, and ``RunStoreError`` when it cannot be read."""
    if not run_ids:
        raise ReportError("no run id given: name one or more runs (python -m core runs lists them)")
    store = store or RunStore.default()
    records = {r.run_id: r for r in store.runs()}
    wanted = list(dict.fromkeys(int(i) for i in run_ids))
    missing = [i for i in wanted if i not in records]
    if missing:
        known = ", ".join(str(i) for i in sorted(records)[-10:]) or "none yet"
        raise ReportError(
            f"run{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} not in the run history "
            f"'{store.path}' (runs recorded: {known}; python -m core runs lists them)"
        )
    return [records[i] for i in wanted]


def check_report_target(out: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), option: str = "--out") -> Path:
    """Refuse an output that cannot or must not be written; returns it as a ``Path``.

    ``ReportError`` (naming ``option`` and the path) when ``out`` is empty, a folder, in a
    folder that is missing or read-only, or one of ``inputs`` (data files and folders,
    checkpoints: ``core.out_path.input_file_hit``)."""
    from .out_path import input_file_hit

    path = Path(out)
    if str(out).strip() == "":
        raise ReportError(f"{option} is empty; give a file name such as report.html")
    if path.is_dir():
        raise ReportError(f"{option} '{path}' is a folder; give a file name, for example '{path / 'report.html'}'")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ReportError(f"{option} '{path}': the folder '{folder}' does not exist; create it first or choose another folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReportError(f"{option} '{path}': the folder '{folder}' cannot be written (read-only); choose another folder")
    hit = input_file_hit(path, [s for s in inputs if s])
    if hit is not None:
        what = f"a file in the data folder '{hit}'" if hit.is_dir() else "an input of the report (a checkpoint or data file)"
        raise ReportError(f"{option} '{path}' is {what}; it would be overwritten. Choose another name, such as report.html")
    return path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ReportError(f"cannot write '{path}': {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- one run


class _DataCache:
    """Loaded data sources, so that several runs on one source read it once."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str], object] = {}

    def load(self, source: str, fmt: str):  # noqa: ANN201 - InteractionData
        from .load import LoadOptions, load_data

        key = (source, fmt)
        if key not in self._loaded:
            self._loaded[key] = load_data(source, LoadOptions(fmt=fmt))
        return self._loaded[key]


def _load_format(extra: dict) -> str:
    """The format to re-read a run's data with: the checkpoint's, when it is one that needs no
    column mapping, else "auto"."""
    from .load import FORMATS

    fmt = str(extra.get("source_format") or "auto")
    return fmt if fmt in FORMATS and fmt != "csv" else "auto"


def collect_run(
    record: RunRecord,
    *,
    k: int = 10,
    n_examples: int = 4,
    max_users: int = MAX_EVAL_USERS,
    seed: int = 0,
    cache: _DataCache | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunReport:
    """What the report shows about ``record``. Never raises for a missing or unreadable
    checkpoint or data source: the sections that need them are left out and ``notes`` says
    why. ``k``: list length when the run had no hold-out (else the hold-out's k)."""
    from .checkpoint import load_checkpoint
    from .experiment import VALIDATION_KEY, Holdout
    from .filters import FilterConfig, apply_filters
    from .runs import data_fingerprint

    say = progress or (lambda _text: None)
    report = RunReport(record)
    cache = cache or _DataCache()
    model, extra = None, {}
    checkpoint = record.checkpoint_path
    if not checkpoint:
        report.notes.append("no checkpoint was saved with this run: metrics and example users are left out")
    elif not Path(checkpoint).is_file():
        report.notes.append(f"checkpoint '{checkpoint}' is missing: metrics and example users are left out")
    else:
        say(f"run {record.run_id}: loading the checkpoint")
        try:
            model, extra = load_checkpoint(checkpoint)
        except SasrecError as exc:
            report.notes.append(f"checkpoint cannot be read ({exc}): metrics and example users are left out")
        else:
            mismatch = _not_this_runs_model(record, model)
            if mismatch:
                report.notes.append(
                    f"checkpoint '{checkpoint}' is not this run's model ({mismatch}; replaced since?): "
                    "metrics and example users are left out"
                )
                model, extra = None, {}

    data, filtered = None, None
    source = record.data_source
    if not source or not Path(source).exists():
        report.notes.append(f"data source '{source}' is missing: the filter report, metrics and example users are left out")
    else:
        say(f"run {record.run_id}: reading {source}")
        try:
            data = cache.load(source, _load_format(extra))
            result = apply_filters(data.interactions, FilterConfig.from_dict(record.filter_config))
        except SasrecError as exc:
            report.notes.append(f"data source '{source}' cannot be read again ({exc}): the filter report, metrics and example users are left out")
            data = None
        else:
            filtered = result.interactions
            report.data_format = data.format
            report.data_items = None if data.items is None else len(data.items)
            report.filter_steps = result.report()
            if record.data_fingerprint:
                report.data_matches = data_fingerprint(filtered) == record.data_fingerprint
                if not report.data_matches:
                    report.notes.append("the data source changed since the run (its fingerprint differs): "
                                        "the filter report and metrics describe the data as it is now")

    if model is None or data is None:
        return report
    holdout = Holdout.from_dict(record.history.get(VALIDATION_KEY))
    say(f"run {record.run_id}: evaluating")
    report.evaluation, train, test = _evaluate(model, filtered, data.items, holdout, k, max_users, seed)
    if report.evaluation is None:
        report.notes.append("the hold-out leaves no test user in the data now: metrics are left out")
    say(f"run {record.run_id}: example users")
    report.examples = _examples(model, train, test, data.items, report.evaluation.k if report.evaluation else k, n_examples, seed)
    return report


def _sample_users(users: np.ndarray, max_users: int, seed: int) -> np.ndarray:
    if len(users) <= max_users:
        return users
    return np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))


def _evaluate(model, filtered: pd.DataFrame, items: pd.DataFrame | None, holdout, k: int, max_users: int, seed: int):  # noqa: ANN001, ANN202
    """(Evaluation or None, training interactions, test pairs or None) for one run."""
    from .evaluate import Split, popular_recommendations
    from .evaluate_model import evaluate_split, item_vectors, make_split
    from .metrics_beyond import beyond_accuracy_metrics
    from .recommend import Recommender
    from .sequences import UserHistories

    n_items = model.item_map.n_items
    if holdout is not None:
        k = holdout.k
        split = make_split(filtered, holdout.scheme, holdout.test_days)
        all_users = pd.unique(split.test["user_id"])
        if len(all_users) == 0:
            return None, split.train, None
        users = _sample_users(all_users, max_users, seed)
        test = split.test[split.test["user_id"].isin(users)]
        table = evaluate_split(model, Split(split.train, test, split.scheme, split.dropped, split.test_days), (k,), items=items)
        sampled = f" (a random sample of the {len(all_users):,})" if len(users) < len(all_users) else ""
        protocol = [
            ("Split", split.describe()),
            ("Users", f"{len(users):,} test users{sampled}; a user without recommendations counts as a miss"),
            ("Ranking", f"top-{k} of a full ranking over all {n_items:,} items of the model's catalog"),
            ("Seen items", "filtered: items a user has in training are never recommended"),
            ("Model", "the run's checkpoint, trained on the training part of this split"),
            ("Baseline", "Popular: the most popular items (distinct training users) the user has not seen"),
        ]
        return Evaluation(table, k, True, protocol), split.train, test
    # no hold-out: the model saw every interaction, so only what needs no held-out truth
    histories = UserHistories.from_interactions(filtered)
    rec = Recommender(model, histories)
    users = _sample_users(histories.user_ids[rec.recommendable(histories.user_ids)], max_users, seed)
    recs = {"SASRec": rec.recommend(users, k=k), "Popular": popular_recommendations(filtered, users, k)}
    vectors = item_vectors(model)
    rows = {}
    for name, frame in recs.items():
        rows[name] = {f"Coverage@{k}": frame["item_id"].nunique() / n_items if n_items else float("nan")}
        rows[name].update(beyond_accuracy_metrics(frame, filtered, (k,), items=items, item_vectors=vectors))
    table = pd.DataFrame(rows).T.rename_axis("model")
    protocol = [
        ("Split", "none: this run trained on every interaction, so accuracy (HR, NDCG, ...) cannot be measured "
                  "honestly; train with a hold-out (--holdout last) for it"),
        ("Users", f"{len(users):,} users, recommended from their full histories"),
        ("Ranking", f"top-{k} of a full ranking over all {n_items:,} items of the model's catalog"),
        ("Seen items", "filtered: items a user has seen are never recommended"),
        ("Baseline", "Popular: the most popular items (distinct users) the user has not seen"),
    ]
    return Evaluation(table, k, False, protocol), filtered, None


def _examples(model, train: pd.DataFrame, test: pd.DataFrame | None, items: pd.DataFrame | None, k: int, n: int, seed: int) -> list[ExampleUser]:  # noqa: ANN001
    """``n`` seeded random users with at least three history items the model knows (test
    users when there is a hold-out), their history and titled top-k."""
    from .evaluate import popularity
    from .recommend import Recommender, with_titles
    from .sequences import PAD, UserHistories

    if n <= 0:
        return []
    histories = UserHistories.from_interactions(train)
    rec = Recommender(model, histories)
    candidates = pd.unique(test["user_id"]) if test is not None else histories.user_ids
    pos = histories.positions_of(candidates)
    candidates, pos = candidates[pos >= 0], pos[pos >= 0]
    row, hist_items = histories.flat_items(pos)
    known = np.bincount(row[model.item_map.to_internal(hist_items) != PAD], minlength=len(pos))
    pool = candidates[known >= 3]
    if len(pool) == 0:
        pool = candidates[known >= 1]
    if len(pool) == 0:
        return []
    chosen = np.random.default_rng(seed).choice(pool, min(n, len(pool)), replace=False)
    top_popular = set(popularity(train).index[:k].tolist())
    columns = ["title", "release_year", "genres"]
    recs = with_titles(rec.recommend(chosen, k=k), items, columns)
    out = []
    for user in chosen.tolist():
        history = histories.frame_of(user)
        shown = with_titles(history.iloc[::-1].head(EXAMPLE_HISTORY).reset_index(drop=True), items, columns)
        mine = recs[recs["user_id"] == user].drop(columns="user_id").reset_index(drop=True)
        mine["popular"] = mine["item_id"].isin(top_popular)
        held = test[test["user_id"] == user]["item_id"].tolist() if test is not None else []
        mine["hit"] = mine["item_id"].isin(held)
        held_out = []
        for item in held:
            ranks = mine.loc[mine["item_id"] == item, "rank"].tolist()
            held_out.append((item, _title_of(items, item), int(ranks[0]) if ranks else None))
        out.append(ExampleUser(user, shown, len(history), mine, held_out))
    return out


def _title_of(items: pd.DataFrame | None, item: int | str) -> str:
    from .recommend import with_titles

    frame = with_titles(pd.DataFrame({"item_id": [item]}), items, ["title"])
    title = frame["title"].iloc[0] if "title" in frame.columns else None
    return str(title) if isinstance(title, str) and title else str(item)


# --------------------------------------------------------------------------- the report


def build_report(
    run_ids: Sequence[int],
    store: RunStore | None = None,
    *,
    k: int = 10,
    n_examples: int = 4,
    max_users: int = MAX_EVAL_USERS,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
    records: Sequence[RunRecord] | None = None,
) -> Report:
    """Collect every run of ``run_ids`` (or the given ``records``) and render the HTML.

    ``k``: list length for runs without a hold-out; ``n_examples`` example users per run (0
    for none); ``max_users``: test users evaluated per run at most. ``strict``: raise
    ``ReportError`` when a run's checkpoint or data is missing instead of leaving its
    sections out. ``progress`` is told each step (a short text). Errors: ``ReportError``,
    ``RunStoreError``. Cost: one evaluation per run (seconds on the demo data).
    """
    from .report_html import render_report

    records = list(records) if records is not None else get_runs(run_ids, store)
    if strict:  # before any work: the files a run needs
        for r in records:
            for what, path in (("checkpoint", r.checkpoint_path), ("data source", r.data_source)):
                if not path or not Path(path).exists():
                    raise ReportError(f"run {r.run_id}: {what} '{path}' is missing (leave out --strict to report the rest)")
    cache = _DataCache()
    runs = [collect_run(r, k=k, n_examples=n_examples, max_users=max_users, cache=cache, progress=progress) for r in records]
    if strict:
        problems = [f"run {r.record.run_id}: {note}" for r in runs for note in r.notes if "missing" in note or "cannot be" in note]
        if problems:
            raise ReportError(problems[0] + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""))
    created = time.time()
    if progress:
        progress("writing the report")
    return Report(runs, render_report(runs, created), created)


def write_report(
    run_ids: Sequence[int],
    out: str | os.PathLike,
    store: RunStore | None = None,
    **options,  # noqa: ANN003 - build_report's
) -> Report:
    """``build_report`` and write its HTML to ``out`` (atomically). The output is checked
    (``check_report_target``, against the runs' data sources and checkpoints) before any
    work. Returns the report (its ``notes`` say what was left out)."""
    records = get_runs(run_ids, store)
    inputs = [r.data_source for r in records] + [r.checkpoint_path for r in records]
    path = check_report_target(out, inputs)
    report = build_report(run_ids, store, records=records, **options)
    _write_atomic(path, report.html)
    return report
