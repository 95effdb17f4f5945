#!/usr/bin/env bash
# Fill in the placeholders of the policy documents for one environment.
# Usage: scripts/iam/render.sh ACCOUNT_ID REGION PREFIX OUT_DIR
#   e.g. scripts/iam/render.sh 123456789012 us-east-1 pressbot-prod /tmp/iam
# PREFIX is the settings' `prefix` (it prefixes every bucket, queue and the domain).
set -euo pipefail
account="${1:?account id}"; region="${2:?region}"; prefix="${3:?prefix}"; out="${4:?output dir}"
[[ "$account" =~ ^[0-9]{12}$ ]] || { echo "account id must be 12 digits: $account" >&2; exit 1; }
[[ "$prefix" =~ ^[a-z0-9-]+$ ]] || { echo "prefix must be lowercase letters, digits and '-': $prefix" >&2; exit 1; }
mkdir -p "$out"
for f in "$(dirname "$0")"/pressbot-*.json; do
  sed -e "s/ACCOUNT/$account/g" -e "s/REGION/$region/g" -e "s/PREFIX/$prefix/g" "$f" > "$out/$(basename "$f")"
done
echo "policies written to $out"
