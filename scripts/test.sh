#!/usr/bin/env bash
# The test command: installs what the tests need (first run only, see scripts/setup.sh), then runs
# pytest against real local services. Extra arguments go to pytest, e.g. scripts/test.sh -k npm -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .cache/venv/bin/python -m pytest "$@"
