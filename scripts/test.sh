#!/usr/bin/env bash
# The test command: sets up what the tests need (moto_server in a virtualenv
# under .build/, reused when present), then runs every test of the workspace
# on both backends. Usage: bash scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, installed when missing (from the
# distribution's stable archive; `sudo` when not root).
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "test.sh: installing $* from Debian's packages" >&2
    [ -n "${apt_updated:-}" ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >&2
    apt_updated=1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
# systemd-analyze: tests/e2e_ops.rs verifies the units in scripts/systemd.
command -v systemd-analyze >/dev/null 2>&1 || apt_install systemd
# chromium: crates/cms/tests/browser.rs, tests/browser_up.rs and
# tests/dashboard_browser.rs render pages in headless Chromium.
[ -x /usr/bin/chromium ] || apt_install chromium
# ImageMagick: crates/activities/benches/images_vs_imagemagick.rs compares
# ResizeImages with /usr/bin/convert (quick mode in the bench smoke run).
[ -x /usr/bin/convert ] || apt_install imagemagick
[ -x /usr/bin/time ] || apt_install time
# Ghostscript's CMYK and sRGB ICC profiles: crates/activities/tests/images.rs
# converts a CMYK TIFF through its own profile and compares with lcms2.
[ -f /usr/share/color/icc/ghostscript/default_cmyk.icc ] || apt_install libgs-common
# dpkg-shlibdeps: scripts/deb/build.sh (tests/deb_package.rs builds the .deb).
command -v dpkg-shlibdeps >/dev/null 2>&1 || apt_install dpkg-dev

# moto_server: the AWS-protocol server the AWS backend is tested against.
PRESSBOT_MOTO_SERVER="$(bash scripts/moto/ensure-moto.sh)"
export PRESSBOT_MOTO_SERVER

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Each crate's modules form a DAG (issue 16): lists any import cycle.
python3 scripts/module-cycles.py
# The shipped (release) binaries carry no fault injection and refuse
# PRESSBOT_FAULTS; builds them as an operator would.
bash scripts/check-release.sh
# Supply chain (deny.toml): advisories from the snapshot in scripts/deny/
# (no fetch), bans of duplicate versions, licences, crates.io only.
# Every target's packages on disk: cargo-deny's metadata runs offline.
cargo fetch --locked
CARGO_DENY="$(bash scripts/deny/ensure-deny.sh)"
"$CARGO_DENY" --offline --locked check
cargo test --workspace --locked --no-fail-fast "$@"
# The criterion benches, each case once in the test profile: they cannot rot,
# and no timing is asserted (figures come from scripts/bench.sh).
cargo test --workspace --locked --bench '*'
