#!/usr/bin/env bash
# npm test: format + lint, typecheck, generated-code check, then every test (node's runner).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lint (prettier + eslint)"
npx prettier --check --log-level warn .
npx eslint --max-warnings 0 .

echo "== typecheck"
npm run --silent typecheck

echo "== gen:check"
npm run --silent gen:check

echo "== tests"
# Node 20 does not expand globs: let the shell list the files. One file at a time keeps the
# 2-core machines calm; the TAP summary (# pass / # fail) ends the output.
mapfile -t files < <(find test -name '*_test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stderr --test-reporter=tap --test-reporter-destination=stdout "${files[@]}" | tail -n 12
