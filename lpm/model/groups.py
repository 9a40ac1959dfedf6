"""Classes grouped by equal loss weight: the symmetry the reduced program uses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Groups:
    """Classes grouped by equal loss weight (the symmetry the reduced program uses).

    Attributes
    ----------
    labels : ndarray, shape (K,)
        Group index of every class.
    sizes : ndarray, shape (G,)
        Number of classes ``K_g`` in each group.
    weights : ndarray, shape (G,)
        Loss weight ``pi_g`` of each class of the group.
    first : ndarray, shape (G,)
        Index of the first class of each group (groups are ordered by it).
    """

    labels: np.ndarray
    sizes: np.ndarray
    weights: np.ndarray
    first: np.ndarray

    @property
    def G(self) -> int:
        return int(self.sizes.size)

    @property
    def K(self) -> int:
        return int(self.sizes.sum())

    def members(self, g: int) -> np.ndarray:
        """Indices of the classes of group ``g``."""
        if self.is_contiguous:
            start = int(self.first[g])
            return np.arange(start, start + int(self.sizes[g]))
        return np.flatnonzero(self.labels == g)

    @cached_property
    def is_contiguous(self) -> bool:
        ends = self.first + self.sizes
        return bool(np.all(self.first[1:] == ends[:-1]) and self.first[0] == 0)


def group_by_weight(pi: np.ndarray, table: np.ndarray | None = None) -> Groups:
    """Group classes whose loss weights are exactly equal, in order of first appearance;
    with ``table`` (K rows: a class-dependent loss's coefficients), classes whose weights
    and rows of ``table`` are all equal."""
    if table is None:
        values, first, labels, sizes = np.unique(
            pi, return_index=True, return_inverse=True, return_counts=True
        )
    else:
        keys = np.column_stack([pi, table])
        _, first, labels, sizes = np.unique(
            keys, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        values = pi[first]
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return Groups(
        labels=rank[labels.ravel()],
        sizes=sizes[order],
        weights=values[order],
        first=first[order],
    )
