"""One run directory, one process at a time; the data a run read, printed and recorded; the NaN guard's advice,
followed as printed, continues the run."""

from __future__ import annotations

import json
import subprocess

LR_THAT_DIVERGES = 0.3  # the tiny run's loss is NaN at step 3; from step 1, a tenth of it trains to the end


def test_two_runs_started_together_into_one_directory_one_proceeds_and_nothing_is_lost(workdir, cli, uninterrupted):
    runs = [cli.start([*cli.RUN, "--out", "run"], workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(process.wait(timeout=120), *process.communicate()) for process in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    _, out, _ = next(result for result in results if result[0] == 0)
    _, _, err = next(result for result in results if result[0] == 2)
    line = cli.assert_one_line_error(subprocess.CompletedProcess([], 2, "", err))
    # the second either finds the directory locked, or (if the first was that quick) holding a finished run
    assert "run is in use by another simvae process" in line or "run already holds a run" in line, line
    assert f"trained {cli.STEPS} steps" in out
    cli.assert_same_run(workdir / "run", uninterrupted)
    assert cli.temporaries(workdir / "run") == []
    # the data actually read, printed and recorded (with the directory relative paths start from)
    assert "data: data.npz (test: a seeded 1/6 held out)" in out.splitlines()
    provenance = json.loads((workdir / "run" / "provenance.json").read_text())
    assert provenance["data_source"].startswith("data.npz") and provenance["cwd"] == str(workdir)


def test_the_nan_advice_works_as_printed(workdir, cli):
    diverged = cli.run([*cli.RUN, "--out", "run", f"train.lr={LR_THAT_DIVERGES}", "train.checkpoint_every=1",
                        "train.log_every=1"], workdir)
    line = cli.assert_one_line_error(diverged, "loss is not finite at step 3")
    # the checkpoint of step 2 already gives the NaN on step 3, whatever the learning rate: step 1's is restored
    assert "the last good checkpoint run/checkpoint.pt (step 1) is kept" in line
    assert cli.load_checkpoint(workdir / "run" / "checkpoint.pt")["step"] == 1
    assert [point["step"] for point in json.loads((workdir / "run" / "train_history.json").read_text())] == [1]
    advice = cli.advised_command(line)
    assert advice == ["train", "--resume", "run", f"train.lr={LR_THAT_DIVERGES / 10:g}"]

    resumed = cli.run([*advice, "--no-eval"], workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert cli.load_checkpoint(workdir / "run" / "checkpoint.pt")["finished"]
    [resume] = json.loads((workdir / "run" / "provenance.json").read_text())["resumes"]
    assert resume["changed"] == {"train.lr": f"{LR_THAT_DIVERGES / 10:g}"}
