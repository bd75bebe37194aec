#!/usr/bin/env bash
# Installs what `make test` needs when it is missing: redis-server, chromium,
# nginx (with the set-misc module), caddy, node/npm and gcc from Debian's packages (as root), the e2e OpenID
# Provider's and axe-core's npm packages (npm ci, from the committed package-lock.json), and
# Ory Hydra, the second e2e OpenID Provider, built into bin/hydra from the
# version e2e/hydra/go.mod pins (minutes the first time; rebuilt only when
# e2e/hydra/go.mod or go.sum change).
# Without root it stops and says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# ingress-nginx's auth-signin uses set_escape_uri (e2e/ingressnginx_test.go)
[ -f /usr/lib/nginx/modules/ngx_http_set_misc_module.so ] || missing+=(libnginx-mod-http-set-misc)
command -v caddy >/dev/null 2>&1 || missing+=(caddy) # e2e/caddy_test.go: Caddy's forward_auth
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v gcc >/dev/null 2>&1 || missing+=(gcc) # Hydra's SQLite driver uses cgo

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test-deps: missing ${missing[*]}; install them (Debian: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# e2e/op: the OpenID Provider; e2e/axe: axe-core, the accessibility checker
# the page tests inject into the gateway's pages.
for dir in e2e/op e2e/axe; do
  if [ -f "$dir/package-lock.json" ]; then
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "test-deps: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
done

# The stamp is what e2e/harness (ensureHydra) compares: sha256 of go.mod then go.sum.
hydra_stamp=$(cat e2e/hydra/go.mod e2e/hydra/go.sum | sha256sum | cut -d' ' -f1)
if [ ! -x bin/hydra ] || [ "$(cat bin/hydra.stamp 2>/dev/null)" != "$hydra_stamp" ]; then
  echo "test-deps: building Ory Hydra into bin/hydra (the first build takes minutes)"
  mkdir -p bin
  start=$(date +%s)
  (cd e2e/hydra && CGO_ENABLED=1 "${GO:-go}" build -trimpath -tags sqlite,sqlite_omit_load_extension \
    -o ../../bin/hydra github.com/ory/hydra/v2)
  echo "$hydra_stamp" >bin/hydra.stamp
  echo "test-deps: built bin/hydra in $(($(date +%s) - start))s"
fi
