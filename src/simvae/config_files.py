"""The YAML files simvae ships, found by name: `--config fashion-mnist`, and the paper's grid for `simvae reproduce`.

They are the repository's configs/, shipped inside the package as package data (src/simvae/configs links to
configs/, so there is one copy). A path that exists always wins over a name.
"""

from __future__ import annotations

from pathlib import Path

from simvae.errors import ConfigError

CONFIG_DIR = Path(__file__).parent / "configs"
GRID = "reproduce"  # the paper's grid (`simvae reproduce`); every other file is a run config (`--config`)


def shipped(grid: bool = False) -> dict[str, Path]:
    """name -> path of the run configs simvae ships (of its grids, with `grid=True`)."""
    return {path.stem: path for path in sorted(CONFIG_DIR.glob("*.yaml")) if (path.stem == GRID) == grid}


def find_config(name_or_path: str | Path, grid: bool = False) -> Path:
    """`name_or_path` if it is a file, else the shipped run config (grid, with `grid=True`) of that name, with or
    without `.yaml`; otherwise ConfigError naming the shipped ones."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    known = shipped(grid)
    name = path.name.removesuffix(".yaml")
    if path.name == str(name_or_path) and name in known:
        return known[name]
    what = "grid file" if grid else "config file"
    raise ConfigError(f"{what} {path} does not exist; give a YAML file or the name of one of simvae's configs/: "
                      f"{', '.join(known)}")
