"""Reference data shipped with AEGIS: the KRX listing, index closes and five daily histories
(source note: ``data/SOURCE.md``)."""

from aegis.reference.hangul import chosung
from aegis.reference.history import history_symbols, load_daily_history
from aegis.reference.instruments import INDEX_SYMBOLS, load_instruments

__all__ = ["INDEX_SYMBOLS", "chosung", "history_symbols", "load_daily_history", "load_instruments"]
