#!/bin/sh
# The bypass suite with a one-line-per-class summary (attempts, leaked, refused, sanitised, errors)
# and the list of attempts that leaked. Extra arguments go to vitest.
cd "$(dirname "$0")/../.." || exit 1
exec npx vitest run test/bypass --reporter=dot --reporter=./test/bypass/summary-reporter.ts "$@"
