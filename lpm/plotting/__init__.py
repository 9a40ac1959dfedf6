"""Publication figures (matplotlib, no display needed): see :mod:`lpm.plotting.figures`,
:mod:`lpm.plotting.compare` for a trained network against the LPM, and
:mod:`lpm.plotting.mitigation` for the remedies of Minority Collapse compared.

Imported on request (``from lpm import plotting``), so that ``import lpm`` does not load
matplotlib.
"""

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
    theorem5_figure,
)
from .mitigation import mitigation_figure

__all__ = [
    "STYLE",
    "WIDTH",
    "comparison_figure",
    "cosine_figure",
    "curve_figure",
    "geometry_figure",
    "minority_cosine_figure",
    "mitigation_figure",
    "network_figure",
    "phase_figure",
    "save_figure",
    "setting_label",
    "theorem5_figure",
]
