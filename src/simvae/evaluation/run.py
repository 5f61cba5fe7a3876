"""Evaluate a trained run: embed clean images, probe every label task, write JSON, tables and figures."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from simvae.config import RunConfig
from simvae.errors import ConfigError
from simvae.evaluation import figures
from simvae.evaluation.data import EvalData
from simvae.evaluation.disentanglement import disentanglement_scores
from simvae.evaluation.embeddings import Embeddings, embed, embed_splits
from simvae.evaluation.probes import (
    MIN_VAL_PER_CLASS,
    NeighbourIndex,
    gmm_clustering,
    knn_probe,
    linear_probe,
    mlp_probe,
    thin_validation,
    unmeasurable,
)
from simvae.output import atomic_write, markdown_table, write_json
from simvae.runs import Setup, load_trained
from simvae.runs import loggers as run_loggers
from simvae.runs.rundir import HISTORY

PROBES = ("linear", "mlp", "knn", "gmm")
DISENTANGLEMENT_COLUMNS = {"dci_disentanglement": "DCI disentanglement", "dci_completeness": "DCI completeness",
                           "dci_informativeness": "DCI informativeness (acc.)", "mig": "MIG", "sap": "SAP"}
REPORTED_SPLITS = ("val", "test")
METRICS = "metrics.json"
RESULTS = "results.md"


def probe_task(rep: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], classes: int, neighbours: NeighbourIndex,
               config: RunConfig, device: torch.device | str) -> dict[str, Any]:
    """Every probe of one representation on one label task; accuracies are fractions in [0, 1]."""
    e, seed = config.eval, config.train.seed
    return {
        "linear": linear_probe(rep, labels, classes, e.linear_C, e.linear_max_iter, device),
        "mlp": mlp_probe(rep, labels, classes, e.mlp_steps, e.mlp_lr, e.mlp_weight_decay, e.mlp_batch_size,
                         e.mlp_eval_every, e.mlp_patience, seed, device),
        "knn": knn_probe(neighbours, labels, classes, e.knn_k),
        "gmm": gmm_clustering(rep, labels, classes, e.gmm_n_init, e.gmm_max_train, seed),
    }


def task_labels(embeddings: Embeddings, data_name: str, notes: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """{task: {split: labels}} of the tasks that can be measured, and {task: why not} of the others; with `notes`, one
    line on stderr for each task left out and for each whose validation split is too small to choose settings on."""
    measurable, left_out = {}, {}
    for task, count in embeddings.num_classes.items():
        labels = embeddings.labels[task]
        reason = unmeasurable(labels)
        if reason is not None:
            left_out[task] = reason
            if notes:
                print(f"simvae: note: {data_name}'s label {task!r} is not measurable ({reason}): reported as null",
                      file=sys.stderr)
            continue
        if notes and thin_validation(labels, count):
            print(f"simvae: note: {data_name}'s validation split has {len(labels['val'])} images for the {count} classes "
                  f"of {task!r} (fewer than {MIN_VAL_PER_CLASS} per class): the probe settings chosen on it are noisy; "
                  "raise data.val_fraction", file=sys.stderr)
        measurable[task] = labels
    return measurable, left_out


def disentanglement(codes: dict[str, torch.Tensor], embeddings: Embeddings, config: RunConfig) -> dict[str, Any]:
    """DCI, MIG and SAP of one representation over every labelled factor (content and style), fitted on the probes'
    training split and scored on test (simvae.evaluation.disentanglement; docs/metrics.md)."""
    tasks = list(embeddings.num_classes)
    factors = {split: torch.stack([embeddings.labels[task][split] for task in tasks], dim=1) for split in ("train", "test")}
    return disentanglement_scores(codes["train"], factors["train"], codes["test"], factors["test"], tasks,
                                  l1=config.eval.dci_l1, bins=config.eval.mig_bins, seed=config.train.seed)


def evaluate(embeddings: Embeddings, config: RunConfig, device: torch.device | str = "cpu", progress: bool = True,
             data_name: str = "the data") -> dict[str, Any]:
    """Every probe, and the disentanglement metrics, of the representations in `embeddings` (the first one only unless
    eval.all_representations). Returns {"results": {representation: {task: {probe: scores} or None}},
    "disentanglement": {representation: scores}, "sizes": {split: images probed}, "unmeasurable": {task: reason}};
    a task that cannot be measured (one class in the training split) is None; accuracies are fractions in [0, 1]."""
    e = config.eval
    names = list(embeddings.codes) if e.all_representations else list(embeddings.codes)[:1]
    measurable, left_out = task_labels(embeddings, data_name)
    results: dict[str, Any] = {}
    scores: dict[str, Any] = {}
    bar = tqdm(total=len(names) * (len(measurable) + e.disentanglement), desc="probes", disable=not progress,
               dynamic_ncols=True)
    for name in names:
        codes = embeddings.codes[name]
        neighbours = NeighbourIndex(codes, max(e.knn_k), device)
        results[name] = {task: None for task in embeddings.num_classes}
        for task, labels in measurable.items():
            results[name][task] = probe_task(codes, labels, embeddings.num_classes[task], neighbours, config, device)
            bar.update(1)
        if e.disentanglement:
            scores[name] = disentanglement(codes, embeddings, config)
            bar.update(1)
    bar.close()
    return {"results": results, "disentanglement": scores, "sizes": embeddings.sizes, "unmeasurable": left_out}


def results_table(results: dict[str, Any], classes: dict[str, int], title: str = "",
                  splits: tuple[str, ...] = ("test",)) -> str:
    """Markdown: per reported split (val, test), one row per label task, accuracy (%) per probe; chance level for
    reference. The GMM is scored on the test split only."""
    lines = [f"### {title}", ""] if title else []
    for split in splits:
        for name, tasks in results.items():
            rows = [[task, classes[task], f"{100 / classes[task]:.1f}", *task_cells(scores, split)]
                    for task, scores in tasks.items()]
            lines += [f"representation `{name}` — {split} accuracy (%), probe settings chosen on validation", "",
                      *markdown_table(["task", "classes", "chance", "linear", "MLP", "kNN", "GMM (acc / NMI)"], rows), ""]
    return "\n".join(lines)


def disentanglement_table(scores: dict[str, Any], tasks: list[str]) -> str:
    """Markdown: DCI disentanglement / completeness / informativeness, MIG and SAP of each representation."""
    def number(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"
    rows = [[f"`{name}`", *(number(s[key]) for key in DISENTANGLEMENT_COLUMNS)] for name, s in scores.items()]
    return "\n".join([f"disentanglement over the factors {', '.join(tasks)} (test split; docs/metrics.md)", "",
                      *markdown_table(["representation", *DISENTANGLEMENT_COLUMNS.values()], rows), ""])


def task_cells(scores: dict[str, Any] | None, split: str) -> list[str]:
    """The linear, MLP, kNN and GMM cells of one task's row (the GMM is scored on test only)."""
    if scores is None:
        return ["not measurable", "-", "-", "-"]
    return [f"{100 * scores['linear'][split]:.1f}", f"{100 * scores['mlp'][split]:.1f}",
            f"{100 * scores['knn'][split]:.1f} (k={scores['knn']['k']})",
            f"{100 * scores['gmm']['test']:.1f} / {scores['gmm']['nmi']:.2f}" if split == "test" else "-"]


def write_figures(setup: Setup, config: RunConfig, run_dir: Path, out: Path) -> None:
    """Into `out`: loss curves, the PCA latent map of the test split coloured by content and by the richest style
    label, and for generative methods reconstructions and prior samples."""
    dataset, method = setup.dataset, setup.method
    title = f"{config.method.name} on {dataset.name}"
    history_path = run_dir / HISTORY
    if history_path.is_file():
        figures.loss_curves(json.loads(history_path.read_text()), out / "loss_curves.png", f"{title}: training terms")
    test = dataset.test
    shown = torch.arange(min(2000, len(test)))
    features = embed(setup, test.images[shown], next(method.parameters()).device)
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


def output_names(data: EvalData | None) -> dict[str, str]:
    """The files an evaluation writes: the run's own (metrics.json, results.md, embeddings.npz, figures/), or for
    another dataset (`--data X`) files named after it, so it never replaces the run's own evaluation."""
    suffix = f"-{data.name}" if data else ""
    return {"metrics": f"metrics{suffix}.json", "results": f"results{suffix}.md", "embeddings": f"embeddings{suffix}.npz",
            "figures": f"figures{suffix}"}


def evaluate_run(run_dir: str | Path, progress: bool = True, device: str | torch.device | None = None,
                 overrides: dict[str, Any] | None = None, splits: tuple[str, ...] = ("test",),
                 data: EvalData | None = None) -> dict[str, Any]:
    """Evaluate a run directory's checkpoint on `device` (default: the one it trained on); writes metrics.json,
    results.md, embeddings.npz (the representations probed) and figures/.

    `overrides` ({"eval": {...}}) change the evaluation settings only; `splits` are the splits whose
    accuracies results.md reports (val, test); `data` probes another labelled dataset of the same image
    shape instead of the run's own (the run's data are then not read), into files named after it
    (metrics-<name>.json, ...). metrics.json records all of them.
    """
    run_dir = Path(run_dir)
    bad = [split for split in splits if split not in REPORTED_SPLITS]
    if not splits or bad:
        raise ConfigError(f"--splits {','.join(splits)} is invalid: report some of {', '.join(REPORTED_SPLITS)} "
                          "(probes always fit on train and choose their settings on val)")
    config, setup = load_trained(run_dir, device, overrides, data.load if data else None)
    device = next(setup.method.parameters()).device
    names = output_names(data)
    data_name = setup.dataset.name if data else config.data.name
    meta = {"method": config.method.name, "dataset": data_name, "step": setup.step, "seed": config.train.seed,
            "max_train": config.eval.max_train}
    embeddings = embed_splits(setup, config.eval.max_train, device, meta)
    embeddings.save(run_dir / names["embeddings"])
    evaluation = evaluate(embeddings, config, device, progress, data_name)
    results, classes = evaluation["results"], embeddings.num_classes
    payload = {"method": config.method.name, "dataset": data_name, "num_classes": classes,
               "step": setup.step, "finished": setup.finished,
               "eval": dataclasses.asdict(config.eval), "device": str(device), "splits": list(splits),
               "data": {"name": data_name, "root": data.root if data else config.data.root, "run_data": data is None},
               **{key: evaluation[key] for key in ("sizes", "unmeasurable", "results", "disentanglement")}}
    write_json(run_dir / names["metrics"], payload)
    text = results_table(results, classes, f"{config.method.name} on {data_name}", splits)
    if evaluation["disentanglement"]:
        text += "\n" + disentanglement_table(evaluation["disentanglement"], list(classes))
    atomic_write(run_dir / names["results"], lambda file: file.write((text + "\n").encode()))
    if config.eval.figures:
        write_figures(setup, config, run_dir, run_dir / names["figures"])
    if data is None:
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
