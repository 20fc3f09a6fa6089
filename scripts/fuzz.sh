#!/usr/bin/env bash
# Builds HubWire's libFuzzer targets (swiftc -sanitize=fuzzer,address, straight from
# Sources/HubWire: it imports nothing of ours) and runs them. docs/FUZZING.md says what each
# target checks and records the long runs.
#
#   scripts/fuzz.sh [TARGET...] [--seconds N] [--runs N] [--slow-seconds N]
#                                     run each TARGET (default: all) for N seconds or N executions
#                                     (neither: until stopped)
#   scripts/fuzz.sh --merge [TARGET...]  add inputs reaching new edges to Fuzz/corpus/ (small ones only)
#   scripts/fuzz.sh --hex FILE [--stream]  print a fuzzer input in the unit-test corpus format
#   scripts/fuzz.sh --build              only build
#
# Targets: http-request http-response websocket json. Each run reads the committed corpus
# Fuzz/corpus/TARGET/, the unit-test corpus Tests/HubWireTests/Corpus/TARGET/ (as seeds) and the
# work corpus Fuzz/work/TARGET/corpus/ (git-ignored), and writes new inputs to the work corpus.
# A crash, a timeout or a slow input fails the run: its input is minimised, and the script
# prints it in the format of Tests/HubWireTests/Corpus/, where it must go (with a unit test and
# the fix) so the test suite replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(http-request http-response websocket json)
build=.build-fuzz
work=Fuzz/work
seconds=""
runs=""
# An input slower than this (whole seconds, libFuzzer's -report_slow_units) is a finding. The
# parsers take microseconds to milliseconds on the largest input (-max_len below), so a second
# is far past any honest input; `confirm_slow` weeds out units the scheduler merely held up.
slow_seconds=1
mode=run
targets=()
hex_file=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --slow-seconds) slow_seconds="$2"; shift 2 ;;
        --merge) mode=merge; shift ;;
        --build) mode=build; shift ;;
        --hex) mode=hex; hex_file="$2"; shift 2 ;;
        --stream) hex_stream=1; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [ -f "Fuzz/$target/main.swift" ] || { echo "fuzz: no target $target (${all_targets[*]})" >&2; exit 2; }
done

# Prints a raw fuzzer input as a corpus .hex file. Stream targets (all but json) start with the
# control byte (Fuzz/Support/FuzzInput.swift): bit 0 becomes `# limits: small`, the rest (read
# sizes) is dropped, since the replay tries every split.
if [ "$mode" = hex ]; then
    exec python3 - "$hex_file" "${hex_stream:-0}" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
print('# What broke, when, and the commit that fixed it.')
print('# expect: FILL IN (ok, or the error)')
if sys.argv[2] == '1':
    if data and data[0] & 1:
        print('# limits: small')
    print('# fuzzer control byte: 0x%02x' % (data[0] if data else 0))
    data = data[1:]
for i in range(0, len(data), 16):
    print(' '.join('%02x' % b for b in data[i:i + 16]))
EOF
fi

# The toolchain's own libFuzzer runtime (lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a) is what
# -sanitize=fuzzer links; Swift's Linux toolchains ship it, so there is nothing to install.
swift_root=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")
if ! ls "$swift_root"/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 \
    && ! ls "$swift_root"/lib/swift/clang/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
    echo "fuzz: no libclang_rt.fuzzer in the Swift toolchain at $swift_root (docs/FUZZING.md)" >&2
    exit 1
fi

swift_flags=(-O -g -sanitize=fuzzer,address -swift-version 6 -enable-upcoming-feature ExistentialAny)
lock=/tmp/spacehub-swift-build.lock  # one Swift build at a time on the machine (scripts/swift-locked)

# True when $1 is missing or older than any of the other files.
stale() {
    local out="$1"; shift
    [ -e "$out" ] || return 0
    [ -n "$(find "$@" -newer "$out" -print -quit)" ]
}

# Runs swiftc under the machine-wide build lock, its output in a log shown only on failure (the
# linker warns about every ASan symbol it cannot export).
compile() {
    local log="$1"; shift
    flock "$lock" swiftc "${swift_flags[@]}" -parse-as-library "$@" > "$log" 2>&1 \
        || { grep -v "ld.gold: warning" "$log" >&2; exit 1; }
}

build_targets() {
    mkdir -p "$build"
    local wire=(Sources/HubWire/*.swift)
    if stale "$build/libHubWire.a" "${wire[@]}"; then
        echo "fuzz: building HubWire"
        compile "$build/HubWire.log" -module-name HubWire -emit-module -emit-module-path "$build/HubWire.swiftmodule" \
            -emit-library -static -o "$build/libHubWire.a" "${wire[@]}"
    fi
    for target in "${targets[@]}"; do
        local sources=(Fuzz/Support/*.swift "Fuzz/$target/main.swift")
        if stale "$build/fuzz-$target" "${sources[@]}" "$build/libHubWire.a"; then
            echo "fuzz: building $target"
            # -parse-as-library: main.swift has no top-level code; libFuzzer provides main().
            compile "$build/$target.log" -module-name "Fuzz${target//-/}" -I "$build" -L "$build" -lHubWire \
                "${sources[@]}" -o "$build/fuzz-$target"
        fi
    done
}

# libFuzzer options per target: the largest input (the JSON cap of 16,384 values needs 32 KiB;
# the stream targets reach every limit with their small limits), and a dictionary of tokens.
target_options() {
    local target="$1"
    local options=(-timeout=10 -report_slow_units="$slow_seconds" -print_final_stats=1)
    case "$target" in
        json) options+=(-max_len=65536) ;;
        *) options+=(-max_len=8192) ;;
    esac
    [ -f "Fuzz/$target/tokens.dict" ] && options+=(-dict="Fuzz/$target/tokens.dict")
    echo "${options[@]}"
}

# Unit-test corpus inputs as raw fuzzer inputs: stream targets get their control byte back.
seed() {
    local target="$1" out="$2"
    rm -rf "$out" && mkdir -p "$out"
    python3 - "Tests/HubWireTests/Corpus/$target" "$out" "$target" <<'EOF'
import os, sys
source, out, target = sys.argv[1:]
for name in sorted(os.listdir(source)) if os.path.isdir(source) else []:
    if not name.endswith('.hex'):
        continue
    text = open(os.path.join(source, name)).read().splitlines()
    data = bytes.fromhex(''.join(l for l in text if not l.startswith('#')).replace(' ', '').replace('\t', ''))
    if target != 'json':
        data = bytes([1 if '# limits: small' in text else 0]) + data
    open(os.path.join(out, name[:-4]), 'wb').write(data)
EOF
}

run_target() {
    local target="$1" dir="$work/$1"
    mkdir -p "$dir/corpus" "$dir/artifacts" "Fuzz/corpus/$target"
    seed "$target" "$dir/seeds"
    rm -f "$dir"/artifacts/*
    local limit=()
    [ -n "$seconds" ] && limit+=(-max_total_time="$seconds")
    [ -n "$runs" ] && limit+=(-runs="$runs")
    echo "fuzz: $target ${limit[*]}"
    local started=$SECONDS status=0
    # SWIFT_BACKTRACE: Swift's own crash handler would race libFuzzer's (and once held a crashed
    # target for ten minutes); libFuzzer and ASan print the stack and save the input.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
        "$build/fuzz-$target" $(target_options "$target") "${limit[@]}" -artifact_prefix="$dir/artifacts/" \
        "$dir/corpus" "Fuzz/corpus/$target" "$dir/seeds" > "$dir/log" 2>&1 || status=$?
    grep -E "^(#[0-9]+\s+DONE|Done [0-9]+ runs|stat::average_exec_per_sec|Slowest unit)" "$dir/log" \
        | sed "s/^/fuzz: $target: /" || true
    echo "fuzz: $target: $((SECONDS - started)) s, exit $status"
    confirm_slow "$target" "$dir" || status=1
    local found=("$dir"/artifacts/*)
    if [ $status -ne 0 ] || [ -e "${found[0]}" ]; then
        tail -n 60 "$dir/log" >&2
        for artifact in "${found[@]}"; do
            [ -e "$artifact" ] || continue
            case "$(basename "$artifact")" in
                crash-*|oom-*|leak-*)
                    SWIFT_BACKTRACE=enable=no "$build/fuzz-$target" -minimize_crash=1 -runs=20000 \
                        -exact_artifact_path="$artifact.min" "$artifact" > "$dir/minimize.log" 2>&1 || true
                    [ -s "$artifact.min" ] && artifact="$artifact.min" ;;
            esac
            echo "fuzz: $target FOUND $artifact; replay: $build/fuzz-$target $artifact" >&2
            echo "fuzz: add it to Tests/HubWireTests/Corpus/$target/ (with a unit test and the fix):" >&2
            local stream=""
            [ "$target" = json ] || stream=--stream
            "$0" --hex "$artifact" $stream >&2
        done
        return 1
    fi
}

# libFuzzer times units by the wall clock, so on a busy machine (or under `nice -n 19`) a unit
# of a millisecond can be held for seconds and saved as slow or timed out. Each such input is run
# alone three times: it is a finding only if even the fastest run is slow. Returns non-zero if a
# timeout was such a stall (the run stopped early and its execution count is short).
confirm_slow() {
    local target="$1" dir="$2" stalled=0
    for artifact in "$dir"/artifacts/slow-unit-* "$dir"/artifacts/timeout-*; do
        [ -e "$artifact" ] || continue
        local fastest=""
        for _ in 1 2 3; do
            local ms
            ms=$(SWIFT_BACKTRACE=enable=no timeout 60 "$build/fuzz-$target" -runs=1 "$artifact" 2>&1 \
                | sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p')
            ms=${ms:-60000}
            if [ -z "$fastest" ] || [ "$ms" -lt "$fastest" ]; then fastest=$ms; fi
        done
        if [ "$fastest" -lt $((slow_seconds * 1000)) ]; then
            echo "fuzz: $target: $(basename "$artifact") takes $fastest ms alone: the machine stalled, not the parser"
            case "$(basename "$artifact")" in timeout-*) stalled=1 ;; esac
            rm -f "$artifact"
        else
            echo "fuzz: $target: $(basename "$artifact") takes $fastest ms alone" >&2
        fi
    done
    return $stalled
}

# Adds inputs of the work corpus that reach a new edge to Fuzz/corpus/TARGET/, keeping only small
# ones (`committed_bytes_max`). Edges only (-use_counters=0): counting hit-count buckets as well
# keeps ten times as many files for little more, and the committed corpus should stay reviewable
# (a few hundred files, tens of KiB). The work corpus keeps everything.
committed_bytes_max=2048
merge_target() {
    local target="$1" dir="$work/$1"
    mkdir -p "Fuzz/corpus/$target" "$dir/corpus"
    local before
    before=$(ls "Fuzz/corpus/$target" | wc -l)
    SWIFT_BACKTRACE=enable=no "$build/fuzz-$target" -merge=1 -use_counters=0 $(target_options "$target") \
        "Fuzz/corpus/$target" "$dir/corpus" > "$dir/merge.log" 2>&1
    find "Fuzz/corpus/$target" -type f -size +"$committed_bytes_max"c -delete  # only new ones can be large
    echo "fuzz: $target: Fuzz/corpus/$target has $(ls "Fuzz/corpus/$target" | wc -l) inputs (was $before)," \
        "$(cat "Fuzz/corpus/$target"/* /dev/null | wc -c) bytes"
}

build_targets
[ "$mode" = build ] && exit 0
failed=()
for target in "${targets[@]}"; do
    if [ "$mode" = merge ]; then
        merge_target "$target"
    else
        run_target "$target" || failed+=("$target")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (logs in $work/<target>/log)" >&2
    exit 1
fi
