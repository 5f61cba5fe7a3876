"""Evaluate a trained run: embed clean images, probe every label task, write JSON, tables and figures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from simvae.config import RunConfig
from simvae.data import ImageSet
from simvae.errors import ConfigError
from simvae.evaluation import figures
from simvae.evaluation.data import EvalData
from simvae.evaluation.probes import (
    NeighbourIndex,
    gmm_clustering,
    knn_probe,
    train_probe,
)
from simvae.output import markdown_table, write_json
from simvae.runs import Setup, load_trained
from simvae.runs import loggers as run_loggers
from simvae.runs.rundir import HISTORY

PROBES = ("linear", "mlp", "knn", "gmm")
SPLITS = ("train", "val", "test")
REPORTED_SPLITS = ("val", "test")
METRICS = "metrics.json"
RESULTS = "results.md"


@torch.no_grad()
def embed(setup: Setup, images: torch.Tensor, device: torch.device | str = "cpu", batch: int = 1024) -> dict[str, torch.Tensor]:
    """Representations of clean (un-augmented) images: the method's posterior means / encoder outputs."""
    method = setup.method.to(device).eval()
    chunks: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(images), batch):
        x = setup.augmenter.clean(images[start:start + batch].to(device))
        for name, value in method.representations(x).items():
            chunks.setdefault(name, []).append(value.float().cpu())
    return {name: torch.cat(parts) for name, parts in chunks.items()}


def embedded_splits(setup: Setup, max_train: int | None, device: torch.device | str) -> tuple[dict[str, ImageSet], dict[str, Any]]:
    """The probes' splits (train cut to its first `max_train` images) and {split: {representation: features}}."""
    dataset = setup.dataset
    splits = {"train": dataset.train, "val": dataset.val, "test": dataset.test}
    if max_train is not None:
        splits["train"] = dataset.train.subset(torch.arange(min(max_train, len(dataset.train))))
    return splits, {split: embed(setup, data.images, device) for split, data in splits.items()}


def evaluate(setup: Setup, config: RunConfig, device: torch.device | str = "cpu", progress: bool = True) -> dict[str, Any]:
    """{representation: {task: {probe: scores}}}; accuracies are fractions in [0, 1]."""
    dataset, e = setup.dataset, config.eval
    splits, features = embedded_splits(setup, e.max_train, device)
    names = list(features["train"]) if e.all_representations else list(features["train"])[:1]
    classes = dataset.num_classes
    tasks = list(classes)
    results: dict[str, Any] = {}
    bar = tqdm(total=len(names) * len(tasks), desc="probes", disable=not progress, dynamic_ncols=True)
    for name in names:
        rep = {split: features[split][name] for split in SPLITS}
        neighbours = NeighbourIndex(rep, max(e.knn_k), device)
        results[name] = {}
        for task in tasks:
            labels = {split: splits[split].labels()[task] for split in SPLITS}
            seed = config.train.seed
            results[name][task] = {
                "linear": train_probe("linear", rep, labels, classes[task], e.probe_epochs, e.probe_lr, e.probe_batch_size,
                                      seed, device),
                "mlp": train_probe("mlp", rep, labels, classes[task], e.probe_epochs, e.probe_lr, e.probe_batch_size, seed,
                                   device),
                "knn": knn_probe(neighbours, labels, classes[task], e.knn_k),
                "gmm": gmm_clustering(rep, labels, classes[task], e.gmm_n_init, e.gmm_max_train, seed),
            }
            bar.update(1)
    bar.close()
    return results


def results_table(results: dict[str, Any], classes: dict[str, int], title: str = "",
                  splits: tuple[str, ...] = ("test",)) -> str:
    """Markdown: per reported split (val, test), one row per label task, accuracy (%) per probe; chance level for
    reference. The GMM is scored on the test split only."""
    lines = [f"### {title}", ""] if title else []
    for split in splits:
        for name, tasks in results.items():
            rows = [[task, classes[task], f"{100 / classes[task]:.1f}", f"{100 * scores['linear'][split]:.1f}",
                     f"{100 * scores['mlp'][split]:.1f}", f"{100 * scores['knn'][split]:.1f} (k={scores['knn']['k']})",
                     f"{100 * scores['gmm']['test']:.1f} / {scores['gmm']['nmi']:.2f}" if split == "test" else "-"]
                    for task, scores in tasks.items()]
            lines += [f"representation `{name}` — {split} accuracy (%), probe settings chosen on validation", "",
                      *markdown_table(["task", "classes", "chance", "linear", "MLP", "kNN", "GMM (acc / NMI)"], rows), ""]
    return "\n".join(lines)


def write_figures(setup: Setup, config: RunConfig, run_dir: Path, features: dict[str, torch.Tensor] | None = None) -> None:
    dataset, method = setup.dataset, setup.method
    out = run_dir / "figures"
    title = f"{config.method.name} on {config.data.name}"
    history_path = run_dir / HISTORY
    if history_path.is_file():
        figures.loss_curves(json.loads(history_path.read_text()), out / "loss_curves.png", f"{title}: training terms")
    test = dataset.test
    shown = torch.arange(min(2000, len(test)))
    if features is None:
        features = embed(setup, test.images[shown])
    style = max(dataset.style_classes, key=dataset.style_classes.get, default=None)  # the richest style label
    colourings = {"content": (test.content[shown], dataset.class_names)}
    if style:
        colourings[style] = (test.styles[style][shown], [str(i) for i in range(dataset.style_classes[style])])
    name = next(iter(features))
    figures.latent_map(features[name][: len(shown)], colourings, out / "latents.png", f"{title}: `{name}` (PCA, test split)")
    if hasattr(method, "reconstruct"):
        clean = setup.augmenter.clean(test.images[:12])
        figures.image_grid([clean, method.reconstruct(clean).cpu()], ["data", "recon"], out / "reconstructions.png",
                           f"{title}: test images and reconstructions")
        torch.manual_seed(0)
        figures.image_grid(list(method.sample(36).cpu().view(3, 12, *dataset.image_shape)), ["", "", ""],
                           out / "samples.png", f"{title}: samples from the prior")


def evaluate_run(run_dir: str | Path, progress: bool = True, device: str | torch.device | None = None,
                 overrides: dict[str, Any] | None = None, splits: tuple[str, ...] = ("test",),
                 data: EvalData | None = None) -> dict[str, Any]:
    """Evaluate a run directory's checkpoint on `device` (default: the one it trained on); writes metrics.json, results.md and figures/.

    `overrides` ({"eval": {...}}) change the evaluation settings only; `splits` are the splits whose
    accuracies results.md reports (val, test); `data` probes another labelled dataset of the same image
    shape instead of the run's own (the run's data are then not read). metrics.json records all of them.
    """
    run_dir = Path(run_dir)
    bad = [split for split in splits if split not in REPORTED_SPLITS]
    if not splits or bad:
        raise ConfigError(f"--splits {','.join(splits)} is invalid: report some of {', '.join(REPORTED_SPLITS)} "
                          "(probes always fit on train and choose their settings on val)")
    config, setup = load_trained(run_dir, device, overrides, data.load if data else None)
    device = next(setup.method.parameters()).device
    results = evaluate(setup, config, device, progress)
    classes = setup.dataset.num_classes
    data_name = setup.dataset.name if data else config.data.name
    payload = {"method": config.method.name, "dataset": data_name, "num_classes": classes,
               "step": setup.step, "finished": setup.finished,
               "eval": dataclasses.asdict(config.eval), "device": str(device), "splits": list(splits),
               "data": {"name": data_name, "root": data.root if data else config.data.root, "run_data": data is None},
               "results": results}
    write_json(run_dir / METRICS, payload)
    title = f"{config.method.name} on {data_name}"
    (run_dir / RESULTS).write_text(results_table(results, classes, title, splits) + "\n")
    if config.eval.figures:
        write_figures(setup, config, run_dir)
    log_evaluation(setup, config, run_dir, results)
    return payload


def log_evaluation(setup: Setup, config: RunConfig, run_dir: Path, results: dict[str, Any]) -> None:
    """Probe accuracies (and, for generative methods, reconstructions and samples) to the run's loggers,
    at the checkpoint's step."""
    step = setup.step
    loggers = run_loggers.make_loggers(config.train.loggers, run_dir)
    run_loggers.log_metrics(loggers, run_loggers.probe_metrics(results), step)
    method = setup.method
    if hasattr(method, "reconstruct"):
        device = next(method.parameters()).device
        clean = setup.augmenter.clean(setup.dataset.test.images[:8].to(device))
        run_loggers.log_images(loggers, "reconstructions", torch.cat([clean, method.reconstruct(clean)]), step)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            run_loggers.log_images(loggers, "samples", method.sample(8), step)
    run_loggers.close(loggers)
