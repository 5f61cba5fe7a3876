"""`simvae reproduce --jobs 2`: runs in spawned worker processes, one thread each, on a tiny npz dataset
(the in-process loader patches of test_reproduce.py do not reach spawned processes)."""

from __future__ import annotations

import pickle
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import yaml

from simvae.cli.main import main
from simvae.config import load_config
from simvae.errors import TrainingInterrupted
from simvae.experiments import compare as compare_module
from simvae.experiments import parallel

TINY = {"data": {"limit_train": 64}, "train": {"epochs": 1, "batch_size": 16},
        "eval": {"mlp_steps": 20, "max_train": 64, "gmm_n_init": 1, "gmm_max_train": 64, "knn_k": [1, 3], "figures": False}}


def write_npz_grid(tmp_path, methods, smoke=TINY):
    rng = np.random.default_rng(0)
    content = np.arange(240) % 2
    images = (rng.random((240, 12, 12)) * 80 + 120 * content[:, None, None]).astype(np.uint8)  # class 1 is brighter
    np.savez(tmp_path / "tiny.npz", images=images, content=content, size=rng.integers(0, 3, 240))
    grid = {"methods": methods, "seeds": [1], "ablations": {},
            "datasets": {"npz": {"data": {"name": "npz", "root": str(tmp_path / "tiny.npz")}}},
            "budgets": {"smoke": {"all": smoke}, "short": {}, "medium": {}, "paper": {}}}
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    return str(tmp_path / "grid.yaml")


def test_two_jobs_train_in_worker_processes_quietly_with_one_thread_and_rerunning_trains_nothing(tmp_path, capfd, monkeypatch):
    grid, out = write_npz_grid(tmp_path, ["simvae", "simclr"]), tmp_path / "out"
    assert main(["reproduce", "--grid", grid, "--budget", "smoke", "--out", str(out), "--jobs", "2"]) == 0
    captured = capfd.readouterr()
    finished = [line for line in captured.out.splitlines() if " finished npz/" in line]
    assert sorted(line.split()[2] for line in finished) == ["npz/simclr/seed1", "npz/simvae/seed1"]
    assert "it/s" not in captured.err + captured.out  # no progress bars from the workers
    for method in ("simvae", "simclr"):
        saved = yaml.safe_load((out / "npz" / method / "seed1" / "config.yaml").read_text())
        assert saved["train"]["threads"] == 1 and saved["data"]["name"] == "npz"
    assert "| simclr |" in (out / "report.md").read_text()

    # train.threads=1 is not part of a run's identity: one job in this process reuses both runs
    monkeypatch.setattr(compare_module, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    assert main(["reproduce", "--grid", grid, "--budget", "smoke", "--out", str(out), "--jobs", "1"]) == 0
    assert "2 of 2 runs already done" in capfd.readouterr().out


def test_a_failing_run_in_a_worker_is_a_one_line_error_in_the_parent(tmp_path, capfd):
    grid = write_npz_grid(tmp_path, ["simclr"], smoke={**TINY, "train": {"epochs": 1, "batch_size": 128}})
    assert main(["reproduce", "--grid", grid, "--budget", "smoke", "--out", str(tmp_path / "out"), "--jobs", "2"]) == 2
    error = capfd.readouterr().err
    assert "simvae: error: config value train.batch_size=128 is larger than the training split" in error
    assert "stopped at npz/simclr/seed1" in error


def test_after_a_failing_run_no_further_run_starts(tmp_path, monkeypatch):
    """Runs are submitted one per free worker: once one fails, no other run starts (a pool given every run at once
    queues some ahead of its workers, and a free worker starts one of those after the failure)."""
    starts, failed_at = [], []

    def first_fails(config, run_dir):
        starts.append(time.monotonic())
        if run_dir.name == "run0":
            time.sleep(0.3)
            failed_at.append(time.monotonic())
            raise TrainingInterrupted("stopped by SIGINT at step 3", 2)
        time.sleep(0.2)
        return 0.0

    class ThreadPool(ThreadPoolExecutor):  # the same scheduling in threads: the test's function cannot be spawned
        def __init__(self, workers, mp_context=None, initializer=None):
            super().__init__(workers)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", ThreadPool)
    monkeypatch.setattr(parallel, "run_quietly", first_fails)
    monkeypatch.setattr(parallel, "finished_metrics", lambda config, run_dir: None)
    jobs = [parallel.Job(f"run{i}", load_config(), tmp_path / f"run{i}") for i in range(6)]
    with pytest.raises(TrainingInterrupted):
        parallel.run_jobs(jobs, n_jobs=2, progress=False)
    assert len(starts) == 3 and max(starts) < failed_at[0], "a run started after another had failed"


def test_an_interruption_crosses_the_process_boundary_with_its_signal():
    copy = pickle.loads(pickle.dumps(TrainingInterrupted("stopped at step 3", 15)))
    assert (str(copy), copy.signal_number) == ("stopped at step 3", 15)


def test_jobs_must_be_positive(tmp_path, capsys):
    grid = write_npz_grid(tmp_path, ["simclr"])
    assert main(["reproduce", "--grid", grid, "--budget", "smoke", "--out", str(tmp_path / "out"), "--jobs", "0"]) == 2
    assert "--jobs 0 is invalid" in capsys.readouterr().err
