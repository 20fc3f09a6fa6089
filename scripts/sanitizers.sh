#!/usr/bin/env bash
# Builds and runs the Swift test suite under AddressSanitizer (with LeakSanitizer) and under
# ThreadSanitizer, each in a scratch path of its own (.build-asan, .build-tsan) so the main build
# is left alone. Exits non-zero on a failing test or on any sanitizer report.
#
#   scripts/sanitizers.sh [address] [thread]    (default: both)
#
# scripts/test.sh runs `address` in CI; `thread` takes longer and is run by hand, with its last
# clean run recorded in docs/FUZZING.md. Suppressions, each with its reason: scripts/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)

for sanitizer in "${sanitizers[@]}"; do
    case "$sanitizer" in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
        *) echo "sanitizers: unknown sanitizer $sanitizer (address, thread)" >&2; exit 2 ;;
    esac
    started=$SECONDS
    echo "sanitizers: building the tests with --sanitize=$sanitizer in $scratch"
    # The linker warns once per ASan/TSan symbol it cannot export; that is noise, not news.
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" -Xswiftc -DHUB_INTERNAL_CHECKS \
        2>&1 | { grep -v "ld.gold: warning: Cannot export local symbol" || true; }  # pipefail keeps swift's status
    built=$SECONDS
    echo "sanitizers: running the tests under $sanitizer"
    # halt_on_error=0: report every race, then fail (exit 66); the leak check runs at exit.
    ASAN_OPTIONS="detect_leaks=1:suppressions=$PWD/scripts/sanitizers/asan.supp" LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp" \
        TSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/tsan.supp:halt_on_error=0" \
        swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" -Xswiftc -DHUB_INTERNAL_CHECKS
    echo "sanitizers: $sanitizer clean: build $((built - started)) s, tests $((SECONDS - built)) s"
done
