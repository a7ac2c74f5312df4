#!/usr/bin/env bash
# A paper round trip against a real `aegis serve` (simulator, 3 symbols), printing each request
# and response: buy in pieces, sell, fees and tax, P&L, bad input, the safety switches, a
# backtest. Usage: scripts/paper_roundtrip.sh > transcript.txt (starts its own server on
# 127.0.0.1:18600 with a fresh data directory under /tmp; the data are simulated).
set -u
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/aegis-roundtrip.XXXXXX)

AEGIS_DATA_DIR=$W/data AEGIS_PORT=18600 AEGIS_SIM_SYMBOLS=005930,000660,035720 \
  uv run aegis serve > $W/server.log 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; rm -rf "$W"' EXIT
B=http://127.0.0.1:18600/api/v1
for _ in $(seq 1 300); do curl -sf "$B/../../healthz" >/dev/null 2>&1 && break; curl -sf http://127.0.0.1:18600/healthz >/dev/null 2>&1 && break; sleep 0.5; done
show() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d, ensure_ascii=False)[:int(sys.argv[1])])' "${1:-900}"; }
call() { # method path [json] [chars] → prints the exchange, leaves the body in $W/last.json
  local m=$1 p=$2 d=${3:-}
  echo; echo "\$ curl -X $m $p${d:+ -d '$d'}"
  if [ -n "$d" ]; then curl -s -o $W/last.json -w "HTTP %{http_code}\n" -X "$m" "$B$p" -H "Authorization: Bearer ${TOK:-}" -H 'content-type: application/json' -d "$d"
  else curl -s -o $W/last.json -w "HTTP %{http_code}\n" -X "$m" "$B$p" -H "Authorization: Bearer ${TOK:-}"; fi
  show "${4:-900}" < $W/last.json
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2]))["data"]; print(eval(sys.argv[1]))' "$1" "$W/last.json"; }
snap() { python3 -c '
import sys; p=float(sys.argv[1])*float(sys.argv[2])
t=next(t for lim,t in ((2000,1),(5000,5),(20000,10),(50000,50),(200000,100),(500000,500),(10**12,1000)) if p<lim)
print(int(p//t*t))' "$1" "$2"; }
brief() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["data"]; print({k: d[k] for k in ("status","filledQuantity","averageFillPrice")})' "$W/last.json"; }
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)"
call POST /users/signup '{"email":"other@example.com","username":"other","password":"Passw0rd!x"}' 200
call POST /users/login '{"email":"other@example.com","password":"Passw0rd!x"}' 120
TOK=$(field 'd["accessToken"]')
call POST /system/trading/on '{}' 200
call GET "/quotes?symbols=000660" "" 400
LOW=$(snap "$(field 'd[0]["price"]')" 0.9)
# the simulator's session opens once its catch-up is stored: wait for it (at most 120 s)
for _ in $(seq 1 120); do
  curl -s -o $W/last.json -X POST "$B/orders" -H "Authorization: Bearer $TOK" -H 'content-type: application/json' \
    -d "{\"symbol\":\"000660\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"quantity\":1,\"price\":$LOW,\"clientOrderId\":\"probe\"}"
  grep -q MARKET_CLOSED $W/last.json || break; sleep 1
done
call POST /orders "{\"symbol\":\"000660\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"quantity\":1,\"price\":$LOW,\"clientOrderId\":\"probe\"}" 300
OTHER=$(field 'd["orderId"]')
TOK=
call POST /users/signup '{"email":"trader@example.com","username":"trader","password":"Passw0rd!x"}'
call POST /users/login '{"email":"trader@example.com","password":"Passw0rd!x"}' 120
TOK=$(field 'd["accessToken"]')
call POST /system/trading/on '{}' 400
call GET "/quotes?symbols=005930" "" 400
P=$(field 'd[0]["price"]')
N=$(python3 -c "print(int(9_000_000 // $P))")
BID=$(snap "$P" 0.999)
echo; echo "## buy $N shares at $BID (just under the last price): fills come in pieces as the tape trades at or below it"
call POST /orders "{\"symbol\":\"005930\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"quantity\":$N,\"price\":$BID,\"clientOrderId\":\"rt-buy\"}"
OID=$(field 'd["orderId"]')
last=""
for i in $(seq 1 300); do
  curl -s -o $W/last.json "$B/orders/$OID" -H "Authorization: Bearer $TOK"
  now=$(brief)
  if [ "$now" != "$last" ]; then echo "  GET /orders/$OID  (+$(python3 -c "print(round($i*0.1,1))") s) → $now"; last=$now; fi
  case "$now" in *FILLED\'*) [[ "$now" == *PARTIALLY* ]] || break;; esac
  sleep 0.1
done
call DELETE "/orders/$OID"
call GET "/orders/$OID"
Q=$(field 'd["filledQuantity"]')
call GET /portfolio "" 1200
echo; echo "## sell what was bought at market; the same request again is answered from the first (clientOrderId)"
call POST /orders "{\"symbol\":\"005930\",\"side\":\"SELL\",\"type\":\"MARKET\",\"quantity\":$Q,\"clientOrderId\":\"rt-sell\"}"
call POST /orders "{\"symbol\":\"005930\",\"side\":\"SELL\",\"type\":\"MARKET\",\"quantity\":$Q,\"clientOrderId\":\"rt-sell\"}" 300
sleep 3
call GET "/trades?page=1&pageSize=50" "" 6000
call GET /portfolio "" 900
echo; echo "## bad input: nothing changes"
call POST /orders '{"symbol":"005930","side":"BUY","type":"LIMIT","quantity":1,"price":12345}' 600
call POST /orders '{"symbol":"005930","side":"BUY","type":"MARKET","quantity":1000}' 600
call POST /orders '{"symbol":"005930","side":"BUY","type":"MARKET","quantity":0}' 600
call POST /orders '{"symbol":"005930","side":"BUY","type":"MARKET","quantity":1.5}' 600
call POST /orders '{"symbol":"999999","side":"BUY","type":"MARKET","quantity":1}' 600
call POST /orders "{\"symbol\":\"005930\",\"side\":\"SELL\",\"type\":\"MARKET\",\"quantity\":1}" 600
call GET "/orders/$OTHER" "" 400
call DELETE "/orders/$OTHER" "" 400
echo; echo "## safety: limits, REDUCING, off, kill (an open order first, for the kill switch to cancel)"
call POST /orders "{\"symbol\":\"000660\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"quantity\":1,\"price\":$LOW,\"clientOrderId\":\"rt-open\"}" 400
call PUT /system/trading/limits '{"maxOrderValue":1000000}' 500
call POST /orders "{\"symbol\":\"005930\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"quantity\":5,\"price\":$P}" 600
call POST /system/trading/state '{"state":"REDUCING","reason":"demo"}' 300
call POST /orders "{\"symbol\":\"005930\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"quantity\":1,\"price\":$P}" 600
call POST /system/trading/state '{"state":"ACTIVE"}' 200
call POST /system/trading/off '{}' 300
call POST /orders '{"symbol":"005930","side":"BUY","type":"MARKET","quantity":1}' 600
call POST /system/trading/kill '{}' 300
call GET "/orders?status=CANCELLED" "" 700
call GET /system/trading "" 2500
echo; echo "## backtest"
call POST /backtests '{"strategy":"ma_cross","symbols":["005930","000660"],"from":"2023-01-01","to":"2025-01-01","interval":"1d","params":{"fast":5,"slow":20}}' 1500
