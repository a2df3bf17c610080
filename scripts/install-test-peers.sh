#!/usr/bin/env bash
# Installs the external programs the test suite talks to ("test peers") from Debian's packages.
# Tests skip a missing peer locally but fail under CI=true, so CI must run this first.
set -euo pipefail

# One list so each new capability only appends here.
PEERS=(
  ca-certificates
  chromium
  dpkg-dev
  oathtool
  openssl
  poppler-utils
  postgresql-client
  rpm
  rsyslog
  rsyslog-gnutls
  testssl.sh
)

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-test-peers: must run as root or with sudo available" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

missing=()
for pkg in "${PEERS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-test-peers: all peers present (${PEERS[*]})"
  exit 0
fi

# An update is slow and hits the mirror, so only refresh lists that are absent or older than a day.
lists=/var/lib/apt/lists
if [[ -z "$(find "$lists" -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit 2>/dev/null)" ]]; then
  "${SUDO[@]}" apt-get update
fi

"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-test-peers: installed ${missing[*]}"
