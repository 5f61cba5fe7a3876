"""Evaluate a trained run: embed clean images, probe every label task, write JSON, tables and figures."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from simvae.config import RunConfig, merge, read_yaml_file, saved_config
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
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.runs import loggers as run_loggers
from simvae.runs.rundir import CONFIG, HISTORY
from simvae.runs.setup import training_device

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

    The weights and the data are read only when needed: embeddings.npz of the same checkpoint step and training
    subset is probed again as it is (figures, when eval.figures, still need the model); a directory holding
    embeddings.npz and config.yaml but no checkpoint is probed from them alone (no figures).
    """
    run_dir, names = Path(run_dir), output_names(data)
    check_splits(splits)
    if not (run_dir / CHECKPOINT).is_file() and (run_dir / names["embeddings"]).is_file():
        return evaluate_saved_embeddings(run_dir, names, overrides, splits, progress)
    checkpoint = load_checkpoint(run_dir / CHECKPOINT)
    config = saved_config(checkpoint["config"], overrides)
    data_name = data.name if data else config.data.name
    wanted = {"step": checkpoint["step"], "dataset": data_name, "root": data.root if data else config.data.root,
              "max_train": config.eval.max_train}
    embeddings = matching_embeddings(run_dir / names["embeddings"], wanted)
    setup = None
    if embeddings is None or config.eval.figures:
        config, setup = load_trained(run_dir, device, overrides, data.load if data else None)
    device = next(setup.method.parameters()).device if setup else torch.device(device or training_device(config))
    if embeddings is None:
        embeddings = embed_splits(setup, config.eval.max_train, device, run_record(config, setup, data))
        embeddings.save(run_dir / names["embeddings"])
    source = {"name": data_name, "root": data.root if data else config.data.root, "run_data": data is None}
    payload = probe_and_write(embeddings, config, run_dir, names, device, splits, progress, source)
    if setup is not None and config.eval.figures:
        write_figures(setup, config, run_dir, run_dir / names["figures"])
    if setup is not None and data is None:
        log_evaluation(setup, config, run_dir, payload["results"])
    return payload


def export_embeddings(run_dir: str | Path, out: str | Path, device: str | torch.device | None = None,
                      overrides: dict[str, Any] | None = None, data: EvalData | None = None) -> Embeddings:
    """Write the run's embeddings (every representation; the probes' train subset, val and test, with labels) to
    `out` (`simvae embed RUN --out FILE`): the run's saved ones when they match its checkpoint, else embedded now."""
    run_dir = Path(run_dir)
    checkpoint = load_checkpoint(run_dir / CHECKPOINT)
    config = saved_config(checkpoint["config"], overrides)
    data_name = data.name if data else config.data.name
    wanted = {"step": checkpoint["step"], "dataset": data_name, "root": data.root if data else config.data.root,
              "max_train": config.eval.max_train}
    embeddings = matching_embeddings(run_dir / output_names(data)["embeddings"], wanted)
    if embeddings is None:
        config, setup = load_trained(run_dir, device, overrides, data.load if data else None)
        embeddings = embed_splits(setup, config.eval.max_train, next(setup.method.parameters()).device,
                                  run_record(config, setup, data))
    embeddings.save(out)
    return embeddings


def run_record(config: RunConfig, setup: Setup, data: EvalData | None) -> dict[str, Any]:
    """What an embeddings file says of where it came from (and what `matching_embeddings` compares)."""
    return {"method": config.method.name, "dataset": data.name if data else config.data.name,
            "root": data.root if data else config.data.root, "step": setup.step, "finished": setup.finished,
            "seed": config.train.seed, "max_train": config.eval.max_train}


def check_splits(splits: tuple[str, ...]) -> None:
    bad = [split for split in splits if split not in REPORTED_SPLITS]
    if not splits or bad:
        raise ConfigError(f"--splits {','.join(splits)} is invalid: report some of {', '.join(REPORTED_SPLITS)} "
                          "(probes always fit on train and choose their settings on val)")


def matching_embeddings(path: Path, wanted: dict[str, Any]) -> Embeddings | None:
    """The saved embeddings if their record matches `wanted` (checkpoint step, data, training subset), else None."""
    if not path.is_file():
        return None
    embeddings = Embeddings.load(path)
    return embeddings if all(embeddings.meta.get(key) == value for key, value in wanted.items()) else None


def evaluate_saved_embeddings(run_dir: Path, names: dict[str, str], overrides: dict[str, Any] | None,
                              splits: tuple[str, ...], progress: bool) -> dict[str, Any]:
    """Probe a directory's embeddings.npz with its config.yaml (or an embeddings file's own record), no weights."""
    embeddings = Embeddings.load(run_dir / names["embeddings"])
    meta = embeddings.meta
    saved = read_yaml_file(run_dir / CONFIG, "run config") if (run_dir / CONFIG).is_file() else \
        {"method": {"name": meta.get("method", "simvae")}, "train": {"seed": meta.get("seed", 0)}}
    config = saved_config(saved, merge(overrides or {}, {"eval": {"figures": False}}))
    source = {"name": meta.get("dataset"), "root": None, "run_data": True, "embeddings": str(run_dir / names["embeddings"])}
    return probe_and_write(embeddings, config, run_dir, names, torch.device("cpu"), splits, progress, source)


def evaluate_embeddings_file(path: str | Path, overrides: dict[str, Any] | None = None, splits: tuple[str, ...] = ("test",),
                             progress: bool = True) -> dict[str, Any]:
    """Probe an embeddings file (`simvae eval FILE.npz`, e.g. one a reproduce report keeps) with the evaluation
    settings `overrides`; writes FILE's metrics and results beside it (<stem>.metrics.json, <stem>.results.md)."""
    path = Path(path)
    check_splits(splits)
    names = {"embeddings": path.name, "metrics": f"{path.stem}.metrics.json", "results": f"{path.stem}.results.md"}
    return evaluate_saved_embeddings(path.parent, names, overrides, splits, progress)


def probe_and_write(embeddings: Embeddings, config: RunConfig, out: Path, names: dict[str, str], device: torch.device,
                    splits: tuple[str, ...], progress: bool, source: dict[str, Any]) -> dict[str, Any]:
    """Every probe of `embeddings`; metrics (JSON) and results (Markdown) written into `out` under `names`."""
    meta, data_name = embeddings.meta, source["name"]
    evaluation = evaluate(embeddings, config, device, progress, data_name)
    classes = embeddings.num_classes
    payload = {"method": config.method.name, "dataset": data_name, "num_classes": classes,
               "step": meta.get("step"), "finished": meta.get("finished", True),
               "eval": dataclasses.asdict(config.eval), "device": str(device), "splits": list(splits), "data": source,
               **{key: evaluation[key] for key in ("sizes", "unmeasurable", "results", "disentanglement")}}
    write_json(out / names["metrics"], payload)
    text = results_table(evaluation["results"], classes, f"{config.method.name} on {data_name}", splits)
    if evaluation["disentanglement"]:
        text += "\n" + disentanglement_table(evaluation["disentanglement"], list(classes))
    atomic_write(out / names["results"], lambda file: file.write((text + "\n").encode()))
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
