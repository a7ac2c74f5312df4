"""The market simulator: the default source (``SimSource``) and a clock-free tick generator
for benchmarks (``generate_ticks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aegis.sources.sim.generate import generate_ticks
    from aegis.sources.sim.source import SimSource

__all__ = ["SimSource", "generate_ticks"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the child process that makes previous sessions imports this
    # package (``history``) but not the source and its settings (~1 s of its start-up here).
    if name == "SimSource":
        from aegis.sources.sim.source import SimSource

        return SimSource
    if name == "generate_ticks":
        from aegis.sources.sim.generate import generate_ticks

        return generate_ticks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
