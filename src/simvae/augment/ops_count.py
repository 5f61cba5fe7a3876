"""Count the aten operators one call runs: a machine-independent measure of kernel launches.

On a GPU a small augmentation call is bound by launch overhead, not arithmetic, so the number of aten
operators (counted on CPU with torch.profiler, nested calls included) predicts its cost better than
a timing on whatever machine runs the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from torch.profiler import ProfilerActivity, profile

# operators that make the host wait for the device (a value read back, or a data-dependent shape; boolean-mask
# indexing runs aten::nonzero)
SYNCING_OPS = frozenset({"aten::item", "aten::_local_scalar_dense", "aten::nonzero", "aten::masked_select",
                         "aten::unique", "aten::_unique2", "aten::is_nonzero"})


def aten_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Counter[str]:
    """How many times each aten operator runs during `fn(*args, **kwargs)`."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(*args, **kwargs)
    return Counter(event.name for event in prof.events() if event.name.startswith("aten::"))


def count_aten_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """The number of aten operator calls `fn(*args, **kwargs)` makes (nested calls included)."""
    return sum(aten_ops(fn, *args, **kwargs).values())


def syncing_ops_outside(region: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> set[str]:
    """The syncing operators of `fn(*args, **kwargs)` that do not run inside a profiler region whose name
    starts with `region` (e.g. "Optimizer.step": CPU Adam reads its step counters, a fused CUDA Adam does not)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(*args, **kwargs)
    return {event.name for event in prof.events() if event.name in SYNCING_OPS and not _inside(event, region)}


def _inside(event: Any, region: str) -> bool:
    while event is not None:
        if event.name.startswith(region):
            return True
        event = event.cpu_parent
    return False
