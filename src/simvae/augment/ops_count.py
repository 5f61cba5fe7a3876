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

# Multi-tensor operators take whole lists of tensors (the optimiser's parameters). CUDA runs each as one kernel
# over the list; their CPU implementations loop over the tensors and dispatch per-tensor operators, which the
# count includes: torch's Adam spends 112 of them on the 16 tensors of the paper's MLP (`_foreach_add_` adds the
# step's 1 to each step counter, casting the 1 each time; `_fused_adam_` reads each counter on the host).
MULTI_TENSOR_PREFIXES = ("aten::_foreach_", "aten::_fused_")


def aten_events(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Any]:
    """The profiler events of the aten operators `fn(*args, **kwargs)` runs (nested calls included)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(*args, **kwargs)
    return [event for event in prof.events() if event.name.startswith("aten::")]


def aten_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Counter[str]:
    """How many times each aten operator runs during `fn(*args, **kwargs)`."""
    return Counter(event.name for event in aten_events(fn, *args, **kwargs))


def count_aten_ops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """The number of aten operator calls `fn(*args, **kwargs)` makes (nested calls included)."""
    return len(aten_events(fn, *args, **kwargs))


def in_multi_tensor_loops(events: list[Any]) -> int:
    """How many of `events` run nested inside a multi-tensor operator: its CPU implementation's per-tensor loop."""
    return sum(_inside(event.cpu_parent, MULTI_TENSOR_PREFIXES) for event in events)


def syncing(events: list[Any], outside: str) -> set[str]:
    """The syncing operators among `events` that do not run inside a profiler region whose name starts with
    `outside` (e.g. "Optimizer.step": CPU Adam reads its step counters, a fused CUDA Adam does not)."""
    return {event.name for event in events if event.name in SYNCING_OPS and not _inside(event, (outside,))}


def syncing_ops_outside(region: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> set[str]:
    """The syncing operators of `fn(*args, **kwargs)` outside the profiler regions named `region...` (see `syncing`)."""
    return syncing(aten_events(fn, *args, **kwargs), region)


def _inside(event: Any, prefixes: tuple[str, ...]) -> bool:
    while event is not None:
        if event.name.startswith(prefixes):
            return True
        event = event.cpu_parent
    return False
