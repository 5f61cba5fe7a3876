"""`simvae` command line: train, eval, demo, compare, reproduce, data, bench, methods.

Configuration is a YAML file, or the name of one simvae ships (configs/), plus `section.key=value` overrides, e.g.
    simvae train --config fashion-mnist train.epochs=5 method.sigma2=0.1
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import warnings
from typing import NoReturn

from simvae.cli import signals

if __name__ == "__main__":  # `python -m simvae.cli.main`: a signal during the imports below ends it at once
    signals.exit_at_once()

from simvae.cli.arguments import attempts, positive, seconds, seeds  # noqa: E402 (after the signal handlers)
from simvae.config_files import GRID, shipped  # noqa: E402
from simvae.config_keys import RESUME_KEYS  # noqa: E402
from simvae.errors import SimvaeError, SimvaeWarning, TrainingInterrupted  # noqa: E402
from simvae.interrupts import Interrupted, critical  # noqa: E402

# Each command is the module simvae.cli.<command>, whose `run(args)` does it. This module builds the parser from
# light modules only and imports a command's module (torch, Lightning Fabric, ...) once the arguments are parsed:
# `simvae --help` and every `simvae <command> --help` import none of them (tests/cli/test_startup.py).
COMMANDS = ("train", "eval", "embed", "demo", "compare", "reproduce", "data", "bench", "methods")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line with the fix, like every other error (argparse's own prints the usage block first)."""
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="simvae", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    train_parser = sub.add_parser("train", help="train a method (then evaluate it)")
    train_parser.add_argument("--config", help="YAML config file, or the name of one simvae ships (configs/): "
                              f"{', '.join(shipped())}")
    train_parser.add_argument("--out", help="run directory (default runs/<method>-<data>-<time>)")
    train_parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run exactly where it stopped "
                              f"(overrides: {', '.join(RESUME_KEYS)} and eval.*)")
    train_parser.add_argument("--no-eval", action="store_true", help="skip the probes after training")
    train_parser.add_argument("overrides", nargs="*", help="section.key=value, e.g. train.epochs=5 method.name=vae")

    evaluate = sub.add_parser("eval", help="probe a trained run's representation on content and style labels")
    evaluate.add_argument("run_dir", help="a run directory, or an embeddings file (.npz, from `simvae embed` or a "
                          "report) to probe again without weights or data")
    evaluate.add_argument("--device", choices=("cuda", "cpu"), help="where to embed and probe (default: the device the run "
                          "trained on, if this machine has it)")
    evaluate.add_argument("--splits", default="test", help="splits whose accuracies results.md reports: test, val or "
                          "val,test (probes always fit on train and choose their settings on val)")
    evaluate.add_argument("--data", help="probe another labelled dataset of the run's image shape (see `simvae data`); "
                          "its own train/val/test splits are used and the run's data are not read")
    evaluate.add_argument("--root", help="where the --data dataset is (a directory, or an .npz file)")
    evaluate.add_argument("overrides", nargs="*", help="evaluation settings, eval.key=value (e.g. eval.mlp_steps=500)")

    embed = sub.add_parser("embed", help="export a run's representations (train subset, val, test, with labels) as npz")
    embed.add_argument("run_dir")
    embed.add_argument("--out", required=True, help="the .npz file to write")
    embed.add_argument("--device", choices=("cuda", "cpu"), help="where to embed (default: where the run trained, if here)")
    embed.add_argument("--data", help="embed another labelled dataset of the run's image shape (see `simvae data`)")
    embed.add_argument("--root", help="where the --data dataset is")
    embed.add_argument("overrides", nargs="*", help="eval.max_train=N: the training images embedded (default: the run's)")

    demo = sub.add_parser("demo", help="train SimVAE on the embedded shapes data for a few minutes and print the probe table")
    demo.add_argument("--epochs", type=positive, help="override the demo's epochs")
    demo.add_argument("--out", help="run directory")
    demo.add_argument("overrides", nargs="*", help="section.key=value on top of the demo's settings")

    comp = sub.add_parser("compare", help="train several methods x seeds under one budget and tabulate every probe")
    comp.add_argument("--methods", default="simvae,vae,betavae,crvae,simclr,vicreg,moco,byol,simsiam,dino,swav,barlowtwins,supervised",
                      help="comma-separated method names")
    comp.add_argument("--seeds", type=seeds, default="1,2,3", help="comma-separated seeds")
    comp.add_argument("--out", required=True, help="directory for the runs and the table (re-running resumes)")
    comp.add_argument("--config", help="shared YAML config, a file or a shipped config's name (no method-specific keys)")
    comp.add_argument("overrides", nargs="*", help="shared section.key=value overrides, e.g. data.name=fashion-mnist")

    rep = sub.add_parser("reproduce", help="the paper's comparison grid (methods x datasets x seeds, ablations) and its report")
    rep.add_argument("--grid", default=GRID, help="grid file: methods, seeds, datasets, budgets, ablations (default: "
                     f"{GRID}, the paper's grid simvae ships, configs/{GRID}.yaml)")
    rep.add_argument("--budget", default="short", help="smoke (seconds per run) | short (a few CPU hours) | "
                     "medium (10 epochs, seeds, curves: hours, use --jobs) | paper (official schedule)")
    rep.add_argument("--datasets", help="comma-separated subset of the grid's datasets (default: all)")
    rep.add_argument("--ablations", help="comma-separated ablations of the grid file to run too, e.g. views,sigma2")
    rep.add_argument("--methods", help="comma-separated subset of the grid's methods (default: all)")
    rep.add_argument("overrides", nargs="*", help="section.key=value for every run, e.g. net.latent_dim=64 "
                     "(not method.*: SimVAE's settings are --ablations)")
    rep.add_argument("--seeds", type=seeds, help="comma-separated seeds for every method instead of the grid's")
    rep.add_argument("--jobs", type=int, default=1, help="runs trained at a time, as parallel processes of one thread "
                     "each (default 1: in this process, with progress bars)")
    rep.add_argument("--out", help="directory for runs and report (default results/reproduce-<budget>; re-running resumes)")

    data = sub.add_parser("data", help="list datasets and where they were found, or download one")
    data.add_argument("action", nargs="?", choices=("list", "download"), default="list")
    data.add_argument("name", nargs="?", help="dataset to download (mnist, fashion-mnist, cifar10)")
    data.add_argument("--root", help="data directory to search (the only one, when given) or download into")
    data.add_argument("--timeout", type=seconds, metavar="SECONDS",
                      help="download: give up on a connection or read that stalls this long (default 30)")
    data.add_argument("--retries", type=attempts, metavar="N", help="download: further attempts per file (default 3)")
    data.add_argument("--deadline", type=seconds, metavar="SECONDS",
                      help="download: give up when the whole download takes longer than this (default 3600)")

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

    methods = sub.add_parser("methods", help="list the methods: family, source, hyper-parameters with defaults and bounds")
    methods.add_argument("names", nargs="*", help="only these methods (default: all)")
    methods.add_argument("--json", action="store_true", help="print JSON instead of tables")
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
    with signals.handled(), warnings.catch_warnings():
        warnings.showwarning = one_line_warning
        try:
            return run_command(argv)
        except Interrupted as stopped:  # outside training (where a signal checkpoints), or a second Ctrl-C
            print(signals.message(stopped.signal_number), file=sys.stderr)
            return 128 + stopped.signal_number


def run_command(argv: list[str] | None) -> int:
    args = parse_args(argv)
    if args.command == "data" and args.action == "download" and not args.name:
        build_parser().error("data download needs a dataset name, e.g. `simvae data download fashion-mnist`")
    try:
        # a signal during the command's imports (torch, scikit-learn...) is delivered once they are done: an import
        # cut in half leaves a library broken for the clean-up that follows (numpy's lazy attributes recurse)
        with critical():
            command = importlib.import_module(f"simvae.cli.{args.command}")
        command.run(args)
    except TrainingInterrupted as stopped:
        print(f"simvae: {stopped}", file=sys.stderr)
        return 128 + stopped.signal_number
    except SimvaeError as error:
        print(f"simvae: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stopped:
        if isinstance(stopped, Interrupted):
            raise
        print(signals.message(signal.SIGINT), file=sys.stderr)  # a KeyboardInterrupt raised by other code
        return 128 + signal.SIGINT
    return 0


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """simvae's own warnings as one `simvae: warning:` line; others as Python shows them."""
    if issubclass(category, SimvaeWarning):
        print(f"simvae: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def entry() -> int:
    """The `simvae` program: `main`, then an exit that signals no longer interrupt (the command is complete; the
    interpreter's shutdown would otherwise die of a late Ctrl-C without a word)."""
    signals.exit_at_once()
    code = main()
    signals.ignore()
    return code


if __name__ == "__main__":
    sys.exit(entry())
