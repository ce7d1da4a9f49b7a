"""The HTML report: every section, nothing external, images embedded, one and several runs,
what is missing said rather than failed on, and the CLI's one-line errors."""
import base64
import re
from pathlib import Path

import pytest

from core.report import COMPARISON_SECTION, REPORT_SECTIONS, ReportError, build_report, write_report
from core.runs import RunStore
from tests.cli_runner import run_cli as run

TINY = ["--epochs", "1", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--min-item-freq", "1",
        "--device", "cpu"]




@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny demo data and two recorded runs: one with a hold-out, one without."""
    from core.demo import write_demo

    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SASREC_STUDIO_HOME", str(home))
    folder = tmp_path_factory.mktemp("data")
    write_demo(folder, n_users=300, n_items=60)
    ids = []
    for name, extra in (("held.pt", ["--holdout", "last"]), ("all.pt", [])):
        code, _, err = run("train", str(folder), "--out", str(folder / name), *TINY, *extra)
        assert code == 0, err
        ids.append(int(re.search(r"recorded as run (\d+)", err).group(1)))
    yield folder, ids, RunStore.default()
    mp.undo()


def check_self_contained(html: str) -> None:
    lowered = html.lower()
    for external in ("http://", "https://", 'src="//', "href=\"//", "<script", "<link", "@import", "url("):
        assert external not in lowered, external
    images = re.findall(r"<img [^>]*src=\"([^\"]+)\"", html)
    assert images, "the report has charts"
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def headings(html: str, level: int) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(rf"<h{level}[^>]*>(.*?)</h{level}>", html)]


def test_one_run_has_every_section_and_nothing_external(runs, tmp_path):
    folder, (held, _all), store = runs
    out = tmp_path / "report.html"
    report = write_report([held], out, store, n_examples=3)
    html = out.read_text(encoding="utf-8")
    assert html == report.html and report.notes == []
    assert headings(html, 3) == list(REPORT_SECTIONS)
    assert COMPARISON_SECTION not in headings(html, 2)
    check_self_contained(html)
    import core

    assert f"SASRec Studio {core.__version__}" in html and "Generated " in html
    run_report = report.runs[0]
    assert run_report.evaluation is not None and run_report.evaluation.honest
    assert list(run_report.evaluation.table.index) == ["SASRec", "Popular"]
    for metric in ("HR@10", "NDCG@10", "Novelty@10", "ILD_genre@10", "PopShare@10", "Serendipity@10"):
        assert metric in html
    assert "each user&#x27;s last interaction" in html  # the protocol names the split
    assert len(run_report.examples) == 3 and html.count('class="user"') == 3
    titles = run_report.examples[0].recommendations["title"].dropna()
    assert len(titles) and all(t.replace("&", "&amp;").replace("'", "&#x27;") in html for t in titles)
    steps = run_report.filter_steps
    assert steps is not None and steps["name"].tolist()[0] == "loaded" and steps["rows"].iloc[0] > 0


def test_two_runs_are_compared_and_each_keeps_its_sections(runs, tmp_path):
    _, (held, everything), store = runs
    out = tmp_path / "two.html"
    report = write_report([held, everything], out, store, n_examples=1)
    html = out.read_text(encoding="utf-8")
    assert headings(html, 2)[0] == COMPARISON_SECTION
    assert [h for h in headings(html, 3)] == list(REPORT_SECTIONS) * 2
    assert f"Run {held}" in html and f"Run {everything}" in html
    check_self_contained(html)
    # the run without a hold-out says why it has no accuracy metrics, but still has beyond-accuracy ones
    no_holdout = report.runs[1]
    assert no_holdout.evaluation is not None and not no_holdout.evaluation.honest
    assert "HR@10" not in no_holdout.evaluation.table.columns and "Novelty@10" in no_holdout.evaluation.table.columns
    assert "cannot be measured" in html


def test_missing_checkpoint_and_data_are_reported_not_fatal(runs, tmp_path):
    folder, (held, _), store = runs
    record = store.get(held)
    record.checkpoint_path = str(tmp_path / "gone.pt")
    record.data_source = str(tmp_path / "<script>nowhere</script>")
    report = build_report([], records=[record])
    html = report.html
    assert any("gone.pt" in n and "missing" in n for n in report.notes)
    assert any("nowhere" in n for n in report.notes)
    assert headings(html, 3) == list(REPORT_SECTIONS)  # every section, saying what it lacks
    assert "&lt;script&gt;nowhere" in html and "<script>" not in html  # data is escaped
    check_self_contained(html)  # the curves come from the record alone
    with pytest.raises(ReportError, match="gone.pt"):
        build_report([], records=[record], strict=True)


def test_unknown_run_ids_are_named(runs):
    _, _, store = runs
    with pytest.raises(ReportError, match=r"runs 999, 1000 not in the run history"):
        write_report([999, 1000], "unused.html", store)


def test_cli_writes_the_report_and_errors_are_one_line(runs, tmp_path):
    folder, (held, everything), _ = runs
    out = tmp_path / "cli.html"
    code, stdout, err = run("report", str(held), str(everything), "--out", str(out), "--examples", "1")
    assert code == 0, err
    assert stdout == "" and out.is_file() and f"wrote {out}" in err
    for argv, words in (
        (["report", "424242", "--out", str(tmp_path / "x.html")], ["424242", "not in the run history"]),
        (["report", str(held), "--out", str(tmp_path)], ["--out", "folder"]),
        (["report", str(held), "--out", str(tmp_path / "missing" / "r.html")], ["--out", "does not exist"]),
        (["report", str(held), "--out", str(folder / "interactions.csv")], ["--out", "data folder"]),
        (["report", str(held), "--out", str(folder / "held.pt")], ["--out", "checkpoint"]),
        (["report", "abc", "--out", str(tmp_path / "x.html")], ["RUN_ID", "abc"]),
        (["report", str(held)], ["--out"]),
    ):
        code, stdout, err = run(*argv)
        assert code == 2, argv
        assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
        for word in words:
            assert word in err, (argv, err)
    assert (folder / "interactions.csv").stat().st_size > 0  # never overwritten


def test_cli_names_a_missing_checkpoint_and_strict_refuses_it(runs, tmp_path):
    folder, (held, _), store = runs
    checkpoint = folder / "held.pt"
    moved = tmp_path / "held.pt"
    checkpoint.rename(moved)
    try:
        code, _, err = run("report", str(held), "--out", str(tmp_path / "r.html"))
        assert code == 0 and "warning: run" in err and "held.pt" in err and "missing" in err
        assert (tmp_path / "r.html").is_file()
        code, _, err = run("report", str(held), "--out", str(tmp_path / "s.html"), "--strict")
        assert code == 2 and err.count("\n") == 1 and "held.pt" in err and not (tmp_path / "s.html").exists()
    finally:
        moved.rename(checkpoint)


def test_core_never_selects_a_matplotlib_backend_or_uses_pyplot():
    core = Path(__file__).resolve().parents[1] / "core"
    for path in core.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "matplotlib.use(" not in text and "import pyplot" not in text and "matplotlib.pyplot" not in text, path


def test_a_replaced_checkpoint_is_not_reported_as_the_runs_model(tmp_path):
    from core.report import _not_this_runs_model
    from core.runs import RunRecord
    from core.config import SASRecConfig
    from types import SimpleNamespace

    model = SimpleNamespace(data_fingerprint="aaa", config=SASRecConfig(n_factors=16))
    record = RunRecord(config=SASRecConfig(n_factors=16).to_dict(), filter_config={}, data_fingerprint="aaa",
                       data_source="", history={})
    assert _not_this_runs_model(record, model) == ""
    assert _not_this_runs_model(RunRecord(**{**record.__dict__, "data_fingerprint": "bbb"}), model) == "trained on other data"
    other = RunRecord(**{**record.__dict__, "config": SASRecConfig(n_factors=32).to_dict()})
    assert "n_factors" in _not_this_runs_model(other, model)


def test_a_figure_with_its_own_draw_lock_draws_while_another_thread_holds_matplotlibs_shared_one() -> None:
    import threading

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from core.report_charts import new_figure, with_own_draw_lock

    fig = with_own_draw_lock(Figure(figsize=(2, 2)))
    fig.add_subplot().plot([0, 1], [1, 0])
    assert fig._render_lock is not Figure._render_lock  # noqa: SLF001 - the lock under test
    assert new_figure(2, 2)._render_lock is not Figure._render_lock  # noqa: SLF001 - the report's figures too
    held, release, drawn = threading.Event(), threading.Event(), threading.Event()

    def hold_shared_lock() -> None:  # e.g. a chart without its own lock being drawn elsewhere
        with Figure._render_lock:  # noqa: SLF001
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_shared_lock)
    holder.start()
    assert held.wait(10)
    try:
        drawer = threading.Thread(target=lambda: (FigureCanvasAgg(fig).draw(), drawn.set()))
        drawer.start()
        assert drawn.wait(10)  # not held up by the other draw
        drawer.join(10)
    finally:
        release.set()
        holder.join(10)


def test_a_cancellable_draw_stops_at_the_next_artist_once_cancelled_and_leaves_the_figure_as_it_was() -> None:
    import pytest
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from core.report_charts import DrawCancelled, cancellable_draw

    fig = Figure(figsize=(3, 2))
    axes = fig.subplots(1, 2)
    for ax in axes:
        ax.plot([0, 1, 2], [2, 0, 1])
        ax.set_title("a title")
    canvas = FigureCanvasAgg(fig)
    drawn: list[str] = []
    line = axes[1].lines[0]
    original = line.draw
    line.draw = lambda renderer: (drawn.append("line"), original(renderer))  # the second axes' line
    asked = {"n": 0}

    def cancelled_after_three() -> bool:
        asked["n"] += 1
        return asked["n"] > 3  # the figure, the first axes and one of its artists get through

    with pytest.raises(DrawCancelled), cancellable_draw(fig, cancelled_after_three):
        canvas.draw()
    assert asked["n"] == 4 and drawn == []  # stopped early: the second axes was never reached
    del line.draw
    assert all("draw" not in vars(a) for a in (fig, *axes, *axes[0].get_children()))  # the checks are gone
    canvas.draw()  # and the figure draws in full again
    with cancellable_draw(fig, lambda: False):
        canvas.draw()
    assert asked["n"] == 4
