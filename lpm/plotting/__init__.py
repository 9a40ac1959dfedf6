"""Publication figures (matplotlib, no display needed): see :mod:`lpm.plotting.figures`.

Imported on request (``from lpm import plotting``), so that ``import lpm`` does not load
matplotlib.
"""

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

__all__ = [
    "STYLE",
    "WIDTH",
    "cosine_figure",
    "curve_figure",
    "geometry_figure",
    "minority_cosine_figure",
    "phase_figure",
    "save_figure",
    "setting_label",
    "settings_title",
    "theorem5_figure",
]
