#!/usr/bin/env bash
# The README's quick start, as a new user runs it: clone into a fresh directory, `make demo`.
# The demo is reduced through its environment variables so that CI stays within ~3 minutes;
# set LINKSEQ_DEMO_LEADS / _IDENTITIES / _DAYS yourself to run it bigger.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/linkseq-quickstart.XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone --quiet "$root" "$work/linkseq"
cd "$work/linkseq"
here="$(pwd -P)"
export LINKSEQ_DEMO_LEADS="${LINKSEQ_DEMO_LEADS:-40}"
export LINKSEQ_DEMO_IDENTITIES="${LINKSEQ_DEMO_IDENTITIES:-2}"
export LINKSEQ_DEMO_DAYS="${LINKSEQ_DEMO_DAYS:-3}"
start=$SECONDS
make demo | tee "$work/demo.txt"
echo "quick start: make demo took $((SECONDS - start)) s"

# what the README promises the user sees
grep -q "0 breaches" "$work/demo.txt"
grep -qF "LINKSEQ_DATABASE_URL=sqlite:///$here/linkseq-demo.db linkseq serve" "$work/demo.txt"
# and the kept database is one the other commands open
LINKSEQ_DATABASE_URL="sqlite:///$here/linkseq-demo.db" .venv/bin/linkseq campaigns list --json \
  | .venv/bin/python -c "import json, sys; c = json.load(sys.stdin); assert c[0]['leads'] == $LINKSEQ_DEMO_LEADS, c"
echo "quick start: ok"
