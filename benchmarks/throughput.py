"""Training-loop throughput on Fashion-MNIST with the paper's MLP: is the data path cheap enough?

A thin wrapper around simvae.bench.bench (the function behind `simvae bench`): the paper's setting, 64
images x J=2 views = 128 views per step, the MLP backbone, one device. It prints the table and, per
row, the ratio of the full loop's throughput (indexing + augmentation + step) to the model step's
alone on pre-made views. The project's target is a ratio >= 0.8: augmentation and data handling
should cost at most a fifth of the step. Falls back to the embedded shapes data when Fashion-MNIST
is not found (`simvae data download fashion-mnist`).

    python benchmarks/throughput.py                      # simvae, fp32, 50 timed steps
    python benchmarks/throughput.py --methods simvae,simclr --precision 32-true,bf16-mixed --json out.json
"""

from __future__ import annotations

import argparse
import sys

from simvae.errors import DataError
from simvae.experiments.bench import bench
from simvae.output import write_json

TARGET = 0.8  # full loop / model step alone
BATCH_SIZE, VIEWS, BACKBONE = 64, 2, "mlp"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="simvae", help="comma-separated method names")
    parser.add_argument("--precision", default="32-true", help="comma-separated train.precision values")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per measurement")
    parser.add_argument("--accelerator", default="auto", help="cpu | cuda | auto")
    parser.add_argument("--root", help="data directory")
    parser.add_argument("--json", metavar="OUT", help="also write the measurements as JSON")
    args = parser.parse_args(argv)

    def run(data: str) -> dict:
        return bench(args.methods.split(","), [BACKBONE], data, BATCH_SIZE, VIEWS, args.steps, args.precision.split(","),
                     args.accelerator, root=args.root)

    try:
        result = run("fashion-mnist")
    except DataError as error:
        print(f"Fashion-MNIST not found ({str(error).splitlines()[0][:120]}...); using the embedded shapes data", file=sys.stderr)
        result = run("shapes")
    print(result["table"])
    print()
    for row in result["rows"]:
        ratio = row["full_over_model"]
        verdict = "meets" if ratio >= TARGET else "BELOW"
        print(f"{row['method']} {row['precision']} on {row['data']}: full loop / model step = {ratio:.2f} "
              f"({verdict} the target {TARGET})")
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
