#!/usr/bin/env bash
# Sets up what `cargo deny check` needs without the network and prints the
# cargo-deny executable: cargo-deny at an exact version under
# ~/.cache/pressbot/tools (built once, reused while the version matches),
# and the advisory database snapshot of scripts/deny/advisory-db.tar.gz
# unpacked into .build/advisory-dbs as the git repository cargo-deny opens.
set -euo pipefail
cd "$(dirname "$0")/../.."

DENY_VERSION="0.20.2"
TOOLS="$HOME/.cache/pressbot/tools"
deny="$TOOLS/bin/cargo-deny"
if ! "$deny" --version 2>/dev/null | grep -qx "cargo-deny $DENY_VERSION"; then
    echo "ensure-deny: installing cargo-deny $DENY_VERSION into $TOOLS (a few minutes, once)" >&2
    cargo install --locked --version "$DENY_VERSION" cargo-deny --root "$TOOLS" >&2
fi

# The directory cargo-deny derives from deny.toml's db-urls entry.
db=".build/advisory-dbs/advisory-db-3157b0e258782691"
snapshot="scripts/deny/advisory-db.tar.gz"
commit="$(sed -n 's/^commit: //p' scripts/deny/NOTICE)"
date="$(sed -n 's/^date: //p' scripts/deny/NOTICE)"
if [ "$(cat "$db/.snapshot" 2>/dev/null)" != "$commit" ]; then
    rm -rf "$db"
    mkdir -p "$db"
    tar -xzf "$snapshot" -C "$db"
    # cargo-deny opens the database as a git repository and dates it by its
    # HEAD commit (and the HEAD file's time): both carry the snapshot's
    # date, so `maximum-db-staleness` measures the snapshot's real age.
    git -C "$db" init -q
    git -C "$db" add -A
    GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
        git -C "$db" -c user.name=pressbot -c user.email=pressbot@localhost \
        commit -q -m "rustsec/advisory-db $commit (crates/, rust/)"
    touch -d "$date" "$db/.git/HEAD"
    echo "$commit" > "$db/.snapshot"
fi
echo "$deny"
