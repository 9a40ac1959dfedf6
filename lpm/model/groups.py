"""Classes grouped by equal loss weight: the symmetry the reduced program uses."""

from __future__ import annotations

import functools
import itertools
from functools import cached_property

import numpy as np

from .. import _validation as check


class Groups:
    """Classes grouped by equal loss weight (the symmetry the reduced program uses).

    Parameters and attributes
    -------------------------
    labels : ndarray, shape (K,)
        Group index of every class. Given as ``None`` for groups of consecutive classes
        in group order (the two-group model), it is built on first access, so that a
        model of any number of classes needs no per-class array until one is asked for.
    sizes : ndarray, shape (G,)
        Number of classes ``K_g`` in each group.
    weights : ndarray, shape (G,)
        Loss weight ``pi_g`` of each class of the group.
    first : ndarray, shape (G,)
        Index of the first class of each group (groups are ordered by it).
    """

    def __init__(self, labels, sizes, weights, first):
        self.sizes = np.asarray(sizes)
        self.weights = np.asarray(weights)
        self.first = np.asarray(first)
        if labels is None:
            starts, total = [], 0  # in integers: a model is built in microseconds
            for size in self.sizes.tolist():
                starts.append(total)
                total += size
            if self.first.tolist() != starts:
                raise ValueError("labels=None needs groups of consecutive classes in order")
            self.__dict__["_contiguous"] = True  # just checked
            self.__dict__["_K"] = int(total)  # summed just above, in integers
        else:
            self.__dict__["labels"] = np.asarray(labels)

    @classmethod
    def consecutive(cls, sizes: tuple, weights) -> Groups:
        """Groups of consecutive classes in order, of ``sizes`` classes (a tuple of ints)
        and loss ``weights`` (G,): ``Groups(None, sizes, weights, first)`` with the
        layout's arrays shared read-only (:func:`consecutive_layout`) and its checks
        made once per layout (a sweep builds one model per point)."""
        groups = cls.__new__(cls)
        groups.sizes, groups.first, mult = consecutive_layout(sizes)
        groups.weights = np.asarray(weights)
        groups.__dict__.update(_contiguous=True, _K=sum(sizes), _mult=mult)
        return groups

    @cached_property
    def labels(self) -> np.ndarray:
        """Group index of every class (K,), built on first access for consecutive groups."""
        check.memory((self.K,), "the group label of every class", None)
        return np.repeat(np.arange(self.G), self.sizes)

    @property
    def G(self) -> int:
        return int(self.sizes.size)

    @property
    def K(self) -> int:
        K = self.__dict__.get("_K")  # computed once (the sizes are fixed)
        if K is None:
            K = self.__dict__["_K"] = int(self.sizes.sum())
        return K

    def members(self, g: int) -> np.ndarray:
        """Indices of the classes of group ``g``."""
        if self.is_contiguous:
            start = int(self.first[g])
            return np.arange(start, start + int(self.sizes[g]))
        return np.flatnonzero(self.labels == g)

    def label_of(self, k: int) -> int:
        """The group of class ``k`` (no per-class array for consecutive groups)."""
        if self.is_contiguous:
            return int(np.searchsorted(self.first, k, side="right") - 1)
        return int(self.labels[k])

    def count_members(self, classes) -> np.ndarray:
        """How many of the classes ``classes`` (indices) fall in each group (G,)."""
        classes = np.asarray(classes, dtype=int)
        if self.is_contiguous:
            return np.bincount(
                np.searchsorted(self.first, classes, side="right") - 1, minlength=self.G
            )
        return np.bincount(self.labels[classes], minlength=self.G)

    @property
    def multiplicities(self) -> np.ndarray:
        """``K_g - 1`` of each group (G,), as floats: the multiplicity of a group's
        within-group singular value (read-only, computed once: the logits of a solve, its
        gradient and its certificate share it)."""
        mult = self.__dict__.get("_mult")  # cached by hand, as is_contiguous
        if mult is None:
            mult = self.sizes - 1.0
            mult.setflags(write=False)
            self.__dict__["_mult"] = mult
        return mult

    @property
    def is_contiguous(self) -> bool:
        """Whether the groups are consecutive classes in group order (computed once)."""
        # cached by hand: functools.cached_property takes a lock on first use (3.11)
        known = self.__dict__.get("_contiguous")
        if known is None:
            ends = self.first + self.sizes
            known = bool(np.all(self.first[1:] == ends[:-1]) and self.first[0] == 0)
            self.__dict__["_contiguous"] = known
        return known

    def __repr__(self) -> str:
        return f"Groups(sizes={self.sizes.tolist()}, weights={self.weights.tolist()})"


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


@functools.lru_cache(maxsize=256)
def consecutive_layout(sizes: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sizes, first, multiplicities)`` of groups of consecutive classes of these
    ``sizes``, for ``Groups(None, sizes, weights, first)`` (and its
    :attr:`Groups.multiplicities`): read-only arrays shared by the models of one layout (a
    sweep's points), made once."""
    sizes_array = np.array(sizes)
    out = sizes_array, np.array((0, *itertools.accumulate(sizes[:-1]))), sizes_array - 1.0
    for array in out:
        array.setflags(write=False)
    return out


@functools.lru_cache(maxsize=256)
def span_counts(first: tuple, sizes: tuple, lo: int, hi: int) -> np.ndarray:
    """How many of the classes ``lo .. hi - 1`` each group of consecutive classes holds
    (groups starting at ``first``, of ``sizes`` classes): read-only, shared by the models
    of one layout, made once."""
    counts = np.array([max(0, min(f + k, hi) - max(f, lo)) for f, k in zip(first, sizes)])
    counts.setflags(write=False)
    return counts
