#!/usr/bin/env bash
# The README's first command, as a test: scripts/demo --once must bring up kube-sim, the three
# databases, berth and HAProxy, allocate and serve every sample Service (each client command of
# its table answers a query), then stop everything it started and remove its directory.
#
#   test/demo/demo_test.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

status=0
"$root/scripts/demo" --build "$build" --once >"$out" 2>&1 || status=$?
cat "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
((status == 0)) || fail "scripts/demo --once exited with $status"

answers=$(grep -c ' answered: ' "$out" || true)
((answers == 3)) || fail "expected 3 answering Services, saw $answers"
grep -q 'tenant-a/orders-mariadb via 127.0.0.1:[0-9]* answered: mariadb ' "$out" || fail "MariaDB did not answer"
grep -q 'tenant-b/billing-postgres via 127.0.0.1:[0-9]* answered: postgres ' "$out" || fail "PostgreSQL did not answer"
grep -q 'tenant-c/sessions-redis via 127.0.0.1:[0-9]* answered: redis PONG' "$out" || fail "Redis did not answer"

# Nothing left behind: the demo's directory is gone and no process names it.
work=$(sed -n 's/.*(files in \(\/tmp\/berth-demo\.[A-Za-z0-9]*\)).*/\1/p' "$out" | head -n 1)
[[ -n $work ]] || fail "the demo did not say where its files were"
[[ ! -e $work ]] || fail "$work was left behind"
for cmdline in /proc/[0-9]*/cmdline; do
  if tr '\0' ' ' <"$cmdline" 2>/dev/null | grep -q -- "$work"; then
    fail "a process still names $work: $(tr '\0' ' ' <"$cmdline")"
  fi
done
echo "PASS: the demo served 3 databases and left nothing behind"
