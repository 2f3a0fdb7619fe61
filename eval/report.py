"""Reports: the terminal table, ``report.json`` (written and read back) and a self-contained ``report.html``
(inline CSS and SVG). ``eval.assemble`` builds the report they show."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from footnote.errors import InputError
from footnote.eval.metrics import RETRIEVAL_METRICS

COLORS = {"hybrid": "#1b6ac9", "dense": "#d9480f", "bm25": "#2b8a3e"}
FALLBACK_COLORS = ("#862e9c", "#e67700", "#0b7285")
ANSWER_ROWS = (
    ("answer found", "answer_found"), ("evidence quoted", "evidence_quoted"), ("quotes verbatim", "verbatim"),
    ("abstention precision", "abstention_precision"), ("abstention recall", "abstention_recall"),
    ("false abstention", "false_abstention"), ("quote precision", "quote_precision"),
    ("SQuAD 2.0 overall", "squad2_overall"), ("confidence AUROC", "confidence_auroc"),
    ("latency p50 ms", "latency_p50_ms"),
    ("latency p95 ms", "latency_p95_ms"),
)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(report: dict[str, Any]) -> str:
    """Retrieval metrics per mode side by side, then the answer metrics."""
    cfg = report["config"]
    modes = list(report["retrieval"])
    lines = [f"{cfg['questions']} questions ({cfg['answerable']} answerable, {cfg['with_history']} follow-ups); "
             f"index {cfg.get('index_version') or '?'}, {cfg.get('passages')} passages"]
    width = max(len(name) for name in [*RETRIEVAL_METRICS, *(label for label, _ in ANSWER_ROWS)]) + 2
    lines.append("retrieval".ljust(width) + "".join(mode.rjust(10) for mode in modes))
    for name in [*RETRIEVAL_METRICS, "latency_p50_ms", "latency_p95_ms"]:
        label = name.replace("latency_", "latency ").replace("_ms", " ms")
        digits = 1 if name.startswith("latency") else 3
        lines.append(label.ljust(width) + "".join(_num(report["retrieval"][mode][name], digits).rjust(10)
                                                   for mode in modes))
    answers = report.get("answers")
    if answers:
        splits = report.get("splits") or {}
        columns = [("all", answers)] + [(name, splits[name]) for name in ("tune", "heldout") if name in splits]
        lines.append(f"answers (hybrid, top_k={cfg['top_k']}, {answers['footnotes']} footnotes)".ljust(width)
                     + "".join(name.rjust(10) for name, _ in columns))
        for label, key in ANSWER_ROWS:
            digits = 1 if key.startswith("latency") else 3
            lines.append(label.ljust(width) + "".join(_num(col.get(key), digits).rjust(10) for _, col in columns))
    failed = [q for q in report["questions"] if q["failures"]]
    lines.append(f"{len(failed)} questions with a failure" + (" (see report.html)" if failed else ""))
    return "\n".join(lines)


def write_reports(report: dict[str, Any], folder: Path) -> list[Path]:
    """``report.json`` and ``report.html`` in ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    html_path.write_text(render_html(report), "utf-8")
    return [json_path, html_path]


def read_report(path: Path) -> dict[str, Any]:
    """A ``report.json`` written by ``write_reports`` (``InputError`` naming the file otherwise)."""
    try:
        report = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable report.json ({exc.__class__.__name__})") from exc
    if not isinstance(report, dict) or "footnote_eval" not in report:
        raise InputError(f"{path}: not a report.json written by `footnote eval`")
    return report


# --------------------------------------------------------------------------------------------------
# HTML


def _color(mode: str, i: int) -> str:
    return COLORS.get(mode, FALLBACK_COLORS[i % len(FALLBACK_COLORS)])


# Both line charts: a plot area with these margins, y from 0 to 1, and a legend to the right.
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 90, 14, 34


def _chart_frame(width: int, height: int, label: str, x_caption: str) -> tuple[list[str], float, float]:
    """The opening of a line chart (y grid from 0 to 1 with its labels, the x caption) and the plot's size."""
    w, h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(label)}">']
    for tick in range(0, 11, 2):
        y = _TOP + h - h * tick / 10
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{tick / 10:.1f}</text>')
    parts.append(f'<text x="{_LEFT + w / 2:.1f}" y="{height - 2}" text-anchor="middle" font-size="11">'
                 f'{escape(x_caption)}</text>')
    return parts, w, h


def _legend_entry(i: int, color: str, name: str, w: float) -> str:
    ly = _TOP + 14 + 18 * i
    return (f'<line x1="{_LEFT + w + 12}" x2="{_LEFT + w + 30}" y1="{ly}" y2="{ly}" stroke="{color}" '
            f'stroke-width="2"/><text x="{_LEFT + w + 34}" y="{ly + 4}" font-size="12">{escape(name)}</text>')


def hit_curve_svg(curves: dict[str, list[float]], width: int = 420, height: int = 260) -> str:
    """hit@k for k = 1..10, one line per mode."""
    parts, w, h = _chart_frame(width, height, "hit at k per mode", "k")
    left, top = _LEFT, _TOP
    for k in range(1, 11):
        x = left + w * (k - 1) / 9
        parts.append(f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle" font-size="11">{k}</text>')
    for i, (mode, values) in enumerate(curves.items()):
        color = _color(mode, i)
        points = " ".join(f"{left + w * j / 9:.1f},{top + h - h * v:.1f}" for j, v in enumerate(values[:10]))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        for j, v in enumerate(values[:10]):
            parts.append(f'<circle cx="{left + w * j / 9:.1f}" cy="{top + h - h * v:.1f}" r="2.5" fill="{color}">'
                         f'<title>{escape(mode)} hit@{j + 1} = {v:.3f}</title></circle>')
        parts.append(_legend_entry(i, color, mode, w))
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(values: list[float], label: str, width: int = 420, height: int = 260, bins: int = 15) -> str:
    """A histogram of ``values`` (milliseconds)."""
    left, right, top, bottom = 40, 12, 14, 34
    w, h = width - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(label)}">']
    if not values:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>')
        return "".join(parts)
    lo, hi = min(values), max(values)
    step = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    top_count = max(counts)
    bar = w / bins
    for i, c in enumerate(counts):
        bh = h * c / top_count
        parts.append(f'<rect x="{left + i * bar + 1:.1f}" y="{top + h - bh:.1f}" width="{bar - 2:.1f}" '
                     f'height="{bh:.1f}" fill="#1b6ac9"><title>{lo + i * step:.1f}-{lo + (i + 1) * step:.1f} ms: '
                     f'{c}</title></rect>')
    parts.append(f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">{top_count}</text>'
                 f'<text x="{left - 6}" y="{top + h}" text-anchor="end" font-size="11">0</text>'
                 f'<text x="{left}" y="{top + h + 16}" font-size="11">{lo:.1f}</text>'
                 f'<text x="{left + w}" y="{top + h + 16}" text-anchor="end" font-size="11">{hi:.1f}</text>'
                 f'<text x="{left + w / 2:.1f}" y="{height - 2}" text-anchor="middle" font-size="11">'
                 f'{escape(label)}</text></svg>')
    return "".join(parts)


def risk_coverage_svg(curves: dict[str, list[dict[str, float]]], width: int = 420, height: int = 260) -> str:
    """Precision of the answers given vs the share of questions answered, most confident first; one line per
    side of the split."""
    parts, w, h = _chart_frame(width, height, "risk-coverage: precision vs coverage",
                               "coverage (share answered); y: precision")
    left, top = _LEFT, _TOP
    for tick in range(0, 11, 2):
        x = left + w * tick / 10
        parts.append(f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle" font-size="11">{tick / 10:.1f}</text>')
    for i, (name, points) in enumerate(curves.items()):
        color = FALLBACK_COLORS[i % len(FALLBACK_COLORS)]
        xy = " ".join(f"{left + w * p['coverage']:.1f},{top + h - h * p['precision']:.1f}" for p in points)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{xy}"/>')
        for p in points:
            parts.append(f'<circle cx="{left + w * p["coverage"]:.1f}" cy="{top + h - h * p["precision"]:.1f}" '
                         f'r="2" fill="{color}"><title>{escape(name)}: confidence ≥ {p["confidence"]:.3f}: '
                         f'{p["coverage"]:.2f} answered, precision {p["precision"]:.3f}</title></circle>')
        parts.append(_legend_entry(i, color, name, w))
    parts.append("</svg>")
    return "".join(parts)


def _splits_table(splits: dict[str, Any]) -> str:
    names = [n for n in ("tune", "heldout") if n in splits]
    rows = "".join(f"<tr><td>{escape(label)}</td>" + "".join(
        f'<td class="n">{_num(splits[n].get(key), 1 if key.startswith("latency") else 3)}</td>' for n in names)
        + "</tr>" for label, key in ANSWER_ROWS)
    return ("<h2>Answers by side of the split</h2><p class=\"muted\">The reader was fitted on the tune side only "
            "(eval/split.py); held-out figures are the honest ones.</p><table><tr><th>answers</th>"
            + "".join(f"<th>{escape(n)}</th>" for n in names) + f"</tr>{rows}</table>")


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top}
th{background:#f3f3f3;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.fail{background:#fff4f4}.ok{color:#2b8a3e}.bad{color:#c92a2a;font-weight:600}.muted{color:#777;font-size:12px}
.charts{display:flex;gap:24px;flex-wrap:wrap}blockquote{margin:4px 0;padding-left:8px;border-left:3px solid #ccc}
details{margin-top:4px}table.q{table-layout:fixed;width:100%}table.q td{overflow-wrap:anywhere}
ol.hits{margin:4px 0;padding-left:22px}li.rel{background:#ebfbee}
"""


def _metrics_table(report: dict[str, Any]) -> str:
    modes = list(report["retrieval"])
    rows = ["<table><tr><th>retrieval</th>" + "".join(f"<th>{escape(m)}</th>" for m in modes) + "</tr>"]
    for name in [*RETRIEVAL_METRICS, "latency_p50_ms", "latency_p95_ms"]:
        digits = 1 if name.startswith("latency") else 3
        rows.append(f"<tr><td>{escape(name)}</td>" + "".join(
            f'<td class="n">{_num(report["retrieval"][m].get(name), digits)}</td>' for m in modes) + "</tr>")
    rows.append("</table>")
    answers = report.get("answers")
    if answers:
        rows.append("<table><tr><th>answers</th><th>value</th></tr>")
        for label, key in ANSWER_ROWS:
            rows.append(f'<tr><td>{escape(label)}</td><td class="n">'
                        f'{_num(answers[key], 1 if key.startswith("latency") else 3)}</td></tr>')
        rows.append("</table>")
    return "".join(rows)


def _by_kind_table(by_kind: dict[str, dict[str, Any]]) -> str:
    columns = sorted({k for entry in by_kind.values() for k in entry if k != "questions"})
    rows = ["<table><tr><th>kind</th><th>questions</th>" + "".join(f"<th>{escape(c)}</th>" for c in columns)
            + "</tr>"]
    for kind, entry in by_kind.items():
        rows.append(f"<tr><td>{escape(kind)}</td><td class=\"n\">{entry['questions']}</td>" + "".join(
            f'<td class="n">{_num(entry.get(c))}</td>' for c in columns) + "</tr>")
    return "".join(rows) + "</table>"


def _mark(flag: bool) -> str:
    return '<span class="ok">yes</span>' if flag else '<span class="bad">no</span>'


REL = ' class="rel"'


def _question_row(q: dict[str, Any], modes: list[str]) -> str:
    cls = ' class="fail"' if q["failures"] else ""
    history = "".join(f'<div class="muted">{escape(t["role"])}: {escape(t["content"])}</div>' for t in q["history"])
    query = "" if q["query"] == q["question"] else f'<div class="muted">searched: {escape(q["query"])}</div>'
    expected = ", ".join(q["answers"]) if q["answerable"] else "(unanswerable)"
    cells = [f"<td>{escape(q['id'])}<div class=\"muted\">{escape(q['kind'])}</div></td>",
             f"<td>{history}{escape(q['question'])}{query}<div class=\"muted\">expected: {escape(expected)}</div></td>"]
    for mode in modes:
        rank = q["retrieval"][mode]["rank"]
        good = rank is not None and rank <= 5
        cells.append(f'<td class="n"><span class="{"ok" if good else "bad"}">{rank if rank is not None else "-"}'
                     f"</span></td>" if q["answerable"] else '<td class="n muted">n/a</td>')
    ans = q.get("answer")
    if ans is None:
        cells.append("<td class=\"muted\">not run</td><td></td>")
    else:
        quotes = "".join(
            f"<blockquote>{escape(f['quote'])} [{f['n']}]<div class=\"muted\">{escape(f['doc_id'])} "
            f"{f['start']}-{f['end']}{'' if f['verbatim'] else ' NOT VERBATIM'}"
            + "".join(f"<br>cites: {escape(c)}" for c in f["citations"]) + "</div></blockquote>"
            for f in ans["footnotes"]) or f"<em>{escape(ans['text'])}</em>"
        checks = (f"found {_mark(ans['answer_found'])}<br>quoted {_mark(ans['evidence_quoted'])}"
                  if q["answerable"] else f"abstained {_mark(not ans['grounded'])}")
        cells.append(f"<td class=\"a\">{quotes}</td><td>{checks}<br>verbatim {_mark(ans['all_verbatim'])}"
                     f"<div class=\"muted\">{ans['latency_ms']:.1f} ms</div></td>")
    failures = "".join(f"<div class=\"bad\">{escape(f)}</div>" for f in q["failures"])
    hits = []
    for mode in modes:
        items = "".join(
            f"<li{REL if h['grade'] else ''}><span class=\"muted\">{escape(h['passage_id'])} "
            f"score {h['score']:.4f} grade {h['grade']}</span><br>{escape(h['text'][:400])}</li>"
            for h in q["retrieval"][mode]["hits"])
        hits.append(f"<details><summary>{escape(mode)} top {len(q['retrieval'][mode]['hits'])}</summary>"
                    f"<ol class=\"hits\">{items}</ol></details>")
    cells.append(f"<td>{failures}{''.join(hits)}</td>")
    return f"<tr{cls}>" + "".join(cells) + "</tr>"


LOWER_IS_BETTER = ("latency", "false_abstention")


def _delta_cell(name: str, v: dict[str, float] | None) -> str:
    if v is None:
        return "<td></td>"
    delta = v["delta"]
    better = delta < 0 if name.startswith(LOWER_IS_BETTER) else delta > 0
    mark = "" if abs(delta) < 1e-12 or name == "footnotes" else (' class="ok"' if better else ' class="bad"')
    return f'<td class="n">{_num(v["old"])} &rarr; {_num(v["new"])} <span{mark}>({delta:+.3f})</span></td>'


def _compare_section(result: dict[str, Any]) -> str:
    parts = [f"<h2>Compared with the report of {escape(str(result.get('old_created')))}</h2>"]
    for key in ("regressed", "improved", "mixed"):
        rows = result[key]
        parts.append(f"<h3>{key} ({len(rows)})</h3><ul>")
        parts.extend(f"<li><b>{escape(r['id'])}</b> {escape(r['question'])}: "
                     f"{escape('; '.join(r['better'] + r['worse']))}</li>" for r in rows)
        parts.append("</ul>")
    groups = list(result["deltas"])
    names = list(dict.fromkeys(name for values in result["deltas"].values() for name in values))
    parts.append("<table><tr><th>metric</th>" + "".join(f"<th>{escape(g)}</th>" for g in groups) + "</tr>")
    for name in names:
        parts.append(f"<tr><td>{escape(name)}</td>"
                     + "".join(_delta_cell(name, result["deltas"][g].get(name)) for g in groups) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one HTML page: no scripts, no external resources, every text escaped."""
    cfg = report["config"]
    modes = list(report["retrieval"])
    questions = sorted(report["questions"], key=lambda q: (-len(q["failures"]), q["id"]))
    latencies = [q["answer"]["latency_ms"] for q in report["questions"] if q.get("answer")]
    failed = sum(1 for q in questions if q["failures"])
    config_rows = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(json.dumps(v, ensure_ascii=False))}</td></tr>"
                          for k, v in cfg.items())
    widths = ["9%", "20%", *(["5%"] * len(modes)), "", "8%", "22%"]
    head = ("<colgroup>" + "".join(f'<col style="width:{w}">' if w else "<col>" for w in widths) + "</colgroup>"
            + "<tr><th>id</th><th>question</th>" + "".join(f"<th>{escape(m)} rank</th>" for m in modes)
            + "<th>answer</th><th>checks</th><th>failures and retrieved passages</th></tr>")
    body = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>Footnote eval report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Footnote eval report</h1><p class=\"muted\">{escape(str(report.get('created')))}: "
        f"{cfg['questions']} questions, {cfg['answerable']} answerable, {failed} with a failure</p>",
        _metrics_table(report),
        "<div class=\"charts\">",
        hit_curve_svg(report["hit_curve"]),
        histogram_svg(latencies, "answer latency (ms)") if latencies else "",
        risk_coverage_svg({n: v["risk_coverage"] for n, v in (report.get("splits") or {}).items()})
        if report.get("splits") else "",
        "</div>",
        _splits_table(report["splits"]) if report.get("splits") else "",
        "<h2>By kind of question</h2>", _by_kind_table(report["by_kind"]),
        _compare_section(report["compare"]) if report.get("compare") else "",
        f"<h2>Questions (failures first)</h2><table class=\"q\">{head}",
        *(_question_row(q, modes) for q in questions),
        "</table>",
        f"<h2>Configuration</h2><table>{config_rows}</table>",
        "</body></html>",
    ]
    return "\n".join(body)
