#!/usr/bin/env bash
# The main job end to end: starts local registries and npm servers on 127.0.0.1, fills the sources with
# demo content, then runs keygen, pack, verify, push and verify. Output goes to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .cache/venv/bin/python scripts/demo.py "$@"
