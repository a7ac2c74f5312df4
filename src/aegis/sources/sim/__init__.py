"""The market simulator: the default source (``SimSource``) and a clock-free tick generator
for benchmarks (``generate_ticks``)."""

from aegis.sources.sim.generate import generate_ticks
from aegis.sources.sim.source import SimSource

__all__ = ["SimSource", "generate_ticks"]
