#!/usr/bin/env bash
# The test command: installs what the tests need (first run only, see scripts/setup.sh), runs the
# linters and the type checker (any finding fails), then pytest against real local services.
# Extra arguments go to pytest, e.g. scripts/test.sh -k npm -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=.cache/venv/bin
echo "[test] ruff check" >&2
"$VENV/ruff" check .
echo "[test] ruff format --check" >&2
"$VENV/ruff" format --check .
echo "[test] mypy (configured in pyproject.toml)" >&2
"$VENV/mypy"
exec "$VENV/python" -m pytest "$@"
