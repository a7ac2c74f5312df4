# syntax=docker/dockerfile:1
# AEGIS image: the built dashboard and the Python app, running as a non-root user.
#   docker build -t aegis .            (targets: `app` (default) and `proxy` (nginx + assets))
#   docker compose up -d               (see docker-compose.yml and docs/deploy.md)
# The base images are build arguments, for a registry mirror or an air-gapped build
# (scripts/container_smoke.sh builds this file with podman on bases made from Debian packages).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NGINX_IMAGE=nginx:1.27-bookworm

# --- 1. the web dashboard ---------------------------------------------------------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- 2. the Python environment (locked, no dev tools) -----------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/aegis/.venv
RUN pip install --no-cache-dir uv
WORKDIR /opt/aegis
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src/ ./src/
RUN uv sync --frozen --no-dev --no-editable

# --- 3. nginx in front, serving the hashed assets itself ---------------------------------------
FROM ${NGINX_IMAGE} AS proxy
COPY deploy/nginx/aegis.conf /etc/nginx/conf.d/default.conf
RUN sed -i -e 's/127.0.0.1:8001;/api1:8000;/' -e 's/127.0.0.1:8002;/api2:8000;/' \
        /etc/nginx/conf.d/default.conf
COPY --from=web /src/web/dist /srv/aegis/web

# --- 4. the application -------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS app
RUN groupadd --system aegis && useradd --system --gid aegis --home-dir /var/lib/aegis aegis \
    && install -d -o aegis -g aegis /var/lib/aegis
COPY --from=build /opt/aegis/.venv /opt/aegis/.venv
COPY --from=web /src/web/dist /opt/aegis/web/dist
ENV PATH=/opt/aegis/.venv/bin:$PATH \
    AEGIS_DATA_DIR=/var/lib/aegis \
    AEGIS_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/aegis
USER aegis
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["aegis", "serve"]
