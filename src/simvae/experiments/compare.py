"""`simvae compare`: several methods, one dataset, one budget, several seeds; one table.

Every run shares data, augmentations, backbone, optimiser and probes; only `method.name` (and the
seed) changes, so differences are the method's. Runs live in OUT/<method>/seed<k>/; a finished run
(metrics.json present) is skipped and an interrupted one resumed, so the command can be re-run.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

from simvae.augment import preset_for
from simvae.config import (
    EXECUTION_KEYS,
    MONITOR_KEYS,
    TRAINING_SECTIONS,
    RunConfig,
    config_from_dict,
    merge,
    parse_overrides,
    read_yaml_file,
    saved_config,
)
from simvae.config_files import find_config
from simvae.data import Dataset
from simvae.errors import ConfigError
from simvae.evaluation import figures
from simvae.evaluation.curves import CURVE_PROBES, curve_hook, curve_summary
from simvae.evaluation.run import DISENTANGLEMENT_COLUMNS, METRICS, PROBES, evaluate_run
from simvae.output import markdown_table, write_json
from simvae.runs import build
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.runs.rundir import CONFIG, PROVENANCE, provenance
from simvae.training import train

PROBE_TITLES = {"linear": "linear probe", "mlp": "MLP probe", "knn": "kNN (cosine)", "gmm": "GMM clustering accuracy"}


def differences(saved: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> list[str]:
    """`section.key: saved -> wanted` for every training setting that differs (nested dicts compared key by key);
    execution and monitoring keys and the eval section are not part of what a run is."""
    found = []
    for key in sorted(set(saved) | set(wanted)):
        if not prefix and key not in TRAINING_SECTIONS:
            continue
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        elif a != b and not (prefix == "train." and key in (*EXECUTION_KEYS, *MONITOR_KEYS)):
            found.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return found


def check_same_config(config: RunConfig, run_dir: Path) -> None:
    """Refuse to reuse a run directory made with other settings (a stale grid would mix budgets silently)."""
    saved_path = run_dir / CONFIG
    if not saved_path.is_file():
        return
    changed = differences(saved_config(read_yaml_file(saved_path, "run config")).to_dict(), config.to_dict())
    if changed:
        raise ConfigError(f"{run_dir} was made with other settings ({'; '.join(changed[:5])}): delete it to retrain, "
                          "or write this grid to another --out")


def finished_metrics(config: RunConfig, run_dir: Path) -> dict[str, Any] | None:
    """The run's metrics if it was trained with `config` and evaluated with its eval settings, else None."""
    check_same_config(config, run_dir)
    if (run_dir / METRICS).is_file():
        metrics = json.loads((run_dir / METRICS).read_text())
        if metrics.get("eval") == dataclasses.asdict(config.eval):
            return metrics
    return None


def run_one(config: RunConfig, run_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) and evaluate one run unless it is already done; returns its metrics.

    A finished run whose metrics were computed with other evaluation settings is evaluated again, not retrained.
    """
    metrics = finished_metrics(config, run_dir)
    if metrics is not None:
        return metrics
    checkpoint = run_dir / CHECKPOINT
    finished = checkpoint.is_file() and load_checkpoint(checkpoint)["finished"]
    if not finished:
        train(config, run_dir, resume=checkpoint.is_file(), progress=progress, on_epoch_end=curve_hook(config, run_dir))
    return evaluate_run(run_dir, progress=progress, overrides={"eval": dataclasses.asdict(config.eval)})


def architecture(config: RunConfig, dataset: Dataset | None = None) -> dict[str, Any]:
    """What `auto` resolved to for this config, and the method's parameter count (`dataset` skips loading it)."""
    setup = build(config, dataset)
    return {"parameters": sum(p.numel() for p in setup.method.parameters()), "backbone": setup.spec.backbone,
            "augment_preset": "augment.ops" if config.augment.ops else
            preset_for(config.augment.preset, setup.dataset.augment_preset or setup.dataset.name)}


def mean_std(values: list[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values}


def summarise_scores(results: list[dict[str, Any]]) -> dict[str, Any]:
    """{task: {probe: {"mean", "std", "values"[, "val", "best_test"]}}} of one representation's results over seeds,
    for the tasks every seed could measure.

    "best_test" summarises the official code's optimistic best-over-test-epochs number where probes record it.
    """
    summary: dict[str, Any] = {}
    for task in results[0]:
        if any(result[task] is None for result in results):  # not measurable (one class in training): left out
            continue
        summary[task] = {}
        for probe in PROBES:
            scores = [result[task][probe] for result in results]
            summary[task][probe] = mean_std([score["test"] for score in scores])
            for extra in ("val", "best_test"):  # the validation accuracy that chose the probe, where recorded
                if all(extra in score for score in scores):
                    summary[task][probe][extra] = mean_std([score[extra] for score in scores])
    return summary


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{name: {task: {probe: ...}}} over seeds, of each run's primary representation (the first in metrics.json)."""
    return {name: summarise_scores([next(iter(payload["results"].values())) for payload in metrics])
            for name, metrics in runs.items()}


def summarise_disentanglement(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{name: {score: {"mean", "std", "values"}}} of the primary representation's DCI, MIG and SAP over seeds, for
    the scores every seed measured (a run evaluated without them, or a score that is null, is left out)."""
    summary: dict[str, Any] = {}
    for name, metrics in runs.items():
        scores = [(payload.get("disentanglement") or {}).get(next(iter(payload["results"]))) for payload in metrics]
        if all(scores):
            summary[name] = {key: mean_std([s[key] for s in scores]) for key in DISENTANGLEMENT_COLUMNS
                             if all(s[key] is not None for s in scores)}
    return summary


def disentanglement_markdown(summary: dict[str, Any]) -> list[str]:
    """The table of `summarise_disentanglement`: scores in [0, 1], mean ± std over seeds (empty when none)."""
    if not summary:
        return []
    rows = [[name, *(f"{s[key]['mean']:.2f} ± {s[key]['std']:.2f}" if key in s else "n/a" for key in DISENTANGLEMENT_COLUMNS)]
            for name, s in summary.items()]
    return ["**Disentanglement** over every labelled factor (content and style), test split, mean ± std over seeds "
            "(docs/metrics.md)", "", *markdown_table(["method", *DISENTANGLEMENT_COLUMNS.values()], rows), ""]


def measurable_classes(runs: dict[str, list[dict[str, Any]]], summary: dict[str, Any]) -> dict[str, int]:
    """{task: classes} of the label tasks every run could measure (what the tables and figures show)."""
    first = next(iter(runs.values()))[0]["num_classes"]
    return {task: count for task, count in first.items() if all(task in scores for scores in summary.values())}


def summarise_representations(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{name: {representation: {task: {probe: ...}}}} over seeds, every representation probed
    (e.g. `encoder` and `head` with eval.all_representations=true), primary first."""
    return {name: {rep: summarise_scores([payload["results"][rep] for payload in metrics]) for rep in metrics[0]["results"]}
            for name, metrics in runs.items()}


def seeds_text(seeds: dict[str, list[int]]) -> str:
    """"[1, 2, 3]" when every method has the same seeds, else "simvae [1, 2, 3], moco [1], ..."."""
    distinct = {tuple(s) for s in seeds.values()}
    return str(next(iter(seeds.values()))) if len(distinct) == 1 else ", ".join(f"{m} {s}" for m, s in seeds.items())


def comparison_table(summary: dict[str, Any], probe: str, params: dict[str, int], classes: dict[str, int]) -> str:
    tasks = list(classes)
    rows = [[method, f"{params[method] / 1e6:.2f} M"]
            + [f"{100 * scores[t][probe]['mean']:.1f} ± {100 * scores[t][probe]['std']:.1f}" for t in tasks]
            for method, scores in summary.items()]
    rows.append(["*chance*", "", *(f"{100 / classes[t]:.1f}" for t in tasks)])
    header = ["method", "parameters", *(f"{t} ({classes[t]})" for t in tasks)]
    return "\n".join([f"**{PROBE_TITLES[probe]}** — test accuracy (%), mean ± std over seeds", "", *markdown_table(header, rows)])


def compare(methods: list[str], seeds: list[int] | dict[str, list[int]], out: str | Path, base: dict[str, Any],
            progress: bool = True) -> dict[str, Any]:
    """Train and probe every method x seed (`seeds`: for all methods, or per method); write comparison.{json,md},
    accuracy bar charts, the content-style trade-off and (with train.eval_every) learning curves into `out`."""
    out = Path(out)
    started = time.perf_counter()
    seeds = seeds if isinstance(seeds, dict) else {m: list(seeds) for m in methods}
    configs = {(m, s): config_from_dict(merge(base, {"method": {"name": m}, "train": {"seed": s}})) for m in methods for s in seeds[m]}
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for index, ((method, seed), config) in enumerate(configs.items(), 1):
        print(f"[{index}/{len(configs)}] {method}, seed {seed}", flush=True)
        runs[method].append(run_one(config, out / method / f"seed{seed}", progress))
    summary = summarise(runs)
    classes = measurable_classes(runs, summary)
    first = next(iter(configs.values()))
    dataset = build(first).dataset  # loaded once: every method shares it
    built = {m: architecture(configs[(m, seeds[m][0])], dataset) for m in methods}
    wall = {m: sum(load_checkpoint(out / m / f"seed{s}" / CHECKPOINT)["wall_time"] for s in seeds[m]) for m in methods}
    trained_at = sorted({json.loads((out / m / f"seed{s}" / PROVENANCE).read_text())["git_commit"] for m in methods for s in seeds[m]})
    payload = {"methods": methods, "seeds": seeds, "dataset": first.data.name, "epochs": first.train.epochs,
               "parameters": {m: built[m]["parameters"] for m in methods}, "backbone": built[methods[0]]["backbone"],
               "augment_preset": built[methods[0]]["augment_preset"], "train_seconds": wall, "trained_at": trained_at,
               "num_classes": classes, "summary": summary, "representations": summarise_representations(runs),
               "disentanglement": summarise_disentanglement(runs),
               "curves": {m: curve_summary([out / m / f"seed{s}" for s in seeds[m]]) for m in methods},
               "base_config": base, "provenance": provenance(), "elapsed_seconds": time.perf_counter() - started}
    write_json(out / "comparison.json", payload)
    (out / "comparison.md").write_text(comparison_markdown(payload))
    write_comparison_figures(payload, out)
    return payload


def write_comparison_figures(payload: dict[str, Any], out: Path) -> None:
    """accuracy_{content,style}.png, tradeoff.png (when there are style labels), curves_{probe}.png (when there are curves)."""
    methods, summary, classes = payload["methods"], payload["summary"], payload["num_classes"]
    styles = [t for t in classes if t != "content"]
    name = f"{payload['dataset']}, {payload['epochs']} epochs"
    for group, tasks in {"content": ["content"], "style": styles}.items():
        if tasks:
            table = {t: {m: summary[m][t]["linear"]["mean"] for m in methods} for t in tasks}
            errors = {t: {m: summary[m][t]["linear"]["std"] for m in methods} for t in tasks}
            figures.accuracy_bars(table, errors=errors, path=out / f"accuracy_{group}.png",
                                  title=f"{name}: {group} labels, linear probe (mean ± std over seeds)")
    if styles:
        panels = {PROBE_TITLES[probe]: {m: {rep: tradeoff_points(scores, probe, styles) for rep, scores in reps.items()}
                                        for m, reps in payload["representations"].items()} for probe in ("linear", "mlp")}
        chance = (1 / classes["content"], sum(1 / classes[t] for t in styles) / len(styles))
        figures.tradeoff(panels, chance, out / "tradeoff.png", f"{name}: content vs style, one point per run")
    curves = {m: next(iter(reps.values())) for m, reps in payload["curves"].items() if reps}  # primary representation
    for probe in CURVE_PROBES if curves else ():
        figures.learning_curves({m: {t: c[probe] for t, c in tasks.items()} for m, tasks in curves.items()},
                                {t: 1 / k for t, k in classes.items()}, out / f"curves_{probe}.png",
                                f"{name}: test accuracy during training, {PROBE_TITLES[probe]} (mean ± std over seeds)")


def tradeoff_points(scores: dict[str, Any], probe: str, styles: list[str]) -> list[tuple[float, float]]:
    """(content accuracy, mean style accuracy) of each seed."""
    content = scores["content"][probe]["values"]
    style = [sum(scores[t][probe]["values"][i] for t in styles) / len(styles) for i in range(len(content))]
    return list(zip(content, style))


def comparison_markdown(payload: dict[str, Any]) -> str:
    p, seeds = payload["provenance"], payload["seeds"]
    lines = [f"## {payload['dataset']}: {', '.join(payload['methods'])}", "",
             f"{payload['epochs']} epochs, backbone `{payload['backbone']}`, augmentation preset `{payload['augment_preset']}`, "
             f"seeds {seeds_text(seeds)}; runs trained at commit(s) {', '.join(f'`{c}`' for c in payload['trained_at'])}, "
             f"tabulated at `{p['git_commit']}`; {p['machine']}; "
             f"training time of all runs {sum(payload['train_seconds'].values()) / 60:.1f} min "
             f"(this invocation {payload['elapsed_seconds'] / 60:.1f} min: finished runs are skipped); command `{p['command']}`", ""]
    for probe in PROBES:
        lines += [comparison_table(payload["summary"], probe, payload["parameters"], payload["num_classes"]), ""]
    lines += disentanglement_markdown(payload.get("disentanglement", {}))
    lines.append("Training time per seed (s): " + ", ".join(f"{m} {payload['train_seconds'][m] / len(seeds[m]):.0f}"
                                                          for m in payload["methods"]))
    return "\n".join(lines) + "\n"


def parse_base(config_path: str | None, overrides: list[str]) -> dict[str, Any]:
    """The shared settings of a comparison, as a plain dict (method.name and train.seed are set per run)."""
    values = read_yaml_file(find_config(config_path)) if config_path else {}
    values = merge(values, parse_overrides(overrides))
    method_keys = set(values.get("method", {})) - {"name"}
    if method_keys:
        raise ConfigError(f"compare shares one config across methods, so it cannot set method-specific keys {sorted(method_keys)}; "
                          "drop them (each method uses its own defaults)")
    values.pop("method", None)
    return values
