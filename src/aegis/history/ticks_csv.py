"""Tick CSV reader for ``aegis import ticks``: ``symbol,time,price,volume[,side]``.

Every row is checked before anything is written (a file with bad rows loads nothing, and each bad
row is named by its line). This is the import's hot path, so rows are read in blocks and each
block is converted column by column: times of one layout (``YYYY-MM-DDTHH:MM:SS[.ffffff]`` with
``Z`` or ``±HH:MM``) are parsed as character arrays in numpy, whole-number prices and volumes with
``int`` over the column. A block that does not fit (other time forms, fractional prices, or any
bad value) goes through the row-by-row checker, which accepts every form the fast path does and
names the bad rows."""

from __future__ import annotations

import csv
import gc
import mmap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aegis.core.errors import ImportFormatError
from aegis.core.timeutil import parse_instant
from aegis.domain.instruments import Instrument
from aegis.domain.sources import IMPORT
from aegis.domain.tick_arrays import Nums, exact_array
from aegis.domain.ticks import BUY, SELL, UNKNOWN_SIDE, Tick
from aegis.history.ticks_bytes import Columns, concat, read_columns
from aegis.store.base import TickColumns

TICK_COLUMNS = ("symbol", "time", "price", "volume")
SIDES = {
    "": UNKNOWN_SIDE,
    "buy": BUY,
    "b": BUY,
    "1": BUY,
    "sell": SELL,
    "s": SELL,
    "-1": SELL,
    "0": UNKNOWN_SIDE,
}
SOURCE = IMPORT
BLOCK = 100_000
BLOCK_BYTES = 4 << 20  # whole-file reader: lines converted at a time, about 80,000
I64 = npt.NDArray[np.int64]


@dataclass
class ParsedTicks:
    """The file's ticks as columns, in file order (no Tick object per row until needed)."""

    codes: I64  # each row's symbol, as an index into names
    names: list[str]
    ts: I64
    seq: I64  # rows sharing (symbol, time) numbered 0, 1, … in file order
    prices: Nums
    volumes: Nums
    sides: I64
    errors: list[str]
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # symbol → (first, last ts)

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def symbols(self) -> list[str]:
        out: list[str] = np.array(self.names, dtype=object)[self.codes].tolist()
        return out

    def columns(self, lo: int = 0, hi: int | None = None) -> TickColumns:
        """Rows lo:hi as plain columns in ``Tick`` field order (what the store binds)."""
        return TickColumns(
            np.array(self.names, dtype=object)[self.codes[lo:hi]].tolist(),
            self.ts[lo:hi].tolist(),
            self.prices[lo:hi].tolist(),
            self.volumes[lo:hi].tolist(),
            self.sides[lo:hi].tolist(),
            self.seq[lo:hi].tolist(),
            SOURCE,
        )

    def ticks(self, lo: int = 0, hi: int | None = None) -> list[Tick]:
        """Rows lo:hi as Tick objects."""
        return self.columns(lo, hi).ticks()

    def select(self, keep: npt.NDArray[np.bool_] | I64) -> ParsedTicks:
        """The rows where ``keep`` is true, or at the positions it lists, in its order."""
        return ParsedTicks(
            self.codes[keep],
            self.names,
            self.ts[keep],
            self.seq[keep],
            self.prices[keep],
            self.volumes[keep],
            self.sides[keep],
            self.errors,
            self.spans,
        )


@dataclass
class _Columns:
    symbols: list[str]
    ts: list[int]
    prices: list[int]
    volumes: list[int]
    sides: list[int]


# --- times ------------------------------------------------------------------------------------
_CUM_DAYS = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], dtype=np.int64)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _times_of_length(raw: npt.NDArray[np.uint8] | npt.NDArray[np.uint32], n: int) -> I64 | None:
    """Epoch µs of ``n``-character ISO instants given as a (rows, n) array of character codes,
    or None when any row does not have the fast layout or is not a valid instant. Only the
    columns a layout needs are converted."""
    if n < 20:
        return None

    def col(*idx: int) -> npt.NDArray[np.int32]:
        return raw[:, list(idx)].astype(np.int32)

    def pairs(*first: int) -> npt.NDArray[np.int32]:
        """Two-digit numbers starting at each of ``first``; -1 where a character is no digit."""
        tens = raw[:, list(first)].astype(np.int16) - 48
        ones = raw[:, [i + 1 for i in first]].astype(np.int16) - 48
        bad = (tens < 0) | (tens > 9) | (ones < 0) | (ones > 9)
        return np.where(bad, -1, tens * 10 + ones).astype(np.int32)

    def every(mask: npt.NDArray[np.bool_]) -> bool:
        return bool(np.all(mask))

    last = col(n - 1)[:, 0]
    if every(last == ord("Z")):
        offset = np.zeros(len(raw), dtype=np.int64)
        body = n - 1
    elif n >= 25:
        sign, colon = col(n - 6)[:, 0], col(n - 3)[:, 0]
        if not every(((sign == ord("+")) | (sign == ord("-"))) & (colon == ord(":"))):
            return None
        od = col(n - 5, n - 4, n - 2, n - 1) - 48
        if bool(np.any((od < 0) | (od > 9))):
            return None
        minutes = (od[:, 0] * 10 + od[:, 1]) * 60 + od[:, 2] * 10 + od[:, 3]
        offset = np.where(sign == ord("-"), -minutes, minutes)
        body = n - 6
    else:
        return None
    frac_digits = 0 if body == 19 else body - 20
    if body != 19 and not (1 <= frac_digits <= 6 and every(col(19)[:, 0] == ord("."))):
        return None
    seps = col(4, 7, 13, 16)
    t = col(10)[:, 0]
    if not (
        every(seps[:, :2] == ord("-"))
        and every(seps[:, 2:] == ord(":"))
        and every((t == ord("T")) | (t == ord(" ")))
    ):
        return None
    p = pairs(0, 2, 5, 8, 11, 14, 17)  # YY YY MM DD hh mm ss
    frac = col(*range(20, body)) - 48 if frac_digits else None
    if bool(np.any(p < 0)):
        return None
    if frac is not None and bool(np.any((frac < 0) | (frac > 9))):
        return None
    year = p[:, 0] * 100 + p[:, 1]
    month, day, hour, minute, second = (p[:, i] for i in range(2, 7))
    if bool(np.any((month < 1) | (month > 12) | (day < 1) | (year < 1))):
        return None
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    mi = month - 1
    month_len = _MONTH_DAYS[mi] + ((mi == 1) & leap)
    if bool(np.any((day > month_len) | (hour > 23) | (minute > 59) | (second > 59))):
        return None
    if bool(np.any(np.abs(offset) >= 24 * 60)):
        return None
    year, mi, day = year.astype(np.int64), mi.astype(np.int64), day.astype(np.int64)
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 + _CUM_DAYS[mi] + ((mi > 1) & leap) + day - 1
    days -= 719_162  # 0001-01-01 → 1970-01-01
    clock = hour * 3600 + minute * 60 + second - offset * 60
    us: I64 = (days * 86_400 + clock.astype(np.int64)) * 1_000_000
    if frac is not None:
        scale = 10 ** np.arange(5, 5 - frac_digits, -1, dtype=np.int32)
        us += (frac @ scale).astype(np.int64)
    return us


def _fast_times(col: Sequence[str]) -> list[int] | None:
    arr = np.array(col, dtype=str)
    width = arr.dtype.itemsize // 4
    if width == 0:
        return None
    codes = arr.view(np.uint32).reshape(len(arr), width)
    lengths = np.count_nonzero(codes, axis=1)  # no NUL in CSV text, so this is the length
    out = np.empty(len(arr), dtype=np.int64)
    found = np.unique(lengths).tolist()
    if len(found) == 1:  # the usual file: one layout throughout
        return _as_list(_times_of_length(codes[:, : found[0]], found[0]))
    for n in found:
        rows = lengths == n
        part = _times_of_length(codes[rows, :n], n)
        if part is None:
            return None
        out[rows] = part
    return _as_list(out)


def _as_list(a: I64 | None) -> list[int] | None:
    if a is None:
        return None
    out: list[int] = a.tolist()
    return out


def _checked_time(text: str) -> int:
    if len(text) <= 10 or not any(c in text[10:] for c in "+-Z"):
        raise ValueError(f"time {text!r} needs ISO 8601 with a UTC offset")
    return parse_instant(text)


# --- blocks -----------------------------------------------------------------------------------
def _fast_block(
    rows: list[list[str]], idx: tuple[int, int, int, int, int], instruments: dict[str, Instrument]
) -> _Columns | None:
    i_sym, i_time, i_price, i_vol, i_side = idx
    need = max(idx[:4]) + 1
    if any(len(r) < need for r in rows):
        return None
    symbols = [r[i_sym] for r in rows]
    for s in set(symbols):
        inst = instruments.get(s)
        if inst is None or inst.price_scale or inst.qty_scale:
            return None
    ts = _fast_times([r[i_time] for r in rows])
    if ts is None:
        return None
    price_col = [r[i_price] for r in rows]
    vol_col = [r[i_vol] for r in rows]
    if not all(map(str.isdigit, price_col)) or not all(map(str.isdigit, vol_col)):
        return None  # signs, blanks, decimals: the checker decides
    prices = list(map(int, price_col))
    volumes = list(map(int, vol_col))
    if min(prices) <= 0:
        return None
    sides_map = SIDES
    sides = [sides_map.get(r[i_side] if i_side < len(r) else "") for r in rows]
    if None in sides:
        return None
    return _Columns(symbols, ts, prices, volumes, sides)  # type: ignore[arg-type]


def _checked_block(
    rows: list[list[str]],
    first_line: int,
    idx: tuple[int, int, int, int, int],
    instruments: dict[str, Instrument],
    header_len: int,
    errors: list[str],
) -> _Columns:
    i_sym, i_time, i_price, i_vol, i_side = idx
    need = max(idx[:4]) + 1
    out = _Columns([], [], [], [], [])
    for lineno, row in enumerate(rows, start=first_line):
        try:
            if len(row) < need:
                raise ValueError(f"{len(row)} fields where the header has {header_len}")
            symbol = row[i_sym].strip()
            inst = instruments.get(symbol)
            if inst is None:
                raise ValueError(f"unknown symbol {symbol!r}")
            ts = _checked_time(row[i_time].strip())
            price = _scaled(row[i_price].strip(), inst.price_scale, "price")
            if price <= 0:
                raise ValueError("price must be positive")
            volume = _scaled(row[i_vol].strip(), inst.qty_scale, "volume")
            if volume < 0:
                raise ValueError(f"volume {row[i_vol].strip()!r} is not a non-negative quantity")
            side_text = row[i_side].strip().lower() if i_side < len(row) else ""
            side = SIDES.get(side_text)
            if side is None:
                raise ValueError(f"side {side_text!r}: use buy, sell or leave empty")
        except ValueError as exc:
            errors.append(f"line {lineno}: {exc}")
            continue
        out.symbols.append(symbol)
        out.ts.append(ts)
        out.prices.append(price)
        out.volumes.append(volume)
        out.sides.append(side)
    return out


def _scaled(text: str, scale: int, what: str) -> int:
    """Decimal text → integer minor units, refusing more decimals than the scale holds."""
    if scale == 0 and text.isdigit():
        return int(text)
    try:
        d = Decimal(text).scaleb(scale)
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(f"{what} {text!r} has more than {scale} decimal places")
    return int(d)


def _codes(symbols: list[str]) -> tuple[I64, list[str]]:
    names = list(dict.fromkeys(symbols))
    index = {s: i for i, s in enumerate(names)}
    n = len(symbols)
    return np.fromiter((index[s] for s in symbols), dtype=np.int64, count=n), names


def _sequences(sym: I64, names: list[str], ts: I64) -> tuple[I64, dict[str, tuple[int, int]]]:
    """A file carries no sequence: rows sharing (symbol, time) are numbered 0, 1, … in file
    order, so re-importing the same file finds the same keys. Also each symbol's time span."""
    n = len(ts)
    if n == 0:
        return np.zeros(0, dtype=np.int64), {}
    if n == 1 or bool(np.all(ts[1:] > ts[:-1])):  # the usual file: no two rows share a time
        k = len(names)
        first = np.full(k, n, dtype=np.int64)
        last = np.full(k, -1, dtype=np.int64)
        rows = np.arange(n, dtype=np.int64)
        np.minimum.at(first, sym, rows)
        np.maximum.at(last, sym, rows)
        spans = {
            names[c]: (int(ts[a]), int(ts[b]))
            for c, (a, b) in enumerate(zip(first.tolist(), last.tolist(), strict=True))
            if b >= 0
        }
        return np.zeros(n, dtype=np.int64), spans
    order = np.lexsort((np.arange(n), ts, sym))
    s, t = sym[order], ts[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1])
    pos = np.arange(n, dtype=np.int64)
    starts = np.maximum.accumulate(np.where(new, pos, 0))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = pos - starts
    firsts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    lasts = np.r_[firsts[1:] - 1, n - 1]
    spans = {
        names[int(s[a])]: (int(t[a]), int(t[b]))
        for a, b in zip(firsts.tolist(), lasts.tolist(), strict=True)
    }
    return seq, spans


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Millions of rows and ticks are allocated and all kept: the cyclic collector would scan
    them again and again (a third of the time) for cycles that cannot exist here."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_ticks_csv(path: Path, instruments: dict[str, Instrument]) -> ParsedTicks:
    with no_cyclic_gc():
        return _read(path, instruments)


def _read(path: Path, instruments: dict[str, Instrument]) -> ParsedTicks:
    with path.open("rb") as f:
        if path.stat().st_size == 0:
            return _read_checked(path, instruments)
        # Mapped, not read: no copy of the whole file, and blocks of it are converted one at a
        # time, so numpy's temporaries stay small enough to be reused rather than each faulting
        # in fresh memory (a third of the CPU time when the whole file was one block).
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            head = data[start:end].decode("utf-8", "replace").rstrip("\r")
            header = [h.strip().lower() for h in head.split(",")]
            if all(c in header for c in TICK_COLUMNS) and len(set(header)) == len(header):
                cols = _read_blocks(data, end + 1, header, instruments)
                if cols is not None:
                    return _parsed(cols)
    return _read_checked(path, instruments)


def _read_blocks(
    data: mmap.mmap, pos: int, header: list[str], instruments: dict[str, Instrument]
) -> Columns | None:
    parts: list[Columns] = []
    while pos < len(data) or not parts:
        cut = data.find(b"\n", pos + BLOCK_BYTES)
        stop = len(data) if cut < 0 else cut + 1
        part = read_columns(data[pos:stop], header, instruments, SIDES, _times_of_length)
        if part is None:
            return None
        parts.append(part)
        pos = stop
    return concat(parts)


def _parsed(c: Columns) -> ParsedTicks:
    seq, spans = _sequences(c.codes, c.names, c.ts)
    return ParsedTicks(c.codes, c.names, c.ts, seq, c.prices, c.volumes, c.sides, [], spans)


def _read_checked(path: Path, instruments: dict[str, Instrument]) -> ParsedTicks:
    errors: list[str] = []
    cols = _Columns([], [], [], [], [])
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in TICK_COLUMNS if c not in header]
        if missing:
            raise ImportFormatError(
                f"{path}: header must be symbol,time,price,volume[,side]; missing {missing}"
            )
        i_side = header.index("side") if "side" in header else len(header)
        i_sym, i_time, i_price, i_vol = (header.index(c) for c in TICK_COLUMNS)
        idx = (i_sym, i_time, i_price, i_vol, i_side)
        line = 2
        while True:
            block = list(islice(reader, BLOCK))
            if not block:
                break
            first_line = line
            line += len(block)  # csv counts records; quoted newlines never occur in tick files
            rows = [r for r in block if r]
            fast = len(rows) == len(block) and not errors
            part = _fast_block(rows, idx, instruments) if fast else None
            if part is None:
                part = _checked_block(block, first_line, idx, instruments, len(header), errors)
            if errors:
                continue  # keep checking to report every bad row; nothing will be loaded
            cols.symbols += part.symbols
            cols.ts += part.ts
            cols.prices += part.prices
            cols.volumes += part.volumes
            cols.sides += part.sides
    if errors:
        empty = np.zeros(0, dtype=np.int64)
        return ParsedTicks(empty, [], empty, empty, empty, empty, empty, errors)
    ts = np.array(cols.ts, dtype=np.int64)
    codes, names = _codes(cols.symbols)
    seq, spans = _sequences(codes, names, ts)
    return ParsedTicks(
        codes,
        names,
        ts,
        seq,
        exact_array(cols.prices),
        exact_array(cols.volumes),
        np.array(cols.sides, dtype=np.int64),
        errors,
        spans,
    )
