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
)
from simvae.data import Dataset
from simvae.errors import ConfigError
from simvae.evaluate import figures
from simvae.evaluate.curves import curve_hook
from simvae.evaluate.run import METRICS, PROBES, evaluate_run
from simvae.output import markdown_table, write_json
from simvae.runs import build
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.runs.rundir import CONFIG, PROVENANCE, provenance
from simvae.train import train

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
    changed = differences(config_from_dict(read_yaml_file(saved_path, "run config")).to_dict(), config.to_dict())
    if changed:
        raise ConfigError(f"{run_dir} was made with other settings ({'; '.join(changed[:5])}): delete it to retrain, "
                          "or write this grid to another --out")


def run_one(config: RunConfig, run_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) and evaluate one run unless it is already done; returns its metrics.

    A finished run whose metrics were computed with other evaluation settings is evaluated again, not retrained.
    """
    check_same_config(config, run_dir)
    settings = dataclasses.asdict(config.eval)
    if (run_dir / METRICS).is_file():
        metrics = json.loads((run_dir / METRICS).read_text())
        if metrics.get("eval") == settings:
            return metrics
    checkpoint = run_dir / CHECKPOINT
    finished = checkpoint.is_file() and load_checkpoint(checkpoint)["finished"]
    if not finished:
        train(config, run_dir, resume=checkpoint.is_file(), progress=progress, on_epoch_end=curve_hook(config, run_dir))
    return evaluate_run(run_dir, progress=progress, overrides={"eval": settings})


def architecture(config: RunConfig, dataset: Dataset | None = None) -> dict[str, Any]:
    """What `auto` resolved to for this config, and the method's parameter count (`dataset` skips loading it)."""
    setup = build(config, dataset)
    return {"parameters": sum(p.numel() for p in setup.method.parameters()), "backbone": setup.spec.backbone,
            "augment_preset": "augment.ops" if config.augment.ops else
            preset_for(config.augment.preset, setup.dataset.augment_preset or setup.dataset.name)}


def mean_std(values: list[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values}


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{name: {task: {probe: {"mean", "std", "values"[, "best_test"]}}}} over seeds, primary representation.

    "best_test" summarises the official code's optimistic best-over-test-epochs number where probes record it.
    """
    summary: dict[str, Any] = {}
    for name, metrics in runs.items():
        results = [next(iter(payload["results"].values())) for payload in metrics]  # the primary representation
        summary[name] = {}
        for task in results[0]:
            summary[name][task] = {}
            for probe in PROBES:
                scores = [result[task][probe] for result in results]
                summary[name][task][probe] = mean_std([score["test"] for score in scores])
                if all("best_test" in score for score in scores):
                    summary[name][task][probe]["best_test"] = mean_std([score["best_test"] for score in scores])
    return summary


def comparison_table(summary: dict[str, Any], probe: str, params: dict[str, int], classes: dict[str, int]) -> str:
    tasks = list(classes)
    rows = [[method, f"{params[method] / 1e6:.2f} M"]
            + [f"{100 * scores[t][probe]['mean']:.1f} ± {100 * scores[t][probe]['std']:.1f}" for t in tasks]
            for method, scores in summary.items()]
    rows.append(["*chance*", "", *(f"{100 / classes[t]:.1f}" for t in tasks)])
    header = ["method", "parameters", *(f"{t} ({classes[t]})" for t in tasks)]
    return "\n".join([f"**{PROBE_TITLES[probe]}** — test accuracy (%), mean ± std over seeds", "", *markdown_table(header, rows)])


def compare(methods: list[str], seeds: list[int], out: str | Path, base: dict[str, Any], progress: bool = True) -> dict[str, Any]:
    """Train and probe every method x seed; write comparison.{json,md} and accuracy bar charts into `out`."""
    out = Path(out)
    started = time.perf_counter()
    configs = {(m, s): config_from_dict(merge(base, {"method": {"name": m}, "train": {"seed": s}})) for m in methods for s in seeds}
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for index, ((method, seed), config) in enumerate(configs.items(), 1):
        print(f"[{index}/{len(configs)}] {method}, seed {seed}", flush=True)
        runs[method].append(run_one(config, out / method / f"seed{seed}", progress))
    classes = runs[methods[0]][0]["num_classes"]
    first = configs[(methods[0], seeds[0])]
    dataset = build(first).dataset  # loaded once: every method shares it
    built = {m: architecture(configs[(m, seeds[0])], dataset) for m in methods}
    summary = summarise(runs)
    wall = {m: sum(load_checkpoint(out / m / f"seed{s}" / CHECKPOINT)["wall_time"] for s in seeds) for m in methods}
    trained_at = sorted({json.loads((out / m / f"seed{s}" / PROVENANCE).read_text())["git_commit"] for m in methods for s in seeds})
    payload = {"methods": methods, "seeds": seeds, "dataset": first.data.name, "epochs": first.train.epochs,
               "parameters": {m: built[m]["parameters"] for m in methods}, "backbone": built[methods[0]]["backbone"],
               "augment_preset": built[methods[0]]["augment_preset"], "train_seconds": wall, "trained_at": trained_at,
               "num_classes": classes, "summary": summary, "base_config": base, "provenance": provenance(),
               "elapsed_seconds": time.perf_counter() - started}
    write_json(out / "comparison.json", payload)
    (out / "comparison.md").write_text(comparison_markdown(payload))
    for group, tasks in {"content": ["content"], "style": [t for t in classes if t != "content"]}.items():
        if tasks:
            table = {t: {m: summary[m][t]["linear"]["mean"] for m in methods} for t in tasks}
            errors = {t: {m: summary[m][t]["linear"]["std"] for m in methods} for t in tasks}
            figures.accuracy_bars(table, errors=errors, path=out / f"accuracy_{group}.png",
                                  title=f"{first.data.name}: {group} labels, linear probe (mean ± std over {len(seeds)} seeds)")
    return payload


def comparison_markdown(payload: dict[str, Any]) -> str:
    p = payload["provenance"]
    lines = [f"## {payload['dataset']}: {', '.join(payload['methods'])}", "",
             f"{payload['epochs']} epochs, backbone `{payload['backbone']}`, augmentation preset `{payload['augment_preset']}`, "
             f"seeds {payload['seeds']}; runs trained at commit(s) {', '.join(f'`{c}`' for c in payload['trained_at'])}, "
             f"tabulated at `{p['git_commit']}`; {p['machine']}; "
             f"training time of all runs {sum(payload['train_seconds'].values()) / 60:.1f} min "
             f"(this invocation {payload['elapsed_seconds'] / 60:.1f} min: finished runs are skipped); command `{p['command']}`", ""]
    for probe in PROBES:
        lines += [comparison_table(payload["summary"], probe, payload["parameters"], payload["num_classes"]), ""]
    lines.append("Training time per seed (s): " + ", ".join(f"{m} {payload['train_seconds'][m] / len(payload['seeds']):.0f}"
                                                          for m in payload["methods"]))
    return "\n".join(lines) + "\n"


def parse_base(config_path: str | None, overrides: list[str]) -> dict[str, Any]:
    """The shared settings of a comparison, as a plain dict (method.name and train.seed are set per run)."""
    values = read_yaml_file(config_path) if config_path else {}
    values = merge(values, parse_overrides(overrides))
    method_keys = set(values.get("method", {})) - {"name"}
    if method_keys:
        raise ConfigError(f"compare shares one config across methods, so it cannot set method-specific keys {sorted(method_keys)}; "
                          "drop them (each method uses its own defaults)")
    values.pop("method", None)
    return values
