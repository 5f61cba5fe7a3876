"""`simvae` command line: train, eval, demo, compare, reproduce, data, bench.

Configuration is a YAML file (see configs/) plus `section.key=value` overrides, e.g.
    simvae train --config configs/fashion-mnist.yaml train.epochs=5 method.sigma2=0.1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

from simvae.config import (
    RESUME_KEYS,
    RunConfig,
    load_config,
    parse_overrides,
    saved_config,
)
from simvae.data import DATASETS
from simvae.data.download import download_dataset
from simvae.distributed import is_global_zero, launched_rank
from simvae.errors import ConfigError, DataError, SimvaeError, TrainingInterrupted
from simvae.evaluation import evaluate_run
from simvae.evaluation.curves import curve_hook
from simvae.evaluation.data import EvalData
from simvae.evaluation.run import output_names
from simvae.experiments.bench import bench
from simvae.experiments.compare import compare, parse_base
from simvae.experiments.reproduce import load_grid, reproduce
from simvae.methods import METHODS
from simvae.output import write_json
from simvae.runs.checkpoint import CHECKPOINT, load_checkpoint
from simvae.runs.rundir import record_resume
from simvae.training import train

RUN_DIR_ENV = "SIMVAE_RUN_DIR"  # hands the default run directory to the processes a multi-device launch starts
# The demo: SimVAE on the embedded shapes, sized to finish in a few minutes on 2 CPU cores.
DEMO_OVERRIDES = ["data.name=shapes", "method.name=simvae", "train.epochs=3"]


def default_run_dir(config: RunConfig) -> Path:
    return Path("runs") / f"{config.method.name}-{config.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def eval_overrides(overrides: list[str]) -> dict:
    """`eval.key=value` overrides as a nested dict; anything else is refused (it would change the training)."""
    other = [item for item in overrides if not item.strip().startswith("eval.")]
    if other:
        raise ConfigError(f"simvae eval changes only evaluation settings (eval.key=value), not {other}: "
                          "train a new run to change anything else")
    return parse_overrides(overrides)


def resume_config(run_dir: Path, args: argparse.Namespace) -> RunConfig:
    """The saved config with the overrides a resume may make (RESUME_KEYS and eval.*), recorded in provenance.json."""
    changed = [item.split("=", 1)[0].strip() for item in args.overrides]
    refused = [key for key in changed if key not in RESUME_KEYS and not key.startswith("eval.")]
    if args.config or refused:
        raise ConfigError(f"--resume continues a run with its saved config; it may change only {', '.join(RESUME_KEYS)} "
                          f"and eval.*, not {refused or '--config'}: drop those, or train a new run")
    saved = load_checkpoint(run_dir / CHECKPOINT)["config"]
    config = saved_config(saved, parse_overrides(args.overrides))
    if changed and launched_rank() == 0:
        record_resume(run_dir, {key: value for key, value in zip(changed, (i.split("=", 1)[1] for i in args.overrides))})
    return config


def cmd_train(args: argparse.Namespace) -> None:
    if args.resume:
        run_dir = Path(args.resume)
        config = resume_config(run_dir, args)
    else:
        config = load_config(args.config, args.overrides)
        several = config.train.devices * config.train.num_nodes > 1
        run_dir = Path(args.out or (several and os.environ.get(RUN_DIR_ENV)) or default_run_dir(config))
        # ranks > 0 of a launch start after rank 0 has chosen the directory (and maybe written into it)
        if launched_rank() == 0 and (run_dir / CHECKPOINT).exists():
            raise ConfigError(f"{run_dir} already holds a run: continue it with `simvae train --resume {run_dir}` or pick another --out")
    if launched_rank() == 0:
        print(f"run directory: {run_dir}")
    previous = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(run_dir)  # Fabric's launcher re-runs this command for ranks > 0 (inside train)
    try:
        state = train(config, run_dir, resume=bool(args.resume), on_epoch_end=curve_hook(config, run_dir))
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous
    if not is_global_zero():  # evaluation and the report are rank 0's
        return
    print(f"trained {state['step']} steps in {state['wall_time']:.0f} s")
    if not args.no_eval:
        evaluate_run(run_dir)
        print((run_dir / "results.md").read_text())


def cmd_eval(args: argparse.Namespace) -> None:
    if args.root and not args.data:
        raise ConfigError("--root names where the --data dataset is: give --data NAME too (see `simvae data`)")
    data = EvalData(args.data, args.root) if args.data else None
    metrics = evaluate_run(args.run_dir, device=args.device, overrides=eval_overrides(args.overrides),
                           splits=tuple(s.strip() for s in args.splits.split(",") if s.strip()), data=data)
    print((Path(args.run_dir) / output_names(data)["results"]).read_text())
    if not metrics["finished"]:
        print(f"simvae: note: {args.run_dir} has not finished training: these are the probes of its checkpoint at step "
              f"{metrics['step']} (recorded in metrics.json); continue it with `simvae train --resume {args.run_dir}`",
              file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> None:
    overrides = [*DEMO_OVERRIDES, *args.overrides] + ([f"train.epochs={args.epochs}"] if args.epochs else [])
    config = load_config(None, overrides)
    run_dir = Path(args.out) if args.out else default_run_dir(config)
    print(f"demo: {config.method.name} on the embedded '{config.data.name}' data for {config.train.epochs} epochs -> {run_dir}")
    state = train(config, run_dir)
    evaluate_run(run_dir)
    print(f"\ntrained {state['step']} steps in {state['wall_time']:.0f} s; figures in {run_dir / 'figures'}\n")
    print((run_dir / "results.md").read_text())


def cmd_compare(args: argparse.Namespace) -> None:
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"--methods names unknown method(s) {unknown}; available: {sorted(METHODS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    compare(methods, seeds, args.out, parse_base(args.config, args.overrides))
    print((Path(args.out) / "comparison.md").read_text())


def cmd_reproduce(args: argparse.Namespace) -> None:
    grid = load_grid(args.grid)
    if args.methods:
        grid = grid.with_methods(args.methods.split(","))
    if args.overrides:
        grid = grid.with_overrides(parse_overrides(args.overrides))
    if args.seeds:
        grid = grid.with_seeds([int(s) for s in args.seeds.split(",")])
    report = reproduce(grid, args.budget, args.out or f"results/reproduce-{args.budget}",
                       args.datasets.split(",") if args.datasets else None,
                       args.ablations.split(",") if args.ablations else None, jobs=args.jobs)
    print(f"report: {report} and {report.with_suffix('.md')}")


def cmd_data(args: argparse.Namespace) -> None:
    if args.action == "download":
        limits = {key: value for key, value in (("timeout", args.timeout), ("retries", args.retries)) if value is not None}
        print(f"{args.name} is in {download_dataset(args.name, args.root, **limits)}")
        return
    print(f"{'dataset':<16} {'where':<48} description")
    for name, entry in DATASETS.items():
        try:
            where = entry.locate(args.root)
        except DataError as error:
            where = f"MISSING — {error}"
        print(f"{name:<16} {where:<48} {entry.description}")


def cmd_bench(args: argparse.Namespace) -> None:
    split = lambda text: [item.strip() for item in text.split(",") if item.strip()]
    result = bench(split(args.methods), split(args.backbone), args.data, args.batch_size, args.views, args.steps,
                   split(args.precision), args.accelerator, args.warmup, args.root,
                   tf32=[{"on": True, "off": False}[flag] for flag in split(args.tf32)], references=args.references,
                   overrides=args.overrides,
                   progress=lambda message: print(f"  timing {message} ...", file=sys.stderr))
    print(result["table"])
    if args.json:
        write_json(args.json, result)
        print(f"written to {args.json}")


def seconds(text: str) -> float:
    value = float(text)
    if not value > 0:  # urllib reads a timeout of 0 as "never wait": every download would fail at once
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def attempts(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative: give 0 (no retry) or more")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line with the fix, like every other error (argparse's own prints the usage block first)."""
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="simvae", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    train_parser = sub.add_parser("train", help="train a method (then evaluate it)")
    train_parser.add_argument("--config", help="YAML config (see configs/)")
    train_parser.add_argument("--out", help="run directory (default runs/<method>-<data>-<time>)")
    train_parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run exactly where it stopped "
                              f"(overrides: {', '.join(RESUME_KEYS)} and eval.*)")
    train_parser.add_argument("--no-eval", action="store_true", help="skip the probes after training")
    train_parser.add_argument("overrides", nargs="*", help="section.key=value, e.g. train.epochs=5 method.name=vae")
    train_parser.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="probe a trained run's representation on content and style labels")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--device", choices=("cuda", "cpu"), help="where to embed and probe (default: the device the run "
                          "trained on, if this machine has it)")
    evaluate.add_argument("--splits", default="test", help="splits whose accuracies results.md reports: test, val or "
                          "val,test (probes always fit on train and choose their settings on val)")
    evaluate.add_argument("--data", help="probe another labelled dataset of the run's image shape (see `simvae data`); "
                          "its own train/val/test splits are used and the run's data are not read")
    evaluate.add_argument("--root", help="where the --data dataset is (a directory, or an .npz file)")
    evaluate.add_argument("overrides", nargs="*", help="evaluation settings, eval.key=value (e.g. eval.mlp_steps=500)")
    evaluate.set_defaults(func=cmd_eval)

    demo = sub.add_parser("demo", help="train SimVAE on the embedded shapes data for a few minutes and print the probe table")
    demo.add_argument("--epochs", type=int, help="override the demo's epochs")
    demo.add_argument("--out", help="run directory")
    demo.add_argument("overrides", nargs="*", help="section.key=value on top of the demo's settings")
    demo.set_defaults(func=cmd_demo)

    comp = sub.add_parser("compare", help="train several methods x seeds under one budget and tabulate every probe")
    comp.add_argument("--methods", default="simvae,vae,betavae,crvae,simclr,vicreg,moco,byol,simsiam,supervised",
                      help="comma-separated method names")
    comp.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    comp.add_argument("--out", required=True, help="directory for the runs and the table (re-running resumes)")
    comp.add_argument("--config", help="shared YAML config (no method-specific keys)")
    comp.add_argument("overrides", nargs="*", help="shared section.key=value overrides, e.g. data.name=fashion-mnist")
    comp.set_defaults(func=cmd_compare)

    rep = sub.add_parser("reproduce", help="the paper's comparison grid (methods x datasets x seeds, ablations) and its report")
    rep.add_argument("--grid", default="configs/reproduce.yaml", help="grid file: methods, seeds, datasets, budgets, ablations")
    rep.add_argument("--budget", default="short", help="smoke (seconds per run) | short (a few CPU hours) | "
                     "medium (10 epochs, seeds, curves: hours, use --jobs) | paper (official schedule)")
    rep.add_argument("--datasets", help="comma-separated subset of the grid's datasets (default: all)")
    rep.add_argument("--ablations", help="comma-separated ablations of the grid file to run too, e.g. views,sigma2")
    rep.add_argument("--methods", help="comma-separated subset of the grid's methods (default: all)")
    rep.add_argument("overrides", nargs="*", help="section.key=value for every run, e.g. net.latent_dim=64 "
                     "(not method.*: SimVAE's settings are --ablations)")
    rep.add_argument("--seeds", help="comma-separated seeds for every method instead of the grid's")
    rep.add_argument("--jobs", type=int, default=1, help="runs trained at a time, as parallel processes of one thread "
                     "each (default 1: in this process, with progress bars)")
    rep.add_argument("--out", help="directory for runs and report (default results/reproduce-<budget>; re-running resumes)")
    rep.set_defaults(func=cmd_reproduce)

    data = sub.add_parser("data", help="list datasets and where they were found, or download one")
    data.add_argument("action", nargs="?", choices=("list", "download"), default="list")
    data.add_argument("name", nargs="?", help="dataset to download (mnist, fashion-mnist, cifar10)")
    data.add_argument("--root", help="data directory to search (the only one, when given) or download into")
    data.add_argument("--timeout", type=seconds, metavar="SECONDS",
                      help="download: give up on a connection or read that stalls this long (default 30)")
    data.add_argument("--retries", type=attempts, metavar="N", help="download: further attempts per file (default 3)")
    data.set_defaults(func=cmd_data)

    bench_parser = sub.add_parser("bench", help="training throughput (full loop vs model step alone, fp32 vs bf16) against the matmul peak")
    bench_parser.add_argument("--methods", default="simvae,simclr", help="comma-separated method names")
    bench_parser.add_argument("--backbone", default="auto", help="comma-separated backbones (auto = the dataset's default)")
    bench_parser.add_argument("--data", default="shapes", help="dataset (see `simvae data`)")
    bench_parser.add_argument("--root", help="data directory")
    bench_parser.add_argument("--batch-size", type=int, default=64, help="images per step (each gives --views views)")
    bench_parser.add_argument("--views", type=int, default=2, help="views per image (J)")
    bench_parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    bench_parser.add_argument("--warmup", type=int, default=3, help="untimed steps before each measurement")
    bench_parser.add_argument("--precision", default="32-true,bf16-mixed", help="comma-separated train.precision values")
    bench_parser.add_argument("--accelerator", default="auto", help="cpu | cuda | auto")
    bench_parser.add_argument("--tf32", default="on", choices=("on", "off", "on,off", "off,on"),
                              help="train.tf32 for the float32 rows (CUDA only; on,off gives a row for each)")
    bench_parser.add_argument("--references", nargs="?", const="../shared/bench", metavar="DIR",
                              help="also run the plain-torch reference programs in DIR (default ../shared/bench) and "
                              "give simvae's ratio to them")
    bench_parser.add_argument("--json", metavar="OUT", help="also write the table and the measurements as JSON")
    bench_parser.add_argument("overrides", nargs="*", help="extra section.key=value, e.g. method.head_dim=64")
    bench_parser.set_defaults(func=cmd_bench)
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """argparse, except that key=value overrides may also follow options (`train --out R train.lr=0.1`)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    late = [item for item in extra if "=" in item and not item.startswith("-")]
    if late != extra or (late and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if late:
        args.overrides += late
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "data" and args.action == "download" and not args.name:
        build_parser().error("data download needs a dataset name, e.g. `simvae data download fashion-mnist`")
    try:
        args.func(args)
    except TrainingInterrupted as stopped:
        print(f"simvae: {stopped}", file=sys.stderr)
        return 128 + stopped.signal_number
    except SimvaeError as error:
        print(f"simvae: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside training (where SIGINT checkpoints), or a second Ctrl-C
        print("simvae: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
