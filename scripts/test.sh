#!/usr/bin/env bash
# The test command: sets up what the tests need (moto_server in a virtualenv
# under .build/, reused when present), then runs every test of the workspace
# on both backends. Usage: bash scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd-analyze: tests/e2e_ops.rs verifies the units in scripts/systemd.
if ! command -v systemd-analyze >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "test.sh: installing systemd (for systemd-analyze) from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq systemd >/dev/null
    apt_updated=1
fi

# chromium: crates/cms/tests/browser.rs and tests/browser_up.rs render the
# CMS's article pages in headless Chromium (Debian's package, /usr/bin/chromium).
if [ ! -x /usr/bin/chromium ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "test.sh: installing chromium (for the browser tests) from Debian's packages" >&2
    [ -n "${apt_updated:-}" ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

# moto_server: the AWS-protocol server the AWS backend is tested against.
PRESSBOT_MOTO_SERVER="$(bash scripts/moto/ensure-moto.sh)"
export PRESSBOT_MOTO_SERVER

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast "$@"
# The criterion benches, each case once in the test profile: they cannot rot,
# and no timing is asserted (figures come from scripts/bench.sh).
cargo test --workspace --locked --bench '*'
