#!/usr/bin/env bash
# pressbot benchmarks. Figures in docs/benchmarks.md come from this script.
#
#   bash scripts/bench.sh            full run: dist builds, criterion benches,
#                                    whole-process figures (pressbot-bench)
#   bash scripts/bench.sh --quick    CI smoke: debug profile, every criterion
#                                    bench run once, pressbot-bench --quick;
#                                    asserts nothing about timings
#
# Extra arguments after the mode go to pressbot-bench, e.g.
#   bash scripts/bench.sh --full --workflows 100000    (the long RSS-flatness run)
#   bash scripts/bench.sh --full --poll-interval 10ms
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:---full}"
[ $# -gt 0 ] && shift

machine() {
    echo "== machine"
    echo "nproc: $(nproc)"
    grep -m1 'model name' /proc/cpuinfo || true
    free -h
    rustc --version
    git rev-parse --short HEAD
}

case "$mode" in
--quick)
    # cargo test runs criterion benches once each, in the test profile.
    cargo test --workspace --bench '*'
    cargo build -p pressbot-daemons -p pressbot-cli --bins
    cargo run -p pressbot-bench -- --quick --bin-dir target/debug "$@"
    ;;
--full)
    machine
    mkdir -p target/bench
    cargo bench -p pressbot-core --bench decider | tee target/bench/decider.txt
    cargo bench -p pressbot-activities --bench activities | tee target/bench/activities.txt
    cargo bench -p pressbot-aws --bench swf_tasks | tee target/bench/swf_tasks.txt
    # The deployable build (see [profile.dist] in Cargo.toml): what an
    # operator runs, so what the footprint figures are of.
    cargo build --profile dist -p pressbot-daemons -p pressbot-cli -p pressbot-bench
    target/dist/pressbot-bench --bin-dir target/dist --json target/bench/process.json "$@"
    ;;
*)
    echo "usage: $0 [--quick|--full] [pressbot-bench args]" >&2
    exit 2
    ;;
esac
