#!/usr/bin/env bash
# npm test: format + lint, typecheck, generated-code check, the core's contract on Deno and
# Bun, then every test (node's runner).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lint (prettier + eslint)"
npx prettier --check --log-level warn .
npx eslint --max-warnings 0 .

echo "== typecheck"
npm run --silent typecheck

echo "== gen:check"
npm run --silent gen:check

echo "== core on Deno and Bun"
# The in-process contract cases and the storage contract on each runtime's own SQLite
# (test/runtimes/). Both binaries come from their npm packages (devDependencies); nothing is
# fetched: no update check, no telemetry, no auto-install, no lockfile of Deno's own.
export DENO_NO_UPDATE_CHECK=1 DO_NOT_TRACK=1 NO_COLOR=1
runtimes_failed=()
# run_runtime NAME SUMMARY_REGEX COMMAND...: full output to stderr, one summary line to stdout.
run_runtime() {
  local name=$1 summary=$2 log status=0
  shift 2
  log=$(mktemp)
  timeout 600 "$@" >"$log" 2>&1 || status=$?
  cat "$log" >&2
  local counts
  counts=$(grep -E "$summary" "$log" | sed -E 's/^ +//' | paste -sd, - | sed 's/,/, /g' || true)
  if [ "$status" -eq 0 ]; then
    echo "$name: PASS ($counts)"
  else
    echo "$name: FAIL, exit $status ($counts)"
    runtimes_failed+=("$name")
  fi
  rm -f "$log"
}
run_runtime "deno $(node_modules/.bin/deno --version | head -n 1 | cut -d' ' -f2)" '^(ok|FAILED) \|' \
  node_modules/.bin/deno test --allow-all --no-check --node-modules-dir=manual --no-lock test/runtimes/contract_deno.ts
run_runtime "bun $(node_modules/.bin/bun --version)" '^ *[0-9]+ (pass|fail)$' \
  node_modules/.bin/bun test --no-install --timeout=60000 ./test/runtimes/contract_bun.ts

echo "== tests"
# Node 20 does not expand globs: let the shell list the files. One file at a time keeps the
# 2-core machines calm; the TAP summary (# pass / # fail) ends the output.
mapfile -t files < <(find test -name '*_test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stderr --test-reporter=tap --test-reporter-destination=stdout "${files[@]}" | tail -n 12
if [ "${#runtimes_failed[@]}" -gt 0 ]; then
  echo "the core's contract failed on: ${runtimes_failed[*]} (see \"== core on Deno and Bun\" above)" >&2
  exit 1
fi
