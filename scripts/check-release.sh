#!/usr/bin/env bash
# The shipped binaries carry no fault injection (issue 16): builds the five
# binaries as `cargo build --release` does for an operator (and as
# scripts/deb/build.sh packages them), then checks that
#   - pressbot-faults is not in the normal dependency graph of the shipped
#     crates, and
#   - each binary, started with PRESSBOT_FAULTS set, refuses with exit 78
#     and says why, instead of running without the faults asked for.
# Run by scripts/test.sh; exits non-zero naming the first binary that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if cargo tree --locked -e normal -p pressbot-cli -p pressbot-daemons --prefix none \
    | grep -q '^pressbot-faults '; then
    echo "check-release: pressbot-faults is in the shipped crates' dependency graph" >&2
    exit 1
fi

cargo build --release --locked -p pressbot-cli -p pressbot-daemons --bins
dir="${CARGO_TARGET_DIR:-target}/release"
expected="this binary was built without fault injection; unset PRESSBOT_FAULTS"
for bin in pressbot decider activity-worker queue-worker workflow-starter; do
    args=()
    [ "$bin" = pressbot ] && args=(check-config)
    set +e
    out="$(PRESSBOT_FAULTS=seed=1 "$dir/$bin" "${args[@]}" 2>&1)"
    rc=$?
    set -e
    if [ "$rc" -ne 78 ] || ! grep -qF "$expected" <<<"$out"; then
        echo "check-release: $bin with PRESSBOT_FAULTS set exited $rc, expected 78 and \"$expected\"; it printed:" >&2
        echo "$out" >&2
        exit 1
    fi
done
echo "check-release: the five release binaries refuse PRESSBOT_FAULTS (exit 78); no pressbot-faults in their graph"
