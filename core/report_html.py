"""Render collected runs (``core.report.RunReport``) as one self-contained HTML page.

Inline CSS, charts as ``data:image/png;base64`` images (``core.report_charts`` on the Agg
canvas), no script and no external URL: the file opens offline and can be mailed as is.
Every text from the data (titles, paths, ids) is HTML-escaped.
"""
from __future__ import annotations

import base64
import html
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import __version__
from . import report_charts as charts

if TYPE_CHECKING:
    from .report import ExampleUser, RunReport

#: Beyond-accuracy rows of the report, with what each says (the README table has sources).
BEYOND_ROWS: dict[str, str] = {
    "Coverage": "Distinct recommended items / catalog size",
    "MeanPop": "Mean number of training users of a recommended item",
    "Novelty": "Mean self-information −log₂(pop/users) of recommended items, in bits (Zhou et al. 2010)",
    "ILD_genre": "Mean pairwise Jaccard distance of genre sets within a list (Ziegler et al. 2005)",
    "ILD_emb": "Mean pairwise cosine distance of SASRec item embeddings within a list",
    "Serendipity": "Relevant and unexpected: RecTools' Serendipity (rank vs popularity rank)",
    "PopShare": "Share of the list that is in the popularity top-k",
}
ACCURACY_ROWS: dict[str, str] = {
    "HR": "Share of users with a held-out item in their top-k",
    "Recall": "Held-out items found / held-out items, per user",
    "NDCG": "Rank-discounted hits / the ideal (binary gains, log₂ discount)",
    "MAP": "Mean average precision (÷ min(relevant, k))",
    "MRR": "Mean reciprocal rank of the first hit",
}

CSS = """
:root { --ink: #1a202c; --muted: #4a5568; --faint: #718096; --line: #e2e8f0; --soft: #f7fafc;
  --accent: #2b6cb0; --pop: #dd6b20; --good: #2f855a; --warn-bg: #fffaf0; --warn-line: #ed8936; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #edf2f7;
  font: 15px/1.55 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", sans-serif; }
.page { max-width: 1120px; margin: 0 auto; padding: 0 28px 48px; }
.masthead { background: linear-gradient(135deg, #1a365d 0%, #2b6cb0 100%); color: #fff; }
.masthead .page { padding-top: 30px; padding-bottom: 26px; }
.brand { font-size: 12.5px; letter-spacing: .14em; text-transform: uppercase; opacity: .8; font-weight: 600; }
.masthead h1 { margin: 6px 0 8px; font-size: 30px; line-height: 1.2; font-weight: 650; letter-spacing: -.01em; }
.masthead .meta { margin: 0; font-size: 13.5px; opacity: .88; }
.masthead .meta span + span::before { content: "·"; margin: 0 .55em; opacity: .7; }
.sheet { background: #fff; border-radius: 10px; box-shadow: 0 1px 3px rgba(26,32,44,.08), 0 8px 24px rgba(26,32,44,.05);
  padding: 30px 36px 34px; margin-top: 24px; }
h2 { font-size: 23px; margin: 0 0 4px; font-weight: 650; letter-spacing: -.01em; }
h3 { font-size: 17px; margin: 34px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); font-weight: 620; }
h4 { font-size: 13px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; font-weight: 620; }
p { margin: 6px 0 10px; }
.lede { color: var(--muted); margin-top: 2px; }
.muted { color: var(--faint); }
.small { font-size: 13px; }
code, .mono { font-family: "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .88em; }
code { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; word-break: break-all; }
.toc { display: flex; flex-wrap: wrap; gap: 6px 8px; margin: 14px 0 0; padding: 0; list-style: none; font-size: 13.5px; }
.toc a { display: inline-block; padding: 3px 10px; border-radius: 999px; background: var(--soft); border: 1px solid var(--line);
  color: var(--accent); text-decoration: none; }
.badge { display: inline-block; vertical-align: middle; font-size: 11.5px; font-weight: 650; letter-spacing: .03em;
  text-transform: uppercase; padding: 2px 8px; border-radius: 999px; margin-left: 8px; background: #e2e8f0; color: var(--muted); }
.badge.finished { background: #c6f6d5; color: #22543d; }
.badge.stopped, .badge.cancelled { background: #feebc8; color: #7b341e; }
.badge.failed { background: #fed7d7; color: #822727; }
.callout { border-left: 4px solid var(--warn-line); background: var(--warn-bg); padding: 10px 14px; border-radius: 4px;
  margin: 14px 0; font-size: 14px; }
.callout ul { margin: 4px 0 0; padding-left: 18px; }
.callout.info { border-color: var(--accent); background: #ebf8ff; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; margin: 18px 0 4px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 11px 14px 10px; background: var(--soft); }
.kpi .label { font-size: 12px; color: var(--faint); text-transform: uppercase; letter-spacing: .06em; font-weight: 600; }
.kpi .value { font-size: 24px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.kpi .sub { font-size: 12.5px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 8px 0 6px; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--faint); font-weight: 650;
  border-bottom: 2px solid #cbd5e0; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.best { font-weight: 700; }
td.diff { background: #fefcbf !important; }
td.what { color: var(--muted); font-size: 12.5px; }
table.compare td:first-child { color: var(--muted); width: 26%; }
table.compare thead a { color: var(--accent); text-decoration: none; }
table.compare tr.group td { background: #fff !important; color: var(--ink); font-weight: 650; font-size: 12px;
  text-transform: uppercase; letter-spacing: .06em; padding-top: 14px; border-bottom: 2px solid #cbd5e0; }
.sasrec { color: var(--accent); } .popular { color: var(--pop); }
.kv { width: 100%; }
.kv td:first-child { color: var(--muted); width: 46%; }
.kv td.changed { font-weight: 650; }
.kv + p { margin-top: 18px; }
.kv .default { color: var(--faint); font-weight: 400; font-size: 12px; margin-left: 6px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 28px; }
.grid3 { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px 24px; }
figure { margin: 12px 0 6px; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 12.5px; color: var(--faint); margin-top: 5px; }
.protocol { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; font-size: 13.5px; margin: 6px 0 12px;
  background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.protocol dt { color: var(--faint); font-weight: 600; }
.protocol dd { margin: 0; }
.users { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 10px; }
.user { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px 12px; break-inside: avoid; }
.user h4 { margin: 0 0 2px; text-transform: none; letter-spacing: 0; font-size: 15px; color: var(--ink); }
.user .cols { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-top: 6px; }
.user ol { margin: 4px 0 0; padding-left: 20px; font-size: 13px; }
.user li { margin: 2px 0; }
.user li .meta { color: var(--faint); font-size: 11.5px; }
.tag { display: inline-block; font-size: 10.5px; font-weight: 650; padding: 0 6px; border-radius: 999px; margin-left: 4px;
  vertical-align: 1px; text-transform: uppercase; letter-spacing: .03em; }
.tag.pop { background: #feebc8; color: #7b341e; }
.tag.hit { background: #c6f6d5; color: #22543d; }
.heldout { font-size: 12.5px; margin-top: 8px; color: var(--muted); border-top: 1px dashed var(--line); padding-top: 6px; }
footer { color: var(--faint); font-size: 12.5px; text-align: center; margin-top: 26px; }
@media (max-width: 820px) { .grid2, .grid3, .users, .user .cols { grid-template-columns: 1fr; } .sheet { padding: 20px; } }
@media print { body { background: #fff; } .sheet { box-shadow: none; padding: 0; } .masthead { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  figure, table, .user { break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: object, digits: int = 4) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _e(value)
    if not math.isfinite(v):
        return "—"
    if v != 0 and abs(v) < 0.5 * 10 ** -digits:  # would print as 0.0000 (serendipity): keep two digits
        return f"{v:.1e}"
    return f"{v:,.{digits}f}"


def _digits(metric: str) -> int:
    name = metric.split("@")[0]
    return 1 if name == "MeanPop" else 2 if name == "Novelty" else 4


def _img(fig, alt: str, caption: str = "") -> str:  # noqa: ANN001 - matplotlib Figure
    data = base64.b64encode(charts.png_bytes(fig)).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def _when(timestamp: float, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return time.strftime(fmt, time.localtime(timestamp))


def _duration(seconds: float) -> str:
    seconds = float(seconds or 0.0)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {sec:02d} s"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


# --------------------------------------------------------------------------- page


def render_report(runs: Sequence[RunReport], created_at: float) -> str:
    """The whole page for ``runs`` (one or more), generated at ``created_at`` (unix seconds)."""
    ids = [str(r.record.run_id) for r in runs]
    if len(runs) == 1:
        title = f"Training report: run {ids[0]}"
    else:
        title = f"Comparison of runs {', '.join(ids[:-1])} and {ids[-1]}"
    meta = [f"Generated {_when(created_at)}", f"SASRec Studio {__version__}",
            f"{len(runs)} run{'s' if len(runs) > 1 else ''}"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} · SASRec Studio</title>", f"<style>{CSS}</style></head><body>",
        '<header class="masthead"><div class="page">', '<div class="brand">SASRec Studio · report</div>',
        f"<h1>{_e(title)}</h1>", '<p class="meta">' + "".join(f"<span>{_e(m)}</span>" for m in meta) + "</p>",
        "</div></header>", '<div class="page">',
    ]
    if len(runs) > 1:
        parts.append(_comparison(runs))
    for run in runs:
        parts.append(_run_section(run, several=len(runs) > 1))
    parts.append(f"<footer>Made with SASRec Studio {__version__} (python -m core report). Charts are embedded; "
                 "this file needs no network.</footer>")
    parts.append("</div></body></html>")
    return "\n".join(parts)


def _comparison(runs: Sequence[RunReport]) -> str:
    from .report import COMPARISON_SECTION

    out = ['<section class="sheet" id="comparison">', f"<h2>{COMPARISON_SECTION}</h2>",
           '<p class="lede">The runs side by side: settings that differ are highlighted, the best value of each '
           "metric is in bold. Each run's own sections follow below.</p>", _toc(runs)]
    out.append(_comparison_table(runs))
    fig = charts.new_figure(11, 3.6)
    charts.draw_training_curves(fig, [(r.label, r.record.history) for r in runs])
    out.append(_img(fig, "Loss and validation curves of the runs, overlaid",
                    "Left: mean training loss per epoch. Right: the validation metric per epoch on each run's hold-out."))
    out.append("</section>")
    return "\n".join(out)


def _toc(runs: Sequence[RunReport]) -> str:
    items = "".join(f'<li><a href="#run-{_e(r.record.run_id)}">{_e(r.label)}</a></li>' for r in runs)
    return f'<ul class="toc">{items}</ul>'


def _setting_labels() -> dict[str, str]:
    """Display label of every setting key of the run records (filters prefixed ``filter.``)."""
    from .config import SASRecConfig
    from .filters import FilterConfig
    from .schema import settings_of

    labels = {name: spec.label for name, spec in settings_of(SASRecConfig).items()}
    labels.update({f"filter.{name}": spec.label for name, spec in settings_of(FilterConfig).items()})
    return labels


def _comparison_table(runs: Sequence[RunReport]) -> str:
    """Runs as columns; rows: facts of each run, the settings that differ, the metrics (SASRec
    on each run's hold-out) with the best value of each row in bold."""
    configs = [{**r.record.config, **{f"filter.{k}": v for k, v in r.record.filter_config.items()}} for r in runs]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    labels = _setting_labels()
    metric_rows: list[str] = []
    for r in runs:
        if r.evaluation is not None and r.evaluation.honest:
            k = r.evaluation.k
            for name in ("HR", "NDCG", "MRR", "Coverage", "Novelty", "ILD_genre", "PopShare"):
                col = f"{name}@{k}"
                if col in r.evaluation.table.columns and col not in metric_rows:
                    metric_rows.append(col)

    def cells(values: list[object], fmt, best: str = "") -> str:  # noqa: ANN001
        finite = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        top = (min(finite) if best == "min" else max(finite)) if best and len(finite) > 1 and len(set(finite)) > 1 else None
        out = []
        for v in values:
            cls = "num best" if top is not None and v == top else "num"
            out.append(f'<td class="{cls}">{fmt(v)}</td>')
        return "".join(out)

    rows = []
    facts = [
        ("Status", [r.record.status for r in runs]),
        ("Recorded", [_when(r.record.created_at) for r in runs]),
        ("Data", [Path(r.record.data_source).name or r.record.data_source for r in runs]),
        ("Device", [r.record.device for r in runs]),
        ("Training time", [_duration(r.record.seconds) for r in runs]),
        ("Epochs run", [len(r.record.history.get("epoch_losses") or []) for r in runs]),
    ]
    rows.append(_group_row("Run", len(runs)))
    rows += [f"<tr><td>{_e(label)}</td>" + "".join(f'<td class="num">{_e(v)}</td>' for v in values) + "</tr>" for label, values in facts]
    rows.append(_group_row("Settings that differ", len(runs)))
    if differing:
        for key in differing:
            label = labels.get(key, key)
            rows.append(f"<tr><td>{_e(label)}</td>" + "".join(f'<td class="num diff">{_e(_value_text(c.get(key)))}</td>' for c in configs) + "</tr>")
    else:
        rows.append(f'<tr><td colspan="{len(runs) + 1}" class="muted">none: the runs share every setting</td></tr>')
    rows.append(_group_row("Results", len(runs)))
    final = [float((r.record.history.get("epoch_losses") or [float("nan")])[-1]) for r in runs]
    rows.append("<tr><td>Final training loss</td>" + cells(final, lambda v: _num(v, 4), "min") + "</tr>")
    for col in metric_rows:
        values = [float(r.evaluation.table.loc["SASRec", col])
                  if r.evaluation is not None and r.evaluation.honest and col in r.evaluation.table.columns
                  else float("nan") for r in runs]
        direction = "min" if col.startswith("PopShare") else "max"
        rows.append(f"<tr><td>{_e(col)}</td>" + cells(values, lambda v, c=col: _num(v, _digits(c)), direction) + "</tr>")
    header = "<th></th>" + "".join(f'<th class="num"><a href="#run-{_e(r.record.run_id)}">{_e(r.label)}</a></th>' for r in runs)
    caption = ('<p class="small muted">Metrics: SASRec on each run\'s own hold-out (the protocol is in each run\'s '
               "section). Bold: the best run of a row (for PopShare, the least popularity-driven).</p>")
    return f'<table class="compare"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>{caption}'


def _group_row(title: str, n_runs: int) -> str:
    return f'<tr class="group"><td colspan="{n_runs + 1}">{_e(title)}</td></tr>'


# --------------------------------------------------------------------------- one run


def _run_section(run: RunReport, several: bool) -> str:
    from .report import REPORT_SECTIONS

    rec = run.record
    sections = dict(zip(REPORT_SECTIONS, (_data_section, _settings_section, _curves_section, _metrics_section,
                                          _beyond_section, _examples_section)))
    anchor = f"run-{rec.run_id}"
    out = [f'<section class="sheet" id="{_e(anchor)}">',
           f'<h2>{_e(run.label)}<span class="badge {_e(rec.status)}">{_e(rec.status)}</span></h2>',
           f'<p class="lede">{_summary(run)}</p>']
    links = "".join(f'<li><a href="#{_e(anchor)}-{_slug(name)}">{_e(name)}</a></li>' for name in REPORT_SECTIONS)
    out.append(f'<ul class="toc">{links}</ul>')
    if run.notes:
        items = "".join(f"<li>{_e(n)}</li>" for n in run.notes)
        out.append(f'<div class="callout"><strong>Not everything could be included.</strong><ul>{items}</ul></div>')
    out.append(_kpis(run))
    for name, render in sections.items():
        out.append(f'<h3 id="{_e(anchor)}-{_slug(name)}">{_e(name)}</h3>')
        out.append(render(run))
    out.append("</section>")
    return "\n".join(out)


def _summary(run: RunReport) -> str:
    rec, c = run.record, run.record.config
    epochs = len(rec.history.get("epoch_losses") or [])
    model = (f"SASRec with {c.get('n_blocks', '?')} block(s) × {c.get('n_heads', '?')} head(s), "
             f"{c.get('n_factors', '?')} factors, sessions of {c.get('session_maxlen', '?')}")
    text = (f"{_e(model)}; {epochs} epoch(s) with the {_e(c.get('loss', '?'))} loss on {_e(rec.device)} in "
            f"{_e(_duration(rec.seconds))}; recorded {_e(_when(rec.created_at))}.")
    if rec.history.get("stopped_early"):
        text += f" Stopped early; the model of epoch {_e(rec.history.get('kept_epoch'))} was kept."
    return text


def _kpis(run: RunReport) -> str:
    ev = run.evaluation
    cards = []
    losses = run.record.history.get("epoch_losses") or []
    if losses:
        first = f"from {losses[0]:.4f} in epoch 1" if len(losses) > 1 else "one epoch"
        cards.append(("Final loss", f"{losses[-1]:.4f}", first))
    if ev is not None:
        t, k = ev.table, ev.k
        for name in ("HR", "NDCG", "Coverage", "PopShare"):
            col = f"{name}@{k}"
            if col in t.columns and "SASRec" in t.index:
                sub = f"Popular: {_num(t.loc['Popular', col])}" if "Popular" in t.index else ""
                cards.append((col, _num(t.loc["SASRec", col]), sub))
    elif run.record.metrics:  # no checkpoint or data now: the last validation the record holds
        for name, value in list(run.record.metrics.items())[:3]:
            cards.append((name, _num(value), "validation during training"))
    if not cards:
        return ""
    body = "".join(f'<div class="kpi"><div class="label">{_e(l)}</div><div class="value">{v}</div>'
                   f'<div class="sub">{_e(s)}</div></div>' for l, v, s in cards)
    return f'<div class="kpis">{body}</div>'


def _data_section(run: RunReport) -> str:
    rec = run.record
    facts = [("Source", f"<code>{_e(rec.data_source or 'unknown')}</code>")]
    if run.data_format:
        facts.append(("Format", _e(run.data_format)))
    if run.data_items is not None:
        facts.append(("Items table", f"{run.data_items:,} items with metadata"))
    if rec.data_fingerprint:
        state = {True: "matches the data read now", False: "differs from the data read now", None: "not checked"}[run.data_matches]
        facts.append(("Fingerprint", f'<span class="mono">{_e(rec.data_fingerprint)}</span> <span class="muted">({state})</span>'))
    out = [_kv_html(facts)]
    steps = run.filter_steps
    if steps is None:
        out.append('<p class="muted">The filter report needs the data source, which could not be read (see above).</p>')
        return "\n".join(out)
    out.append("<p>The run's filters re-applied to its data, step by step: what each setting leaves.</p>")
    rows = []
    first = steps.iloc[0] if len(steps) else None
    for _, s in steps.iterrows():
        share = f"{s['rows'] / first['rows']:.0%}" if first is not None and first["rows"] else "—"
        rows.append([_e(s["name"]), f"{int(s['rows']):,}", share, f"{int(s['users']):,}", f"{int(s['items']):,}", _e(s["note"])])
    out.append(_table(["Step", "Rows", "Rows kept", "Users", "Items", "Note"], rows, numeric={1, 2, 3, 4}))
    fig = charts.new_figure(11, 0.42 * len(steps) + 0.9)
    charts.draw_filter_funnel(fig, steps)
    out.append(_img(fig, "Rows, users and items left after each filter step",
                    "Bars relative to the loaded data; the numbers are counts after each step."))
    return "\n".join(out)


def _settings_section(run: RunReport) -> str:
    from .config import SASRecConfig
    from .experiment import VALIDATION_KEY
    from .filters import FilterConfig
    from .schema import settings_of

    groups: dict[str, list[tuple[str, str, bool, str]]] = {}
    for cls, values in ((SASRecConfig, run.record.config), (FilterConfig, run.record.filter_config)):
        specs = settings_of(cls)
        for name, value in values.items():
            spec = specs.get(name)
            section = spec.section if spec is not None and spec.section else "Other"
            label = spec.label if spec is not None else name
            changed = spec is not None and value != spec.default
            default = _value_text(spec.default) if changed else ""
            groups.setdefault(section, []).append((label, _value_text(value, spec.unit if spec else ""), changed, default))
    validation = run.record.history.get(VALIDATION_KEY)
    if validation:
        scheme = validation.get("split")
        text = "leave last out" if scheme == "last" else f"last {validation.get('test_days')} day(s)"
        groups["Validation"] = [("Hold-out", text, True, ""), ("k", _value_text(validation.get("k")), False, ""),
                                ("Validate every", f"{validation.get('every')} epoch(s)", False, "")]
    else:
        groups["Validation"] = [("Hold-out", "none (trained on every interaction)", False, "")]
    blocks = []
    for section, rows in groups.items():
        body = "".join(
            f'<tr><td>{_e(label)}</td><td class="{"changed" if changed else ""}">{_e(value)}'
            + (f'<span class="default">default {_e(default)}</span>' if changed and default else "") + "</td></tr>"
            for label, value, changed, default in rows
        )
        blocks.append(f'<div><h4>{_e(section)}</h4><table class="kv"><tbody>{body}</tbody></table></div>')
    return ('<p>Values in bold differ from the defaults (the notebook\'s).</p>'
            f'<div class="grid3">{"".join(blocks)}</div>')


def _value_text(value: object, unit: str = "") -> str:
    if value is None or value == "":
        return "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _curves_section(run: RunReport) -> str:
    history = run.record.history
    if not (history.get("step_losses") or history.get("epoch_losses")):
        return '<p class="muted">This run recorded no loss (it ended before its first step).</p>'
    fig = charts.new_figure(11, 3.5)
    charts.draw_training_curves(fig, [(run.label, history)])
    validated = any(history.get("epoch_metrics") or [])
    caption = ("Left: loss per training step (grey), its moving average and the mean per epoch. "
               + ("Right: the metrics on the hold-out after each validated epoch." if validated else
                  "No validation during training (no hold-out)."))
    rows = []
    seconds = history.get("epoch_seconds") or []
    all_metrics = history.get("epoch_metrics") or []
    for i, loss in enumerate(history.get("epoch_losses") or [], start=1):
        metrics = all_metrics[i - 1] if i - 1 < len(all_metrics) else {}
        extra = ", ".join(f"{k} {v:.4f}" for k, v in (metrics or {}).items())
        rows.append([str(i), f"{loss:.4f}", _duration(seconds[i - 1]) if i - 1 < len(seconds) else "—", _e(extra or "—")])
    table = _table(["Epoch", "Mean loss", "Time", "Validation"], rows, numeric={0, 1, 2})
    return _img(fig, "Training loss and validation curves", caption) + table


def _metrics_section(run: RunReport) -> str:
    ev = run.evaluation
    if ev is None:
        return '<p class="muted">Metrics need the run\'s checkpoint and data (see above).</p>'
    out = [_protocol(ev)]
    if not ev.honest:
        out.append('<div class="callout info">This run trained on every interaction, so there is no held-out truth '
                   "to measure accuracy against. The beyond-accuracy metrics below still compare the lists.</div>")
        return "\n".join(out)
    k, t = ev.k, ev.table
    rows = []
    for name, what in ACCURACY_ROWS.items():
        col = f"{name}@{k}"
        if col not in t.columns:
            continue
        s, p = float(t.loc["SASRec", col]), float(t.loc["Popular", col])
        lift = f"×{s / p:.2f}" if p > 0 else ("—" if s == 0 else "∞")
        rows.append([f"<strong>{_e(col)}</strong>", _best(s, p, s >= p), _best(p, s, p > s), lift, f'<span class="what">{_e(what)}</span>'])
    out.append(_table(["Metric", '<span class="sasrec">SASRec</span>', '<span class="popular">Popular</span>', "SASRec / Popular", "What it measures"],
                      rows, numeric={1, 2, 3}, raw_header=True))
    validation = run.record.metrics
    if validation:
        text = ", ".join(f"{k} {v:.4f}" for k, v in validation.items())
        out.append(f'<p class="small muted">Validation during training (last validated epoch, all test users): {_e(text)}.</p>')
    return "\n".join(out)


def _best(value: float, other: float, is_best: bool) -> str:
    text = _num(value)
    return f"<strong>{text}</strong>" if is_best and math.isfinite(value) and value != other else text


def _protocol(ev) -> str:  # noqa: ANN001 - core.report.Evaluation
    items = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text in ev.protocol)
    return f'<dl class="protocol">{items}</dl>'


def _beyond_section(run: RunReport) -> str:
    ev = run.evaluation
    if ev is None:
        return '<p class="muted">Beyond-accuracy metrics need the run\'s checkpoint and data (see above).</p>'
    k, t = ev.k, ev.table
    rows = []
    for name, what in BEYOND_ROWS.items():
        col = f"{name}@{k}"
        if col not in t.columns:
            continue
        s, p = float(t.loc["SASRec", col]), float(t.loc["Popular", col])
        digits = _digits(col)
        rows.append([f"<strong>{_e(col)}</strong>", _num(s, digits), _num(p, digits), f'<span class="what">{_e(what)}</span>'])
    out = ["<p>Is it just recommending what is popular? The same lists judged beyond accuracy "
           "(definitions and sources in the README, “Beyond accuracy”).</p>"]
    out.append(_table(["Metric", '<span class="sasrec">SASRec</span>', '<span class="popular">Popular</span>', "What it says"],
                      rows, numeric={1, 2}, raw_header=True))
    fig = charts.new_figure(11, 3.4)
    charts.draw_sasrec_vs_popular(fig, t, k)
    if fig.axes:
        out.append(_img(fig, "SASRec vs popular on the beyond-accuracy metrics",
                        f"SASRec (blue) and the popularity baseline (orange) at k = {k}; "
                        "ILD_emb measures both lists in SASRec's embedding space."))
    if "ILD_genre@" + str(k) not in t.columns:
        out.append('<p class="small muted">No genre diversity: the data has no genres for its items.</p>')
    return "\n".join(out)


def _examples_section(run: RunReport) -> str:
    if not run.examples:
        return '<p class="muted">Example users need the run\'s checkpoint and data (see above).</p>'
    k = run.evaluation.k if run.evaluation is not None else len(run.examples[0].recommendations)
    honest = run.evaluation is not None and run.evaluation.honest
    intro = (f"{len(run.examples)} users picked at random{' among the test users' if honest else ''}: "
             f"their latest history (most recent first) and the model's top-{k}. "
             f'<span class="tag pop">popular</span> marks items in the popularity top-{k}'
             + (', <span class="tag hit">held out</span> an item the user actually watched next (the hold-out).' if honest else "."))
    cards = "".join(_user_card(u) for u in run.examples)
    return f'<p>{intro}</p><div class="users">{cards}</div>'


def _item_line(row: pd.Series) -> str:
    title = row.get("title")
    name = _e(title) if isinstance(title, str) and title else f"item {_e(row['item_id'])}"
    meta = []
    year = row.get("release_year")
    if year is not None and not (isinstance(year, float) and math.isnan(year)) and str(year) not in ("", "nan", "<NA>"):
        meta.append(str(int(year)) if isinstance(year, float) else str(year))
    genres = row.get("genres")
    if isinstance(genres, str) and genres:
        meta.append(", ".join(g.strip() for g in genres.split(",")[:2]))
    return name + (f' <span class="meta">{_e(" · ".join(meta))}</span>' if meta else "")


def _user_card(user: ExampleUser) -> str:
    history = "".join(f"<li>{_item_line(r)}</li>" for _, r in user.history.iterrows())
    more = f'<p class="small muted">… and {user.n_history - len(user.history)} earlier</p>' if user.n_history > len(user.history) else ""
    recs = []
    for _, r in user.recommendations.iterrows():
        tags = ('<span class="tag hit">held out</span>' if r.get("hit") else "") + ('<span class="tag pop">popular</span>' if r.get("popular") else "")
        recs.append(f"<li>{_item_line(r)}{tags}</li>")
    held = ""
    if user.held_out:
        parts = [f"<strong>{_e(title)}</strong> — " + (f"found at rank {rank}" if rank else "not in the top list")
                 for _item, title, rank in user.held_out]
        held = f'<div class="heldout">Held out: {"; ".join(parts)}</div>'
    return (f'<div class="user"><h4>User {_e(user.user_id)}</h4><div class="small muted">{user.n_history:,} interaction(s) the model reads</div>'
            f'<div class="cols"><div><h4>Recently watched</h4><ol>{history}</ol>{more}</div>'
            f'<div><h4>Recommended</h4><ol>{"".join(recs)}</ol></div></div>{held}</div>')


# --------------------------------------------------------------------------- helpers


def _kv_html(facts: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (label, HTML) rows; the label is escaped, the value is not."""
    body = "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in facts)
    return f'<table class="kv" style="max-width:760px"><tbody>{body}</tbody></table>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int] = frozenset(), raw_header: bool = False) -> str:
    """A styled table; cells are HTML already (escape data before), header escaped unless ``raw_header``."""
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{h if raw_header else _e(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i in numeric else ""}">{c}</td>' for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
