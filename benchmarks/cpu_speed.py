"""CPU training speed: our SASRec (core) vs RecTools 0.19's SASRecModel on the same demo data.

Three parts:

1. Full fits (the number that matters to a user): ``core.train.fit`` vs RecTools'
   ``Dataset.construct`` + ``SASRecModel.fit`` with the same hyperparameters and epochs, on
   the leave-last-out training part of ~30k demo users. Reports wall seconds per epoch (the
   training loop), the whole fit's wall and CPU seconds (data preparation included), their
   ratio (target: ours >= 3x faster), and NDCG@10 / HR@10 of both after those epochs.
2. A step micro-benchmark: one optimisation step of each model on the same kind of batch,
   interleaved, many repetitions; the minimum is robust to other load on the machine.
3. ``--profile``: where our step's time goes (phases timed by difference, plus the torch
   profiler's top operators), how many of the batch positions are PAD, and measured
   what-ifs: the step with the padded forward (every position through every layer, as
   RecTools does), without dropout, and with dropout masks drawn by ``rand_like``.

    .venv-bench/bin/python benchmarks/cpu_speed.py --profile       # 30k users, 2 epochs each
    .venv-bench/bin/python benchmarks/cpu_speed.py --repeats 2      # alternate fits, keep the fastest
    .venv-bench/bin/python benchmarks/cpu_speed.py --threads 1      # stable timings on a busy machine
    python benchmarks/cpu_speed.py --ours-only --profile            # no RecTools needed
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import (  # noqa: E402
    ModelParams,
    Prepared,
    prepare_demo,
    rectools_available,
    run_ours,
    run_rectools,
    set_threads,
)

TARGET_SPEEDUP = 3.0


def build_parser() -> argparse.ArgumentParser:
    d = ModelParams()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=30_000)
    p.add_argument("--items", type=int, default=1200)
    p.add_argument("--demo-seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=32)
    p.add_argument("--n-factors", type=int, default=d.n_factors)
    p.add_argument("--n-blocks", type=int, default=d.n_blocks)
    p.add_argument("--n-heads", type=int, default=d.n_heads)
    p.add_argument("--dropout", type=float, default=d.dropout_rate)
    p.add_argument("--session-maxlen", type=int, default=d.session_maxlen)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=False,
                   help="deterministic algorithms in both (default off: production speed)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1, help="full fits per implementation, alternating (default 1)")
    p.add_argument("--step-reps", type=int, default=40, help="steps per model in the micro-benchmark (0: skip)")
    p.add_argument("--profile", action="store_true", help="profile our training step")
    p.add_argument("--ours-only", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    return p


def full_fits(prep: Prepared, params: ModelParams, seed: int, with_rectools: bool, threads: int,
              repeats: int = 1) -> dict:
    """Fit both ``repeats`` times, alternating (ours, RecTools, ours, ...), and print wall and CPU
    seconds per epoch and per whole fit plus the quality after the fit. Speed-ups use each
    implementation's fastest run (the one least disturbed by other load)."""
    load0 = os.getloadavg()[0]
    runs: dict[str, list] = {"ours": [], "RecTools": []}
    for _ in range(repeats):
        runs["ours"].append(run_ours(prep, params, seed))
        if with_rectools:
            runs["RecTools"].append(run_rectools(prep, params, seed, threads))
    load1 = os.getloadavg()[0]

    print(f"\n--- full fit: {params.epochs} epoch(s), seed {seed}, torch threads {threads}, {repeats} run(s) each ---")
    head = (f"{'':>9} | {'wall s/epoch':>12} {'CPU s/epoch':>11} {'fit wall s':>10} {'fit CPU s':>9} | "
            f"{'HR@10':>7} {'NDCG@10':>8} {'loss':>6}")
    print(head)
    print("-" * len(head))
    for name, rs in runs.items():
        for r in rs:
            print(f"{name:>9} | {r.seconds_per_epoch:>12.2f} {r.cpu_seconds_per_epoch:>11.2f} {r.fit_seconds:>10.1f} "
                  f"{r.fit_cpu_seconds:>9.1f} | {r.hr:>7.4f} {r.ndcg:>8.4f} {r.last_loss:>6.3f}")
    out: dict = {name: [vars(r) for r in rs] for name, rs in runs.items()}
    out["load_avg_1min"] = [load0, load1]
    if with_rectools:
        def best(name: str, attr: str) -> float:
            return min(getattr(r, attr) for r in runs[name])

        ratios = {
            "wall per epoch": best("RecTools", "seconds_per_epoch") / best("ours", "seconds_per_epoch"),
            "CPU per epoch": best("RecTools", "cpu_seconds_per_epoch") / best("ours", "cpu_seconds_per_epoch"),
            "whole fit wall": best("RecTools", "fit_seconds") / best("ours", "fit_seconds"),
            "whole fit CPU": best("RecTools", "fit_cpu_seconds") / best("ours", "fit_cpu_seconds"),
        }
        print("speed-up ours vs RecTools (fastest runs): " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
        fit_ratio = ratios["whole fit wall"]
        print(f"target >= {TARGET_SPEEDUP:g}x on the whole fit incl. data preparation: "
              f"{'MET' if fit_ratio >= TARGET_SPEEDUP else 'NOT MET'}")
        out["ratios"] = ratios
    print(f"1-min load average before/after: {load0:.2f} / {load1:.2f} ({os.cpu_count()} CPUs; above ~{threads} "
          f"means other processes competed for the cores: trust CPU seconds and minima more than wall seconds)")
    return out


# --------------------------------------------------------------------------- step micro-benchmark


class _OursStep:
    """One optimisation step of core's model, as ``core.train`` does it (softmax loss at the
    non-PAD target positions only)."""

    def __init__(self, prep: Prepared, params: ModelParams, seed: int) -> None:
        from core.model import SASRec
        from core.sequences import build_training_sequences

        self.config = params.ours(seed)
        self.seq = build_training_sequences(prep.split.train, params.session_maxlen)
        torch.manual_seed(seed)
        self.model = SASRec(self.seq.item_map.n_items, self.config)
        self.model.xavier_init()
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=params.lr, betas=(0.9, 0.98))
        gen = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(self.seq.n_sequences, generator=gen)
        self.batch_size = params.batch_size
        self.n_batches = self.seq.n_sequences // self.batch_size

    def batch(self, i: int) -> tuple[torch.Tensor, ...]:
        i %= self.n_batches
        rows = self.perm[i * self.batch_size : (i + 1) * self.batch_size]
        x, y, w = self.seq.batch(rows)
        positions = torch.nonzero(y.reshape(-1) != 0).squeeze(1)
        return x, y, w, positions

    def loss(self, i: int) -> torch.Tensor:
        from core.train import sequence_loss

        x, y, w, positions = self.batch(i)
        return sequence_loss(self.model, x, y, w, positions, len(positions), self.config)

    def __call__(self, i: int) -> None:
        loss = self.loss(i)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


class _RecToolsStep:
    """One optimisation step of RecTools' torch backbone on batches from its own train
    dataloader (collation included, as in its training loop; Lightning's overhead not)."""

    def __init__(self, prep: Prepared, params: ModelParams, seed: int) -> None:
        from benchmarks.common import _rectools_model

        torch.manual_seed(seed)
        model = _rectools_model(prep, params, params.dropout_rate)
        self.lightning = model.lightning_model
        self.lightning._xavier_normal_init()  # noqa: SLF001 - what on_train_start does
        self.model = self.lightning.torch_model
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=params.lr, betas=(0.9, 0.98))
        self.loader = model.data_preparator.get_dataloader_train()
        self._it = iter(self.loader)

    def __call__(self, i: int) -> None:
        try:
            batch = next(self._it)
        except StopIteration:
            self._it = iter(self.loader)
            batch = next(self._it)
        logits = self.model(batch=batch)
        loss = self.lightning._calc_softmax_loss(logits, batch["y"], batch["yw"])  # noqa: SLF001
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def _time(fn, i: int) -> float:  # noqa: ANN001
    t = time.perf_counter()
    fn(i)
    return time.perf_counter() - t


def step_benchmark(prep: Prepared, params: ModelParams, seed: int, reps: int, with_rectools: bool) -> dict:
    ours = _OursStep(prep, params, seed)
    theirs = _RecToolsStep(prep, params, seed) if with_rectools else None
    for i in range(3):  # warm-up
        ours(i)
        if theirs:
            theirs(i)
    t_ours, t_theirs = [], []
    for i in range(3, 3 + reps):  # interleaved, so both see the same load
        t_ours.append(_time(ours, i))
        if theirs:
            t_theirs.append(_time(theirs, i))
    print(f"\n--- one training step, batch {params.batch_size}, {reps} interleaved repetitions (ms) ---")
    print(f"{'':>9} | {'min':>7} {'median':>7}")
    print(f"{'ours':>9} | {1e3 * min(t_ours):>7.1f} {1e3 * statistics.median(t_ours):>7.1f}")
    out = {"ours_ms": [1e3 * t for t in t_ours]}
    if theirs:
        print(f"{'RecTools':>9} | {1e3 * min(t_theirs):>7.1f} {1e3 * statistics.median(t_theirs):>7.1f}")
        ratio = min(t_theirs) / min(t_ours)
        print(f"step speed-up ours vs RecTools (min): {ratio:.2f}x")
        out.update(rectools_ms=[1e3 * t for t in t_theirs], min_ratio=ratio)
    return out


# --------------------------------------------------------------------------- profile


def profile_ours(prep: Prepared, params: ModelParams, seed: int, reps: int = 15) -> dict:
    """Phase times of our step (each the minimum over ``reps``; backward parts by difference)
    plus the torch profiler's top operators."""
    step = _OursStep(prep, params, seed)
    model, opt = step.model, step.opt
    x, y, w, positions = step.batch(0)
    n_pos = x.numel()
    real_inputs = int((x != 0).sum())
    print(f"\n--- profile of our step (batch {params.batch_size} x maxlen {params.session_maxlen}, "
          f"{model.n_items} items, d={params.n_factors}) ---")
    print(f"positions in the batch: {n_pos}, of which real (non-PAD) inputs {real_inputs} "
          f"({real_inputs / n_pos:.0%}) = loss targets {len(positions)}")
    all_x = step.seq.x
    print(f"whole training set: {float((all_x != 0).float().mean()):.0%} of input positions are real items; "
          f"mean sequence length {float((all_x != 0).sum(1).float().mean()):.1f} of {params.session_maxlen}")

    emb = model.output_embeddings
    h_fixed = _hidden(model, x, positions).detach()

    def body_fwd(_i: int) -> None:
        with torch.no_grad():
            _hidden(model, x, positions)

    def body_fwd_bwd(_i: int) -> None:
        model.zero_grad(set_to_none=True)
        _hidden(model, x, positions).sum().backward()

    def head_fwd(_i: int) -> None:
        with torch.no_grad():
            logits = h_fixed @ emb().T
            torch.nn.functional.cross_entropy(logits, y.reshape(-1)[positions].long())

    def head_fwd_bwd(_i: int) -> None:
        model.zero_grad(set_to_none=True)
        h = h_fixed.clone().requires_grad_(True)
        logits = h @ emb().T
        torch.nn.functional.cross_entropy(logits, y.reshape(-1)[positions].long()).backward()

    def full(_i: int) -> None:
        loss = sequence_loss_once()
        opt.zero_grad(set_to_none=True)
        loss.backward()

    def sequence_loss_once() -> torch.Tensor:
        from core.train import sequence_loss

        return sequence_loss(model, x, y, w, positions, len(positions), step.config)

    def optim(_i: int) -> None:
        opt.step()

    def whole(i: int) -> None:
        full(i)
        opt.step()

    full(0)  # gradients exist for the optimizer timing
    fns = {"body_fwd": body_fwd, "body_fwd_bwd": body_fwd_bwd, "head_fwd": head_fwd,
           "head_fwd_bwd": head_fwd_bwd, "optim": optim, "whole": whole}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(reps):  # interleaved, so every phase sees the same load
        for name, fn in fns.items():
            times[name].append(_time(fn, i))
    best = {k: 1e3 * min(v) for k, v in times.items()}
    phases = {
        "transformer forward": best["body_fwd"],
        "transformer backward": best["body_fwd_bwd"] - best["body_fwd"],
        "logits+softmax forward": best["head_fwd"],
        "logits+softmax backward": best["head_fwd_bwd"] - best["head_fwd"],
        "Adam step": best["optim"],
    }
    total = best["whole"]
    print(f"{'phase':<26} {'ms (min)':>9} {'share':>6}")
    for name, ms in phases.items():
        print(f"{name:<26} {ms:>9.1f} {ms / total:>6.0%}")
    print(f"{'whole step (fwd+bwd+Adam)':<26} {total:>9.1f}")

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(10):
            step(i)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    print("torch profiler, 10 steps, top operators by self CPU time:")
    print(table)
    return {"phases_ms": phases, "step_ms": total, "real_input_share": real_inputs / n_pos}


# --------------------------------------------------------------------------- what-ifs


def _hidden(model, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    """Hidden states at the non-PAD positions, as core's training computes them."""
    if hasattr(model, "hidden_at"):  # core skips PAD positions in the per-position layers
        return model.hidden_at(x, positions)
    return model(x).reshape(-1, model.item_emb.embedding_dim).index_select(0, positions)


def _padded_hidden(model, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    """Hidden states computed on every position of the padded (B, L) layout, as RecTools does."""
    return model(x).reshape(-1, model.item_emb.embedding_dim).index_select(0, positions)


class _RandDropout(torch.nn.Module):
    """Inverted dropout with the mask drawn by ``torch.rand_like(x) >= p`` instead of ``bernoulli_``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * (torch.rand_like(x) >= self.p).to(x.dtype) * (1.0 / (1.0 - self.p))


def _with_rand_dropout(module: torch.nn.Module) -> torch.nn.Module:
    for name, child in module.named_children():
        if isinstance(child, torch.nn.Dropout):
            setattr(module, name, _RandDropout(child.p))
        else:
            _with_rand_dropout(child)
    return module


def what_if(prep: Prepared, params: ModelParams, seed: int, reps: int = 20) -> dict:
    """Measured variants of our step on the same batches: the padded forward (every position
    through every layer, as RecTools and core before PAD skipping), dropout off (the cost of
    drawing dropout masks), and dropout masks from ``rand_like`` instead of ``bernoulli_``."""
    import copy

    import torch.nn.functional as F

    base = _OursStep(prep, params, seed)
    x, _, _, positions = base.batch(0)
    base.model.eval()
    with torch.no_grad():
        padded = _padded_hidden(base.model, x, positions)
        current = _hidden(base.model, x, positions)
    diff = float((padded - current).abs().max())
    base.model.train()

    def variant(model: torch.nn.Module, hidden):  # noqa: ANN001, ANN202
        opt = torch.optim.Adam(model.parameters(), lr=params.lr, betas=(0.9, 0.98))

        def run(i: int) -> None:
            xb, yb, wb, pos = base.batch(i)
            h = hidden(model, xb, pos)
            logits = h @ model.output_embeddings().T
            loss = (F.cross_entropy(logits, yb.reshape(-1)[pos].long(), reduction="none") * wb.reshape(-1)[pos]).sum()
            opt.zero_grad(set_to_none=True)
            (loss / len(pos)).backward()
            opt.step()

        return run

    no_dropout = copy.deepcopy(base.model)
    for module in no_dropout.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if hasattr(module, "dropout_rate"):
            module.dropout_rate = 0.0
    fns = {
        "current step (core)": base,
        "padded forward": variant(copy.deepcopy(base.model), _padded_hidden),
        "dropout 0": variant(no_dropout, _hidden),
        "rand_like dropout masks": variant(_with_rand_dropout(copy.deepcopy(base.model)), _hidden),
    }
    timings: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(3):
        for fn in fns.values():
            fn(i)
    for i in range(3, 3 + reps):  # interleaved, so every variant sees the same load
        for name, fn in fns.items():
            timings[name].append(_time(fn, i))
    ref = min(timings["current step (core)"])
    print(f"\n--- what-if, our step (min of {reps} interleaved, ms) ---")
    print(f"core's PAD-skipping hidden states vs the padded forward at the real positions: max |difference| {diff:.1e}")
    for name, ts in timings.items():
        print(f"{name:<26} {1e3 * min(ts):>7.1f}  (current / this = {ref / min(ts):.2f}x)")
    return {"max_abs_diff_padded_vs_current": diff, "ms": {k: 1e3 * min(v) for k, v in timings.items()}}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with_rectools = not args.ours_only
    if with_rectools and not rectools_available():
        print("RecTools / pytorch-lightning not installed: running our side only (see benchmarks/README.md)")
        with_rectools = False
    set_threads(args.threads)
    params = ModelParams(
        n_factors=args.n_factors, n_blocks=args.n_blocks, n_heads=args.n_heads, dropout_rate=args.dropout,
        session_maxlen=args.session_maxlen, lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
        deterministic=args.deterministic,
    )
    t = time.perf_counter()
    prep = prepare_demo(args.users, args.items, args.demo_seed)
    print(f"data ({time.perf_counter() - t:.1f} s): {prep.summary()}")
    print(f"model: {params.describe()}; torch {torch.__version__}, threads {args.threads}, numpy {np.__version__}")
    result = {"fits": full_fits(prep, params, args.seed, with_rectools, args.threads, args.repeats)}
    if args.step_reps > 0:
        set_threads(args.threads)
        result["steps"] = step_benchmark(prep, params, args.seed, args.step_reps, with_rectools)
    if args.profile:
        set_threads(args.threads)
        result["profile"] = profile_ours(prep, params, args.seed)
        result["what_if"] = what_if(prep, params, args.seed)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
