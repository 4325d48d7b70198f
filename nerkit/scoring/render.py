"""Render the report dict as Markdown and as a standalone HTML page.

Both are built from the same table definitions; scores show as percentages
with 2 decimals. The HTML page adds the calibration charts (where entities have
scores) and the example sentences rendered by displaCy.
"""
import html
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from spacy import displacy

from .calibration_plot import calibration_svg, write_calibration_png

Table = Tuple[str, str, List[str], List[List[str]]]  # title, note, header, rows
PALETTE = ["#7aecec", "#bfeeb7", "#feca74", "#ff9561", "#aa9cfc", "#c887fb",
           "#9cc9cc", "#ffeb80", "#ff8197", "#f0d0ff", "#bfe1d9", "#e4e7d2"]  # fmt: skip


def pct(x: Optional[float]) -> str:
    """A fraction as a percentage with 2 decimals ("–" for None)."""
    return "–" if x is None else f"{100 * x:.2f}"


def _prf_row(name: str, row: Dict[str, Any]) -> List[str]:
    support = row.get("support")
    return [name, pct(row["precision"]), pct(row["recall"]), pct(row["f1"]),
            "" if support is None else str(support)]  # fmt: skip


def _tables(report: Dict[str, Any]) -> List[Table]:
    ent, tok, sp = report["entity"], report["token"], report["spacy_scorer"]
    prf_head = ["", "P", "R", "F1", "Support"]
    lo, hi = report["bootstrap"]["f1_ci95"]
    ent_rows = [_prf_row(k, v) for k, v in ent["per_type"].items()]
    ent_rows.append(_prf_row("**micro**", ent["micro"]))
    ent_rows.append(_prf_row("macro", {**ent["macro"], "support": None}))
    ent_note = (
        f"{ent['definition']} Bootstrap 95% interval for micro F1 "
        f"({report['bootstrap']['n_samples']} samples of documents, seed "
        f"{report['bootstrap']['seed']}): [{pct(lo)}, {pct(hi)}]."
    )
    sp_rows = [["micro", pct(sp["ents_p"]), pct(sp["ents_r"]), pct(sp["ents_f"]),
                pct(ent["micro"]["f1"])]]  # fmt: skip
    for label, row in sorted(sp["ents_per_type"].items()):
        ours = ent["per_type"].get(label, {}).get("f1")
        sp_rows.append([label, pct(row["p"]), pct(row["r"]), pct(row["f"]), pct(ours)])
    tok_rows = [_prf_row(k, v) for k, v in tok["per_tag"].items()]
    tok_rows += [_prf_row(f"*{k} avg*", v) for k, v in tok["averages"].items()]
    tok_rows.append(["accuracy (all tokens)", "", "", pct(tok["accuracy"]), str(tok["n_tokens"])])
    cats = list(report["errors"]["total"])
    err_rows = [[k] + [str(v[c]) for c in cats] for k, v in report["errors"]["per_type"].items()]
    err_rows.append(["**total**"] + [str(report["errors"]["total"][c]) for c in cats])
    labels = report["confusion"]["labels"]
    conf = report["confusion"]["matrix"]
    conf_rows = [[g] + [str(conf[g][p]) for p in labels] for g in labels]
    tables = [
        ("Entity level (exact match)", ent_note, prf_head, ent_rows),
        ("spaCy scorer", sp["note"], ["", "ents_p", "ents_r", "ents_f", "F1 (exact)"], sp_rows),
        ("Token level (IOB2 tags)", tok["note"], prf_head, tok_rows),
        ("Errors per type",
         "Gold entities: correct + wrong_type + wrong_boundary + wrong_both + missed = "
         "support (booked under the gold type); spurious predictions are booked under "
         "the predicted type.", ["type"] + cats, err_rows),
        ("Confusion (rows gold, columns predicted)",
         "Each gold entity counts once: the exact-span prediction, else an overlapping one "
         "(same type first, then most overlap), else O (missed). Row O: spurious "
         "predictions. Diagonal = correct + wrong_boundary.",
         ["gold \\ pred"] + labels, conf_rows),
    ]  # fmt: skip
    return tables + _calibration_tables(report.get("calibration"))


def _calibration_tables(cal: Optional[Dict[str, Any]]) -> List[Table]:
    """Reliability bins and the threshold table, where the entities have scores."""
    if not cal:
        return []
    bin_rows = [[f"[{b['lo']:.1f}, {b['hi']:.1f}{']' if b['hi'] >= 1 else ')'}", str(b["n"]),
                 pct(b["mean_score"]), pct(b["accuracy"])] for b in cal["bins"]]
    bin_note = (
        f"Expected calibration error (ECE, {cal['n_bins']} equal-width bins of ent._.score, weighted by "
        f"their entities): {pct(cal['ece'])} over {cal['n_scored']} scored predicted entities"
        + (f" ({cal['n_unscored']} without a score)" if cal["n_unscored"] else "")
        + ". A calibrated score is the share of its bin's entities that are correct (exact match)."
    )
    thr_rows = [[f"{row['threshold']:g}", str(row["n_kept"]), pct(row["precision"]), pct(row["recall"]),
                 pct(row["f1"])] for row in cal["thresholds"]]
    return [
        ("Calibration (entity scores)", bin_note, ["score", "entities", "mean score", "correct"], bin_rows),
        ("Precision and recall by score threshold",
         "Entities with ent._.score >= the threshold kept (as nerkit annotate --min-score does); recall "
         "over all gold entities.", ["min score", "kept", "P", "R", "F1"], thr_rows),
    ]  # fmt: skip


def _summary(report: Dict[str, Any]) -> List[str]:
    m, speed = report["meta"], report["speed"]
    wps = speed["words_per_second"]
    return [
        f"Pipeline: {m['pipeline']}" + (f" ({m['pipeline_name']} {m['pipeline_version']})"
                                        if m.get("pipeline_name") else ""),
        f"Test data: {m['test_data']} ({m['n_docs']} docs, {m['n_sents']} sentences, "
        f"{m['n_words']} words, {m['n_gold_ents']} gold / {m['n_pred_ents']} predicted entities)",
        "Sentence starts: " + {True: "the gold ones, given to the pipeline (no entity crosses one)",
                               False: "none given (whole documents)", None: "not known"}[m.get("sentence_starts_given")]
        + f"; predicted entities over a sentence boundary, scored cut there: {m.get('n_pred_ents_crossing_sentences', 0)}",
        "Speed: " + ("–" if wps is None else f"{wps:,.0f} words/s")
        + (f" (batch size {speed['batch_size']})" if speed.get("batch_size") else ""),
        f"Date: {m['date']}, spaCy {m['spacy_version']}",
    ]  # fmt: skip


def _md_table(header: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def headline_markdown(report: Dict[str, Any]) -> str:
    """The entity-level table alone (per type, micro, macro) as Markdown."""
    title, note, header, rows = _tables(report)[0]
    return _md_table(header, rows)


def _bracketed(text: str, ents: List[Dict[str, Any]]) -> str:
    out, pos = [], 0
    for e in sorted(ents, key=lambda e: e["start"]):
        if e["start"] < pos:
            continue
        out += [text[pos : e["start"]], f"[{text[e['start']:e['end']]}]({e['label']})"]
        pos = e["end"]
    return "".join(out + [text[pos:]])


def render_markdown(report: Dict[str, Any]) -> str:
    """The full report as Markdown."""
    parts = ["# NER evaluation", "\n".join(f"- {s}" for s in _summary(report))]
    for title, note, header, rows in _tables(report):
        parts += [f"## {title}", note, _md_table(header, rows)]
    if report["examples"]:
        parts.append("## Sentences with the most errors")
        for ex in report["examples"]:
            parts.append(
                f"- doc {ex['doc']}, tokens {ex['sent_start']}–{ex['sent_end']}, "
                f"{ex['n_errors']} error(s)\n"
                f"  - gold: {_bracketed(ex['text'], ex['gold'])}\n"
                f"  - pred: {_bracketed(ex['text'], ex['pred'])}"
            )
    return "\n\n".join(parts) + "\n"


def _html_table(header: List[str], rows: List[List[str]]) -> str:
    def cell(tag: str, text: str) -> str:
        return f"<{tag}>{html.escape(text.replace('*', ''))}</{tag}>"

    head = "".join(cell("th", h) for h in header)
    body = "".join("<tr>" + "".join(cell("td", c) for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _displacy(ex: Dict[str, Any], key: str, colors: Dict[str, str]) -> str:
    data = {"text": ex["text"], "title": None,
            "ents": [{k: e[k] for k in ("start", "end", "label")} for e in ex[key]]}  # fmt: skip
    return displacy.render(
        data, style="ent", page=False, manual=True, jupyter=False,
        options={"colors": colors},
    )  # fmt: skip


CSS = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}td:first-child,th:first-child{text-align:left}.note{color:#555}
.pair{display:flex;gap:1em}.pair>div{flex:1;border:1px solid #eee;padding:.5em}"""


def render_html(report: Dict[str, Any]) -> str:
    """The full report as a standalone HTML page, with displaCy examples."""
    esc = html.escape
    parts = ["<h1>NER evaluation</h1><ul>"]
    parts += [f"<li>{esc(s)}</li>" for s in _summary(report)] + ["</ul>"]
    for title, note, header, rows in _tables(report):
        parts += [f"<h2>{esc(title)}</h2>", f"<p class='note'>{esc(note)}</p>",
                  _html_table(header, rows)]  # fmt: skip
    if report.get("calibration"):
        parts += ["<h2>Calibration charts</h2>", calibration_svg(report["calibration"])]
    labels = sorted(set(report["confusion"]["labels"]) - {"O"})
    colors = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    if report["examples"]:
        parts.append("<h2>Sentences with the most errors</h2>")
    for ex in report["examples"]:
        parts.append(
            f"<h3>doc {ex['doc']}, tokens {ex['sent_start']}–{ex['sent_end']}: "
            f"{ex['n_errors']} error(s)</h3><div class='pair'>"
            f"<div><h4>gold</h4>{_displacy(ex, 'gold', colors)}</div>"
            f"<div><h4>predicted</h4>{_displacy(ex, 'pred', colors)}</div></div>"
        )
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>NER evaluation</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_report(report: Dict[str, Any], output_prefix: Union[str, Path]) -> Dict[str, Path]:
    """Write `<prefix>.json`, `<prefix>.md` and `<prefix>.html`, and where
    the entities have scores and matplotlib is installed the calibration charts
    as `<prefix>.calibration.png`.

    RETURNS (Dict[str, Path]): The paths, keyed by "json", "md", "html" (and "png").
    """
    prefix = Path(output_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = {ext: prefix.with_name(f"{prefix.name}.{ext}") for ext in ("json", "md", "html")}
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    paths["json"].write_text(text, encoding="utf8")
    paths["md"].write_text(render_markdown(report), encoding="utf8")
    paths["html"].write_text(render_html(report), encoding="utf8")
    if report.get("calibration"):
        png = write_calibration_png(report["calibration"], prefix.with_name(f"{prefix.name}.calibration.png"))
        if png is not None:
            paths["png"] = png
    return paths
