#!/usr/bin/env bash
# Upstream drift check (not part of the test command): install the newest
# moto[server] from PyPI, without the pin, into its own venv, run the suite's
# moto-backed tests against it, and report what changed and what broke.
# Run it before moving scripts/moto/requirements.txt to a newer moto.
#
# Usage: bash scripts/moto/drift.sh [extra cargo test args]
# Exit: 0 the suite passes on the newest moto, 1 something broke (listed).
set -euo pipefail
cd "$(dirname "$0")/../.."

latest_venv=".build/moto-latest"
python="${PYTHON:-python3}"
rm -rf "$latest_venv"
"$python" -m venv "$latest_venv"
"$latest_venv/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]' >&2
freeze="$(mktemp)"
"$latest_venv/bin/python" -m pip freeze --disable-pip-version-check > "$freeze"

echo "== versions that differ from scripts/moto/requirements.txt (pinned -> newest)"
python3 - "$freeze" scripts/moto/requirements.txt <<'PY'
import sys
def read(p):
    out = {}
    for line in open(p):
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            out[name.lower().replace("_", "-")] = version
    return out
new, pinned = read(sys.argv[1]), read(sys.argv[2])
for name in sorted(set(new) | set(pinned)):
    if new.get(name) != pinned.get(name):
        print(f"  {name}: {pinned.get(name, '-')} -> {new.get(name, '-')}")
PY

export PRESSBOT_MOTO_SERVER="$PWD/$latest_venv/bin/moto_server"
log="$(mktemp)"
echo "== cargo test --workspace against $("$latest_venv/bin/python" -c 'import moto; print("moto", moto.__version__)')"
if cargo test --workspace --locked --no-fail-fast "$@" >"$log" 2>&1; then
    echo "drift: the suite passes on the newest moto; the pin can move (regenerate requirements.txt from $freeze)"
    exit 0
fi
echo "== what broke"
grep -E '^test .* FAILED$|^---- |panicked at|error: test failed' "$log" | head -100 || true
echo "drift: the suite fails on the newest moto (full log: $log); keep the pin until fixed"
exit 1
