#!/usr/bin/env bash
# Make sure a moto_server (PyPI `moto[server]`: a local HTTP server speaking
# SWF, SQS and S3) is installed in the repository's gitignored build dir, and
# print its path. The AWS backend's tests start it through
# `pressbot_aws::testing::MotoServer`.
#
# Usage: bash scripts/moto/ensure-moto.sh
#   PYTHON=python3.12 bash scripts/moto/ensure-moto.sh   # choose the interpreter
#   MOTO_VERSION='==5.1.*' bash scripts/moto/ensure-moto.sh  # pin a version
set -euo pipefail

root="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
venv="$root/.build/moto-venv"
server="$venv/bin/moto_server"
python="${PYTHON:-python3}"

if [[ -x "$server" ]] && "$venv/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
    echo "$server"
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "ensure-moto: $python not found; install Python 3 (with venv) or set PYTHON" >&2
    exit 1
fi

mkdir -p "$root/.build"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "ensure-moto: creating venv $venv" >&2
    "$python" -m venv "$venv"
fi
echo "ensure-moto: installing moto[server]${MOTO_VERSION:-} into $venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]${MOTO_VERSION:-}" >&2

if [[ ! -x "$server" ]]; then
    echo "ensure-moto: pip finished but $server is missing" >&2
    exit 1
fi
echo "$server"
