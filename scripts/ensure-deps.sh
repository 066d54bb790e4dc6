#!/bin/sh
# Installs what `npm test` and `npm run demo` need and the machine lacks:
# the npm dependencies (npm ci when node_modules is missing or older than the
# lock file) and the Debian packages in scripts/debian-packages.txt (as root).
set -eu
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

missing=""
for pkg in $(grep -v '^#' scripts/debian-packages.txt); do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $pkg" ;;
  esac
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # haproxy/nginx/keepalived must not start system-wide services on install.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
    rm -f /usr/sbin/policy-rc.d
  else
    echo "ensure-deps: WARNING: missing Debian packages:$missing (run as root to install them); tests that need them will fail" >&2
  fi
fi
