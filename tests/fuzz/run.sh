#!/usr/bin/env bash
# run.sh: runs the libFuzzer targets of a fuzz build for a given time each and prints one line per
# target (runs, runs per second, coverage, corpus); saves and names any crash input.
#
#   tests/fuzz/run.sh --builddir DIR [--seconds N] [--jobs N] [TARGET...]
#
# DIR is a build configured with CC=clang --enable-fuzz after `make fuzz` (./dev fuzz and
# make fuzz-smoke / fuzz-long call this). TARGET is a name (json_body, range...); all of
# DIR/tests/fuzz/fuzz_* when none is given. --jobs targets run at once (2: one per core here).
# Each target reads tests/fuzz/corpus/<name> and tests/fuzz/regressions/<name> and writes what it
# finds into DIR/fuzz-work/<name>/corpus (kept between runs); tests/fuzz/<name>.dict is its
# dictionary when there is one. A crash, leak, timeout or out-of-memory input is saved as
# DIR/fuzz-work/<name>/crash-* (leak-*, timeout-*, oom-*), its log beside it.
# Exit status: 0, or 1 when a target failed.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=""
seconds=30
jobs=2
targets=()

die() {
	printf 'fuzz: %s\n' "$*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	-*) die "unknown option $1" ;;
	*) targets+=("$1"); shift ;;
	esac
done
[ -n "$builddir" ] || die "--builddir is required"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds takes a positive number"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs takes a positive number"
builddir=$(cd "$builddir" && pwd)
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$builddir"/tests/fuzz/fuzz_*; do
		[ -x "$f" ] && targets+=("${f##*/fuzz_}")
	done
fi
[ ${#targets[@]} -gt 0 ] || die "no targets in $builddir/tests/fuzz (run make fuzz there)"
for t in "${targets[@]}"; do
	[ -x "$builddir/tests/fuzz/fuzz_$t" ] || die "no target $builddir/tests/fuzz/fuzz_$t"
	[ -d "$SRC/tests/fuzz/corpus/$t" ] || die "no seed corpus tests/fuzz/corpus/$t"
done

# UBSan stops at the first error (the build has -fno-sanitize-recover) and says where.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}

# run_one NAME: one target for $seconds; its log is fuzz-work/NAME/log, its exit status in .../rc.
run_one() {
	local t=$1 work=$builddir/fuzz-work/$1 args=()
	mkdir -p "$work/corpus"
	rm -f "$work/rc"
	[ -f "$SRC/tests/fuzz/$t.dict" ] && args+=("-dict=$SRC/tests/fuzz/$t.dict")
	# New inputs go into the first folder: the work corpus, never the committed seeds.
	args+=("$work/corpus" "$SRC/tests/fuzz/corpus/$t")
	[ -d "$SRC/tests/fuzz/regressions/$t" ] && args+=("$SRC/tests/fuzz/regressions/$t")
	# -timeout: one input running 10 s is a hang; -rss_limit_mb: growing past 2 GiB is a leak.
	set +e
	"$builddir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/" "${args[@]}" >"$work/log" 2>&1
	echo $? >"$work/rc"
	set -e
}

# report NAME: the line of the table for one finished target; returns 1 if it failed.
report() {
	local t=$1 work=$builddir/fuzz-work/$1 rc last execs rate cov ft corp artifact
	rc=$(cat "$work/rc" 2>/dev/null || echo 1)
	last=$(grep -a ' cov: ' "$work/log" | tail -n 1 || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	printf '%-10s %6ss %11s %8s %6s %7s %7s  %s\n' "$t" "$seconds" "${execs:--}" "${rate:--}" \
		"${cov:--}" "${ft:--}" "${corp:--}" "$([ "$rc" = 0 ] && echo ok || echo FAILED)"
	[ "$rc" = 0 ] && return 0
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/log" | tail -n 1)
	{
		echo "---- fuzz_$t failed (exit $rc); the end of $work/log:"
		grep -a -v '^#[0-9]' "$work/log" | tail -n 40
		if [ -n "$artifact" ]; then
			echo "---- the input: $artifact"
			echo "  replay it:  $builddir/tests/fuzz/fuzz_$t $artifact"
			echo "  without libFuzzer (any build): tests/fuzz/replay_$t $artifact"
			echo "  then: fix the code and add the input to tests/fuzz/regressions/$t/ (make check replays it)"
		fi
	} >&2
	return 1
}

echo "fuzz: ${#targets[@]} targets, $seconds s each, $jobs at a time (work: ${builddir}/fuzz-work)"
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$t" &
	running=$((running + 1))
done
wait

printf '%-10s %7s %11s %8s %6s %7s %7s  %s\n' target time runs runs/s cov ft corpus result
failed=0
for t in "${targets[@]}"; do
	report "$t" || failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
	echo "fuzz: $failed of ${#targets[@]} targets FAILED (see above)"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran $seconds s without a failure"
