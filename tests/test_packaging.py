"""simvae as an installed package: every import is a declared dependency, and a wheel built from this checkout,
installed into a fresh virtual environment, trains and reproduces from an empty directory outside the checkout and
runs the three examples."""

from __future__ import annotations

import ast
import email
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "simvae"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
TIMEOUT_S = 300


def requirement_name(requirement: str) -> str:
    return normalise(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports() -> set[str]:
    """The top-level names of every absolute import in src/simvae that is neither simvae nor the standard library."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                found.add(node.module.split(".")[0])
    return found - {"simvae", "__future__"} - set(sys.stdlib_module_names)


def test_every_imported_library_is_a_declared_dependency():
    # a user-facing extra (simvae[wandb]) declares a library only one optional feature imports; test and bench
    # extras are for this checkout's tests and benchmarks, never for src/simvae
    extras = [r for name, reqs in PROJECT["optional-dependencies"].items() if name not in {"test", "bench"}
              for r in reqs]
    declared = {requirement_name(r) for r in PROJECT["dependencies"] + extras}
    providers = metadata.packages_distributions()
    imports = third_party_imports()
    assert {"torch", "lightning_fabric", "kornia", "yaml"} <= imports  # the scan sees the imports
    undeclared = {module: providers.get(module) for module in imports
                  if not {normalise(d) for d in providers.get(module, [module])} & declared}
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"


def test_license_and_typing_marker():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert (PACKAGE / "py.typed").is_file()


def build_wheel(into: Path) -> Path:
    """The wheel of a copy of this checkout's sources (the build leaves no files in the checkout)."""
    source = into / "source"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("src", "configs"):
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=skip)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir",
                    str(into / "dist"), str(source)], check=True, capture_output=True, text=True, timeout=TIMEOUT_S)
    (wheel,) = (into / "dist").glob("simvae-*.whl")
    return wheel


def fresh_venv(path: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed; its dependencies are borrowed from this interpreter's
    site-packages through a .pth file (a path line: the .pth files there, e.g. this checkout's editable install,
    are not run), so the test needs no download and no reinstall of torch."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=TIMEOUT_S)
    python = path / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    borrowed = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "borrowed_dependencies.pth").write_text("".join(f"{line}\n" for line in borrowed))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--ignore-installed", str(wheel)], check=True, capture_output=True, text=True, timeout=TIMEOUT_S)
    return path


def run_installed(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([venv / "bin" / args[0], *args[1:]], cwd=cwd, env={**env, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, f"{args}: exit code {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_wheel_installed_outside_the_checkout_trains_reproduces_and_runs_the_examples(tmp_path):
    wheel = build_wheel(tmp_path / "build")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {f"simvae/configs/{path.name}" for path in (REPO / "configs").glob("*.yaml")}
    assert shipped <= set(names) and "simvae/py.typed" in names
    assert "simvae-0.1.0.dist-info/licenses/LICENSE" in names
    info = email.message_from_bytes(zipfile.ZipFile(wheel).read("simvae-0.1.0.dist-info/METADATA"))
    assert info["License-Expression"] == "MIT" and "Typing :: Typed" in info.get_all("Classifier")
    assert info["Keywords"] and info["Description-Content-Type"] == "text/markdown"

    venv = fresh_venv(tmp_path / "venv", wheel)
    empty = tmp_path / "empty"
    empty.mkdir()
    where = run_installed(venv, empty, "python", "-c", "import simvae; print(simvae.__file__)").stdout.strip()
    assert Path(where).is_relative_to(venv), f"simvae imported from {where}, not from the wheel"

    tiny = ["data.limit_train=256", "train.epochs=1", "train.batch_size=32", "net.latent_dim=3", "train.threads=1",
            "eval.mlp_steps=20", "eval.gmm_n_init=1", "eval.max_train=256", "eval.knn_k=[1,3]"]
    trained = run_installed(venv, empty, "simvae", "train", "--config", "shapes", "--out", "run", *tiny)
    assert "| content |" in trained.stdout and (empty / "run" / "figures" / "latents.png").is_file()
    run_installed(venv, empty, "simvae", "reproduce", "--budget", "smoke", "--methods", "simvae", "--datasets", "shapes",
                  "--seeds", "1", "--out", "rep")
    assert "| simvae |" in (empty / "rep" / "report.md").read_text() and (empty / "rep" / "report.html").is_file()
    assert sorted(path.name for path in empty.iterdir()) == ["rep", "run"]  # nothing written beside them

    # the three examples, copied out of the checkout, run on the installed package at their --tiny settings
    examples = tmp_path / "examples"
    shutil.copytree(REPO / "examples", examples, ignore=shutil.ignore_patterns("__pycache__"))
    for name, args, printed in (("own_backbone.py", ["--out", "backbone"], "Run(method=simvae, data=shapes"),
                                ("own_images_with_styles.py", ["--out", "images"], "Run(method=simclr, data=npz"),
                                ("own_training_loop.py", [], "held-out ELBO_SSL")):
        assert printed in run_installed(venv, examples, "python", name, "--tiny", *args).stdout, name
