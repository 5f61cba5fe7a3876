import gzip

import numpy as np
import pytest
import torch

from simvae.data.idx import read_idx, write_idx
from simvae.errors import DataError


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(tmp_path, compress):
    array = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "x", array, compress=compress)
    assert torch.equal(read_idx(tmp_path / "x", 3), torch.from_numpy(array))


def test_bad_magic_number_is_a_clear_error(tmp_path):
    (tmp_path / "x").write_bytes(b"\x00\x00\x0d\x03" + b"\x00" * 20)  # float IDX, not ubyte
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(tmp_path / "x", 3)


def test_wrong_dimension_count_is_a_clear_error(tmp_path):
    write_idx(tmp_path / "labels", np.zeros(10, dtype=np.uint8))
    with pytest.raises(DataError, match="3 dimension"):
        read_idx(tmp_path / "labels", 3)


def test_truncated_payload_is_a_clear_error(tmp_path):
    write_idx(tmp_path / "x", np.zeros((4, 28, 28), dtype=np.uint8), compress=False)
    raw = (tmp_path / "x").read_bytes()
    (tmp_path / "x").write_bytes(raw[:-100])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(tmp_path / "x", 3)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    payload = gzip.compress(b"\x00\x00\x08\x01" + (1000).to_bytes(4, "big") + bytes(1000))
    (tmp_path / "x.gz").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_idx(tmp_path / "x.gz", 1)
