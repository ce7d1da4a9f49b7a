"""Keeps benchmarks/ui_stalls.py from rotting: the whole drive of the real window at a tiny
size, in this process (no timing thresholds: timings live in the benchmark's own output)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import ui_stalls  # noqa: E402

KEYS = {"max_stall_ms", "open_s", "filter_s", "first_step_s", "show_user_s", "theme_s", "peak_rss_mb"}


@pytest.mark.slow
def test_ui_stalls_drives_every_action_and_ends_with_the_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--users", "300", "--items", "60", "--cache-dir", str(tmp_path), "--checkpoint-users", "200",
            "--train-steps", "3", "--prepare-here", "--timeout", "120", "--no-gc-freeze"]
    assert ui_stalls.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])  # the last line is the JSON object
    assert KEYS <= set(figures) and figures["users"] == 300
    assert all(isinstance(figures[k], (int, float)) and figures[k] >= 0 for k in KEYS)
    table = lines[lines.index(next(line for line in lines if line.startswith("action"))):]
    actions = [line[:34].strip() for line in table[2:-1]]
    for action in ("open folder (summary shown)", "filter: min_item_freq", "open checkpoint", "show a user (tables, card painted)",
                   "random user (tables, card painted)", "search titles ('the')", "similar items", "item map", "page: runs", "theme: dark",
                   "presentation: on", "train: until the first step", "stop training"):
        assert action in actions, action
    assert (tmp_path / "demo_300u_60i_s42" / "interactions.csv").is_file()  # made once, reused next time


def test_probe_counts_a_late_tick_as_a_stall_and_a_regular_one_as_quiet(monkeypatch: pytest.MonkeyPatch, qapp) -> None:  # noqa: ANN001
    now = [100.0]
    monkeypatch.setattr(ui_stalls.time, "perf_counter", lambda: now[0])
    probe = ui_stalls.StallProbe(interval_ms=10, quiet_ticks=2)
    probe.reset_window("an action")
    for step in (0.010, 0.011, 0.250, 0.010, 0.010):
        now[0] += step
        probe._tick()  # noqa: SLF001 - driven by hand instead of by the timer
    assert probe.window_max_ms == pytest.approx(240.0) and probe.total_max_ms == pytest.approx(240.0)
    assert probe.quiet and probe.quiet_since == pytest.approx(100.0 + 0.010 + 0.011 + 0.250)
    probe.reset_window("next")
    assert probe.window_max_ms == 0.0 and probe.action == "next"


def test_default_items_follow_kion_and_the_parser_has_the_documented_options() -> None:
    assert ui_stalls.default_items(960_000) == 15_700 and ui_stalls.default_items(300) == 60
    args = ui_stalls.build_parser().parse_args(["--users", "1000", "--stacks"])
    assert args.users == 1000 and args.items is None and args.stacks and args.probe_ms == 10


def test_the_profiler_gc_watch_and_memory_sampler_report_per_action() -> None:
    import gc

    args = ui_stalls.build_parser().parse_args(["--profile", "item map", "--profile", "Attention"])
    profiler = ui_stalls.ActionProfiler(args.profile, top=5)
    assert profiler.wanted("item map") and profiler.wanted("page: attention") and not profiler.wanted("theme: dark")
    profiler.begin("theme: dark")
    profiler.end("theme: dark")
    assert profiler.reports == []  # not asked for
    profiler.begin("item map")
    sum(i * i for i in range(20_000))
    profiler.end("item map")
    assert len(profiler.reports) == 2 and "item map" in profiler.reports[0] and "ncalls" in profiler.reports[0]

    watch = ui_stalls.GcWatch()
    watch.start()
    try:
        watch.reset_window()
        gc.collect()
        assert watch.window_max_ms > 0.0 and watch.window_generation == 2
    finally:
        watch.stop()
    assert watch._callback not in gc.callbacks  # noqa: SLF001

    memory = ui_stalls.RssSampler(interval_s=0.001)
    memory.reset_window()
    assert memory.window_peak_mb == pytest.approx(ui_stalls.rss_mb(), rel=0.5) and memory.window_peak_mb > 0
