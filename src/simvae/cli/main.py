"""`simvae` command line: train, eval, demo, compare, data.

Configuration is a YAML file (see configs/) plus `section.key=value` overrides, e.g.
    simvae train --config configs/fashion-mnist.yaml train.epochs=5 method.sigma2=0.1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from simvae.config import ConfigError, RunConfig, load_config
from simvae.data import DATASETS, DataError
from simvae.train import TrainingDiverged

USER_ERRORS = (ConfigError, DataError, TrainingDiverged, FileNotFoundError)
# The demo: SimVAE on the embedded shapes, sized to finish in a few minutes on 2 CPU cores.
DEMO_OVERRIDES = ["data.name=shapes", "method.name=simvae", "train.epochs=6"]


def default_run_dir(config: RunConfig) -> Path:
    return Path("runs") / f"{config.method.name}-{config.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_train(args: argparse.Namespace) -> None:
    from simvae.evaluate import evaluate_run
    from simvae.train import train
    from simvae.train.checkpoint import CHECKPOINT, load_checkpoint

    if args.resume:
        run_dir = Path(args.resume)
        if args.config or args.overrides:
            raise ConfigError("--resume continues a run with its saved config; drop --config and overrides")
        from simvae.config import config_from_dict

        config = config_from_dict(load_checkpoint(run_dir / CHECKPOINT)["config"])
    else:
        config = load_config(args.config, args.overrides)
        run_dir = Path(args.out) if args.out else default_run_dir(config)
        if (run_dir / CHECKPOINT).exists():
            raise ConfigError(f"{run_dir} already holds a run: continue it with `simvae train --resume {run_dir}` or pick another --out")
    print(f"run directory: {run_dir}")
    state = train(config, run_dir, resume=bool(args.resume))
    print(f"trained {state['step']} steps in {state['wall_time']:.0f} s")
    if not args.no_eval:
        evaluate_run(run_dir)
        print((run_dir / "results.md").read_text())


def cmd_eval(args: argparse.Namespace) -> None:
    from simvae.evaluate import evaluate_run

    evaluate_run(args.run_dir)
    print((Path(args.run_dir) / "results.md").read_text())


def cmd_demo(args: argparse.Namespace) -> None:
    from simvae.evaluate import evaluate_run
    from simvae.train import train

    overrides = [*DEMO_OVERRIDES, *args.overrides] + ([f"train.epochs={args.epochs}"] if args.epochs else [])
    config = load_config(None, overrides)
    run_dir = Path(args.out) if args.out else default_run_dir(config)
    print(f"demo: {config.method.name} on the embedded '{config.data.name}' data for {config.train.epochs} epochs -> {run_dir}")
    state = train(config, run_dir)
    evaluate_run(run_dir)
    print(f"\ntrained {state['step']} steps in {state['wall_time']:.0f} s; figures in {run_dir / 'figures'}\n")
    print((run_dir / "results.md").read_text())


def cmd_compare(args: argparse.Namespace) -> None:
    from simvae.evaluate.compare import compare, parse_base
    from simvae.methods import METHODS

    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"--methods names unknown method(s) {unknown}; available: {sorted(METHODS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    compare(methods, seeds, args.out, parse_base(args.config, args.overrides))
    print((Path(args.out) / "comparison.md").read_text())


def cmd_data(args: argparse.Namespace) -> None:
    if args.action == "download":
        from simvae.data.download import download_dataset

        print(f"{args.name} is in {download_dataset(args.name, args.root)}")
        return
    print(f"{'dataset':<16} {'where':<48} description")
    for name, entry in DATASETS.items():
        try:
            where = entry.locate(args.root)
        except DataError as error:
            where = f"MISSING — {error}"
        print(f"{name:<16} {where:<48} {entry.description}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simvae", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a method (then evaluate it)")
    train.add_argument("--config", help="YAML config (see configs/)")
    train.add_argument("--out", help="run directory (default runs/<method>-<data>-<time>)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run exactly where it stopped")
    train.add_argument("--no-eval", action="store_true", help="skip the probes after training")
    train.add_argument("overrides", nargs="*", help="section.key=value, e.g. train.epochs=5 method.name=vae")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="probe a trained run's representation on content and style labels")
    evaluate.add_argument("run_dir")
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

    data = sub.add_parser("data", help="list datasets and where they were found, or download one")
    data.add_argument("action", nargs="?", choices=("list", "download"), default="list")
    data.add_argument("name", nargs="?", help="dataset to download (mnist, fashion-mnist, cifar10)")
    data.add_argument("--root", help="data directory to search or download into")
    data.set_defaults(func=cmd_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "data" and args.action == "download" and not args.name:
        build_parser().error("data download needs a dataset name, e.g. `simvae data download fashion-mnist`")
    try:
        args.func(args)
    except USER_ERRORS as error:
        print(f"simvae: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simvae: interrupted; the last checkpoint is intact: continue with `simvae train --resume RUN_DIR`", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
