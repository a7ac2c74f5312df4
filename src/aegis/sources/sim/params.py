"""Model constants of the simulator, in one place. Volatilities are daily log-return standard
deviations; all shocks are Student-t with ``T_DF`` degrees of freedom scaled to unit variance."""

from __future__ import annotations

T_DF = 4.0  # heavy tails: kurtosis well above the normal's

MARKET_VOL = {0: 0.010, 1: 0.012, 2: 0.010}  # KOSPI, KOSDAQ(+GLOBAL), KONEX factor
KOSDAQ_KOSPI_CORR = 0.8
KONEX_KOSPI_CORR = 0.4
INDUSTRY_VOL = 0.008
IDIO_VOL_LARGE = 0.012  # the largest cap
IDIO_VOL_SMALL = 0.030  # the smallest cap
BETA_RANGE = (0.7, 1.3)

GAP_SHARE = 0.4  # overnight gap as a share of the daily scale
INTRADAY_SHARE = 0.9

# Trade activity ∝ (traded value + floor) ** ACTIVITY_POWER: large caps trade far more often.
ACTIVITY_FLOOR_WON = 100_000_000
ACTIVITY_POWER = 0.6
TRADE_SIZE_SIGMA = 1.0  # log-normal spread of trade sizes

OPEN_AUCTION_SHARE = 0.02  # share of the day's volume matched at the 09:00 auction
CLOSE_AUCTION_SHARE = 0.05  # at the 15:30 auction
AUCTION_MIN_TRADES = 5.0  # an auction print is at least this many average trades

CHUNK_US = 100_000  # one batch = 100 ms of session time
INDEX_EVERY_US = 2_000_000  # KOSPI/KOSDAQ published every 2 s of session time
