"""The reproduce report: report.md (figures as files beside it) and a self-contained report.html.

The HTML is the Markdown rendered by the `markdown` package with every image inlined as a data URI, so
the one file can be mailed or attached to a paper's supplement.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import markdown

from simvae.evaluation.run import PROBES
from simvae.experiments.compare import PROBE_TITLES, disentanglement_markdown, seeds_text
from simvae.methods import METHODS
from simvae.output import markdown_table

DIAGNOSTIC_COLUMNS = {
    "view_variance_ratio": "within-sample (across views) / between-sample variance ↓",
    "effective_rank": "effective rank (of d)",
    "alignment": "alignment ↓",
    "uniformity": "uniformity ↓",
}
FIGURE_ORDER = {"latents": "latent space (PCA of the test representation)", "reconstructions": "reconstructions",
                "samples": "samples from the prior", "loss_curves": "training terms"}
STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee}
code{background:#f6f6f6;padding:0 3px}"""


def probe_protocols(eval_config: dict[str, Any]) -> dict[str, str]:
    """A short statement of each probe's protocol, for column headers."""
    train = f"{eval_config['max_train']} train embeddings" if eval_config.get("max_train") else "all train embeddings"
    return {
        "linear": "linear: logistic regression to convergence, C chosen on val",
        "mlp": f"MLP d-d-c, ≤ {eval_config['mlp_steps']} Adam steps, step and weight decay chosen on val",
        "knn": f"cosine kNN, k in {eval_config['knn_k']} chosen on val",
        "gmm": f"GMM clustering accuracy, 1 full-cov. component per class, {eval_config['gmm_n_init']} inits",
        "train": train,
    }


def cell(values: dict[str, Any], scale: float = 100.0, digits: int = 1) -> str:
    return f"{scale * values['mean']:.{digits}f} ± {scale * values['std']:.{digits}f}"


def accuracy_table(summary: dict[str, Any], classes: dict[str, int], probe: str, protocol: str, params: dict[str, int]) -> list[str]:
    tasks = list(classes)
    header = ["method", "params"] + [f"{task} ({classes[task]} cls) · {protocol}" for task in tasks]
    rows = [[method, f"{params[method] / 1e6:.2f} M"] + [cell(scores[task][probe]) for task in tasks]
            for method, scores in summary.items()]
    rows.append(["*chance*", ""] + [f"{100 / classes[task]:.1f}" for task in tasks])
    return table(header, rows)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [*markdown_table(header, rows), ""]


def selection_table(summary: dict[str, Any]) -> list[str]:
    """Val-selected vs the official best-over-test number, content task, linear and MLP probes."""
    rows = []
    for method, scores in summary.items():
        row = [method]
        for probe in ("linear", "mlp"):
            cells = scores["content"][probe]
            best = cells.get("best_test")
            row += [cell(cells), cell(best) if best else "n/a"]
        rows.append(row)
    return table(["method", "linear, C chosen on val", "linear, best test C (official-style)",
                  "MLP, step chosen on val", "MLP, best test step (official)"], rows)


def ablation_lines(ablation: dict[str, Any], protocol: str) -> list[str]:
    classes = ablation["num_classes"]
    lines = [f"#### {ablation['name']}", "", "Settings of each value: " + "; ".join(
        f"`{label}` = `{settings}`" for label, settings in ablation["values"].items()), ""]
    header = ["value"] + [f"{task} ({classes[task]} cls) · {protocol}" for task in classes]
    rows = [[label] + [cell(scores[task]["linear"]) for task in classes] for label, scores in ablation["summary"].items()]
    return lines + table(header, rows) + validation_table(ablation["summary"], classes)


def style_tasks(classes: dict[str, int]) -> list[str]:
    return [task for task in classes if task != "content"]


def mean_percent(scores: dict[str, Any], tasks: list[str], probe: str, split: str | None = None) -> str:
    """The mean over `tasks` of one probe's mean accuracy over seeds (on `split`'s summary, e.g. "val"), in %."""
    if not tasks:
        return "n/a"
    values = [scores[task][probe][split] if split else scores[task][probe] for task in tasks]
    return f"{100 * sum(value['mean'] for value in values) / len(values):.1f}"


def validation_table(summary: dict[str, Any], classes: dict[str, int]) -> list[str]:
    """Content and mean style on *validation* data, linear and MLP probes: what a choice of setting may rest on."""
    rows = [[label, *(mean_percent(scores, tasks, probe, "val") for probe in ("linear", "mlp")
                      for tasks in (["content"], style_tasks(classes)))]
            for label, scores in summary.items()]
    header = ["value", "content · linear · val", "mean style · linear · val", "content · MLP · val", "mean style · MLP · val"]
    return ["Validation accuracy (%), mean over seeds — settings are chosen on these, never on test:", "", *table(header, rows)]


def representation_tables(comparison: dict[str, Any], protocols: dict[str, str]) -> list[str]:
    """Every representation of every method, linear and MLP probes: a projection head's output beside its encoder's."""
    classes = comparison["num_classes"]
    styles = style_tasks(classes)
    lines = []
    for probe in ("linear", "mlp"):
        header = ["method", "representation", *(f"{task} ({classes[task]} cls)" for task in classes)]
        header += ["mean style"] if styles else []
        rows = []
        for method, representations in comparison["representations"].items():
            for rep, scores in representations.items():
                mean_style = [mean_percent(scores, styles, probe)] if styles else []
                rows.append([method, f"`{rep}`", *(cell(scores[task][probe]) for task in classes), *mean_style])
        lines += [f"**{PROBE_TITLES[probe]}** · {protocols[probe]}", "", *table(header, rows)]
    return lines


def section_lines(section: dict[str, Any]) -> list[str]:
    comparison, config = section["comparison"], section["config"]
    protocols = probe_protocols(config["eval"])
    train, augment, net = config["train"], config["augment"], config["net"]
    seeds, dataset = comparison["seeds"], section["dataset"]
    lines = [f"## {dataset}", "",
             f"{train['epochs']} epochs, {train['batch_size']} images x {augment['views']} views per step, Adam lr {train['lr']:g}, "
             f"augmentation preset `{comparison['augment_preset']}`, backbone `{comparison['backbone']}`, d = {net['latent_dim']}; "
             f"seeds {seeds_text(seeds)}; probes trained on {protocols['train']}; training time per seed (s): "
             + ", ".join(f"{m} {t / len(seeds[m]):.0f}" for m, t in comparison["train_seconds"].items()), ""]
    styles = len(comparison["num_classes"]) > 1
    if styles:
        lines += ["### Content against style", "",
                  "Test accuracy on content against the mean over style labels, one small point per run (seed), the "
                  "method's mean as a large one; filled: the representation the tables below use (encoder, or posterior "
                  "mean), hollow squares: the projection head's output. Dashed: chance.", "",
                  f"![content-style trade-off]({dataset}/tradeoff.png)", ""]
    lines += ["### Test accuracy (%), mean ± std over seeds", ""]
    for probe in PROBES:
        lines += [f"**{PROBE_TITLES[probe]}**", ""]
        lines += accuracy_table(comparison["summary"], comparison["num_classes"], probe, protocols[probe], comparison["parameters"])
    lines += disentanglement_markdown(comparison.get("disentanglement", {}))
    lines += [f"![content accuracy]({dataset}/accuracy_content.png)", ""]
    if styles:
        lines += [f"![style accuracy]({dataset}/accuracy_style.png)", ""]
    if any(len(reps) > 1 for reps in comparison["representations"].values()):
        lines += ["### Encoder and projection head (test accuracy %, mean ± std over seeds)", "",
                  "Discriminative methods probed on the encoder's output (`encoder`, before the projection head) and on "
                  "the head's (`head`, what their loss sees); generative methods on the posterior mean (`mean`).", ""]
        lines += representation_tables(comparison, protocols)
    if any(comparison["curves"].values()):
        curve = config["eval"]
        lines += ["### During training (mean ± std over seeds)", "",
                  f"Every {train['eval_every']} epochs: a linear probe (logistic regression to convergence, C chosen on "
                  f"val, {curve['curve_max_train']} train embeddings) and cosine kNN (k in {curve['knn_k']}) on the primary "
                  "representation. Dashed: chance.", "",
                  f"![learning curves, linear probe]({dataset}/curves_linear.png)", "",
                  f"![learning curves, kNN]({dataset}/curves_knn.png)", ""]
    lines += ["### Diagnostics of the representation (test split, augmented views; mean ± std over seeds)", "",
              "How tightly each method clusters the views of one sample (the structure the paper's model predicts), "
              "how many dimensions it uses, and Wang & Isola's alignment and uniformity (of L2-normalised representations).", ""]
    rows = [[method] + [cell(values[key], 1.0, 3) for key in DIAGNOSTIC_COLUMNS] for method, values in section["diagnostics"].items()]
    lines += table(["method", *DIAGNOSTIC_COLUMNS.values()], rows)
    lines += ["### Official-code selection: the best test setting instead of the validation-chosen one (content)", ""]
    lines += selection_table(comparison["summary"])
    if section["ablations"]:
        lines += ["### Ablations of SimVAE (linear probe, test accuracy %, mean ± std over seeds)", ""]
        for ablation in section["ablations"]:
            lines += ablation_lines(ablation, protocols["linear"])
    if section.get("embeddings"):
        lines += ["### Embeddings", "", f"Every run's probed representation (train subset, val and test, float16, with "
                  f"every label) is kept in `{dataset}/embeddings/<method>-seed<k>.npz`: probe a table again without the "
                  "runs, e.g. `simvae eval " + next(iter(section["embeddings"].values()))[0] + " eval.mlp_steps=5000`.", ""]
    lines += ["### Figures (first seed)", ""]
    for method, figures in section["figures"].items():
        lines += [f"#### {method}", ""]
        lines += [f"![{method}: {title}]({figures[stem]})" for stem, title in FIGURE_ORDER.items() if stem in figures]
        lines.append("")
    return lines


def report_markdown(payload: dict[str, Any]) -> str:
    p = payload["provenance"]
    compute = sum(sum(s["comparison"]["train_seconds"].values()) for s in payload["sections"])
    trained_at = sorted({c for s in payload["sections"] for c in s["comparison"]["trained_at"]})
    multi_crop = sorted({m for s in payload["sections"] for m in s["comparison"]["methods"] if METHODS[m].uses_local_crops})
    crops = (f" ({', '.join(multi_crop)} also train on the local crops of `augment.local_crops`, as their papers do)"
             if multi_crop else "")
    lines = [f"# simvae reproduce — budget `{payload['budget']}`", "",
             f"Main grid trained at commit(s) {', '.join(f'`{c}`' for c in trained_at)} (each run's provenance.json "
             f"says which); report written at commit `{p['git_commit']}`; command `{p['command']}`; {p['machine']}; "
             f"torch {p['versions'].get('torch')}; "
             f"{p['time']}; this invocation {payload['elapsed_seconds'] / 60:.1f} min, training compute of the main grid "
             f"{compute / 60:.1f} min.", "",
             f"Every method shares data, augmentations, backbone, optimiser and probes; only the objective differs{crops}. "
             "Tables use the encoder's output before any projection head (posterior means for the VAEs); where the "
             "head's output was probed too (eval.all_representations), it is tabulated beside it. "
             "Accuracies are on the official test split; probe settings (C, MLP step and weight decay, k) are chosen on a validation split "
             "carved from the training set.", ""]
    for section in payload["sections"]:
        lines += section_lines(section)
    return "\n".join(lines) + "\n"


def inline_images(html: str, base: Path) -> str:
    """Replace every <img src="relative.png"> by a base64 data URI, so the HTML stands alone."""
    def encode(match: re.Match) -> str:
        path = base / match.group(2)
        data = base64.b64encode(path.read_bytes()).decode() if path.is_file() else ""
        return f'{match.group(1)}data:image/png;base64,{data}"'

    return re.sub(r'(<img[^>]*?src=")([^":]+\.png)"', encode, html)


def write_report(payload: dict[str, Any], out: Path) -> Path:
    """Write report.md and the self-contained report.html into `out`; returns the HTML's path."""
    text = report_markdown(payload)
    (out / "report.md").write_text(text)
    body = markdown.markdown(text, extensions=["tables"])
    html = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>simvae reproduce ({payload['budget']})</title>"
            f"<style>{STYLE}</style></head><body>\n{inline_images(body, out)}\n</body></html>\n")
    (out / "report.html").write_text(html)
    return out / "report.html"
