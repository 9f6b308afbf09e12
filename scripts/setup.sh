#!/usr/bin/env bash
# Install what mirrorkit's tests and demo need, once; a re-run on a prepared machine does nothing.
#   - Debian packages: docker-registry (a real OCI registry), skopeo (real image copies), chromium and
#     poppler-utils (the report test renders each report headless and reads its PDF back)
#   - a virtualenv in .cache/venv with mirrorkit installed editable, plus its test extra
#   - Verdaccio 5.x (a real npm server) in .cache/services
#   - the real Go tools pinned in scripts/tools.env (helm, opm, oc-mirror), built from the Go module
#     proxy into .cache/bin/; a tool the proxy refuses is recorded once and reported, not retried
#     (set MIRRORKIT_RETRY_TOOLS=1 to ask again)
#   - the real schemas pinned in scripts/tools.env ("schemas"): Go modules in the module cache
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
command -v chromium >/dev/null 2>&1 || missing+=(chromium)   # the report test renders the HTML and prints a PDF
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)   # pdfinfo/pdftotext read that PDF back
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
# 4. The real Go tools, pinned in scripts/tools.env. Each is built in a throw-away module of its own
#    (go get the pinned version, go build its main package) so that `go install pkg@version`'s
#    module-list look-up, which the proxy may refuse, is never needed. A stamp records what was built.
# shellcheck source=tools.env
. scripts/tools.env
BIN=$CACHE/bin
mkdir -p "$BIN"
tool_status=()
build_tool() {  # NAME MODULE VERSION PACKAGE TAGS LDFLAGS REQUIRED(yes|no)
  local name=$1 module=$2 version=$3 package=$4 tags=$5 ldflags=$6 required=$7
  local want="$module@$version tags=[$tags]"
  local stamp=$BIN/.$name.stamp refused=$BIN/.$name.refused
  if [ -x "$BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  if [ "$required" = no ] && [ -z "${MIRRORKIT_RETRY_TOOLS:-}" ] && [ "$(head -1 "$refused" 2>/dev/null)" = "$want" ]; then
    tool_status+=("$name: not built, $(sed -n 2p "$refused")")
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    say "ERROR: go is not on PATH; install Go 1.26 (https://go.dev/doc/install) to build $name"
    exit 1
  fi
  local mod=$CACHE/gotools/$name log
  log=$CACHE/gotools/$name.log
  rm -rf "$mod" && mkdir -p "$mod"
  say "building $name $version from the Go module proxy ($package)"
  if ! (cd "$mod" && go mod init "mirrorkit.local/tools/$name" && GOFLAGS="${GOFLAGS:-} -mod=mod" go get "$package@$version") >"$log" 2>&1; then
    local why status answer
    status=$(grep -m1 -oE '[0-9]{3} [A-Z][A-Za-z ]+$' "$log" || true)
    answer=$(grep -m1 'server response:' "$log" | sed 's/.*server response:[[:space:]]*//' || true)
    why="${status:-$(tail -1 "$log")}${answer:+ \"$answer\"}"
    if [ "$required" = yes ]; then
      say "ERROR: cannot fetch $module@$version: $why (full log: $log)"
      exit 1
    fi
    printf '%s\n%s\n' "$want" "the Go module proxy refused $module@$version: $why" >"$refused"
    tool_status+=("$name: not built, the Go module proxy refused $module@$version: $why")
    return 0
  fi
  if ! (cd "$mod" && GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$BIN/$name.part" "$package") >>"$log" 2>&1; then
    say "ERROR: building $name failed; last lines of $log:"
    tail -20 "$log" >&2
    exit 1
  fi
  mv -f "$BIN/$name.part" "$BIN/$name"
  echo "$want" >"$stamp"
  rm -f "$refused"
}
build_tool helm "$HELM_MODULE" "$HELM_VERSION" "$HELM_PACKAGE" "" \
  "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" yes
build_tool opm "$OPM_MODULE" "$OPM_VERSION" "$OPM_PACKAGE" "json1 containers_image_openpgp" \
  "-s -w -X github.com/operator-framework/operator-registry/cmd/opm/version.opmVersion=$OPM_VERSION" yes
build_tool oc-mirror "$OC_MIRROR_MODULE" "$OC_MIRROR_VERSION" "$OC_MIRROR_PACKAGE" "$OC_MIRROR_TAGS" "-s -w" no
# 5. The real schemas the tests validate generated objects against (tools.env, "schemas"): Go modules
#    fetched into the module cache (`go mod download`, a no-op once there).
fetch_schema() {  # NAME MODULE VERSION
  local dir
  if ! dir=$(cd "$CACHE" && GOFLAGS="${GOFLAGS:-} -mod=mod" go mod download -json "$2@$3" 2>&1 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || [ -z "$dir" ]; then
    say "ERROR: cannot fetch schema module $2@$3: $(cd "$CACHE" && go mod download "$2@$3" 2>&1 | tail -1)"
    exit 1
  fi
  tool_status+=("schema $1: $2@$3 ($dir)")
}
fetch_schema kubernetes "$KUBERNETES_SCHEMA_MODULE" "$KUBERNETES_SCHEMA_VERSION"
fetch_schema olm "$OLM_SCHEMA_MODULE" "$OLM_SCHEMA_VERSION"
fetch_schema knative "$KNATIVE_SCHEMA_MODULE" "$KNATIVE_SCHEMA_VERSION"

[ -x "$BIN/helm" ] && tool_status+=("helm: $("$BIN/helm" version --short 2>&1)")
[ -x "$BIN/opm" ] && tool_status+=("opm: $("$BIN/opm" version 2>&1 | head -1)")
[ -x "$BIN/oc-mirror" ] && tool_status+=("oc-mirror: $("$BIN/oc-mirror" version --v2 2>&1 | tail -1)")

say "ready: $("$VENV/bin/mirrorkit" --version), skopeo $(skopeo --version | awk '{print $3}'), verdaccio $(node -p "require('$SERVICES/node_modules/verdaccio/package.json').version")"
for line in "${tool_status[@]}"; do say "  $line"; done
