"""Model constants of the simulator, in one place. Volatilities are daily log-return standard
deviations; shocks are Student-t with ``T_DF`` degrees of freedom scaled to unit variance.
Calibrated against the real data in ``shared/data`` with ``aegis bench sim-realism``
(docs/simulator.md)."""

from __future__ import annotations

T_DF = 4.0  # heavy tails: kurtosis well above the normal's

MARKET_VOL = {0: 0.010, 1: 0.012, 2: 0.011}  # KOSPI, KOSDAQ(+GLOBAL), KONEX factor
KOSDAQ_KOSPI_CORR = 0.8
KONEX_KOSPI_CORR = 0.4
INDUSTRY_VOL = 0.007
IDIO_VOL_LARGE = 0.016  # the largest cap
IDIO_VOL_SMALL = 0.030  # the smallest cap
BETA_RANGE = (0.7, 1.3)

# Stochastic volatility: log-volatility AR(1) states (daily), market-wide and per stock.
MKT_LOGVOL_PHI, MKT_LOGVOL_ETA = 0.97, 0.16
STOCK_LOGVOL_PHI, STOCK_LOGVOL_ETA = 0.93, 0.11
# Market and industry shock days: probability per day, size (log return std of the shock).
MKT_SHOCK_P, MKT_SHOCK_SIZE = 0.02, 0.030
IND_SHOCK_P, IND_SHOCK_SIZE = 0.02, 0.035
# Stock news jumps: probability per stock-day from the largest cap to the smallest (linear in
# the size rank), Laplace scale of the size (the largest caps' jumps 40 % of it); some stocks
# go to the ±30 % limit and stay there. After a jump volatility stays up.
JUMP_P_LARGE, JUMP_P_SMALL, JUMP_SCALE = 0.002, 0.02, 0.07
LIMIT_UP_P_SMALL, LIMIT_DOWN_P_SMALL = 0.010, 0.0015  # × size rank (0 for the largest)
JUMP_LOGVOL_KICK = 0.6
# Prices revert weakly to the real anchor level, so months of simulation do not drift away.
MEAN_REVERSION = 0.006

# Overnight gap and open-to-close shares of the daily variance (real 005930: 0.90 %/1.12 %).
GAP_VAR_SHARE = 0.45

# Daily volume: log-volume = base + market AR(1) + stock AR(1) + terms for the day's move.
VOL_MKT_PHI, VOL_MKT_ETA = 0.85, 0.17
VOL_STOCK_PHI, VOL_STOCK_ETA = 0.6, 0.22
VOL_ABS_RET = 0.35  # per unit of |return| / normal volatility (capped at VOL_MOVE_CAP)
VOL_MOVE_CAP = 4.0
VOL_LOGVOL = 0.8  # per unit of log-volatility state
VOL_JUMP = 1.2  # extra log-volume on a news-jump day

# Intraday: minute activity (trade intensity and variance) as a log-AR(1) per stock plus a
# market-wide component, excited by intraday jumps.
MIN_ACT_PHI, MIN_ACT_ETA = 0.92, 0.28
MIN_VAR_POWER = 1.0  # a minute's variance ∝ activity ** power: busy minutes move more
PROFILE_VAR_POWER = 1.3  # volatility is more U-shaped than volume (steeper at the open)
MIN_MKT_ACT_ETA = 0.10
MIN_T_DF = 8.0
SIZE_POWER = 0.3
SIDE_SHARPNESS = 12.0  # how strongly trades print on the side nearer the latent price
FLOW_PHI, FLOW_ETA = 0.85, 1.0  # minute order-flow imbalance: log-odds of buying, AR(1)
MIN_NOISE = 0.3  # transient noise on each minute knot per unit of its efficient std
INTRADAY_JUMP_SHARE = 0.45  # share of news jumps that land during the session (rest overnight)
JUMP_EXCITE, JUMP_DECAY_MIN = 6.0, 20.0

# Trade activity ∝ (traded value + floor) ** ACTIVITY_POWER: large caps trade far more often.
ACTIVITY_FLOOR_WON = 100_000_000
ACTIVITY_POWER = 0.6
TRADE_SIZE_SIGMA = 1.0  # log-normal spread of trade sizes

OPEN_AUCTION_SHARE = 0.02  # share of the day's volume matched at the 09:00 auction
CLOSE_AUCTION_SHARE = 0.05  # at the 15:30 auction
AUCTION_MIN_TRADES = 5.0  # an auction print is at least this many average trades
VI_AUCTION_TRADES = 10.0  # a static-VI auction print, in average trades

CHUNK_US = 100_000  # one batch = 100 ms of session time
CATCH_UP_SPAN_US = 60_000_000  # a late-joining sim fills the morning a minute per batch
INDEX_EVERY_US = 2_000_000  # KOSPI/KOSDAQ published every 2 s of session time
