#!/usr/bin/env bash
# Builds the core with AddressSanitizer + UndefinedBehaviorSanitizer and runs the test suite
# (or the pytest arguments given) against it. Python itself is not instrumented, so libasan is
# preloaded and leak detection is off (CPython's arenas look like leaks to LSan).
# Usage: tools/sanitize.sh [pytest args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$(tools/dev_build.sh asan -DFASTMLP_SANITIZE=ON | tail -1)
export "${out?}"
asan=$(${CXX:-g++} -print-file-name=libasan.so)
ubsan=$(${CXX:-g++} -print-file-name=libubsan.so)
export LD_PRELOAD="$asan $ubsan"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export FASTMLP_SANITIZED=1
exec python -m pytest -q -p no:cacheprovider "${@:-tests}"
