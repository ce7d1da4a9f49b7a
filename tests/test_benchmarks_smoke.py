"""Keeps benchmarks/parity.py and benchmarks/cpu_speed.py from rotting: runs our side only
(no RecTools import) on very small demo data for one epoch."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common, cpu_speed, parity  # noqa: E402

TINY = ["--data", "demo", "--demo-users", "300", "--demo-items", "60", "--seeds", "32", "--epochs", "1",
        "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64", "--threads", "1"]


def test_parity_ours_side_on_tiny_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert parity.main([*TINY, "--ours-only"]) == 0
    out = capsys.readouterr().out
    assert "=== demo ===" in out
    assert "ours: HR@10" in out
    assert "popular: HR@10" in out


def test_run_ours_gives_sane_figures() -> None:
    prep = common.prepare_demo(300, 60, seed=1)
    assert len(prep.test_users) > 0
    params = common.ModelParams(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=64, epochs=1)
    result = common.run_ours(prep, params, seed=32)
    assert 0.0 <= result.ndcg <= result.hr <= 1.0
    assert result.n_recommended_users > 0
    assert len(result.epoch_seconds) == 1 and result.fit_seconds > 0
    hr, ndcg = common.popularity_metrics(prep)
    assert 0.0 <= ndcg <= hr <= 1.0


def test_movielens_is_skipped_when_absent(tmp_path: Path) -> None:
    assert common.prepare_movielens(tmp_path / "missing", min_item_freq=5) is None


def test_cpu_speed_ours_side_on_tiny_demo(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--users", "300", "--items", "60", "--epochs", "1", "--n-factors", "16", "--n-blocks", "1",
            "--session-maxlen", "8", "--batch-size", "64", "--threads", "1", "--step-reps", "2", "--ours-only"]
    assert cpu_speed.main(argv) == 0
    out = capsys.readouterr().out
    assert "full fit" in out and "one training step" in out


def test_cpu_speed_profile_and_what_if(capsys: pytest.CaptureFixture[str]) -> None:
    prep = common.prepare_demo(300, 60, seed=1)
    params = common.ModelParams(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=64, epochs=1)
    profile = cpu_speed.profile_ours(prep, params, seed=32, reps=2)
    assert 0.0 < profile["real_input_share"] <= 1.0
    what_if = cpu_speed.what_if(prep, params, seed=32, reps=2)
    # core's PAD-skipping forward equals the padded forward at the real positions
    assert what_if["max_abs_diff_padded_vs_current"] < 1e-5
    assert set(what_if["ms"]) == {"current step (core)", "padded forward", "dropout 0", "rand_like dropout masks"}
    assert "whole step" in capsys.readouterr().out


@pytest.mark.slow
def test_kion_scale_runs_every_section_on_a_tiny_cpu_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import kion_scale

    out = tmp_path / "figures.json"
    argv = ["--users", "1500", "--items", "300", "--epochs", "1", "--device", "cpu", "--eval-users", "500",
            "--eval-epochs", "1", "--thread-epochs", "1", "--rectools-epochs", "0", "--json", str(out),
            "--eager-sequences", "300", "--profile-steps", "2"]
    assert kion_scale.main(argv) == 0
    text = capsys.readouterr().out
    assert "FAILED" not in text
    assert "ms/step" in text and "step mode eager" in text  # on the CPU the step never runs as a graph
    assert "Self CPU" in text  # the profile table
    import json

    figures = json.loads(out.read_text())["figures"]
    assert figures["n_sequences"] > 0 and figures["fit_fp32_s"] > 0 and figures["fit_tf32_s"] > 0
    assert len(figures["thread_epochs"]) == 1 and figures["all_users"] > 0
    assert figures["eager_ms_step"] > 0 and figures["graph_ms_step_small"] > 0
    hr, ndcg = figures["ours_fp32_1ep"]
    assert 0.0 <= ndcg <= hr <= 1.0


def test_parity_with_item_features_passes_them_to_ours(capsys: pytest.CaptureFixture[str]) -> None:
    assert parity.main([*TINY, "--ours-only", "--item-features", "genres,colour"]) == 0
    out = capsys.readouterr().out
    assert "deterministic=True item_features=genres;" in out  # the column the demo lacks is left out, genres kept


def test_presets_benchmark_prints_both_configurations_and_a_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from benchmarks import presets

    code = presets.main(["--data", "demo", "--demo-users", "300", "--demo-items", "60", "--seeds", "32",
                         "--epochs", "1", "--threads", "1"])
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    (dataset,) = result["datasets"]
    assert dataset["dataset"] == "demo" and dataset["epochs"] == 1 and dataset["preset"] == "studio"
    assert dataset["preset_settings"]["item_features"] == "genres,content_type,age_rating"
    assert code == (0 if dataset["passed"] else 1) and result["passed"] == dataset["passed"]
    assert dataset["ndcg_gain"] == pytest.approx(dataset["preset_ndcg"] / dataset["notebook_ndcg"] - 1)
    assert "studio vs notebook NDCG@10" in out
