"""The stream's frames written straight to the transport are the frames the websockets library
itself would write: every length encoding, read back by its own parser."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from aegis.api.serving import text_frame


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    gen: Generator[None, None, Frame] = Frame.parse(reader.read_exact, mask=False)
    try:
        next(gen)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError("frame incomplete")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_a_text_frame_of_every_length_encoding_parses_back(size: int) -> None:
    payload = ('{"type":"tick","x":"' + "가" * (size // 3) + '"}').encode()[:size]
    payload = payload.decode(errors="ignore").encode()  # whole UTF-8 characters
    frame = parse(text_frame(payload))
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert frame.data == payload
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)
