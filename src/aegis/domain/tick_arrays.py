"""Ticks of one source as numpy columns: how generated history (the simulator's morning) moves
from the generator to the store without a Python object per trade."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from aegis.domain.ticks import Tick

I64 = npt.NDArray[np.int64]
Nums = npt.NDArray[np.int64] | npt.NDArray[np.object_]


def exact_array(values: Sequence[int]) -> Nums:
    """int64 where every value fits, else Python ints (crypto amounts can exceed 2**63)."""
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array(values, dtype=object)


@dataclass(slots=True, frozen=True)
class TickArrays:
    """Equal-length columns in ``Tick`` field order; each tick's symbol is ``names[code]``."""

    names: tuple[str, ...]
    code: I64
    ts: I64
    price: Nums
    volume: Nums
    side: I64
    seq: I64
    source: str

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def empty(cls, names: Sequence[str], source: str) -> TickArrays:
        z = np.empty(0, np.int64)
        return cls(tuple(names), z, z, z, z, z, z, source)

    @classmethod
    def from_ticks(cls, ticks: Sequence[Tick]) -> TickArrays:
        """The columns of ``ticks``, which come from one source (ValueError otherwise)."""
        if not ticks:
            raise ValueError("no ticks")
        symbols, ts, prices, volumes, sides, seqs, sources = zip(*ticks, strict=True)
        kinds = set(sources)
        if len(kinds) != 1:
            raise ValueError(f"ticks of one source, not {sorted(kinds)}")
        names = {s: i for i, s in enumerate(dict.fromkeys(symbols))}
        return cls(
            tuple(names), np.array([names[s] for s in symbols], np.int64),
            np.array(ts, np.int64), exact_array(prices), exact_array(volumes),
            np.array(sides, np.int64), np.array(seqs, np.int64), kinds.pop(),
        )  # fmt: skip

    @classmethod
    def concat(cls, parts: Sequence[TickArrays]) -> TickArrays:
        """Parts sharing one symbol table and source, one after the other."""
        first = parts[0]
        if any(p.names is not first.names and p.names != first.names for p in parts):
            raise ValueError("parts with different symbol tables")
        if len(parts) == 1:
            return first

        def cat(name: str) -> npt.NDArray[np.int64]:
            out: npt.NDArray[np.int64] = np.concatenate([getattr(p, name) for p in parts])
            return out

        return cls(
            first.names, cat("code"), cat("ts"), cat("price"), cat("volume"), cat("side"),
            cat("seq"), first.source,
        )  # fmt: skip

    def take(self, which: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> TickArrays:
        """The rows a mask or an index array selects (in the index's order)."""
        return TickArrays(
            self.names, self.code[which], self.ts[which], self.price[which],
            self.volume[which], self.side[which], self.seq[which], self.source,
        )  # fmt: skip

    def rows(self, lo: int, hi: int) -> TickArrays:
        """Rows ``lo`` to ``hi`` (views, not copies)."""
        return self.take(slice(lo, hi))  # type: ignore[arg-type]  # numpy takes slices too

    def symbols(self) -> list[str]:
        table = np.array(self.names, dtype=object)
        out: list[str] = table[self.code].tolist()
        return out

    def ticks(self) -> list[Tick]:
        rows = zip(
            self.symbols(), self.ts.tolist(), self.price.tolist(), self.volume.tolist(),
            self.side.tolist(), self.seq.tolist(), repeat(self.source), strict=False,
        )  # fmt: skip
        return list(map(tuple.__new__, repeat(Tick), rows))  # all in C: no call per row
