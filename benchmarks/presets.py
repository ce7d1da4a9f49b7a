"""Does ``--preset studio`` beat the notebook's configuration? Both on the same leave-last-out
split, the same seeds and the same number of epochs, NDCG@10 / HR@10 of the final model.

The notebook's configuration is ``SASRecConfig()``'s defaults (RecTools' tutorial); the studio
preset is ``core.presets.preset_values("studio")`` with its item-feature columns fitted to the
dataset's items table (``core.presets.fit_to_items``). Data, split, filters and metrics are
``benchmarks/parity.py``'s (``benchmarks.common``). Acceptance (issue 14): the studio preset's
mean NDCG@10 over the seeds is at least 5 % (relative) above the notebook's on every dataset.

    python benchmarks/presets.py                          # demo + ml-latest-small, seeds 32 33 34
    python benchmarks/presets.py --data demo --seeds 32 --epochs 1

Prints a table per dataset and, as its last line, one JSON object. Exit status 0 when every
dataset that ran passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
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
    prepare_demo,
    prepare_movielens,
    relative,
    run_ours,
    set_threads,
)

#: The studio preset must beat the notebook's mean NDCG@10 by at least this much (relative).
REQUIRED_GAIN = 0.05
DATASETS = ("demo", "ml-latest-small")
#: The same epochs as ``benchmarks/parity.py`` (ml-latest-small has only 5 steps per epoch).
DEFAULT_EPOCHS = {"demo": 5, "ml-latest-small": 40}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", choices=[*DATASETS, "all"], default="all")
    p.add_argument("--seeds", type=int, nargs="+", default=[32, 33, 34])
    p.add_argument("--epochs", type=int, default=None, help=f"epochs for both (default per dataset: {DEFAULT_EPOCHS})")
    p.add_argument("--preset", default="studio", help="the preset compared with the notebook's configuration")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--demo-users", type=int, default=8000)
    p.add_argument("--demo-items", type=int, default=1200)
    p.add_argument("--movielens-dir", type=Path, default=SHARED_DATA / "ml-latest-small")
    p.add_argument("--ml-min-item-freq", type=int, default=10)
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=False)
    return p


def preset_params(name: str, prep: Prepared, epochs: int, deterministic: bool) -> tuple[ModelParams, str]:
    """The notebook's ``ModelParams`` with preset ``name`` applied (its feature columns fitted
    to ``prep``'s items table), and the note of what ``fit_to_items`` left out."""
    from core.config import SASRecConfig
    from core.presets import fit_to_items, preset_config

    config = preset_config(name)
    columns = None if prep.items is None else [c for c in prep.items.columns if c != "item_id"]
    config, note = fit_to_items(config, columns)
    defaults = SASRecConfig().to_dict()
    extra = {k: v for k, v in config.to_dict().items() if v != defaults[k] and k not in ModelParams.__dataclass_fields__}
    base = {k: v for k, v in config.to_dict().items() if k in ModelParams.__dataclass_fields__}
    base.update(epochs=epochs, deterministic=deterministic)
    return ModelParams(**base, extra=extra), note


def run_dataset(prep: Prepared, preset: str, seeds: list[int], epochs: int, deterministic: bool, out=print) -> dict:  # noqa: ANN001
    """Train the notebook's configuration and the preset for every seed; print the table."""
    notebook = ModelParams(epochs=epochs, deterministic=deterministic)
    studio, note = preset_params(preset, prep, epochs, deterministic)
    out(f"\n=== {prep.name} ===")
    out(prep.summary())
    out(f"notebook: {notebook.describe()}")
    out(f"{preset}: {studio.describe()}" + (f"  ({note})" if note else ""))
    runs: dict[str, list[RunResult]] = {"notebook": [], preset: []}
    for seed in seeds:
        for name, params in (("notebook", notebook), (preset, studio)):
            runs[name].append(run_ours(prep, params, seed))
            r = runs[name][-1]
            print(f"  [{prep.name}] seed {seed} {name}: NDCG@10 {r.ndcg:.4f}, fit {r.fit_seconds:.1f} s", file=sys.stderr, flush=True)
    head = f"{'seed':>6} | {'notebook HR@10':>14} {'NDCG@10':>8} {'fit s':>6} | {preset + ' HR@10':>14} {'NDCG@10':>8} {'fit s':>6}"
    out(head)
    out("-" * len(head))
    for i, seed in enumerate(seeds):
        a, b = runs["notebook"][i], runs[preset][i]
        out(f"{seed:>6} | {a.hr:>14.4f} {a.ndcg:>8.4f} {a.fit_seconds:>6.1f} | {b.hr:>14.4f} {b.ndcg:>8.4f} {b.fit_seconds:>6.1f}")
    out("-" * len(head))
    for name, rs in runs.items():
        out(f"{name:>9}: HR@10 {fmt_ms([r.hr for r in rs])}  NDCG@10 {fmt_ms([r.ndcg for r in rs])}  "
            f"fit {fmt_ms([r.fit_seconds for r in rs], 1)} s")
    nb, _ = mean_std([r.ndcg for r in runs["notebook"]])
    st, _ = mean_std([r.ndcg for r in runs[preset]])
    hr_nb, _ = mean_std([r.hr for r in runs["notebook"]])
    hr_st, _ = mean_std([r.hr for r in runs[preset]])
    gain = relative(st, nb)
    passed = gain >= REQUIRED_GAIN
    out(f"{prep.name}: {preset} vs notebook NDCG@10 {gain:+.1%}, HR@10 {relative(hr_st, hr_nb):+.1%} at {epochs} epochs: "
        f"{'PASS' if passed else 'FAIL'} (needs {REQUIRED_GAIN:+.0%})")
    return {
        "dataset": prep.name, "epochs": epochs, "seeds": seeds, "preset": preset, "preset_settings": studio.extra,
        "notebook_ndcg": nb, "preset_ndcg": st, "notebook_hr": hr_nb, "preset_hr": hr_st,
        "ndcg_gain": gain, "passed": passed,
        "runs": {name: [{"seed": r.seed, "hr": r.hr, "ndcg": r.ndcg, "fit_s": r.fit_seconds} for r in rs]
                 for name, rs in runs.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_threads(args.threads)
    datasets = DATASETS if args.data == "all" else (args.data,)
    results = []
    start = time.perf_counter()
    for name in datasets:
        prep = (prepare_demo(args.demo_users, args.demo_items) if name == "demo"
                else prepare_movielens(args.movielens_dir, args.ml_min_item_freq))
        if prep is None:
            print(f"\n=== {name} ===\nskipped: {args.movielens_dir} not found")
            continue
        results.append(run_dataset(prep, args.preset, args.seeds, args.epochs or DEFAULT_EPOCHS[name], args.deterministic))
    seconds = time.perf_counter() - start
    passed = bool(results) and all(r["passed"] for r in results)
    print(f"\ntotal {seconds:.0f} s")
    print(json.dumps({"passed": passed, "seconds": round(seconds, 1),
                      "datasets": [{k: v for k, v in r.items() if k != "runs"} for r in results]}, default=float))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
