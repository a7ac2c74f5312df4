"""The whole-file fast path of the tick reader: the file's bytes as one numpy array, fields found
by their commas, and every column converted at once (times with ``ticks_csv``'s layout parser,
whole numbers as digit matrices). It answers only for plain files (no quotes, no blank lines,
the same number of fields on every line, one symbol width and one time layout, whole numbers,
known sides): anything else returns None and the checking reader, which names bad rows, runs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from aegis.domain.instruments import Instrument

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
TimeParser = Callable[[U8, int], I64 | None]


class Columns:
    def __init__(
        self, codes: I64, names: list[str], ts: I64, prices: I64, volumes: I64, sides: I64
    ) -> None:
        self.codes = codes  # index into names
        self.names = names
        self.ts = ts
        self.prices = prices
        self.volumes = volumes
        self.sides = sides


PAD = 32  # zero bytes around the body: windows never reach past either end


def _gather(body: U8, start: I64, width: int) -> U8:
    """Rows of ``width`` bytes from each start (a strided view, one index per row)."""
    out: U8 = sliding_window_view(body, width)[start + PAD]
    return out


def _distinct(mat: U8) -> tuple[list[bytes], I64]:
    """Distinct rows of a (rows, width ≤ 8) byte matrix (NUL-padded text) and each row's index
    among them. Rows are packed into one uint64 each, which sorts far faster than strings, and
    found among the few distinct keys by binary search (no argsort of every row)."""
    n, width = mat.shape
    if width > 8:
        uniq, inverse = np.unique(mat.view(f"S{width}").ravel(), return_inverse=True)
        return [bytes(u) for u in uniq.tolist()], inverse.ravel().astype(np.int64)
    packed = np.zeros((n, 8), dtype=np.uint8)
    packed[:, :width] = mat
    keys = packed.view(np.uint64).ravel()
    uniq_keys = np.unique(keys)
    index: I64 = np.searchsorted(uniq_keys, keys).astype(np.int64)
    texts = [k.tobytes().rstrip(b"\0") for k in uniq_keys.astype("<u8").reshape(-1, 1)]
    return texts, index


def _whole_numbers(body: U8, start: I64, end: I64) -> I64 | None:
    """Unsigned decimal fields → int64; None if any is empty, too long or not all digits."""
    w = end - start
    if len(w) == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(w.max())
    if int(w.min()) < 1 or top > 18:
        return None
    window = _gather(body, end - top, top)  # right-aligned: cells left of the field masked
    inside = np.arange(top) >= (top - w)[:, None]
    digits = window - np.uint8(48)  # non-digits wrap past 9
    if bool(np.any((digits > 9) & inside)):
        return None
    digits *= inside
    out: I64 = digits[:, 0].astype(np.int64)
    for j in range(1, top):  # Horner over the columns: a few vector ops, no (rows, top) int64s
        out *= 10
        out += digits[:, j]
    return out


def read_columns(
    data: bytes,
    header: list[str],
    instruments: dict[str, Instrument],
    sides: dict[str, int],
    parse_times: TimeParser,
) -> Columns | None:
    """``data``: the file's bytes after the header line."""
    if b'"' in data or b"\r" in data:
        return None
    if data and not data.endswith(b"\n"):
        data += b"\n"
    body: U8 = np.frombuffer(bytes(PAD) + data + bytes(PAD), dtype=np.uint8)
    k = len(header)
    if k < 2:
        return None
    # Every separator in order, found in one pass: each line must be k-1 commas then a newline
    # (a blank line, or a line with more or fewer fields, breaks the pattern).
    seps = np.flatnonzero((body == 10) | (body == 44))
    if len(seps) == 0 or len(seps) % k:
        return None
    n = len(seps) // k
    grid = seps.reshape(n, k)
    kinds = body[grid]
    if not (bool(np.all(kinds[:, -1] == 10)) and bool(np.all(kinds[:, :-1] == 44))):
        return None
    ends = grid - PAD
    line_starts = np.empty(n, dtype=np.int64)
    line_starts[0] = 0
    line_starts[1:] = ends[:-1, -1] + 1

    def field(name: str) -> tuple[I64, I64]:
        j = header.index(name)
        return (ends[:, j - 1] + 1 if j else line_starts), ends[:, j]

    # symbols: one width, all known, whole-unit prices and quantities
    s, e = field("symbol")
    width = int((e - s).max())
    if width == 0 or bool(np.any(e - s != width)):
        return None
    uniq_text, codes = _distinct(_gather(body, s, width))
    names = [u.decode("ascii", "replace") for u in uniq_text]
    for name in names:
        inst = instruments.get(name)
        if inst is None or inst.price_scale or inst.qty_scale:
            return None
    # times: one layout
    s, e = field("time")
    width = int((e - s).max())
    if bool(np.any(e - s != width)):
        return None
    ts = parse_times(_gather(body, s, width), width)
    if ts is None:
        return None
    prices = _whole_numbers(body, *field("price"))
    volumes = _whole_numbers(body, *field("volume"))
    if prices is None or volumes is None or bool(np.any(prices <= 0)):
        return None
    if "side" in header:
        s, e = field("side")
        w = e - s
        top = max(1, int(w.max()))
        if top > 8:
            return None
        cols = np.arange(top)
        inside = cols < w[:, None]
        mat = np.where(inside, _gather(body, s, top), 0).astype(np.uint8)
        uniq_s, side_codes = _distinct(mat)
        values = [sides.get(u.decode("ascii", "replace").lower()) for u in uniq_s]
        if any(v is None for v in values):
            return None
        side = np.array(values, dtype=np.int64)[side_codes.ravel()]
    else:
        side = np.zeros(n, dtype=np.int64)
    return Columns(codes.ravel().astype(np.int64), names, ts, prices, volumes, side)


def concat(parts: list[Columns]) -> Columns:
    """Columns of consecutive blocks as one (symbol codes renumbered into one list of names)."""
    if len(parts) == 1:
        return parts[0]
    names: dict[str, int] = {}
    codes = []
    for p in parts:
        index = np.array([names.setdefault(n, len(names)) for n in p.names], dtype=np.int64)
        codes.append(index[p.codes])
    return Columns(
        np.concatenate(codes),
        list(names),
        np.concatenate([p.ts for p in parts]),
        np.concatenate([p.prices for p in parts]),
        np.concatenate([p.volumes for p in parts]),
        np.concatenate([p.sides for p in parts]),
    )
