#!/usr/bin/env bash
# Installs what `make test` needs when it is missing: redis-server, chromium,
# nginx and node/npm from Debian's packages (as root), and the e2e OpenID
# Provider's npm packages (npm ci, from the committed package-lock.json).
# Without root it stops and says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

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

if [ -f e2e/op/package-lock.json ]; then
  if [ ! -d e2e/op/node_modules ] || [ e2e/op/package-lock.json -nt e2e/op/node_modules/.package-lock.json ]; then
    echo "test-deps: npm ci in e2e/op"
    (cd e2e/op && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
