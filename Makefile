# AEGIS — two commands: `make run` (everything, embedded defaults) and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
WEB_SOURCES := $(shell find web -type f \( -path 'web/node_modules' -prune -o -path 'web/dist' -prune -o -print \) 2>/dev/null | grep -v -e node_modules -e '^web/dist')

.PHONY: run test lint typecheck pytest web web-test bench setup

$(UV):
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --user --quiet uv

# bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set (containers, CI) every
# start would otherwise compile each module again (~4 s of a fresh `aegis serve` here)
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --frozen python -m compileall -q src
	@touch $@

setup: .venv/.synced

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build

web: web/dist/index.html

run: setup web
	$(UV) run aegis db upgrade
	$(UV) run aegis serve

lint: setup
	$(UV) run ruff check src tests
	$(UV) run ruff format --check src tests

typecheck: setup
	$(UV) run mypy
	$(UV) run mypy tests

pytest: setup web
	$(UV) run pytest

web-test: web/node_modules/.installed
	cd web && npm run check && npm test

test: lint typecheck web-test pytest
