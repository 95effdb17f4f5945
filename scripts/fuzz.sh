#!/usr/bin/env bash
# Fuzz pressbot's parsers of hostile input.
#
#   scripts/fuzz.sh            property tests with many cases (stable Rust, what CI runs)
#   scripts/fuzz.sh libfuzzer [SECONDS]   every cargo-fuzz target for SECONDS (default 60)
#                              each, seeded with tests/corpus/<target>/; needs a nightly
#                              toolchain and `cargo install cargo-fuzz`
#
# A crash found by libFuzzer lands in fuzz/artifacts/<target>/: copy it into
# tests/corpus/<target>/ (named after what it does) so every test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-prop}"
case "$mode" in
  prop)
    export PROPTEST_CASES="${PROPTEST_CASES:-5000}"
    cargo test -p pressbot-core --test prop_inputs
    cargo test -p pressbot-activities --test prop_hostile
    PRESSBOT_PROP_EXPLORE=1 cargo test -p pressbot-jats --test prop
    ;;
  libfuzzer)
    secs="${2:-60}"
    command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 2; }
    for target in s3_event starter_message workflow_definition jats zip; do
      mkdir -p "fuzz/corpus/$target"
      cp -n tests/corpus/"$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
      rm -f "fuzz/corpus/$target/README.md"
      (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
          -max_total_time="$secs" -rss_limit_mb=1024 -max_len=262144)
    done
    ;;
  *)
    echo "usage: $0 [prop | libfuzzer [SECONDS]]" >&2
    exit 2
    ;;
esac
