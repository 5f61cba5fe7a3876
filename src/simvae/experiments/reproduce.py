"""`simvae reproduce`: the paper's comparison grid (methods x datasets x seeds) and its ablations, then a report.

The grid lives in a versioned YAML file (configs/reproduce.yaml). Each dataset's settings are merged with
the chosen budget's: first the budget's `all` entry, then its entry for that dataset. Runs are laid out as
OUT/<dataset>/<method>/seed<k>/ (exactly `simvae compare`'s layout, so one can continue the other) and
ablations as OUT/<dataset>/ablation-<name>/<value>/seed<k>/. Finished runs are skipped, interrupted ones
resumed, and a run directory made with other settings is refused rather than silently reused.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simvae.config import RunConfig, config_from_dict, merge, read_yaml_file
from simvae.data import DATASETS
from simvae.errors import ConfigError
from simvae.evaluate.diagnostics import diagnose_run
from simvae.experiments.compare import compare, mean_std, run_one, summarise
from simvae.experiments.report import write_report
from simvae.methods import METHODS
from simvae.output import write_json
from simvae.runs.rundir import provenance

BUDGETS = ("smoke", "short", "paper")
DIAGNOSTICS = "diagnostics.json"


@dataclass
class Grid:
    """What configs/reproduce.yaml holds; see that file for the meaning of each part."""

    methods: list[str]
    seeds: list[int]
    datasets: dict[str, dict[str, Any]]  # dataset -> settings shared by every method on it (no method keys)
    budgets: dict[str, dict[str, dict[str, Any]]]  # budget -> {"all" | dataset: settings}
    ablation_method: str = "simvae"
    ablations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # name -> value label -> settings

    def base(self, dataset: str, budget: str) -> dict[str, Any]:
        """The settings every method shares on `dataset` under `budget`."""
        entries = self.budgets[budget]
        return merge(merge(self.datasets[dataset], entries.get("all", {})), entries.get(dataset, {}))

    def ablation_config(self, dataset: str, budget: str, overrides: dict[str, Any], seed: int) -> RunConfig:
        values = merge(self.base(dataset, budget), overrides)
        values = merge(values, {"method": {"name": self.ablation_method}, "train": {"seed": seed}})
        return config_from_dict(values)


def load_grid(path: str | Path) -> Grid:
    """Read and check a grid file: unknown keys, methods, datasets and budgets fail here, naming the fix."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"grid file {path} does not exist; configs/reproduce.yaml is the paper's grid")
    values = read_yaml_file(path, "grid file")
    known = {"methods", "seeds", "datasets", "budgets", "ablation_method", "ablations"}
    if set(values) - known:
        raise ConfigError(f"{path}: unknown key(s) {sorted(set(values) - known)}; expected some of {sorted(known)}")
    try:
        grid = Grid(**values)
    except TypeError as error:
        raise ConfigError(f"{path}: {error} (a grid needs methods, seeds, datasets and budgets)") from None
    for method in [*grid.methods, grid.ablation_method]:
        if method not in METHODS:
            raise ConfigError(f"{path}: unknown method {method!r}; available: {sorted(METHODS)}")
    for dataset, settings in grid.datasets.items():
        if dataset not in DATASETS:
            raise ConfigError(f"{path}: unknown dataset {dataset!r}; available: {sorted(DATASETS)}")
        if "method" in settings:
            raise ConfigError(f"{path}: datasets.{dataset} sets method keys; every method shares a dataset's settings")
    if set(grid.budgets) != set(BUDGETS):
        raise ConfigError(f"{path}: budgets must be exactly {list(BUDGETS)}, got {sorted(grid.budgets)}")
    for budget, entries in grid.budgets.items():
        for key in set(entries) - {"all", *grid.datasets}:
            raise ConfigError(f"{path}: budgets.{budget}.{key} names no dataset of the grid (use `all` or one of {sorted(grid.datasets)})")
        for dataset in grid.datasets:  # every combination must make a valid run config
            for seed in grid.seeds[:1]:
                config_from_dict(merge(grid.base(dataset, budget), {"method": {"name": grid.methods[0]}, "train": {"seed": seed}}))
    return grid


def cached_diagnostics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / DIAGNOSTICS
    if path.is_file():
        return json.loads(path.read_text())
    result = diagnose_run(run_dir)
    write_json(path, result)
    return result


def diagnostics_summary(out: Path, methods: list[str], seeds: list[int]) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {diagnostic: {"mean", "std"}}} over seeds."""
    summary = {}
    for method in methods:
        runs = [cached_diagnostics(out / method / f"seed{seed}") for seed in seeds]
        summary[method] = {key: mean_std([run[key] for run in runs]) for key, value in runs[0].items()
                           if isinstance(value, (int, float)) and not isinstance(value, bool)}
    return summary


def run_ablation(grid: Grid, dataset: str, budget: str, name: str, out: Path, progress: bool) -> dict[str, Any]:
    """Every value of one ablation, over the grid's seeds. A value whose settings equal the main grid's
    `ablation_method` run reuses that run instead of training it again."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for label, overrides in grid.ablations[name].items():
        runs[label] = []
        for seed in grid.seeds:
            config = grid.ablation_config(dataset, budget, overrides, seed)
            main = config_from_dict(merge(grid.base(dataset, budget), {"method": {"name": grid.ablation_method}, "train": {"seed": seed}}))
            reuse = grid.ablation_method in grid.methods and config.to_dict() == main.to_dict()
            run_dir = out / grid.ablation_method / f"seed{seed}" if reuse else out / f"ablation-{name}" / label / f"seed{seed}"
            print(f"ablation {name}: {label}, seed {seed}" + (" (the main grid's run)" if reuse else ""), flush=True)
            runs[label].append(run_one(config, run_dir, progress))
    return {"name": name, "values": grid.ablations[name], "summary": summarise(runs),
            "num_classes": runs[next(iter(runs))][0]["num_classes"]}


def collect_figures(out: Path, methods: list[str], seed: int) -> dict[str, dict[str, str]]:
    """Copy each method's first-seed figures next to the report (run directories are not kept in git)."""
    found: dict[str, dict[str, str]] = {}
    for method in methods:
        source = out / method / f"seed{seed}" / "figures"
        for figure in sorted(source.glob("*.png")):
            target = out / "figures" / f"{method}-{figure.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(figure, target)
            found.setdefault(method, {})[figure.stem] = str(target.relative_to(out.parent))
    return found


def reproduce(grid: Grid, budget: str, out: str | Path, datasets: list[str] | None = None,
              ablations: list[str] | None = None, progress: bool = True) -> Path:
    """Run the grid (and the chosen ablations) under `budget` into `out`; returns the report's path."""
    if budget not in BUDGETS:
        raise ConfigError(f"--budget {budget!r} is invalid: expected one of {list(BUDGETS)}")
    datasets = datasets or list(grid.datasets)
    for kind, names, known in (("dataset", datasets, grid.datasets), ("ablation", ablations or [], grid.ablations)):
        for name in names:
            if name not in known:
                raise ConfigError(f"unknown {kind} {name!r}: the grid file has {sorted(known)}")
    out = Path(out)
    started = time.perf_counter()
    sections = []
    for index, dataset in enumerate(datasets, 1):
        print(f"== {dataset} ({index}/{len(datasets)}): {len(grid.methods)} methods x {len(grid.seeds)} seeds, "
              f"budget {budget}", flush=True)
        comparison = compare(grid.methods, grid.seeds, out / dataset, grid.base(dataset, budget), progress)
        sections.append({
            "dataset": dataset,
            "comparison": comparison,
            "diagnostics": diagnostics_summary(out / dataset, grid.methods, grid.seeds),
            "ablations": [run_ablation(grid, dataset, budget, name, out / dataset, progress) for name in ablations or []],
            "figures": collect_figures(out / dataset, grid.methods, grid.seeds[0]),
            "config": config_from_dict(merge(grid.base(dataset, budget), {"method": {"name": grid.methods[0]}})).to_dict(),
        })
    payload = {"budget": budget, "methods": grid.methods, "seeds": grid.seeds, "sections": sections,
               "provenance": provenance(), "elapsed_seconds": time.perf_counter() - started}
    write_json(out / "report.json", payload)
    return write_report(payload, out)
