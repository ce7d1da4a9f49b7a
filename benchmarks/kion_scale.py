"""KION-scale speed benchmark: one process, one table (issue: speed at KION scale).

Measures, on the same generated KION-sized data (default ~960k users, ~15.7k items,
~5.4M interactions, written as KION CSVs and read back like the app does):

- demo data generation and CSV writing;
- load + notebook filters of interactions.csv, with the peak memory of a process doing only that;
- our fit for E epochs (the notebook configuration by default) on each user's history minus
  the last interaction, with peak GPU memory;
- the same fit started from a worker thread (as the app does) against the main thread;
- single-user u2i and single-item i2i latency (CPU, as the GUI serves them);
- top-10 for every training user on the training device;
- HR@10 / NDCG@10 on the held-out last interactions for ours, popularity and, when the
  ``bench`` extra is installed, RecTools' SASRecModel with the same hyperparameters.

    python benchmarks/kion_scale.py --device cuda            # the full thing on a GPU
    python benchmarks/kion_scale.py --users 30000 --items 3000 --epochs 1 --device cpu
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import threading
import time
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
from core.sequences import UserHistories  # noqa: E402
from core.train import fit, resolve_device  # noqa: E402


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


def latency_ms(fn, args_list) -> float:  # noqa: ANN001
    times = []
    for args in args_list:
        start = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fit_in_thread(train: pd.DataFrame, config: SASRecConfig):  # noqa: ANN201
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", fit(train, config)))
    thread.start()
    thread.join()
    return box["result"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=960_000)
    p.add_argument("--items", type=int, default=15_700)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    p.add_argument("--seed", type=int, default=32)
    p.add_argument("--rec-batch", type=int, default=8192, help="users per batch for all-users top-10")
    p.add_argument("--skip-thread", action="store_true", help="skip the worker-thread comparison")
    p.add_argument("--rectools-epochs", type=int, default=None, help="epochs for RecTools (default: --epochs); 0 skips it")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    rows: list[tuple[str, str, str]] = []

    def row(name: str, ours: str, other: str = "") -> None:
        rows.append((name, ours, other))
        print(f"  {name}: {ours} {other}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="kion-scale-") as tmp:
        start = time.perf_counter()
        tables = generate_demo(args.users, args.items, seed=args.seed)
        gen_s = time.perf_counter() - start
        start = time.perf_counter()
        tables.write(tmp)
        write_s = time.perf_counter() - start
        row("generate demo data", f"{gen_s:.1f} s ({len(tables.interactions):,} interactions)", f"write CSVs {write_s:.1f} s")
        del tables
        load_s, filter_s, peak_mb, n_raw, n_filtered = measure_load(tmp)
        row("load + filter interactions.csv", f"{load_s + filter_s:.2f} s (load {load_s:.2f} + filter {filter_s:.2f})",
            f"peak RSS {peak_mb:,.0f} MB; {n_raw:,} -> {n_filtered:,} rows")
        data = load_kion(tmp)
    filtered = apply_filters(data.interactions, FilterConfig()).interactions
    split = leave_last_out(filtered)
    config = SASRecConfig(epochs=args.epochs, batch_size=args.batch_size, device=str(device), seed=args.seed, precision=args.precision)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = fit(split.train, config)
    model = result.model
    epochs = model.history.epoch_seconds
    peak_gpu = f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if device.type == "cuda" else ""
    row(f"our fit, {args.epochs} epochs ({model.n_sequences:,} sequences)", f"{result.seconds:.1f} s (epochs: {', '.join(f'{s:.1f}' for s in epochs)} s)", peak_gpu)

    if not args.skip_thread:
        thread_cfg = SASRecConfig(**{**config.to_dict(), "epochs": min(2, args.epochs)})
        threaded = fit_in_thread(split.train, thread_cfg).model.history.epoch_seconds
        row("same fit from a worker thread", f"epoch {len(threaded)}: {threaded[-1]:.1f} s", f"main thread epoch {len(threaded)}: {epochs[len(threaded) - 1]:.1f} s")

    histories = UserHistories.from_interactions(split.train)
    cpu_rec = Recommender(model, histories, device="cpu")
    rng = np.random.default_rng(0)
    users = rng.choice(histories.user_ids, 200, replace=False)
    items = rng.choice(model.item_map.external[1:], 200, replace=False)
    cpu_rec.recommend([int(users[0])], k=10)  # warm-up
    u2i = latency_ms(lambda u: cpu_rec.recommend([u], k=10), [(int(u),) for u in users])
    i2i = latency_ms(lambda i: cpu_rec.similar([i], k=10), [(int(i),) for i in items])
    row("single user u2i top-10 (CPU, median)", f"{u2i:.2f} ms", f"single item i2i: {i2i:.2f} ms ({model.item_map.n_items:,} items)")

    dev_rec = Recommender(model, histories, device=str(device), batch_size=args.rec_batch)
    all_users = histories.user_ids
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    recs = dev_rec.recommend(all_users, k=10)
    all_s = time.perf_counter() - start
    row(f"top-10 for all {len(all_users):,} training users", f"{all_s:.1f} s on {device}")

    test_users = pd.unique(split.test["user_id"])
    ours = ranking_metrics(recs[recs.user_id.isin(test_users)], split.test, (10,))
    pop = ranking_metrics(popular_recommendations(split.train, test_users, 10), split.test, (10,))
    rt_text = ""
    rt_epochs = args.epochs if args.rectools_epochs is None else args.rectools_epochs
    if rt_epochs > 0:
        try:
            from benchmarks.common import ModelParams, Prepared, run_rectools

            params = ModelParams(epochs=rt_epochs, batch_size=args.batch_size, deterministic=False)
            prep = Prepared("kion-scale", filtered, split, pd.DataFrame())
            rt = run_rectools(prep, params, args.seed, torch.get_num_threads(), device=str(device))
            rt_text = (f"RecTools ({rt_epochs} epochs): fit {rt.fit_seconds:.1f} s, "
                       f"HR@10 {rt.hr:.4f} NDCG@10 {rt.ndcg:.4f}")
            row("RecTools fit", f"{rt.fit_seconds:.1f} s for {rt_epochs} epoch(s)", f"ours/RecTools per epoch: x{(rt.fit_seconds / rt_epochs) / (result.seconds / args.epochs):.1f}")
        except ImportError:
            rt_text = "RecTools not installed (pip install -e '.[bench]' in its own venv, see benchmarks/README.md)"
    row("HR@10 / NDCG@10 (held-out last item)", f"ours {ours['HR@10']:.4f} / {ours['NDCG@10']:.4f}",
        f"popular {pop['HR@10']:.4f} / {pop['NDCG@10']:.4f}; {rt_text}")

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"\nKION-scale benchmark on {name}; torch {torch.__version__}; precision {args.precision}")
    width = max(len(r[0]) for r in rows)
    for name_, ours_, other in rows:
        print(f"{name_:<{width}}  {ours_}{'  |  ' + other if other else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
