"""`simvae reproduce`: the paper's comparison grid (methods x datasets x seeds) and its ablations, then a report.

The grid lives in a versioned YAML file (configs/reproduce.yaml). Each dataset's settings are merged with
the chosen budget's: first the budget's `all` entry, then its entry for that dataset; a budget may also
choose its seeds (per method) and datasets. Runs are laid out as OUT/<dataset>/<method>/seed<k>/ (exactly
`simvae compare`'s layout, so one can continue the other) and ablations as
OUT/<dataset>/ablation-<name>/<value>/seed<k>/. Every run is trained first (`--jobs N`: N at a time, as
parallel processes), then each dataset is tabulated. Finished runs are skipped, interrupted ones resumed,
and a run directory made with other settings is refused rather than silently reused.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simvae.config import RunConfig, config_from_dict, merge, read_yaml_file
from simvae.config_files import GRID, find_config
from simvae.data import DATASETS
from simvae.errors import ConfigError
from simvae.evaluation.diagnostics import diagnose_run
from simvae.evaluation.embeddings import EMBEDDINGS, Embeddings
from simvae.experiments.compare import compare, mean_std, measurable_classes, run_one, seeds_text, summarise
from simvae.experiments.parallel import Job, run_jobs
from simvae.experiments.report import write_report
from simvae.methods import METHODS
from simvae.output import write_json
from simvae.runs.rundir import provenance

BUDGETS = ("smoke", "short", "medium", "paper")
BUDGET_KEYS = ("seeds", "seeds_by_method", "seeds_by_ablation", "datasets", "ablation_datasets")  # what a budget may set besides `all` and per-dataset settings
DIAGNOSTICS = "diagnostics.json"


@dataclass
class Grid:
    """What configs/reproduce.yaml holds; see that file for the meaning of each part."""

    methods: list[str]
    seeds: list[int]  # every method's seeds unless its budget says otherwise
    datasets: dict[str, dict[str, Any]]  # dataset -> settings shared by every method on it (no method keys)
    budgets: dict[str, dict[str, Any]]  # budget -> {"all" | dataset: settings, and optionally BUDGET_KEYS}
    ablation_method: str = "simvae"
    ablations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # name -> value label -> settings

    def base(self, dataset: str, budget: str) -> dict[str, Any]:
        """The settings every method shares on `dataset` under `budget`."""
        entries = self.budgets[budget]
        return merge(merge(self.datasets[dataset], entries.get("all", {})), entries.get(dataset, {}))

    def config(self, dataset: str, budget: str, method: str, seed: int, overrides: dict[str, Any] | None = None) -> RunConfig:
        values = merge(self.base(dataset, budget), overrides or {})
        return config_from_dict(merge(values, {"method": {"name": method}, "train": {"seed": seed}}))

    def ablation_config(self, dataset: str, budget: str, overrides: dict[str, Any], seed: int) -> RunConfig:
        return self.config(dataset, budget, self.ablation_method, seed, overrides)

    def seeds_by_method(self, budget: str) -> dict[str, list[int]]:
        """{method: seeds} under `budget` (its `seeds`, else the grid's; `seeds_by_method` overrides per method)."""
        entries = self.budgets[budget]
        default = entries.get("seeds", self.seeds)
        return {method: entries.get("seeds_by_method", {}).get(method, default) for method in [*self.methods, self.ablation_method]}

    def ablation_seeds(self, budget: str, ablation: str) -> list[int]:
        """An ablation's seeds under `budget`: its `seeds_by_ablation` entry (one seed per value to screen many
        values), else the ablation method's seeds."""
        default = self.seeds_by_method(budget)[self.ablation_method]
        return self.budgets[budget].get("seeds_by_ablation", {}).get(ablation, default)

    def budget_datasets(self, budget: str) -> list[str]:
        return self.budgets[budget].get("datasets", list(self.datasets))

    def dataset_ablations(self, budget: str, dataset: str, ablations: list[str]) -> list[str]:
        """The requested ablations that `budget` runs on `dataset` (its `ablation_datasets`; every dataset by default)."""
        return ablations if dataset in self.budgets[budget].get("ablation_datasets", self.datasets) else []

    def with_methods(self, methods: list[str]) -> Grid:
        """The grid restricted to `methods` (`simvae reproduce --methods`)."""
        unknown = [method for method in methods if method not in self.methods]
        if unknown or not methods:
            raise ConfigError(f"--methods {','.join(methods)} must name some of the grid's methods {self.methods}")
        budgets = {name: {**entries, "seeds_by_method": {m: s for m, s in entries["seeds_by_method"].items() if m in methods}}
                   if "seeds_by_method" in entries else entries for name, entries in self.budgets.items()}
        return replace(self, methods=methods, budgets=budgets)

    def with_overrides(self, overrides: dict[str, Any]) -> Grid:
        """The grid with `overrides` (a nested dict) merged into every budget's `all` entry, so every run gets them."""
        if "method" in overrides:
            raise ConfigError("overrides of method.* would apply to every method; SimVAE's settings are --ablations")
        budgets = {name: {**entries, "all": merge(entries.get("all", {}), overrides)} for name, entries in self.budgets.items()}
        grid = replace(self, budgets=budgets)
        for budget in budgets:
            check_budget(grid, budget, Path("overrides"))
        return grid

    def with_seeds(self, seeds: list[int]) -> Grid:
        """The grid with `seeds` for every method under every budget (`simvae reproduce --seeds`)."""
        budgets = {name: {key: value for key, value in entries.items() if key not in ("seeds", "seeds_by_method", "seeds_by_ablation")}
                   for name, entries in self.budgets.items()}
        return replace(self, seeds=seeds, budgets=budgets)


def check_seeds(seeds: Any, where: str) -> None:
    if not (isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
            and len(set(seeds)) == len(seeds)):
        raise ConfigError(f"{where} must be a non-empty list of distinct integers, e.g. [1, 2, 3], not {seeds!r}")


def check_budget(grid: Grid, budget: str, where: Path) -> None:
    entries = grid.budgets[budget]
    if not isinstance(entries, dict):
        raise ConfigError(f"{where}: budgets.{budget} must be a mapping of `all`, dataset names and {list(BUDGET_KEYS)}")
    for key in set(entries) - {"all", *grid.datasets, *BUDGET_KEYS}:
        raise ConfigError(f"{where}: budgets.{budget}.{key} names no dataset of the grid "
                          f"(use `all`, one of {sorted(grid.datasets)}, or {', '.join(BUDGET_KEYS)})")
    if "seeds" in entries:
        check_seeds(entries["seeds"], f"{where}: budgets.{budget}.seeds")
    for key, kind, known, example in (("seeds_by_method", "method", list(grid.methods), "moco"),
                                      ("seeds_by_ablation", "ablation", sorted(grid.ablations), "sigma2")):
        by_name = entries.get(key, {})
        if not isinstance(by_name, dict):
            raise ConfigError(f"{where}: budgets.{budget}.{key} must map {kind} names to seed lists, e.g. {{{example}: [1]}}")
        for name, seeds in by_name.items():
            if name not in known:
                raise ConfigError(f"{where}: budgets.{budget}.{key} names {name!r}, not one of the grid's {kind}s {known}")
            check_seeds(seeds, f"{where}: budgets.{budget}.{key}.{name}")
    for key in ("datasets", "ablation_datasets"):
        datasets = entries.get(key, list(grid.datasets))
        if not isinstance(datasets, list) or not datasets or set(datasets) - set(grid.datasets):
            raise ConfigError(f"{where}: budgets.{budget}.{key} must be a non-empty list of the grid's datasets "
                              f"{sorted(grid.datasets)}, not {datasets!r}")
    for dataset in grid.datasets:  # every combination must make a valid run config
        grid.config(dataset, budget, grid.methods[0], grid.seeds_by_method(budget)[grid.methods[0]][0])


def load_grid(path: str | Path = GRID) -> Grid:
    """Read and check a grid file (or a shipped grid, by name: the paper's is `reproduce`): unknown keys, methods,
    datasets, budgets and seeds fail here, naming the fix."""
    path = find_config(path, grid=True)
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
    check_seeds(grid.seeds, f"{path}: seeds")
    for dataset, settings in grid.datasets.items():
        if dataset not in DATASETS:
            raise ConfigError(f"{path}: unknown dataset {dataset!r}; available: {sorted(DATASETS)}")
        if "method" in settings:
            raise ConfigError(f"{path}: datasets.{dataset} sets method keys; every method shares a dataset's settings")
    if set(grid.budgets) != set(BUDGETS):
        raise ConfigError(f"{path}: budgets must be exactly {list(BUDGETS)}, got {sorted(grid.budgets)}")
    for budget in grid.budgets:
        check_budget(grid, budget, path)
    return grid


def cached_diagnostics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / DIAGNOSTICS
    if path.is_file():
        return json.loads(path.read_text())
    result = diagnose_run(run_dir)
    write_json(path, result)
    return result


def diagnostics_summary(out: Path, seeds: dict[str, list[int]]) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {diagnostic: {"mean", "std"}}} over each method's seeds."""
    summary = {}
    for method, method_seeds in seeds.items():
        runs = [cached_diagnostics(out / method / f"seed{seed}") for seed in method_seeds]
        summary[method] = {key: mean_std([run[key] for run in runs]) for key, value in runs[0].items()
                           if isinstance(value, (int, float)) and not isinstance(value, bool)}
    return summary


@dataclass(frozen=True)
class AblationRun:
    label: str
    seed: int
    config: RunConfig
    run_dir: Path
    reused: bool  # the main grid's run of the ablation method, whose settings it equals


def ablation_runs(grid: Grid, dataset: str, budget: str, name: str, out: Path) -> list[AblationRun]:
    """Every value of one ablation over the ablation method's seeds. A value whose settings equal the main grid's
    `ablation_method` run reuses that run instead of training it again."""
    runs = []
    for label, overrides in grid.ablations[name].items():
        for seed in grid.ablation_seeds(budget, name):
            config = grid.ablation_config(dataset, budget, overrides, seed)
            main = grid.config(dataset, budget, grid.ablation_method, seed)
            reused = grid.ablation_method in grid.methods and config.to_dict() == main.to_dict()
            run_dir = out / grid.ablation_method / f"seed{seed}" if reused else out / f"ablation-{name}" / label / f"seed{seed}"
            runs.append(AblationRun(label, seed, config, run_dir, reused))
    return runs


def run_ablation(grid: Grid, dataset: str, budget: str, name: str, out: Path, progress: bool) -> dict[str, Any]:
    """One ablation's summary over seeds (its runs trained first, if they are not yet)."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in ablation_runs(grid, dataset, budget, name, out):
        print(f"ablation {name}: {run.label}, seed {run.seed}" + (" (the main grid's run)" if run.reused else ""), flush=True)
        runs.setdefault(run.label, []).append(run_one(run.config, run.run_dir, progress))
    summary = summarise(runs)
    return {"name": name, "values": grid.ablations[name], "summary": summary, "num_classes": measurable_classes(runs, summary)}


def plan(grid: Grid, budget: str, datasets: list[str], ablations: list[str], out: Path) -> list[Job]:
    """Every run of the grid and its ablations, main grid first; a reused run appears once."""
    jobs, seeds = {}, grid.seeds_by_method(budget)
    for dataset in datasets:
        for method in grid.methods:
            for seed in seeds[method]:
                run_dir = out / dataset / method / f"seed{seed}"
                jobs[run_dir] = Job(f"{dataset}/{method}/seed{seed}", grid.config(dataset, budget, method, seed), run_dir)
        for name in grid.dataset_ablations(budget, dataset, ablations):
            for run in ablation_runs(grid, dataset, budget, name, out / dataset):
                label = f"{dataset}/ablation-{name}/{run.label}/seed{run.seed}"
                jobs.setdefault(run.run_dir, Job(label, run.config, run.run_dir))
    return list(jobs.values())


def collect_figures(out: Path, seeds: dict[str, list[int]]) -> dict[str, dict[str, str]]:
    """Copy each method's first-seed figures next to the report (run directories are not kept in git)."""
    found: dict[str, dict[str, str]] = {}
    for method, method_seeds in seeds.items():
        source = out / method / f"seed{method_seeds[0]}" / "figures"
        for figure in sorted(source.glob("*.png")):
            target = out / "figures" / f"{method}-{figure.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(figure, target)
            found.setdefault(method, {})[figure.stem] = str(target.relative_to(out.parent))
    return found


def collect_embeddings(out: Path, seeds: dict[str, list[int]]) -> dict[str, list[str]]:
    """Copy each run's primary representation (embeddings.npz without the projection head's) next to the report as
    embeddings/<method>-seed<k>.npz: a few MB per dataset, kept in git, so anyone can probe a table again
    (`simvae eval FILE.npz eval.key=value`) without the runs."""
    found: dict[str, list[str]] = {}
    for method, method_seeds in seeds.items():
        for seed in method_seeds:
            saved = Embeddings.load(out / method / f"seed{seed}" / EMBEDDINGS)
            target = out / "embeddings" / f"{method}-seed{seed}.npz"
            target.parent.mkdir(parents=True, exist_ok=True)
            saved.representations(list(saved.codes)[:1]).save(target)
            found.setdefault(method, []).append(str(target.relative_to(out.parent)))
    return found


def reproduce(grid: Grid, budget: str, out: str | Path, datasets: list[str] | None = None,
              ablations: list[str] | None = None, progress: bool = True, jobs: int = 1) -> Path:
    """Run the grid (and the chosen ablations) under `budget` into `out`, `jobs` runs at a time; returns the
    report's path."""
    if budget not in BUDGETS:
        raise ConfigError(f"--budget {budget!r} is invalid: expected one of {list(BUDGETS)}")
    datasets = datasets or grid.budget_datasets(budget)
    ablations = ablations or []
    for kind, names, known in (("dataset", datasets, grid.datasets), ("ablation", ablations, grid.ablations)):
        for name in names:
            if name not in known:
                raise ConfigError(f"unknown {kind} {name!r}: the grid file has {sorted(known)}")
    out = Path(out)
    started = time.perf_counter()
    seeds = {method: grid.seeds_by_method(budget)[method] for method in grid.methods}
    print(f"== budget {budget}: {', '.join(datasets)}; seeds {seeds_text(seeds)}; {jobs} run(s) at a time", flush=True)
    run_jobs(plan(grid, budget, datasets, ablations, out), jobs, progress)
    sections = []
    for dataset in datasets:  # every run is done by now: what follows reads and tabulates them
        comparison = compare(grid.methods, seeds, out / dataset, grid.base(dataset, budget), progress)
        sections.append({
            "dataset": dataset,
            "comparison": comparison,
            "diagnostics": diagnostics_summary(out / dataset, seeds),
            "ablations": [run_ablation(grid, dataset, budget, name, out / dataset, progress)
                          for name in grid.dataset_ablations(budget, dataset, ablations)],
            "figures": collect_figures(out / dataset, seeds),
            "embeddings": collect_embeddings(out / dataset, seeds),
            "config": grid.config(dataset, budget, grid.methods[0], seeds[grid.methods[0]][0]).to_dict(),
        })
    payload = {"budget": budget, "methods": grid.methods, "seeds": seeds, "sections": sections,
               "provenance": provenance(), "elapsed_seconds": time.perf_counter() - started}
    write_json(out / "report.json", payload)
    return write_report(payload, out)
