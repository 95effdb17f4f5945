#!/usr/bin/env bash
# Make sure a moto_server (PyPI `moto[server]`: a local HTTP server speaking
# SWF, SQS and S3) is installed in the repository's gitignored build dir at
# exactly the versions of scripts/moto/requirements.txt, and print its path.
# The AWS backend's tests start it through `pressbot_aws::testing::MotoServer`.
#
# The venv is rebuilt whenever requirements.txt changes (its hash is stamped
# into the venv), so a machine with an older moto cached cannot pass where a
# fresh one fails. Everything is installed with --no-deps from the pinned
# list: nothing the registry publishes later reaches the suite.
#
# Usage: bash scripts/moto/ensure-moto.sh
#   PYTHON=python3.12 bash scripts/moto/ensure-moto.sh   # choose the interpreter
#   MOTO_REQUIREMENTS=/path/req.txt MOTO_VENV=/path/venv # another pin (drift.sh)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
requirements="${MOTO_REQUIREMENTS:-$here/requirements.txt}"
venv="${MOTO_VENV:-$root/.build/moto-venv}"
server="$venv/bin/moto_server"
stamp="$venv/.pressbot-requirements.sha256"
python="${PYTHON:-python3}"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [[ -x "$server" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
    echo "$server"
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "ensure-moto: $python not found; install Python 3 (with venv) or set PYTHON" >&2
    exit 1
fi

mkdir -p "$(dirname "$venv")"
rm -rf "$venv"
echo "ensure-moto: creating $venv from $requirements" >&2
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --requirement "$requirements" >&2
"$venv/bin/python" -m pip check --disable-pip-version-check >&2 || {
    echo "ensure-moto: $requirements is not a consistent set (pip check above)" >&2
    exit 1
}
if [[ ! -x "$server" ]]; then
    echo "ensure-moto: pip finished but $server is missing" >&2
    exit 1
fi
echo "$want" > "$stamp"
echo "$server"
