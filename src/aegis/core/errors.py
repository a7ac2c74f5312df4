"""The one exception root. Each error knows its HTTP status, API code and WebSocket close code;
the API layer maps them in one place (``aegis.api.errors``)."""

from __future__ import annotations

from typing import Any, ClassVar


class AegisError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    ws_close_code: ClassVar[int] = 1011

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidRequest(AegisError):
    status = 400
    code = "INVALID_REQUEST"
    ws_close_code = 1008


class MissingField(InvalidRequest):
    code = "MISSING_FIELD"


class Unauthorized(AegisError):
    status = 401
    code = "UNAUTHORIZED"
    ws_close_code = 4401


class NotFound(AegisError):
    status = 404
    code = "NOT_FOUND"
    ws_close_code = 4404


class AlreadyExists(AegisError):
    status = 409
    code = "ALREADY_EXISTS"


class TooManyRequests(AegisError):
    status = 429
    code = "TOO_MANY_REQUESTS"
    ws_close_code = 4429


class StreamUnavailable(AegisError):
    status = 503
    code = "STREAM_UNAVAILABLE"
    ws_close_code = 1013


class SlowConsumer(AegisError):
    """A streaming client could not keep up even with conflation."""

    status = 503
    code = "SLOW_CONSUMER"
    ws_close_code = 4008


class StoreError(AegisError):
    code = "STORE_ERROR"


class SourceError(AegisError):
    """A market-data source failed (network, protocol, auth). Never carries secrets."""

    code = "SOURCE_ERROR"


class ImportFormatError(InvalidRequest):
    """A file given to ``aegis import`` could not be read as the expected format."""

    code = "IMPORT_FORMAT"


class UpstreamError(AegisError):
    """An external data service (DART, …) failed or answered with an error status."""

    status = 502
    code = "UPSTREAM_ERROR"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "UPSTREAM_TIMEOUT"


class Forbidden(AegisError):
    status = 403
    code = "FORBIDDEN"
    ws_close_code = 4403


class InvalidPassword(InvalidRequest):
    """A password that breaks the rules, or a wrong current password on a change."""

    code = "INVALID_PASSWORD"


class LoginThrottled(TooManyRequests):
    """Too many failed logins for one email or one IP; ``headers`` carries Retry-After."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retryAfter": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class InsecureConfiguration(AegisError):
    """Refusing to start: e.g. server mode without a strong ``AEGIS_AUTH_SECRET``."""

    code = "INSECURE_CONFIGURATION"


class InvalidToken(Unauthorized):
    """No, an expired, revoked or forged access token (RFC 6750: answered with a challenge)."""

    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class NotReady(AegisError):
    """The process is alive but cannot serve yet (store, bus or a source down)."""

    status = 503
    code = "NOT_READY"
    ws_close_code = 1013


class TooManyMessages(TooManyRequests):
    """A streaming client kept sending past its rate limit: the connection is closed with
    1008 (policy violation)."""

    code = "TOO_MANY_MESSAGES"
    ws_close_code = 1008


# --- trading ---------------------------------------------------------------------------------
class OrderRejected(InvalidRequest):
    """An order refused before it reached a broker; ``details.reason`` says why (TICK_SIZE,
    PRICE_LIMIT, INSUFFICIENT_CASH, …). Nothing was changed."""

    code = "ORDER_REJECTED"

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message, details={"reason": reason, **details})
        self.reason = reason


class OrderConflict(AegisError):
    """The order cannot take this action in its state (cancel a filled order, …)."""

    status = 409
    code = "ORDER_STATE"


class BrokerError(AegisError):
    """A broker failed (network, protocol, auth). Never carries secrets."""

    status = 502
    code = "BROKER_ERROR"


class BrokerKeyRejected(AegisError):
    """The broker refused the app key/secret or account given to connect."""

    status = 400
    code = "BROKER_KEY_REJECTED"


class BrokerUnreachable(BrokerError):
    """The broker did not answer (down, timeout, refused connection, gateway error)."""

    status = 502
    code = "BROKER_UNREACHABLE"


class TradingStandby(AegisError):
    """Another process holds the trading lease: this one does not trade."""

    status = 503
    code = "TRADING_STANDBY"
    ws_close_code = 1013
