"""The reconnect loop every streaming source runs: connect, stream until the connection ends,
back off with jitter, repeat. Status and log lines say what happened, never secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aegis.core.errors import SourceError
from aegis.sources.base import Source, SourceState
from aegis.sources.common.backoff import Backoff


class FatalSourceError(SourceError):
    """A fault retrying cannot fix (bad credentials, rejected subscription key)."""

    code = "SOURCE_FATAL"


async def run_forever(
    source: Source,
    session: Callable[[], Awaitable[None]],
    backoff: Backoff,
    log: logging.Logger,
    *,
    healthy_after_s: float = 5.0,
) -> None:
    """Run ``session`` (one connection's life) again and again until cancelled.

    A session that ran for ``healthy_after_s`` resets the backoff: a long-lived connection that
    drops once reconnects at once; a flapping one backs off exponentially.
    """
    loop = asyncio.get_running_loop()
    while True:
        source.set_state(SourceState.CONNECTING)
        started = loop.time()
        try:
            await session()
            reason = "connection closed by server"
        except asyncio.CancelledError:
            source.set_state(SourceState.STOPPED)
            raise
        except FatalSourceError as exc:
            log.error("%s: giving up: %s", source.name, exc.message)
            source.set_state(SourceState.FAILED, exc.message)
            return
        except SourceError as exc:
            reason = exc.message
        except (OSError, TimeoutError) as exc:
            reason = f"network error: {type(exc).__name__}: {exc}"
        except Exception as exc:  # a protocol surprise must not kill the source for good
            reason = f"unexpected {type(exc).__name__}: {exc}"
            log.exception("%s: session crashed", source.name)
        if loop.time() - started >= healthy_after_s:
            backoff.reset()
        delay = backoff.next_delay()
        source.status.reconnects += 1
        source.set_state(SourceState.BACKING_OFF, reason)
        log.warning(
            "%s: disconnected (%s); reconnect #%d in %.2fs",
            source.name,
            reason,
            source.status.reconnects,
            delay,
        )
        await asyncio.sleep(delay)
