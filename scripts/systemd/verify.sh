#!/usr/bin/env bash
# Check every unit in this directory with `systemd-analyze verify`, with the
# ExecStart paths pointed at a directory of built binaries (verify insists
# that they exist). Any complaint (unknown key, bad value, missing binary)
# fails. Usage: scripts/systemd/verify.sh BIN_DIR   (e.g. target/debug)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="$(cd "${1:?usage: verify.sh BIN_DIR}" && pwd)"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not found: install systemd (apt-get install systemd)" >&2
  exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for u in "$here"/*.service "$here"/*.target "$here"/*.timer; do
  sed "s#/usr/local/bin/#${bin_dir}/#g" "$u" > "$tmp/$(basename "$u")"
done
cd "$tmp"
# SYSTEMD_LOG_LEVEL=warning: notices about the host's own units are not ours.
if ! out="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify ./*.service ./*.target ./*.timer 2>&1)"; then
  echo "$out" >&2
  echo "systemd-analyze verify failed" >&2
  exit 1
fi
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "systemd-analyze verify complained (see above)" >&2
  exit 1
fi
echo "ok: $(ls | wc -l) units verified"
