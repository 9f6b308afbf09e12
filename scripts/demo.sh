#!/usr/bin/env bash
# The main job end to end. For now: install, then show what mirrorkit offers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.cache/venv/bin/mirrorkit --help
