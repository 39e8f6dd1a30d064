#!/usr/bin/env bash
# Wall time of a full `apim-tune audit` (live host under / plus an API-M 4.2.0 home) against
# `sysctl -a`, the cheapest thing an operator would run to look at the same kernel settings.
# Target (issue 13): the audit within 0.3x of `sysctl -a`, i.e. at most 30% of its wall time.
#
# Both commands are measured in the same run, because on a small noisy machine figures from two
# separate runs are not comparable. See bench/README.md.
#
# Environment: ROUNDS (default 30), BENCH_TOOL = auto | hyperfine | loop (default auto: hyperfine
# when installed, else the bash loop).
set -euo pipefail

ROUNDS="${ROUNDS:-30}"
WARMUP=3
# The target ratio audit/sysctl (issue 13).
TARGET=0.3
BENCH_TOOL="${BENCH_TOOL:-auto}"

case "$ROUNDS" in
'' | *[!0-9]* | 0)
	echo "ROUNDS must be a positive integer, got '$ROUNDS'" >&2
	exit 2
	;;
esac

# Run from the crate root so the relative corpus path is the same locally and in CI.
cd "$(dirname "$0")/.."

SYSCTL="$(command -v sysctl || true)"
for candidate in /usr/sbin/sysctl /sbin/sysctl; do
	# Debian keeps sysctl in sbin, which is not on a normal user's PATH.
	if [ -z "$SYSCTL" ] && [ -x "$candidate" ]; then
		SYSCTL="$candidate"
	fi
done
if [ -z "$SYSCTL" ]; then
	echo "sysctl not found (PATH, /usr/sbin, /sbin): install the procps package" >&2
	exit 2
fi

HOME_DIR="../shared/fixtures/wso2/apim-4.2.0"
if [ ! -d "$HOME_DIR" ]; then
	echo "note: $HOME_DIR is absent (no shared/ next to the crate); using examples/apim-4.2.0"
	HOME_DIR="examples/apim-4.2.0"
fi
if [ ! -d "$HOME_DIR" ]; then
	echo "no API-M 4.2.0 home to audit: neither the corpus nor examples/apim-4.2.0" >&2
	exit 2
fi

echo "building the release binary..."
cargo build --release --quiet
BIN="target/release/apim-tune"

AUDIT_CMD="$BIN audit --apim-home $HOME_DIR --format json --color never --fail-on never > /dev/null"
SYSCTL_CMD="$SYSCTL -a > /dev/null 2>&1"

# A command that fails fast would look fast: check both once, outside the timing.
if ! eval "$AUDIT_CMD"; then
	echo "the audit itself failed; run it by hand to see why: ${AUDIT_CMD% >*}" >&2
	exit 2
fi
if ! eval "$SYSCTL_CMD"; then
	echo "warning: '$SYSCTL -a' exits non-zero here (some keys unreadable); timing it anyway" >&2
fi

if [ "$BENCH_TOOL" = auto ]; then
	if command -v hyperfine > /dev/null; then BENCH_TOOL=hyperfine; else BENCH_TOOL=loop; fi
fi

echo "machine: $(nproc) cores; rounds: $ROUNDS (+$WARMUP warm-up); home: $HOME_DIR; tool: $BENCH_TOOL"

# Median of the numbers on stdin, one per line.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

case "$BENCH_TOOL" in
hyperfine)
	out_dir="$(mktemp -d)"
	trap 'rm -rf "$out_dir"' EXIT
	# hyperfine runs all rounds of one command, then all of the other (not interleaved); its
	# warm-up and outlier warnings make up for that. BENCH_TOOL=loop interleaves round by round.
	hyperfine --warmup "$WARMUP" --runs "$ROUNDS" \
		--command-name audit "$AUDIT_CMD" \
		--command-name sysctl "$SYSCTL_CMD" \
		--export-json "$out_dir/results.json" --export-csv "$out_dir/results.csv"
	# CSV columns: command,mean,stddev,median,user,system,min,max (seconds).
	audit_ms="$(awk -F, '$1 == "audit" { printf "%.2f", $4 * 1000 }' "$out_dir/results.csv")"
	sysctl_ms="$(awk -F, '$1 == "sysctl" { printf "%.2f", $4 * 1000 }' "$out_dir/results.csv")"
	;;
loop)
	# bash 5's EPOCHREALTIME needs no fork; `date` costs a process per reading, which matters
	# next to a command that takes a few milliseconds. EPOCHREALTIME is read in place: through a
	# `$(function)` each reading would fork a subshell, and ~0.4 ms of forking would land inside
	# every timed interval.
	time_us() {
		local start end
		if [ -n "${EPOCHREALTIME:-}" ]; then
			start="${EPOCHREALTIME/[.,]/}"
			eval "$1"
			end="${EPOCHREALTIME/[.,]/}"
		else
			start=$(($(date +%s%N) / 1000))
			eval "$1"
			end=$(($(date +%s%N) / 1000))
		fi
		echo $((end - start))
	}
	for _ in $(seq "$WARMUP"); do
		eval "$AUDIT_CMD"
		eval "$SYSCTL_CMD" || true
	done
	audit_samples=()
	sysctl_samples=()
	for i in $(seq "$ROUNDS"); do
		# Alternate which goes first so neither always runs right after the other's cache effects.
		if ((i % 2)); then
			audit_samples+=("$(time_us "$AUDIT_CMD")")
			sysctl_samples+=("$(time_us "$SYSCTL_CMD || true")")
		else
			sysctl_samples+=("$(time_us "$SYSCTL_CMD || true")")
			audit_samples+=("$(time_us "$AUDIT_CMD")")
		fi
	done
	audit_ms="$(printf '%s\n' "${audit_samples[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')"
	sysctl_ms="$(printf '%s\n' "${sysctl_samples[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')"
	;;
*)
	echo "BENCH_TOOL must be auto, hyperfine or loop, got '$BENCH_TOOL'" >&2
	exit 2
	;;
esac

ratio="$(awk -v a="$audit_ms" -v s="$sysctl_ms" 'BEGIN { if (s > 0) printf "%.2f", a / s; else print "inf" }')"
verdict="$(awk -v r="$ratio" -v t="$TARGET" 'BEGIN { print (r != "inf" && r <= t) ? "PASS" : "FAIL" }')"

echo
printf 'median apim-tune audit : %8s ms\n' "$audit_ms"
printf 'median sysctl -a       : %8s ms\n' "$sysctl_ms"
printf 'ratio audit/sysctl     : %8s   (target <= %s)\n' "$ratio" "$TARGET"
echo "target: audit within ${TARGET}x of sysctl -a: $verdict"
