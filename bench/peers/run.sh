#!/bin/sh
# Cosmos against DBOS Transact and Prefect on the same 20-step workflow: builds a
# release cosmosc, makes a Python virtual environment with the pinned peers
# (requirements.txt) in bench/peers/.venv, and prints the table of docs/benchmarks.md
# ("Peers"). With COSMOS_TEST_POSTGRES set, PostgreSQL rows too. Arguments go to
# peers.py (--runs N, --instances N).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cargo build --release -p cosmosc --manifest-path "$root/Cargo.toml"
if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
exec "$here/.venv/bin/python" "$here/peers.py" "$root/target/release/cosmosc" "$@"
