"""The logger a broker's WebSocket connection writes to.

At DEBUG the websockets library logs the start of every frame it sends, and the first frames
to a broker carry credentials (the KIS approval key in each subscription, the Kiwoom token in
LOGIN). So broker connections get their own logger, pinned at INFO: connection events still
show, frame contents never do, whatever level the root logger is given."""

from __future__ import annotations

import logging


def wire_logger(source: str) -> logging.Logger:
    logger = logging.getLogger(f"aegis.sources.{source}.wire")
    logger.setLevel(logging.INFO)
    return logger
