"""Technical indicators over candles, with TA-Lib's definitions."""

from aegis.research.indicators.catalog import IndicatorSpec, parse_names, valid_names
from aegis.research.indicators.compute import compute

__all__ = ["IndicatorSpec", "compute", "parse_names", "valid_names"]
