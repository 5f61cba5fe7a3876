"""Numbers as cached tensors, for eager arithmetic that launches fewer operators.

A Python number in arithmetic with a float32 tensor costs five aten operators on every call: torch wraps it
as a float64 scalar tensor and casts that to float32 (`to`, `_to_copy`, `empty_strided`, `copy_`) before the
operator itself, and autograd pays the cast again where the backward multiplies by the number. The same
number as a tensor of the right dtype, made once per process, costs the operator alone, and the arithmetic
is the same: the number is rounded once to the dtype either way. `simvae.augment.ops_count` counts them.
"""

from __future__ import annotations

import functools

import torch


@functools.cache
def constant(values: tuple[float, ...], device: torch.device, dtype: torch.dtype,
             shape: tuple[int, ...] = (-1,)) -> torch.Tensor:
    """A small constant on the device, in `shape` (the values in a row by default), copied there once per
    process rather than once per call (a `.view` per call would be one more operator)."""
    with torch.inference_mode(False):  # an inference tensor could not be saved for a later backward
        return torch.tensor(values, dtype=dtype).view(shape).to(device)


def scalar(value: float, like: torch.Tensor) -> torch.Tensor | float:
    """`value` as a 0-d tensor of `like`'s dtype and device, made once: `x * scalar(c, x)` computes `x * c` in
    one operator. Under torch.compile it is the number itself, which the compiler folds into its kernels (and
    Dynamo would trace past the cache, with a warning)."""
    if torch.compiler.is_compiling():
        return value
    return constant((float(value),), like.device, like.dtype, ())
