"""The ``lpm`` command line: :func:`main` (see :mod:`lpm.cli.main`)."""

from .main import build_parser, main
from .options import parse_grid

__all__ = ["build_parser", "main", "parse_grid"]
