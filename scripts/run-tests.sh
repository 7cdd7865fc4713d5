#!/usr/bin/env bash
# Runs the named test groups, each as its own jest run writing a JSON result, then
# prints the one summed line "N passed, N failed" and exits non-zero on any failure.
#   unit         colocated src/**/*.test.ts (fast; ioredis-mock where Redis is needed)
#   integration  test/integration (real redis-server, anvil, node processes)
#   mock         the Redis suites again in users' mocked-Redis CI mode (KMS_TEST_REDIS=mock)
#   e2e          test/e2e (kube-apiserver, kubectl, helm; the single-node cluster)
#   cluster      test/e2e/cluster.test.ts alone (the chart's pods on a real single-node cluster)
set -uo pipefail
cd "$(dirname "$0")/.."
results=.test-results
rm -rf "$results"; mkdir -p "$results"
export NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning ${NODE_OPTIONS:-}"
jest=node_modules/.bin/jest

for group in "$@"; do
  echo "== test group: $group" >&2
  case "$group" in
    unit) "$jest" --selectProjects unit --json --outputFile="$results/unit.json" ;;
    integration) "$jest" --selectProjects integration --runInBand --passWithNoTests --json --outputFile="$results/integration.json" ;;
    mock) KMS_TEST_REDIS=mock "$jest" --selectProjects unit integration --runInBand \
            --testPathPatterns 'src/persistence/|test/integration/persistence/' --passWithNoTests --json --outputFile="$results/mock.json" ;;
    e2e) "$jest" --selectProjects e2e --runInBand --passWithNoTests --json --outputFile="$results/e2e.json" ;;
    cluster) "$jest" --selectProjects e2e test/e2e/cluster.test.ts --runInBand --json --outputFile="$results/cluster.json" ;;
    *) echo "run-tests: unknown group '$group'" >&2; exit 2 ;;
  esac
  status=$?
  if [ ! -s "$results/$group.json" ]; then
    echo "run-tests: group $group exited $status without a result file" >&2
    echo "{\"numPassedTests\":0,\"numFailedTests\":1,\"numPendingTests\":0,\"numTodoTests\":0,\"testResults\":[]}" > "$results/$group-crashed.json"
  fi
done
node scripts/test-summary.mjs "$results"
