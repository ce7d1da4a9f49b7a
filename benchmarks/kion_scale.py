"""KION-scale speed benchmark: one process, one data set, one table (issue: speed at KION scale).

On the same generated KION-sized data (default ~960k users, ~15.7k items, ~5.4M
interactions, written as KION CSVs and read back as the app does) it measures:

- demo data generation and CSV writing;
- load + notebook filters of interactions.csv, with the peak RSS of a process doing only that;
- our fit for E epochs on all filtered interactions (the notebook's training set), once per
  ``--precisions`` entry, with seconds per epoch, ms per step and peak GPU memory;
- the same fit started from a worker thread (as the app does) against the main thread;
- the eager step (``cuda_graph=False``) on a slice of the sequences, for ms per step;
- top-10 for every training user on the training device;
- single-user u2i and single-item i2i latency on the CPU (as the GUI serves them);
- accuracy: fits on each user's history minus the last interaction, HR@10 / NDCG@10 on the
  held-out items of ``--eval-users`` sampled test users, for ours (per precision and epoch
  count), popularity and, with the ``bench`` extra installed, RecTools' ``SASRecModel``
  with the same hyperparameters on the same split and users.

Every section is timed and printed as it finishes (``--json`` keeps a running copy), and a
failing section is reported and skipped, so one run yields every figure it can.

    python benchmarks/kion_scale.py --device cuda --json out.json      # the full thing on a GPU
    python benchmarks/kion_scale.py --users 20000 --items 2000 --epochs 1 --device cpu
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import SASRecConfig  # noqa: E402
from core.data import load_kion  # noqa: E402
from core.demo import generate_demo  # noqa: E402
from core.evaluate import leave_last_out, popular_recommendations, ranking_metrics  # noqa: E402
from core.filters import FilterConfig, apply_filters  # noqa: E402
from core.recommend import Recommender  # noqa: E402
from core.sequences import TrainingSequences, UserHistories, build_training_sequences  # noqa: E402
from core.train import FitResult, fit, resolve_device  # noqa: E402


def _load_and_filter(folder: str, queue: mp.Queue) -> None:
    start = time.perf_counter()
    data = load_kion(folder)
    loaded = time.perf_counter()
    filtered = apply_filters(data.interactions, FilterConfig())
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((loaded - start, done - loaded, peak_mb, len(data.interactions), len(filtered.interactions)))


def measure_load(folder: str) -> tuple[float, float, float, int, int]:
    """Load + filter in a fresh process so its peak RSS is the loader's own."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load_and_filter, args=(folder, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def latency_ms(fn: Callable, args_list: list[tuple]) -> float:
    """Median wall time of ``fn(*args)`` over ``args_list``, in ms."""
    times = []
    for args in args_list:
        start = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fit_in_thread(train: pd.DataFrame, config: SASRecConfig, sequences: TrainingSequences | None = None) -> FitResult:
    """``fit`` run from a plain worker thread, as the app's QThread does."""
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["result"] = fit(train, config, sequences=sequences)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def head(seq: TrainingSequences, n: int) -> TrainingSequences:
    """The first ``n`` sequences."""
    return seq.head(n)


def profile_static_step(seq: TrainingSequences, config: SASRecConfig, steps: int = 20, top: int = 25) -> str:
    """Kernel table (torch.profiler) of ``steps`` eager runs of the graph step's body: where a
    step's GPU time goes and how many kernels it launches."""
    from torch.profiler import ProfilerActivity, profile

    from core.model import SASRec
    from core.static_step import StaticStep, epoch_capacities

    device = torch.device(config.device)
    model = SASRec(seq.item_map.n_items, config).to(device)
    model.xavier_init()
    cuda_opts = {"fused": True, "capturable": True} if device.type == "cuda" else {}
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), **cuda_opts)
    counts = seq.target_counts()
    order = torch.randperm(seq.n_sequences)
    stepper = StaticStep(model, optimizer, *seq.to(device).dense(), config.batch_size,
                         use_graph=False)
    sizes = epoch_capacities(counts, order, config.batch_size)
    stepper.start_epoch(order, sizes)
    for _ in range(5):
        stepper.step()
    on_cuda = device.type == "cuda"
    if on_cuda:
        torch.cuda.synchronize(device)
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if on_cuda else [])]
    with profile(activities=activities) as prof:
        for _ in range(steps):
            stepper.step()
        if on_cuda:
            torch.cuda.synchronize(device)
    averages = prof.key_averages()
    kind = torch.autograd.DeviceType.CUDA if on_cuda else torch.autograd.DeviceType.CPU
    kernels = sum(e.count for e in averages if e.device_type == kind)
    for key in (("self_device_time_total", "self_cuda_time_total") if on_cuda else ("self_cpu_time_total",)):
        try:
            table = averages.table(sort_by=key, row_limit=top)
            break
        except Exception:  # noqa: BLE001 - the key's name changed across torch versions
            table = ""
    what = "GPU kernels" if on_cuda else "CPU ops (nested ones included)"
    return (f"target buffer sizes {min(sizes)}..{max(sizes)} (mean {statistics.mean(sizes):.0f}); "
            f"about {kernels / steps:.0f} {what}/step\n{table}")


class Report:
    """Rows of (name, ours, other), printed as they come and kept in a JSON file."""

    def __init__(self, json_path: str | None) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.figures: dict[str, object] = {}
        self.json_path = json_path

    def row(self, name: str, ours: str, other: str = "", **figures: object) -> None:
        self.rows.append((name, ours, other))
        self.figures.update(figures)
        print(f"  {name}: {ours}{'  |  ' + other if other else ''}", flush=True)
        self.save()

    def save(self) -> None:
        if self.json_path:
            Path(self.json_path).write_text(json.dumps({"rows": self.rows, "figures": self.figures}, indent=1, default=str))

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        """Run a section; a failure is printed and recorded, and the run goes on."""
        start = time.perf_counter()
        print(f"[{name}]", flush=True)
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - one failing section must not lose the others
            traceback.print_exc()
            self.row(f"{name} FAILED", f"{type(exc).__name__}: {exc}"[:300])
        print(f"[{name}] {time.perf_counter() - start:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=960_000)
    p.add_argument("--items", type=int, default=15_700)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="auto")
    p.add_argument("--precisions", default="fp32,tf32", help="comma-separated; the first is the reference")
    p.add_argument("--seed", type=int, default=32)
    p.add_argument("--rec-batch", type=int, default=8192, help="users per batch for all-users top-10")
    p.add_argument("--thread-epochs", type=int, default=2, help="epochs of the worker-thread fit; 0 skips it")
    p.add_argument("--eager-sequences", type=int, default=None,
                   help="sequences for the eager vs graph step figure (default 40000 on CUDA, 0 = skip elsewhere)")
    p.add_argument("--profile-steps", type=int, default=None,
                   help="profile this many eager runs of the graph step (default 20 on CUDA, 0 = skip elsewhere)")
    p.add_argument("--eval-users", type=int, default=100_000, help="sampled test users for HR/NDCG")
    p.add_argument("--eval-epochs", default="1,5", help="epoch counts of the accuracy fits (ours)")
    p.add_argument("--rectools-epochs", type=int, default=1, help="epochs for RecTools; 0 skips it")
    p.add_argument("--json", default=None, help="also write every row and figure to this JSON file")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    on_cuda = device.type == "cuda"
    if args.eager_sequences is None:
        args.eager_sequences = 40_000 if on_cuda else 0
    if args.profile_steps is None:
        args.profile_steps = 20 if on_cuda else 0
    precisions = [s for s in args.precisions.split(",") if s]
    report = Report(args.json)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    report.figures["device"] = name
    report.figures["torch"] = torch.__version__
    print(f"KION-scale benchmark on {name}; torch {torch.__version__}", flush=True)

    def config(precision: str, epochs: int, **extra: object) -> SASRecConfig:
        return SASRecConfig(epochs=epochs, batch_size=args.batch_size, device=str(device), seed=args.seed,
                            precision=precision, **extra)

    def peak_gpu() -> str:
        if device.type != "cuda":
            return ""
        return f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"

    def reset_peak() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)

    # ------------------------------------------------------------------ data
    with tempfile.TemporaryDirectory(prefix="kion-scale-") as tmp:
        start = time.perf_counter()
        tables = generate_demo(args.users, args.items, seed=args.seed)
        gen_s = time.perf_counter() - start
        start = time.perf_counter()
        tables.write(tmp)
        write_s = time.perf_counter() - start
        report.row("generate demo data", f"{gen_s:.1f} s ({len(tables.interactions):,} interactions)",
                   f"write CSVs {write_s:.1f} s", generate_s=gen_s, write_s=write_s)
        del tables
        with report.section("load + filter"):
            load_s, filter_s, peak_mb, n_raw, n_filtered = measure_load(tmp)
            report.row("load + filter interactions.csv", f"{load_s + filter_s:.2f} s (load {load_s:.2f} + filter {filter_s:.2f})",
                       f"peak RSS {peak_mb:,.0f} MB; {n_raw:,} -> {n_filtered:,} rows",
                       load_s=load_s, filter_s=filter_s, load_peak_rss_mb=peak_mb)
        start = time.perf_counter()
        data = load_kion(tmp)
        loaded = time.perf_counter()
        filtered = apply_filters(data.interactions, FilterConfig()).interactions
        done = time.perf_counter()
        report.row("load + filter in this process", f"{done - start:.2f} s (load {loaded - start:.2f} + filter {done - loaded:.2f})",
                   "the same files, read again by the benchmark itself", load_here_s=loaded - start, filter_here_s=done - loaded)
    del data
    start = time.perf_counter()
    full_seq = build_training_sequences(filtered, SASRecConfig().session_maxlen)
    steps = -(-full_seq.n_sequences // args.batch_size)
    report.row("training sequences", f"{full_seq.n_sequences:,} sequences, {full_seq.item_map.n_items:,} items, {steps:,} steps/epoch",
               f"built in {time.perf_counter() - start:.1f} s", n_sequences=full_seq.n_sequences, steps_per_epoch=steps)

    # ------------------------------------------------------------------ speed on all data
    if args.eager_sequences > 0:
        with report.section("eager step"):
            sub = head(full_seq, min(args.eager_sequences, full_seq.n_sequences))
            sub_steps = -(-sub.n_sequences // args.batch_size)
            import core.static_step as static_step

            per_step, modes = {}, {}
            bucket = static_step.CAPACITY_BUCKET
            for name, graph, bucket_now in (("eager", False, bucket), ("graph", True, bucket), ("graph, one size", True, 0)):
                static_step.CAPACITY_BUCKET = bucket_now
                try:
                    res = fit(filtered, config(precisions[0], 1, cuda_graph=graph), sequences=sub)
                finally:
                    static_step.CAPACITY_BUCKET = bucket
                per_step[name] = 1000 * res.model.history.epoch_seconds[0] / sub_steps
                modes[name] = res.model.step_mode
            if on_cuda and modes["graph"] != "cuda graph":  # spare the device time: the big fits would run eagerly
                print("!! the CUDA graph was not captured; the big fits run 1 epoch", flush=True)
                args.epochs = 1
            report.row(f"one step, eager vs CUDA graph ({sub.n_sequences:,} sequences, 1 epoch, {precisions[0]})",
                       f"graph {per_step['graph']:.3f} ms/step (buffer sizes bucketed by {bucket}; "
                       f"one size per epoch: {per_step['graph, one size']:.3f})",
                       f"eager {per_step['eager']:.3f} ms/step (x{per_step['eager'] / per_step['graph']:.1f}); step mode {modes['graph']}",
                       eager_ms_step=per_step["eager"], graph_ms_step_small=per_step["graph"],
                       graph_one_size_ms_step_small=per_step["graph, one size"])

    main_epochs: dict[str, list[float]] = {}
    full_model = None
    for i, precision in enumerate(precisions):
        with report.section(f"fit {precision}"):
            reset_peak()
            # the first fit builds its own sequences, so its time is the whole fit
            result = fit(filtered, config(precision, args.epochs), sequences=None if i == 0 else full_seq)
            model = result.model
            epochs = model.history.epoch_seconds
            main_epochs[precision] = epochs
            ms_step = 1000 * statistics.median(epochs) / steps
            report.row(f"our fit, {args.epochs} epochs, {precision}",
                       f"{result.seconds:.1f} s (epochs {', '.join(f'{s:.2f}' for s in epochs)} s; {ms_step:.3f} ms/step)",
                       f"{peak_gpu()}; last epoch loss {model.history.epoch_losses[-1]:.4f}",
                       **{f"fit_{precision}_s": result.seconds, f"fit_{precision}_epochs": epochs,
                          f"fit_{precision}_ms_step": ms_step, f"fit_{precision}_loss": model.history.epoch_losses})
            if full_model is None:
                full_model = model

    if args.thread_epochs > 0 and precisions:
        with report.section("worker thread"):
            precision = precisions[0]
            threaded = fit_in_thread(filtered, config(precision, args.thread_epochs), full_seq).model.history.epoch_seconds
            main = main_epochs.get(precision, [])[: len(threaded)]
            report.row(f"same fit from a worker thread ({precision})", f"epochs {', '.join(f'{s:.2f}' for s in threaded)} s",
                       f"main thread: {', '.join(f'{s:.2f}' for s in main)} s", thread_epochs=threaded)

    if args.profile_steps > 0:
        with report.section("profile"):
            print(profile_static_step(full_seq, config(precisions[0], 1), args.profile_steps), flush=True)

    if full_model is not None:
        with report.section("top-10 for all users"):
            histories = UserHistories.from_interactions(filtered)
            rec = Recommender(full_model, histories, device=str(device), batch_size=args.rec_batch)
            rec.recommend(histories.user_ids[:1000], k=10)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            recs = rec.recommend(histories.user_ids, k=10)
            all_s = time.perf_counter() - start
            report.row(f"top-10 for all {len(histories.user_ids):,} users", f"{all_s:.2f} s on {device}",
                       f"{len(recs):,} rows", all_users_s=all_s, all_users=len(histories.user_ids))
        with report.section("latency"):
            cpu_rec = Recommender(full_model, histories, device="cpu")
            rng = np.random.default_rng(0)
            users = rng.choice(histories.user_ids, 200, replace=False)
            items = rng.choice(full_model.item_map.external[1:], 200, replace=False)
            cpu_rec.recommend([int(users[0])], k=10)  # warm-up
            u2i = latency_ms(lambda u: cpu_rec.recommend([u], k=10), [(int(u),) for u in users])
            i2i = latency_ms(lambda i: cpu_rec.similar([i], k=10), [(int(i),) for i in items])
            report.row("single user u2i top-10 (CPU, median)", f"{u2i:.2f} ms",
                       f"single item i2i: {i2i:.2f} ms ({full_model.item_map.n_items:,} items)", u2i_ms=u2i, i2i_ms=i2i)
    del full_model

    # ------------------------------------------------------------------ accuracy on a held-out split
    split = leave_last_out(filtered)
    rng = np.random.default_rng(args.seed)
    test_users = pd.unique(split.test["user_id"])
    if args.eval_users and len(test_users) > args.eval_users:
        test_users = np.sort(rng.choice(test_users, args.eval_users, replace=False))
    test = split.test[split.test["user_id"].isin(test_users)]
    train_histories = UserHistories.from_interactions(split.train)
    report.row("held-out split", f"train {len(split.train):,} rows", f"{len(test_users):,} sampled test users")
    ours_scores: dict[tuple[str, int], tuple[float, float]] = {}
    for epochs in [int(e) for e in args.eval_epochs.split(",") if e]:
        for precision in precisions:
            with report.section(f"accuracy {precision} {epochs} ep"):
                result = fit(split.train, config(precision, epochs))
                recs = Recommender(result.model, train_histories, device=str(device), batch_size=args.rec_batch).recommend(test_users, k=10)
                m = ranking_metrics(recs, test, (10,))
                ours_scores[(precision, epochs)] = (m["HR@10"], m["NDCG@10"])
                report.row(f"ours {precision}, {epochs} epoch(s)", f"HR@10 {m['HR@10']:.4f} NDCG@10 {m['NDCG@10']:.4f}",
                           f"fit {result.seconds:.1f} s", **{f"ours_{precision}_{epochs}ep": [m["HR@10"], m["NDCG@10"]]})
    pop = ranking_metrics(popular_recommendations(split.train, test_users, 10), test, (10,))
    report.row("popular", f"HR@10 {pop['HR@10']:.4f} NDCG@10 {pop['NDCG@10']:.4f}", popular=[pop["HR@10"], pop["NDCG@10"]])

    if args.rectools_epochs > 0:
        with report.section("RecTools"):
            try:
                from benchmarks.common import ModelParams, Prepared, run_rectools
                import rectools  # noqa: F401
            except ImportError:
                report.row("RecTools", "not installed (see benchmarks/README.md: the bench extra in its own venv)")
            else:
                from core.evaluate import Split

                params = ModelParams(epochs=args.rectools_epochs, batch_size=args.batch_size, deterministic=False)
                prep = Prepared("kion-scale", filtered, Split(split.train, test, split.scheme), pd.DataFrame())
                rt = run_rectools(prep, params, args.seed, torch.get_num_threads(), device=str(device))
                rt_epoch = statistics.mean(rt.epoch_seconds) if rt.epoch_seconds else rt.fit_seconds
                ours_epoch = statistics.median(main_epochs[precisions[0]]) if precisions and precisions[0] in main_epochs else float("nan")
                report.row(f"RecTools fit, {args.rectools_epochs} epoch(s)",
                           f"{rt.fit_seconds:.1f} s (training loop {rt_epoch:.1f} s/epoch)",
                           f"ours/RecTools speed per epoch: x{rt_epoch / ours_epoch:.1f} ({precisions[0]})",
                           rectools_fit_s=rt.fit_seconds, rectools_epochs=rt.epoch_seconds)
                line = f"HR@10 {rt.hr:.4f} NDCG@10 {rt.ndcg:.4f}"
                same = ours_scores.get((precisions[0], args.rectools_epochs))
                other = ""
                if same:
                    other = (f"ours {precisions[0]} same epochs: HR {100 * (same[0] / rt.hr - 1):+.2f}%, "
                             f"NDCG {100 * (same[1] / rt.ndcg - 1):+.2f}%")
                report.row(f"RecTools, {args.rectools_epochs} epoch(s)", line, other, rectools=[rt.hr, rt.ndcg])

    print(f"\nKION-scale benchmark on {name}; torch {torch.__version__}; batch {args.batch_size}")
    width = max(len(r[0]) for r in report.rows)
    for name_, ours_, other in report.rows:
        print(f"{name_:<{width}}  {ours_}{'  |  ' + other if other else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
