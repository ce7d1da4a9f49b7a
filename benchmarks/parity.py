"""Quality parity: our SASRec (core) vs RecTools 0.19's SASRecModel, same data, split and hyperparameters.

For every dataset and seed both models train on exactly the leave-last-out training part
(``core.evaluate.leave_last_out``) and recommend top-10 with viewed items filtered for the
test users; HR@10 / NDCG@10 come from ``core.evaluate.ranking_metrics`` for both (a test
user without recommendations is a miss). Acceptance: our mean NDCG@10 is at most 2 %
(relative) below RecTools' mean at the same number of epochs.

    .venv-bench/bin/python benchmarks/parity.py                  # demo + ml-latest-small, 3 seeds
    .venv-bench/bin/python benchmarks/parity.py --data demo --seeds 32 --epochs 2
    python benchmarks/parity.py --ours-only                       # no RecTools needed

Exit status: 0 when every dataset that ran passed (or --ours-only), 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    SHARED_DATA,
    ModelParams,
    Prepared,
    RunResult,
    fmt_ms,
    mean_std,
    popularity_metrics,
    prepare_demo,
    prepare_movielens,
    rectools_available,
    recommend_equivalence,
    relative,
    run_ours,
    run_rectools,
    set_threads,
    training_equivalence,
)

TOLERANCE = 0.02  # our mean NDCG@10 may be at most 2 % (relative) below RecTools'
DATASETS = ("demo", "ml-latest-small")
#: Epochs per dataset when --epochs is not given: ml-latest-small has only 610 users
#: (5 steps per epoch at batch 128), so it needs more epochs to train at all.
DEFAULT_EPOCHS = {"demo": 5, "ml-latest-small": 40}


def build_parser() -> argparse.ArgumentParser:
    d = ModelParams()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", choices=[*DATASETS, "all"], default="all")
    p.add_argument("--seeds", type=int, nargs="+", default=[32, 33, 34])
    p.add_argument("--epochs", type=int, default=None,
                   help=f"epochs for both models (default per dataset: {DEFAULT_EPOCHS})")
    p.add_argument("--n-factors", type=int, default=d.n_factors)
    p.add_argument("--n-blocks", type=int, default=d.n_blocks)
    p.add_argument("--n-heads", type=int, default=d.n_heads)
    p.add_argument("--dropout", type=float, default=d.dropout_rate)
    p.add_argument("--no-pos-emb", action="store_true")
    p.add_argument("--session-maxlen", type=int, default=d.session_maxlen)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=d.deterministic)
    p.add_argument("--threads", type=int, default=2, help="torch threads for both (default 2)")
    p.add_argument("--demo-users", type=int, default=8000)
    p.add_argument("--demo-items", type=int, default=1200)
    p.add_argument("--demo-seed", type=int, default=42)
    p.add_argument("--movielens-dir", type=Path, default=SHARED_DATA / "ml-latest-small")
    p.add_argument("--ml-min-item-freq", type=int, default=10,
                   help="MovieLens item-frequency filter (default 10; the KION default is 20)")
    p.add_argument("--item-features", default="", metavar="COLS",
                   help="categorical item features for both (e.g. genres): ours via --item-features, RecTools via "
                        "CatFeaturesItemNet on the same (column, value) pairs; columns a dataset lacks are left out")
    p.add_argument("--ours-only", action="store_true", help="skip RecTools (also skipped when not installed)")
    p.add_argument("--json", type=Path, default=None, help="also write every run's figures here")
    p.add_argument("--equivalence-only", action="store_true",
                   help="only the same-weights checks (training step and recommend, one RecTools fit per dataset)")
    return p


def params_from_args(args: argparse.Namespace, dataset: str, prep: Prepared | None = None) -> ModelParams:
    extra = {}
    if args.item_features:
        have = set() if prep is None or prep.items is None else set(prep.items.columns)
        kept = [c.strip() for c in args.item_features.split(",") if c.strip() in have]
        if kept:
            extra["item_features"] = ",".join(kept)
    return ModelParams(
        n_factors=args.n_factors, n_blocks=args.n_blocks, n_heads=args.n_heads, dropout_rate=args.dropout,
        use_pos_emb=not args.no_pos_emb, session_maxlen=args.session_maxlen, lr=args.lr,
        batch_size=args.batch_size, epochs=args.epochs or DEFAULT_EPOCHS[dataset],
        deterministic=args.deterministic, extra=extra,
    )


def prepare(dataset: str, args: argparse.Namespace) -> Prepared | None:
    if dataset == "demo":
        return prepare_demo(args.demo_users, args.demo_items, args.demo_seed)
    return prepare_movielens(args.movielens_dir, args.ml_min_item_freq)


def _progress(dataset: str, r: RunResult) -> None:
    print(f"  [{dataset}] seed {r.seed} {r.impl}: NDCG@10 {r.ndcg:.4f}, fit {r.fit_seconds:.1f} s", file=sys.stderr, flush=True)


def run_dataset(prep: Prepared, params: ModelParams, seeds: list[int], with_rectools: bool, threads: int,
                out=print, equivalence_only: bool = False) -> dict:  # noqa: ANN001
    """Train both implementations for every seed and print the side-by-side table."""
    out(f"\n=== {prep.name} ===")
    out(prep.summary())
    out(f"model: {params.describe()}; torch threads={threads}")
    ours: list[RunResult] = []
    theirs: list[RunResult] = []
    equivalence: dict = {}
    same_weights = with_rectools and not params.item_features  # the same-weights checks map id embeddings only
    if same_weights:
        set_threads(threads)
        eq = training_equivalence(prep, params, seeds[0])
        out(f"same weights + same batches, dropout off, {eq['steps']} Adam steps: max relative loss difference "
            f"{eq['max_rel_loss_diff']:.1e}, max gradient difference {eq['max_rel_grad_diff']:.1e} (of the largest), "
            f"max parameter difference after the steps {eq['max_abs_param_diff']:.1e} (an Adam step moves a weight by up "
            f"to lr = {params.lr:g})")
        equivalence["training"] = eq
    for i, seed in enumerate(seeds):
        set_threads(threads)
        ours.append(run_ours(prep, params, seed))
        _progress(prep.name, ours[-1])
        if with_rectools:
            theirs.append(run_rectools(prep, params, seed, threads, keep_model=i == 0 and same_weights))
            _progress(prep.name, theirs[-1])
            if i == 0 and same_weights:
                eq = recommend_equivalence(prep, params, theirs[0])
                del theirs[0].model, theirs[0].recs  # type: ignore[attr-defined]
                equivalence["recommend"] = eq
        if equivalence_only:
            break
    if "recommend" in equivalence:
        eq = equivalence["recommend"]
        out(f"RecTools' trained weights (seed {seeds[0]}) in core's Recommender: {eq['share_same_item_same_rank']:.2%} of "
            f"its top-10 entries identical (item and rank), {eq['share_same_items']:.2%} same items; NDCG@10 "
            f"{eq['ndcg_ours_code']:.4f} vs RecTools' own recommend {eq['ndcg_rectools_code']:.4f}")
    if equivalence_only:
        return {"dataset": prep.name, "equivalence": equivalence}
    pop_hr, pop_ndcg = popularity_metrics(prep)
    head = f"{'seed':>6} | {'ours HR@10':>10} {'NDCG@10':>8} {'fit s':>7} {'s/ep':>6} {'loss':>6}"
    if with_rectools:
        head += f" | {'RT HR@10':>9} {'NDCG@10':>8} {'fit s':>7} {'s/ep':>6} {'loss':>6}"
    out(head)
    out("-" * len(head))
    for i, seed in enumerate(seeds):
        a = ours[i]
        line = f"{seed:>6} | {a.hr:>10.4f} {a.ndcg:>8.4f} {a.fit_seconds:>7.1f} {a.seconds_per_epoch:>6.2f} {a.last_loss:>6.3f}"
        if with_rectools:
            b = theirs[i]
            line += f" | {b.hr:>9.4f} {b.ndcg:>8.4f} {b.fit_seconds:>7.1f} {b.seconds_per_epoch:>6.2f} {b.last_loss:>6.3f}"
        out(line)
    out("-" * len(head))

    def summary(runs: list[RunResult]) -> str:
        return (f"HR@10 {fmt_ms([r.hr for r in runs])}  NDCG@10 {fmt_ms([r.ndcg for r in runs])}  "
                f"fit {fmt_ms([r.fit_seconds for r in runs], 1)} s  "
                f"epoch {fmt_ms([r.seconds_per_epoch for r in runs], 2)} s")

    out(f"{'ours':>9}: {summary(ours)}  (users recommended: {ours[0].n_recommended_users})")
    if with_rectools:
        out(f"{'RecTools':>9}: {summary(theirs)}  (users recommended: {theirs[0].n_recommended_users})")
    out(f"{'popular':>9}: HR@10 {pop_hr:.4f}  NDCG@10 {pop_ndcg:.4f}")
    result = {
        "dataset": prep.name, "summary": prep.summary(), "params": asdict(params), "seeds": seeds,
        "ours": [asdict(r) for r in ours], "rectools": [asdict(r) for r in theirs],
        "popular": {"HR@10": pop_hr, "NDCG@10": pop_ndcg}, "equivalence": equivalence,
    }
    if with_rectools:
        ndcg_ours, sd_ours = mean_std([r.ndcg for r in ours])
        ndcg_rt, sd_rt = mean_std([r.ndcg for r in theirs])
        hr_ours, _ = mean_std([r.hr for r in ours])
        hr_rt, _ = mean_std([r.hr for r in theirs])
        rel = relative(ndcg_ours, ndcg_rt)
        # standard error of the difference of the two means, from the seed spread
        se = (sd_ours**2 / len(ours) + sd_rt**2 / len(theirs)) ** 0.5 / ndcg_rt if ndcg_rt else float("nan")
        passed = rel >= -TOLERANCE
        speed = mean_std([r.fit_seconds for r in theirs])[0] / mean_std([r.fit_seconds for r in ours])[0]
        out(f"relative difference of means (ours vs RecTools): NDCG@10 {rel:+.2%} (standard error from the seed "
            f"spread ±{se:.2%}), HR@10 {relative(hr_ours, hr_rt):+.2%}; fit time RecTools/ours = {speed:.2f}x")
        note = ""
        if not passed and abs(rel) < 2 * se:
            note = (f"; the gap is within 2 standard errors of the seed noise, so it is not significant: "
                    f"rerun with more --seeds")
        out(f"{prep.name}: {'PASS' if passed else 'FAIL'} (ours NDCG@10 mean within {TOLERANCE:.0%} of RecTools' "
            f"or better{note})")
        result.update(relative_ndcg=rel, relative_ndcg_se=se, passed=passed)
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with_rectools = not args.ours_only
    if with_rectools and not rectools_available():
        print("RecTools / pytorch-lightning not installed: running our side only (see benchmarks/README.md)")
        with_rectools = False
    set_threads(args.threads)
    datasets = DATASETS if args.data == "all" else (args.data,)
    results = []
    start = time.perf_counter()
    for name in datasets:
        prep = prepare(name, args)
        if prep is None:
            print(f"\n=== {name} ===\nskipped: {args.movielens_dir} not found")
            continue
        results.append(run_dataset(prep, params_from_args(args, name, prep), args.seeds, with_rectools, args.threads,
                                   equivalence_only=args.equivalence_only and with_rectools))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    if not with_rectools or args.equivalence_only:
        return 0
    return 0 if all(r.get("passed", False) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
