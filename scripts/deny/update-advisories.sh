#!/usr/bin/env bash
# Refreshes the advisory database snapshot that `cargo deny check` uses in
# the test command (scripts/deny/advisory-db.tar.gz and NOTICE). Run it
# where GitHub is reachable (the CI machines are not), then commit both
# files. Usage: bash scripts/deny/update-advisories.sh [advisory-db clone]
# With a path, packs that existing clone instead of cloning.
set -euo pipefail
cd "$(dirname "$0")/../.."

src="${1:-}"
if [ -z "$src" ]; then
    src="$(mktemp -d)/advisory-db"
    git clone --depth 1 https://github.com/rustsec/advisory-db "$src"
fi
commit="$(git -C "$src" rev-parse HEAD)"
date="$(git -C "$src" log -1 --format=%cI HEAD)"
git -C "$src" archive --format=tar HEAD crates rust LICENSE.txt |
    gzip -9n > scripts/deny/advisory-db.tar.gz
sed -i "s/^commit: .*/commit: $commit/; s/^date: .*/date: $date/" scripts/deny/NOTICE
echo "advisory-db snapshot: $commit ($date), $(du -h scripts/deny/advisory-db.tar.gz | cut -f1)"
