#!/usr/bin/env bash
# Every research and account endpoint of issue 9 against a real `aegis serve`, printing each
# request and response: accounts and tokens (with every refused token), favorites, comparisons,
# company profile, financials, disclosures, valuation, news, keywords, AI outlook, indicators,
# indices, industries, rankings, bad input. Usage: scripts/research_tour.sh > transcript.txt
# (starts its own server on 127.0.0.1:18601 with a fresh data directory under /tmp; prices are
# simulated, statements, disclosures, valuation and headlines are the shipped real data).
set -u
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/aegis-tour.XXXXXX)
SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')

AEGIS_DATA_DIR=$W/data AEGIS_PORT=18601 AEGIS_SIM_SYMBOLS=005930,000660,035720,005380 \
  AEGIS_AUTH_SECRET=$SECRET uv run aegis serve > $W/server.log 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; rm -rf "$W"' EXIT
B=http://127.0.0.1:18601/api/v1
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:18601/readyz >/dev/null 2>&1 && break; sleep 0.5; done
show() { python3 -c 'import json,sys; d=json.load(sys.stdin); s=json.dumps(d, ensure_ascii=False); n=int(sys.argv[1]); print(s if len(s)<=n else s[:n]+" …")' "${1:-700}"; }
call() { # method path [json] [chars] → prints the exchange, leaves the body in $W/last.json
  local m=$1 p=$2 d=${3:-}
  echo; echo "\$ curl -X $m '$p'${d:+ -d '$d'}${TOK:+ -H 'Authorization: Bearer …'}"
  local auth=(); [ -n "${TOK:-}" ] && auth=(-H "Authorization: Bearer $TOK")
  p=$(python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe="/?&=,:.-_~%"))' "$p")
  if [ -n "$d" ]; then curl -s -o $W/last.json -D $W/head.txt -w "HTTP %{http_code}\n" -X "$m" "$B$p" "${auth[@]}" -H 'content-type: application/json' --data-binary "$d"
  else curl -s -o $W/last.json -D $W/head.txt -w "HTTP %{http_code}\n" -X "$m" "$B$p" "${auth[@]}"; fi
  grep -i '^retry-after' $W/head.txt
  if [ -s $W/last.json ]; then show "${4:-700}" < $W/last.json; fi
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2]))["data"]; print(eval(sys.argv[1]))' "$1" "$W/last.json"; }
forge() { # kind user_id → a token the server must refuse
  uv run python - "$1" "$2" "$SECRET" <<'EOF'
import base64, json, sys, time, jwt
kind, uid, secret = sys.argv[1], sys.argv[2], sys.argv[3]
now = int(time.time())
claims = {"iss": "aegis", "sub": uid, "iat": now - 3600, "exp": now - 60, "jti": "x" * 32, "typ": "access"}
if kind == "expired":
    print(jwt.encode(claims, secret, algorithm="HS256"))
elif kind == "none":
    b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
    print(b({"alg": "none", "typ": "JWT"}) + "." + b({**claims, "exp": now + 600}) + ".")
elif kind == "wrongkey":
    print(jwt.encode({**claims, "exp": now + 600}, "another-secret-of-enough-length-0123456789", algorithm="HS256"))
EOF
}
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)"

echo; echo "## 1. accounts"
call POST /users/signup '{"email":"kim@example.com","username":"kim","password":"Passw0rd!x"}'
call POST /users/signup '{"email":"kim@example.com","username":"kim2","password":"Passw0rd!x"}'
call POST /users/signup '{"email":"lee@example.com","username":"lee","password":"password"}'
call POST /users/signup '{"email":"lee@example.com","password":"Passw0rd!x"}'
call POST /users/signup '{"email":"lee@example.com",'
call POST /users/login '{"email":"kim@example.com","password":"Passw0rd!x"}' 400
TOK=$(field 'd["accessToken"]'); REFRESH=$(field 'd["refreshToken"]'); UID_KIM=$(python3 -c "import jwt,sys; print(jwt.decode(sys.argv[1], options={'verify_signature': False})['sub'])" "$TOK" 2>/dev/null || uv run python -c "import jwt,sys; print(jwt.decode(sys.argv[1], options={'verify_signature': False})['sub'])" "$TOK")
call GET /users/me
call PATCH /users/me '{"username":"kim.investor"}'
call POST /users/refresh "{\"refreshToken\":\"$REFRESH\"}" 400
NEWTOK=$(field 'd["accessToken"]')
echo "# the used refresh token again (rotated: refused)"
call POST /users/refresh "{\"refreshToken\":\"$REFRESH\"}"
TOK=$NEWTOK

echo; echo "## refused tokens on an endpoint that needs one (GET /users/favorites)"
SAVED=$TOK
echo "# no token"; TOK=; call GET /users/favorites
echo "# expired (signed with the server's key)"; TOK=$(forge expired "$UID_KIM"); call GET /users/favorites
echo "# alg: none"; TOK=$(forge none "$UID_KIM"); call GET /users/favorites
echo "# signed with another key"; TOK=$(forge wrongkey "$UID_KIM"); call GET /users/favorites
echo "# a valid token with one character of its signature changed"
TOK=$(python3 -c 'import sys; t=sys.argv[1]; i=len(t)-10; print(t[:i]+("A" if t[i]!="A" else "B")+t[i+1:])' "$SAVED"); call GET /users/favorites
TOK=$SAVED

echo; echo "## 2. favorites and comparisons"
call GET "/companies?keyword=삼성전자" "" 500
SAMSUNG=$(field 'd[0]["companyId"]')
call GET "/companies?keyword=000660" "" 300
HYNIX=$(field 'd[0]["companyId"]')
call GET "/companies?keyword=035720" "" 300
KAKAO=$(field 'd[0]["companyId"]')
call POST /users/favorites "{\"companyId\":$SAMSUNG}"
FAV=$(field 'd["favoriteId"]')
call POST /users/favorites "{\"companyId\":$SAMSUNG}"
call POST /users/favorites "{\"companyId\":$HYNIX}"
call POST /users/favorites '{"companyId":99999999}'
call GET /users/favorites "" 1500
call POST /comparisons "{\"name\":\"반도체와 플랫폼\",\"companies\":[$SAMSUNG,$HYNIX,$KAKAO]}" 400
CMP=$(field 'd["comparisonId"]')
call GET "/comparisons/$CMP?period=1Y" "" 2500
call POST /comparisons "{\"name\":\"one\",\"companies\":[$SAMSUNG]}"
call GET /comparisons "" 500
call PUT /users/me/layouts '{"current":"기본","layouts":{"기본":{"size":2,"cells":[{"symbol":"005930","interval":"1m"},{"symbol":"000660","interval":"5m"}],"crosshairSync":true}}}' 500
call GET /users/me/layouts "" 400
echo "# another user cannot see or delete them (404, not 403)"
OWN=$TOK; TOK=
call POST /users/signup '{"email":"park@example.com","username":"park","password":"Passw0rd!x"}' 200
call POST /users/login '{"email":"park@example.com","password":"Passw0rd!x"}' 100
TOK=$(field 'd["accessToken"]')
call GET "/comparisons/$CMP"
call DELETE "/users/favorites/$FAV"
call GET /users/favorites
TOK=$OWN
call DELETE "/users/favorites/$FAV" ""
call GET /users/favorites "" 600

echo; echo "## 3. company data (statements, disclosures and valuation: the shipped DART/KRX data)"
call GET "/companies/$SAMSUNG" "" 1200
call GET "/companies/$SAMSUNG/financials?period=annual" "" 1500
call GET "/companies/$SAMSUNG/financials?period=quarterly&basis=OFS" "" 1200
call GET "/companies/$SAMSUNG/financials?period=weekly" "" 400
call GET "/companies/$SAMSUNG/reports?limit=3" "" 1500
call GET "/companies/$SAMSUNG/valuation?limit=3" "" 1000
call GET "/companies/99999999" "" 300

echo; echo "## 4. news (the shipped 2025–2026 headlines; no feed is reachable offline)"
call GET "/companies/$SAMSUNG/news?limit=3" "" 1200
call GET "/news?q=반도체&limit=3" "" 1200
call GET "/news/keywords?window=7d&limit=15" "" 1200
call GET /news/feeds "" 800

echo; echo "## 5. AI outlook (the keyless quant analyst; no LLM configured)"
call GET "/companies/$SAMSUNG/analysis" "" 2000
call GET "/analysis/picks" "" 1500
call GET "/analysis/reports?limit=2" "" 1000

echo; echo "## 6. indicators (TA-Lib definitions over the /ohlcv candles)"
call GET "/companies/$SAMSUNG/indicators?interval=1d&limit=60&names=sma_20,rsi_14,macd_12_26_9,bbands_20_2" "" 600
echo "# the last two of the 60 rows:"
python3 -c 'import json,sys; [print(json.dumps(r, ensure_ascii=False)) for r in json.load(open(sys.argv[1]))["data"][-2:]]' $W/last.json
call GET "/companies/$SAMSUNG/indicators?interval=1d&limit=3&names=sma_20,foo_3" "" 900

echo; echo "## 7. indices, industries, rankings"
call GET "/indices/kospi?interval=1d&limit=3" "" 900
call GET "/indices/kosdaq?interval=1d&limit=2" "" 600
call GET "/industries?limit=3" "" 1200
IND=$(field 'd[0]["industryId"]')
call GET "/industries/$IND" "" 800
call GET "/industries/$IND/news?limit=2" "" 800
call GET "/industries/$IND/analysis" "" 1200
call GET "/rankings/companies?by=marketCap&market=KOSPI&limit=3" "" 1000
call GET "/rankings/industries?limit=3" "" 1000
call GET "/rankings/industries/$IND/companies?limit=3" "" 1000
call GET "/rankings/companies?by=height" "" 400

echo; echo "## password change, logout (access and refresh revoked), deletion, throttled logins"
call POST /users/me/password '{"currentPassword":"Passw0rd!x","newPassword":"N3wPassw0rd!"}'
call POST /users/login '{"email":"kim@example.com","password":"N3wPassw0rd!"}' 120
TOK=$(field 'd["accessToken"]'); REFRESH=$(field 'd["refreshToken"]')
call POST /users/logout "{\"refreshToken\":\"$REFRESH\"}"
call GET /users/me
call POST /users/refresh "{\"refreshToken\":\"$REFRESH\"}"
TOK=
call POST /users/login '{"email":"park@example.com","password":"Passw0rd!x"}' 100
TOK=$(field 'd["accessToken"]')
call DELETE /users/me '{"password":"Passw0rd!x"}'
call GET /users/me
TOK=
echo "# 11 wrong passwords for one email"
for i in $(seq 1 10); do curl -s -o /dev/null -X POST "$B/users/login" -H 'content-type: application/json' -d '{"email":"kim@example.com","password":"wrong-one"}'; done
call POST /users/login '{"email":"kim@example.com","password":"wrong-one"}'
