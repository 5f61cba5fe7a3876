"""`simvae bench` and its function on the embedded shapes data: shape of the output, not timings."""

import json

import pytest

from simvae.cli.main import main
from simvae.data import load_dataset
from simvae.experiments import bench as bench_module
from simvae.experiments.bench import (
    COLUMNS,
    BenchRow,
    bench,
    format_table,
    matmul_peak,
    raise_peaks_to_rows,
)
from simvae.experiments.references import reference_for, run_references


@pytest.fixture(scope="module")
def shapes():
    return load_dataset("shapes")


def test_bench_gives_one_row_per_method_backbone_and_precision(shapes):
    result = bench(["simvae", "simclr"], ["mlp"], "shapes", batch_size=8, views=2, steps=2, warmup=1,
                   precisions=["32-true", "bf16-mixed"], accelerator="cpu", peak_size=128, dataset=shapes,
                   tf32=[True, False])  # one float32 row each all the same: the CPU has no TF32
    assert set(result["peak_gflops"]) == {"float32", "bfloat16"} and all(v > 0 for v in result["peak_gflops"].values())
    rows = result["rows"]
    assert [r["math_mode"] for r in rows] == ["float32", "bfloat16"] * 2, "the CPU has no TF32"
    for row in rows:
        assert 0 < row["ops_per_augment"] <= 200 < row["ops_per_step"]
        assert row["peak_gflops"] == result["peak_gflops"][row["math_mode"]]
    assert [(r["method"], r["backbone"], r["precision"]) for r in rows] == [
        ("simvae", "mlp", "32-true"), ("simvae", "mlp", "bf16-mixed"), ("simclr", "mlp", "32-true"), ("simclr", "mlp", "bf16-mixed")]
    for row in rows:
        assert row["full_views_per_s"] > 0 and row["model_views_per_s"] > 0 and row["gflop_per_view"] > 0
        assert row["full_over_model"] == pytest.approx(row["full_views_per_s"] / row["model_views_per_s"])
        assert row["model_fraction_of_peak"] == pytest.approx(row["model_gflops"] / row["peak_gflops"])
    assert rows[0]["gflop_per_view"] == rows[1]["gflop_per_view"], "FLOPs are counted once per method and backbone"
    table = result["table"].splitlines()
    assert table[0].startswith("machine: ") and "peak: float32" in table[1]
    header = [cell.strip() for cell in table[3].strip("|").split("|")]
    assert header == list(COLUMNS)
    body = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[5:]]
    assert len(body) == 4 and all(len(cells) == len(COLUMNS) for cells in body)
    assert [cells[:4] for cells in body] == [[r["method"], r["backbone"], r["precision"], r["math_mode"]] for r in rows]
    assert all(cells[4] == "16" for cells in body)  # 8 images x 2 views per step
    assert all(cells[-1] == "-" for cells in body)  # no references asked for


def test_bench_command_prints_the_table_and_writes_json(shapes, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench_module, "load_dataset", lambda *args, **kwargs: shapes)
    monkeypatch.setattr(bench_module, "matmul_peak", lambda device, mode, size=None: 1.0)
    out = tmp_path / "bench.json"
    assert main(["bench", "--methods", "vae", "--backbone", "mlp", "--batch-size", "4", "--steps", "1", "--warmup", "0",
                 "--precision", "32-true", "--accelerator", "cpu", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| vae | mlp | 32-true | float32 | 8 |" in printed
    saved = json.loads(out.read_text())
    assert saved["columns"] == list(COLUMNS) and len(saved["rows"]) == 1 and saved["machine"]


def test_bench_rejects_unknown_methods_and_precisions(capsys):
    assert main(["bench", "--methods", "nope"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main(["bench", "--precision", "8-bit"]) == 2
    assert "unknown precision" in capsys.readouterr().err


def test_the_peak_is_measured_in_each_math_mode():
    assert matmul_peak("cpu", "float32", 64, min_seconds=0.01) > 0
    assert matmul_peak("cpu", "tfloat32", 64, min_seconds=0.01) > 0  # TF32 is a no-op on CPU: float32 matmuls


def test_a_row_faster_than_the_measured_peak_raises_that_peak_so_none_reads_above_100_percent():
    def row(mode, gflops):
        return BenchRow("simvae", "shapes", "mlp", "32-true", mode, 64, 2, 1.0, 1.0, 1.0, 1.0, gflops, gflops / 2,
                        10.0, gflops / 10.0, gflops / 20.0, 800, 190)
    measured = {"float32": 10.0, "bfloat16": 10.0}
    rows, peaks = raise_peaks_to_rows([row("float32", 15.0), row("float32", 5.0), row("bfloat16", 4.0)], measured)
    assert peaks == {"float32": 15.0, "bfloat16": 10.0} and measured == {"float32": 10.0, "bfloat16": 10.0}
    assert [r.model_fraction_of_peak for r in rows] == [1.0, 5.0 / 15.0, 0.4]
    assert all(r.full_fraction_of_peak <= r.model_fraction_of_peak <= 1.0 for r in rows)
    header = format_table(rows, peaks, "test machine", "cpu", measured=measured).splitlines()[1]
    assert header == "peak: float32 15.0 GFLOP/s (the best row's; the matmul measured 10.0), bfloat16 10.0 GFLOP/s"


def fake_references(directory):
    (directory / "gpu_limit_mlp.py").write_text(
        "import sys\n"
        "print(f'device cpu, batch {sys.argv[1]}x2: eager full step 1.000 ms = 1,000 views/s')\n"
        "print('CUDA graph full step 0.500 ms = 4,000 views/s (2.0x eager); loss 1.0')\n")
    (directory / "gpu_limit_resnet18.py").write_text("raise SystemExit('needs CUDA')\n")


def test_references_run_in_the_same_call_and_rows_get_their_ratio(shapes, tmp_path, capsys, monkeypatch):
    fake_references(tmp_path)
    found = run_references(tmp_path, 8)
    assert found[0] == {"program": "gpu_limit_mlp.py", "kind": "mlp", "setting": "eager", "views_per_s": 1000.0}
    assert found[1]["setting"] == "CUDA graph" and found[1]["views_per_s"] == 4000.0
    assert found[2]["program"] == "gpu_limit_resnet18.py" and "needs CUDA" in found[2]["error"]
    assert reference_for("mlp", "float32", found)["setting"] == "CUDA graph"  # the fastest plain-torch figure
    assert reference_for("resnet18", "bfloat16", found) is None and reference_for("conv", "float32", found) is None
    monkeypatch.setattr(bench_module, "load_dataset", lambda *args, **kwargs: shapes)
    monkeypatch.setattr(bench_module, "matmul_peak", lambda device, mode, size=None: 1.0)
    out = tmp_path / "bench.json"
    assert main(["bench", "--methods", "simvae", "--backbone", "mlp", "--batch-size", "4", "--steps", "1", "--warmup", "0",
                 "--precision", "32-true", "--accelerator", "cpu", "--references", str(tmp_path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(gpu_limit_mlp.py CUDA graph) |" in printed and "did not run: exit 1: needs CUDA" in printed
    row = json.loads(out.read_text())["rows"][0]
    assert row["full_over_reference"] == pytest.approx(row["full_views_per_s"] / 4000.0)
