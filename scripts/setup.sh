#!/usr/bin/env bash
# Install what mirrorkit's tests and demo need, once; a re-run on a prepared machine does nothing.
#   - Debian packages: docker-registry (a real OCI registry), skopeo (real image copies)
#   - a virtualenv in .cache/venv with mirrorkit installed editable, plus its test extra
#   - Verdaccio 5.x (a real npm server) in .cache/services
# Everything lands in .cache/ (git ignores it) except the Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache
mkdir -p "$CACHE"

say() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages
missing=()
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)   # the verify benchmark compares against it
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a registry on :5000 through systemd where systemd runs; we start our own.

# 2. Python virtualenv with mirrorkit (editable) and the test extra
VENV=$CACHE/venv
stamp_src=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.mirrorkit-stamp" 2>/dev/null)" != "$stamp_src" ]; then
  say "creating virtualenv $VENV and installing mirrorkit[test]"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
  echo "$stamp_src" > "$VENV/.mirrorkit-stamp"
fi

# 3. Verdaccio 5.x (see shared reference: node-fetch override needed on this registry copy)
SERVICES=$CACHE/services
stamp_npm=$(sha256sum scripts/services/package.json | cut -c1-16)
if [ ! -e "$SERVICES/node_modules/verdaccio/bin/verdaccio" ] || [ "$(cat "$SERVICES/.stamp" 2>/dev/null)" != "$stamp_npm" ]; then
  say "installing Verdaccio into $SERVICES"
  mkdir -p "$SERVICES"
  cp scripts/services/package.json "$SERVICES/package.json"
  (cd "$SERVICES" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$stamp_npm" > "$SERVICES/.stamp"
fi
say "ready: $("$VENV/bin/mirrorkit" --version), skopeo $(skopeo --version | awk '{print $3}'), verdaccio $(node -p "require('$SERVICES/node_modules/verdaccio/package.json').version")"
