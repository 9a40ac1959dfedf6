"""Publication figures (matplotlib, no display needed): see :mod:`lpm.plotting.figures`
and :mod:`lpm.plotting.heatmaps`, :mod:`lpm.plotting.compare` for a trained network
against the LPM, :mod:`lpm.plotting.collapse_map` for the exact structure of any counts,
:mod:`lpm.plotting.limits` for the limits of vanishing regularization (ETF, SELI),
:mod:`lpm.plotting.mitigation` for the remedies of Minority Collapse compared.

Imported on request (``from lpm import plotting``), so that ``import lpm`` does not load
matplotlib.
"""

from .collapse_map import collapse_count_figure, collapse_map_figure
from .compare import comparison_figure, network_figure
from .figures import (
    STYLE,
    WIDTH,
    cosine_figure,
    curve_figure,
    geometry_figure,
    minority_cosine_figure,
    phase_figure,
    save_figure,
    setting_label,
    settings_title,
    theorem5_figure,
)
from .limits import limit_distances, limits_figure
from .mitigation import mitigation_figure

__all__ = [
    "STYLE",
    "WIDTH",
    "collapse_count_figure",
    "collapse_map_figure",
    "comparison_figure",
    "cosine_figure",
    "curve_figure",
    "geometry_figure",
    "limit_distances",
    "limits_figure",
    "minority_cosine_figure",
    "mitigation_figure",
    "network_figure",
    "phase_figure",
    "save_figure",
    "setting_label",
    "settings_title",
    "theorem5_figure",
]
