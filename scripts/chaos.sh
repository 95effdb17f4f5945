#!/usr/bin/env bash
# Chaos runs: packages through the four daemons (separate processes) while
# a random daemon is SIGKILLed every few seconds, with backend faults
# (PRESSBOT_FAULTS) and a misbehaving CMS. See docs/reliability.md.
#
#   scripts/chaos.sh              CI variants: 12 packages on the embedded backend,
#                                 6 on moto, plus the hostile-message/secret test
#   scripts/chaos.sh long [N]     the #[ignore]d long variants only: N packages
#                                 (default 50) on both backends
#
# PRESSBOT_CHAOS_SEED=<n> replays a run; PRESSBOT_CHAOS_REPORT=<file> writes
# its figures (faults by kind, kills, delivered, lost, duplicated) as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/moto/ensure-moto.sh >/dev/null

# One test at a time: the machine's cores belong to the daemons under test.
if [ "${1:-}" = "long" ]; then
  # The long variants are #[ignore]d (a default `cargo test` must not pass
  # them empty): run exactly those.
  export PRESSBOT_CHAOS_PACKAGES="${2:-50}"
  exec cargo test -p pressbot-cli --test chaos -- --nocapture --test-threads=1 --ignored _long
fi
exec cargo test -p pressbot-cli --test chaos -- --nocapture --test-threads=1
