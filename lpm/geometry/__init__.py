"""Measurements on arrays: the geometry of classifiers ``W`` and features ``H`` (norms,
cosines, distance to a simplex ETF, pairs of classes) and neural-collapse metrics.

These functions take plain arrays from any source, an ``lpm`` solution or a trained
network, and import nothing else from ``lpm``: every layer above may use them.
"""

from .frames import (
    ETF_TOL,
    PairStats,
    cosine_matrix,
    etf_distance,
    etf_distance_gram,
    gram_cosines,
    is_simplex_etf,
    minority_collapse_stats,
    no_pairs_stats,
    norms,
    pair_stats_from_gram,
    pair_stats_from_groups,
    self_duality_distance,
    simplex_etf_gram,
    zero_norm_stats,
)
from .neural_collapse import nc1

__all__ = [
    "ETF_TOL",
    "PairStats",
    "cosine_matrix",
    "etf_distance",
    "etf_distance_gram",
    "gram_cosines",
    "is_simplex_etf",
    "minority_collapse_stats",
    "nc1",
    "no_pairs_stats",
    "norms",
    "pair_stats_from_gram",
    "pair_stats_from_groups",
    "self_duality_distance",
    "simplex_etf_gram",
    "zero_norm_stats",
]
