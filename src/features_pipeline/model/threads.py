"""How many threads the models' native code (OpenMP, BLAS) may use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def model_threads(threads: int) -> Iterator[None]:
    """Limit OpenMP and BLAS pools to ``threads`` inside the block; 0 leaves them as they are.

    One thread is the default: results do not depend on scheduling, and OpenMP does not slow
    to a crawl when the machine is shared (hist_gradient_boosting fits ~25x slower with two
    OpenMP threads on two busy cores than with one).
    """
    if threads <= 0:
        yield
        return
    with threadpool_limits(limits=threads):
        yield
