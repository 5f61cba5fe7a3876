"""The folder dataset from real PNG/JPEG trees: classes, styles.csv, splits, colour rule, cache, and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from simvae.data import DATASETS, load_dataset
from simvae.data.folder import load_folder
from simvae.errors import DataError, SimvaeWarning

CLASSES = ["cat", "dog", "emu"]


def write_tree(directory: Path, per_class: int = 6, colour_one: bool = False, size=(20, 20), suffix: str = ".png",
               styles: bool = True, split: str = "") -> list[str]:
    """DIR/[split/]<class>/<i>.png with a flat grey level per image; styles.csv with an int and a string column."""
    files = []
    for c, name in enumerate(CLASSES):
        folder = directory / split / name if split else directory / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            level = 20 * i + 60 * c
            image = Image.new("RGB", size, (level, 0, 255 - level)) if colour_one and (c, i) == (1, 0) else Image.new("L", size, level)
            image.save(folder / f"{i}{suffix}", **({"quality": 95} if suffix != ".png" else {}))
            files.append(f"{split + '/' if split else ''}{name}/{i}{suffix}")
    if styles:
        rows = [f"{f},{i % 2},{'dark' if i < 3 else 'light'}" for f in files for i in [int(Path(f).stem)]]
        (directory / "styles.csv").write_text("path,parity,shade\n" + "\n".join(rows) + "\n")
    return files


def load_error(root, **kwargs) -> str:
    with pytest.raises(DataError) as error:
        load_folder(root, 0.1, 0, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_grey_png_tree_with_styles(tmp_path):
    write_tree(tmp_path)
    data = load_dataset("folder", tmp_path, val_fraction=0.2, split_seed=0)
    assert data.image_shape == (1, 20, 20) and data.train.images.dtype == torch.uint8
    assert len(data.test) == 3 and len(data.train) + len(data.val) == 15  # a seeded 1/6 held out
    assert data.class_names == CLASSES and data.style_classes == {"parity": 2, "shade": 2}
    assert (data.likelihood, data.augment_preset) == ("bernoulli", "fashion-mnist")
    assert data.source.startswith(str(tmp_path)) and DATASETS["folder"].locate(tmp_path) == str(tmp_path)
    # each image's flat grey level encodes its class and index, so labels can be checked against pixels
    for part in (data.train, data.val, data.test):
        level = part.images[:, 0, 0, 0].long()
        c = part.content
        i = (level - 60 * c) // 20
        assert ((level - 60 * c) % 20 == 0).all() and ((0 <= i) & (i < 6)).all()
        assert torch.equal(part.styles["parity"], i % 2) and torch.equal(part.styles["shade"], (i >= 3).long())


def test_one_colour_image_makes_all_rgb_jpeg_resized(tmp_path):
    write_tree(tmp_path, colour_one=True, suffix=".jpg", size=(30, 20), styles=False)
    data = load_folder(tmp_path, 0.1, 0, image_size=16)
    assert data.image_shape == (3, 16, 16) and data.style_classes == {}
    assert (data.likelihood, data.augment_preset) == ("gaussian", "cifar10")
    grey = torch.cat([data.train.images, data.val.images, data.test.images])
    assert sum(int((image[0] != image[2]).any()) for image in grey) == 1  # the one colour image stays colour


def test_default_size_is_the_common_square_else_32(tmp_path):
    write_tree(tmp_path / "square", size=(24, 24), styles=False)
    assert load_folder(tmp_path / "square", 0.1, 0).image_shape == (1, 24, 24)
    write_tree(tmp_path / "wide", size=(30, 20), styles=False)
    assert load_folder(tmp_path / "wide", 0.1, 0).image_shape == (1, 32, 32)


def test_train_test_layout(tmp_path):
    files = write_tree(tmp_path, split="train", styles=False)
    files += write_tree(tmp_path, split="test", per_class=2, styles=False)
    (tmp_path / "styles.csv").write_text("path,parity\n" + "".join(f"{f},{int(Path(f).stem) % 2}\n" for f in files))
    data = load_dataset("folder", tmp_path, val_fraction=0.25)
    assert (len(data.train), len(data.val), len(data.test)) == (14, 4, 6)
    assert data.class_names == CLASSES and data.test.content.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.test.styles["parity"].tolist() == [0, 1] * 3 and data.source == str(tmp_path)


def test_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    write_tree(tmp_path)
    first = load_dataset("folder", tmp_path)
    cache = tmp_path / "simvae_folder_auto.pt"
    assert cache.is_file()
    from simvae.data import folder

    monkeypatch.setattr(folder, "decode", lambda *args: pytest.fail("decoded again despite the cache"))
    second = load_dataset("folder", tmp_path)
    assert torch.equal(first.test.images, second.test.images) and torch.equal(first.train.content, second.train.content)
    monkeypatch.undo()
    Image.new("L", (20, 20), 7).save(tmp_path / "cat" / "extra.png")  # a new file: the cache is stale
    with open(tmp_path / "styles.csv", "a") as handle:
        handle.write("cat/extra.png,1,dark\n")
    third = load_dataset("folder", tmp_path)
    assert len(third.train) + len(third.val) + len(third.test) == 19


def test_root_must_be_set_and_exist(tmp_path):
    with pytest.raises(DataError, match=r"needs data.root \(--root\)"):
        DATASETS["folder"].locate(None)
    message = load_error(tmp_path / "typo")
    assert str(tmp_path / "typo") in message and "does not exist" in message
    message = load_error(tmp_path)
    assert str(tmp_path) in message and "no class folders" in message


def test_empty_class_folder(tmp_path):
    write_tree(tmp_path, styles=False)
    (tmp_path / "fox").mkdir()
    (tmp_path / "fox" / "notes.txt").write_text("not an image")
    message = load_error(tmp_path)
    assert str(tmp_path / "fox") in message and "no .png/.jpg/.jpeg images" in message


def test_missing_csv_row(tmp_path):
    write_tree(tmp_path)
    csv = tmp_path / "styles.csv"
    csv.write_text("\n".join(line for line in csv.read_text().splitlines() if not line.startswith("dog/4.png")) + "\n")
    message = load_error(tmp_path)
    assert str(csv) in message and "no row for dog/4.png" in message and "add a row" in message


@pytest.mark.parametrize("text, words", [
    ("name,parity\n", ["header path,"]),
    ("path,parity\ncat/0.png,1,2\n", ["line 2", "3 fields"]),
    ("path,parity\n" + "".join(f"{c}/{i}.png,{-1 if i == 2 else 0}\n" for c in CLASSES for i in range(6)),
     ["column 'parity'", "negative label -1"]),
    ("path,parity\n" + "".join(f"{c}/{i}.png,{2 * (i % 2)}\n" for c in CLASSES for i in range(6)),
     ["column 'parity'", "label 2", "outside 0..1"]),
])
def test_bad_csv(tmp_path, text, words):
    write_tree(tmp_path, styles=False)
    (tmp_path / "styles.csv").write_text(text)
    message = load_error(tmp_path)
    assert str(tmp_path / "styles.csv") in message
    for word in words:
        assert word in message, (word, message)


def test_corrupt_and_truncated_images(tmp_path):
    write_tree(tmp_path, styles=False)
    bad = tmp_path / "emu" / "3.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    message = load_error(tmp_path)
    assert str(bad) in message and "replace or delete it" in message
    Image.new("L", (20, 20), 3).save(bad)
    bad.write_bytes(bad.read_bytes()[:-30])  # header intact, pixel data cut
    message = load_error(tmp_path)
    assert str(bad) in message and "replace or delete it" in message


def test_sixteen_bit_grey_pngs_are_scaled_to_eight_bits_and_stay_grey(tmp_path):
    """One 16-bit PNG among 8-bit ones (PIL's own conversion would turn it white and make the whole set RGB)."""
    write_tree(tmp_path, styles=False)
    level = 40000
    Image.fromarray(np.full((20, 20), level, dtype=np.uint16)).save(tmp_path / "cat" / "0.png")
    assert Image.open(tmp_path / "cat" / "0.png").mode == "I;16"
    data = load_folder(tmp_path, 0.1, 0)
    assert data.image_shape == (1, 20, 20)
    everything = torch.cat([data.train.images, data.val.images, data.test.images])
    assert (everything[:, 0, 0, 0] == round(level * 255 / 65535)).sum() == 1  # 156: scaled by value, not clipped


def test_a_style_label_with_one_value_is_warned_about_in_one_line(tmp_path):
    files = write_tree(tmp_path, styles=False)
    (tmp_path / "styles.csv").write_text("path,parity,constant\n" + "".join(f"{f},{i % 2},0\n" for i, f in enumerate(files)))
    with pytest.warns(SimvaeWarning) as warned:
        data = load_folder(tmp_path, 0.1, 0)
    [warning] = warned
    assert "the style label 'constant' has a single value" in str(warning.message) and "\n" not in str(warning.message)
    assert data.style_classes == {"parity": 2, "constant": 1}
