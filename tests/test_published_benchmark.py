"""Keeps benchmarks/published.py honest: its leave-one-out split is the papers' (per user: test =
last item, validation = second-to-last, the rest training), and one epoch on a tiny SASRec-format
file prints every figure with the JSON keys the report reads."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import published  # noqa: E402

TINY = ["--epochs", "1", "--patience", "0", "--n-factors", "8", "--n-blocks", "1", "--session-maxlen", "6",
        "--batch-size", "16", "--threads", "1", "--device", "cpu"]


def _sequences() -> dict[int, list[int]]:
    """40 users with 3..8 interactions over 25 items, plus user 99 with only 2."""
    seqs = {u: [(u * 7 + j * 3) % 25 + 1 for j in range(3 + u % 6)] for u in range(1, 41)}
    seqs[99] = [4, 5]
    return seqs


def _write_sasrec(path: Path, seqs: dict[int, list[int]]) -> Path:
    """One 'user item' line per interaction; users interleaved (round robin), each user's
    items in order, as the format allows."""
    lines, depth = [], max(len(s) for s in seqs.values())
    for j in range(depth):
        lines += [f"{u} {s[j]}" for u, s in seqs.items() if j < len(s)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_split_is_last_test_second_to_last_validation(tmp_path: Path) -> None:
    from core.load import LoadOptions, load_data

    seqs = _sequences()
    data = load_data(_write_sasrec(tmp_path / "tiny.txt", seqs), LoadOptions(fmt="sasrec"))
    split = published.loo_split(data.interactions)
    test = dict(zip(split.test["user_id"], split.test["item_id"]))
    validation = dict(zip(split.validation["user_id"], split.validation["item_id"]))
    train = split.train.sort_values(["user_id", "datetime"], kind="stable").groupby("user_id")["item_id"].apply(list)
    for user, items in seqs.items():
        if len(items) < 3:  # too short to hold out two items: all training, not scored
            assert user not in test and user not in validation
            assert train[user] == items
            continue
        assert test[user] == items[-1]
        assert validation[user] == items[-2]
        assert train[user] == items[:-2]
    assert split.unscored_users == 1
    assert len(split.train) + len(split.validation) + len(split.test) == len(data.interactions)
    history = split.train_and_validation
    assert sorted(history[history["user_id"] == 1]["item_id"]) == sorted(seqs[1][:-1])


def test_one_epoch_prints_figures_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seqs = _sequences()
    path = _write_sasrec(tmp_path / "tiny.txt", seqs)
    rc = published.main(["--data", str(path), *TINY, "--json", str(tmp_path / "out.json")])
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert rc == (0 if figures["passed"] else 1)
    assert json.loads((tmp_path / "out.json").read_text()) == figures
    expected = {"data", "n_interactions", "n_users", "n_items", "split", "settings", "protocol", "epochs_trained",
                "best_epoch", "kept_epoch", "stopped_early", "validation", "test", "popular", "published_source",
                "published", "compared_row", "ratio", "target_ratio", "passed", "seconds"}
    assert expected <= set(figures)
    scored = sum(len(s) >= 3 for s in seqs.values())
    assert figures["split"] == {"train": sum(len(s) for s in seqs.values()) - 2 * scored,
                                "validation_users": scored, "test_users": scored, "unscored_users": 1}
    assert figures["protocol"]["users"] == scored and figures["protocol"]["filter_seen"] is True
    assert figures["epochs_trained"] == 1 and figures["settings"]["loss"] == "softmax"
    hr, ndcg = figures["test"]["HR@10"], figures["test"]["NDCG@10"]
    assert 0.0 <= ndcg <= hr <= 1.0
    row = figures["compared_row"]
    assert row["row"] == "SASRec+SS"
    assert figures["ratio"]["NDCG@10"] == pytest.approx(ndcg / row["NDCG@10"])
    assert figures["passed"] == (figures["ratio"]["NDCG@10"] >= published.TARGET_RATIO)
    assert "compared with: SASRec+SS" in out and "verdict:" in out and "timings:" in out


def test_bce_run_is_compared_with_the_bce_row() -> None:
    args = published.build_parser().parse_args(["--loss", "bce", "--n-negatives", "1"])
    config = published.config_from_args(args)
    assert published.published_row(published.ROW_FOR_LOSS[config.loss]).loss.startswith("binary cross-entropy")


def test_set_passes_other_config_fields() -> None:
    args = published.build_parser().parse_args(["--set", "deterministic=true", "--set", "gbce_t=0.5"])
    config = published.config_from_args(args)
    assert config.deterministic is True and config.gbce_t == 0.5


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--data", "{tmp}/missing.txt"], "missing.txt: no such file"),
        (["--data", "{file}", "--patience", "-1"], "--patience must be at least 0"),
        (["--data", "{file}", "--set", "no_such_field=1"], "--set 'no_such_field=1'"),
        (["--data", "{file}", "--set", "n_blocks=two"], "n_blocks takes a int"),
        (["--data", "{file}", "--n-heads", "3"], "n_heads"),
        (["--data", "{bad}"], "bad.txt"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         says: str) -> None:
    good = _write_sasrec(tmp_path / "tiny.txt", _sequences())
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n1 3 4\n")  # three fields: not the SASRec format
    argv = [a.format(tmp=tmp_path, file=good, bad=bad) for a in argv]
    assert published.main([*argv, *TINY[:2]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err
