#!/usr/bin/env bash
# Build the Dockerfile's two images with podman and run the docker-compose.yml topology from them:
# PostgreSQL and Redis, `aegis db upgrade`, one ingester, two API processes (api1, api2) and the
# nginx proxy image in front, on one container network; then REST, gzip, hashed assets,
# WebSocket and SSE are checked through the proxy, and the images' user and health check.
#
# For a machine without Docker Hub (this project's CI and dev machines reach only PyPI, npm and
# Debian): the Dockerfile's base images (build arguments NODE_IMAGE, PYTHON_IMAGE, NGINX_IMAGE)
# are stand-ins made here from Debian bookworm packages (debootstrap): Python 3.11, the machine's
# own Node.js 20 and npm, nginx. PostgreSQL and Redis run on the host (Debian's
# packages), reached from the containers through the network's gateway. With Docker Hub, build
# the Dockerfile as it is and use docker-compose.yml (docs/deploy.md).
#
# Needs root, podman, runc, debootstrap (apt-get install podman runc debootstrap), postgresql and redis-server. Usage: sudo scripts/container_smoke.sh
# (the first run builds the stand-ins: a few minutes; AEGIS_SMOKE_KEEP=1 leaves the containers up)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${AEGIS_SMOKE_CACHE:-/var/tmp/aegis-container-smoke}
NET=aegis-smoke
PROXY_PORT=${AEGIS_SMOKE_PORT:-18080}
PG_PORT=15439
REDIS_PORT=16389
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
mkdir -p "$CACHE"
log() { printf '\n== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# This machine's container runtime: crun cannot run on a hybrid cgroup v1/v2 host, and the
# sandbox refuses raising RLIMIT_NPROC/NOFILE to podman's defaults.
export CONTAINERS_CONF=$CACHE/containers.conf
printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' > "$CONTAINERS_CONF"

# --- stand-in base images (cached) ---------------------------------------------------------
if ! podman image exists localhost/aegis-standin/base:bookworm; then
  log "debootstrap bookworm (minbase)"
  rm -rf "$CACHE/rootfs"
  debootstrap --variant=minbase bookworm "$CACHE/rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$CACHE/rootfs" -c . | podman import - localhost/aegis-standin/raw:bookworm >/dev/null
  rm -rf "$CACHE/rootfs"
  ctx=$CACHE/base && rm -rf "$ctx" && mkdir -p "$ctx/ca"
  # the machine's extra CAs (an egress proxy's), so pip, uv and npm inside the build trust it
  cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
  cat > "$ctx/Containerfile" <<'EOF'
FROM localhost/aegis-standin/raw:bookworm
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && update-ca-certificates && rm -rf /var/lib/apt/lists/*
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
EOF
  podman build --network=host -q -t localhost/aegis-standin/base:bookworm "$ctx" >/dev/null
fi
standin() { # name containerfile-body [context files...]
  local name=$1 body=$2; shift 2
  podman image exists "localhost/aegis-standin/$name" && return 0
  log "stand-in $name"
  local ctx=$CACHE/$name && rm -rf "$ctx" && mkdir -p "$ctx"
  [ $# -gt 0 ] && cp "$@" "$ctx/"
  printf 'FROM localhost/aegis-standin/base:bookworm\n%s\n' "$body" > "$ctx/Containerfile"
  podman build --network=host -q -t "localhost/aegis-standin/$name" "$ctx" >/dev/null
}
standin python:3.11 'RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
 && rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip && rm -rf /var/lib/apt/lists/*'
if ! podman image exists localhost/aegis-standin/node:20; then
  # the machine's Node.js 20 and npm as they are installed (npm is upgraded in place at boot,
  # so its Debian package no longer describes it), laid out as in the official image
  tar -C /usr/lib/node_modules -cf "$CACHE/npm.tar" npm && cp /usr/bin/node "$CACHE/node"
  standin node:20 'COPY node /usr/local/bin/node
ADD npm.tar /usr/local/lib/node_modules/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version' \
    "$CACHE/node" "$CACHE/npm.tar"
fi
standin nginx:bookworm 'RUN apt-get update && apt-get install -y --no-install-recommends nginx \
 && rm -f /etc/nginx/sites-enabled/default && rm -rf /var/lib/apt/lists/*
CMD ["nginx", "-g", "daemon off;"]'

# --- the project's images --------------------------------------------------------------------
args=(--network=host --format docker --build-arg NODE_IMAGE=localhost/aegis-standin/node:20
      --build-arg PYTHON_IMAGE=localhost/aegis-standin/python:3.11
      --build-arg NGINX_IMAGE=localhost/aegis-standin/nginx:bookworm)
log "podman build --target app"
podman build "${args[@]}" --target app -t localhost/aegis:smoke "$ROOT" | tail -3
log "podman build --target proxy"
podman build "${args[@]}" --target proxy -t localhost/aegis-proxy:smoke "$ROOT" | tail -3

# --- PostgreSQL and Redis on the host --------------------------------------------------------
W=$(mktemp -d /tmp/aegis-smoke.XXXXXX) && chmod 755 "$W"
cleanup() {
  if [ "${AEGIS_SMOKE_KEEP:-0}" != 1 ]; then
    podman rm -f -t 2 proxy api1 api2 ingest migrate netup >/dev/null 2>&1 || true
    podman network rm -f $NET >/dev/null 2>&1 || true
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -m immediate stop >/dev/null 2>&1 || true
    [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
    rm -rf "$W"
  fi
}
trap cleanup EXIT
podman rm -f -t 2 proxy api1 api2 ingest migrate netup >/dev/null 2>&1 || true
podman network rm -f $NET >/dev/null 2>&1 || true
podman network create $NET >/dev/null
# the network's bridge (and its gateway address, where PostgreSQL and Redis listen) exists only
# while a container is attached: one holds it up for the whole run
podman run -d --name netup --network $NET localhost/aegis-standin/base:bookworm sleep infinity >/dev/null
GW=$(podman network inspect $NET --format '{{range .Subnets}}{{.Gateway}}{{end}}')
SUBNET=$(podman network inspect $NET --format '{{range .Subnets}}{{.Subnet}}{{end}}')
log "PostgreSQL on $GW:$PG_PORT, Redis on $GW:$REDIS_PORT (host)"
install -d -o postgres "$W/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg" -U aegis -A trust >/dev/null
printf "listen_addresses = '127.0.0.1,%s'\nport = %s\n" "$GW" "$PG_PORT" >> "$W/pg/postgresql.conf"
echo "host all all $SUBNET trust" >> "$W/pg/pg_hba.conf"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pg/server.log" -w start >/dev/null
runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p $PG_PORT -U aegis aegis
redis-server --port $REDIS_PORT --bind "127.0.0.1 $GW" --protected-mode no --save '' \
  --appendonly no > "$W/redis.log" 2>&1 &
REDIS_PID=$!

# --- the compose topology, container by container (docker-compose.yml) ------------------------
SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
env=(-e AEGIS_DATABASE_URL=postgresql://aegis@$GW:$PG_PORT/aegis -e AEGIS_REDIS_URL=redis://$GW:$REDIS_PORT/0
     -e AEGIS_AUTH_SECRET=$SECRET -e AEGIS_SIM_SYMBOLS=005930,000660 -e AEGIS_SIM_SPEED=10)
log "migrate, ingest, api1, api2, proxy"
podman run --name migrate --network $NET "${env[@]}" localhost/aegis:smoke aegis db upgrade | tail -2
podman run -d --name ingest --network $NET "${env[@]}" -e AEGIS_INGEST_METRICS_PORT=8000 \
  localhost/aegis:smoke aegis ingest >/dev/null
for api in api1 api2; do
  podman run -d --name $api --network $NET "${env[@]}" localhost/aegis:smoke \
    aegis serve --no-ingest --host 0.0.0.0 --port 8000 >/dev/null
done
podman run -d --name proxy --network $NET -p 127.0.0.1:$PROXY_PORT:80 localhost/aegis-proxy:smoke >/dev/null

log "checks through the proxy on 127.0.0.1:$PROXY_PORT"
status=0
AEGIS_SMOKE_PORT=$PROXY_PORT AEGIS_SMOKE_DB=postgresql://aegis@127.0.0.1:$PG_PORT/aegis \
  uv run --project "$ROOT" python "$ROOT/scripts/container_checks.py" || status=$?
echo "user in the app image: $(podman exec api1 id -un)"
for c in ingest api1 api2; do  # the image's HEALTHCHECK (/healthz on :8000), run by hand
  if podman healthcheck run $c >/dev/null 2>&1; then echo "$c health check: healthy"
  else echo "$c health check: FAILED"; status=1; fi
done
podman ps -a --filter network=$NET --format '{{.Names}} {{.Image}} {{.Status}}'
if [ $status -ne 0 ]; then
  for c in ingest api1 api2 proxy; do echo "--- $c"; podman logs --tail 30 $c 2>&1; done
fi
exit $status
