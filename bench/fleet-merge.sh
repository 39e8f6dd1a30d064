#!/usr/bin/env bash
# Wall time and peak memory of `apim-tune fleet merge` over 1,000 facts exports, against
# `jq -s .` reading the same files (parse them all, print them back: the least any merge does).
# Targets (issue 16): merge wall time at most 2x jq's; merge peak RSS at most 2x the inputs'
# total size.
#
# Both commands are timed in the same run, alternately round by round, because on a small
# noisy machine figures from two separate runs are not comparable. See bench/README.md.
#
# Environment: NODES (default 1000), ROUNDS (default 5), KEEP=1 keeps the generated exports
# (their folder is printed).
set -euo pipefail

NODES="${NODES:-1000}"
ROUNDS="${ROUNDS:-5}"
TIME_TARGET=2
RSS_TARGET=2

for v in NODES ROUNDS; do
	case "${!v}" in
	'' | *[!0-9]* | 0)
		echo "$v must be a positive integer, got '${!v}'" >&2
		exit 2
		;;
	esac
done

cd "$(dirname "$0")/.."

for tool in jq python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "$tool not found: install it (Debian: apt-get install $tool)" >&2
		exit 2
	fi
done
if [ ! -x /usr/bin/time ]; then
	echo "/usr/bin/time not found (GNU time measures the peak RSS): apt-get install time" >&2
	exit 2
fi

echo "building the release binary..."
cargo build --release --quiet
BIN="${CARGO_TARGET_DIR:-target}/release/apim-tune"

WORK="$(mktemp -d)"
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# A real node's audit report, embedded in every home as `apim-tune facts` does, so the exports
# have a real export's size and shape.
"$BIN" audit --root tests/fixtures/hosts/d-gateway-4.2 --format json --color never \
	--fail-on never >"$WORK/report.json" 2>/dev/null || true
if ! jq -e '.schema' "$WORK/report.json" >/dev/null 2>&1; then
	echo "note: no audit report to embed; the exports carry a small stand-in" >&2
	REPORT=()
else
	REPORT=(--report "$WORK/report.json")
fi
echo "generating $NODES exports..."
python3 bench/gen-fleet-exports.py "$NODES" "$WORK" "${REPORT[@]}"

EXPORTS=("$WORK"/exports/*.json)
INPUT_BYTES=$(cat "${EXPORTS[@]}" | wc -c)
echo "inputs: ${#EXPORTS[@]} exports, $((INPUT_BYTES / 1024)) KiB (+ inventory.json)"

merge() {
	"$BIN" fleet merge "${EXPORTS[@]}" --inventory "$WORK/inventory.json" --format json \
		--color never --fail-on never >/dev/null
}
slurp() {
	jq -s . "${EXPORTS[@]}" >/dev/null
}

# A command that fails fast would look fast: check both once, outside the timing.
if ! merge 2>"$WORK/merge.err"; then
	echo "fleet merge failed (is it built on this branch?):" >&2
	head -5 "$WORK/merge.err" >&2
	exit 2
fi
slurp

now() { date +%s%N; }
MERGE_T=()
JQ_T=()
for ((i = 0; i < ROUNDS; i++)); do
	t0=$(now)
	merge
	t1=$(now)
	slurp
	t2=$(now)
	MERGE_T+=($(((t1 - t0) / 1000000)))
	JQ_T+=($(((t2 - t1) / 1000000)))
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
M=$(median "${MERGE_T[@]}")
J=$(median "${JQ_T[@]}")

peak_kib() {
	/usr/bin/time -f '%M' -o "$WORK/rss" "$@" >/dev/null 2>/dev/null
	cat "$WORK/rss"
}
MERGE_RSS=$(peak_kib "$BIN" fleet merge "${EXPORTS[@]}" --inventory "$WORK/inventory.json" \
	--format json --color never --fail-on never)
JQ_RSS=$(peak_kib jq -s . "${EXPORTS[@]}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
TIME_RATIO=$(ratio "$M" "$J")
RSS_RATIO=$(ratio "$((MERGE_RSS * 1024))" "$INPUT_BYTES")
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "inf" && r <= t) ? "PASS" : "FAIL" }'; }

echo "median of $ROUNDS rounds, $NODES exports:"
echo "  fleet merge --format json : ${M} ms"
echo "  jq -s .                   : ${J} ms"
echo "  ratio merge/jq            : $TIME_RATIO (target <= $TIME_TARGET): $(verdict "$TIME_RATIO" "$TIME_TARGET")"
echo "peak RSS:"
echo "  fleet merge               : ${MERGE_RSS} KiB"
echo "  jq -s .                   : ${JQ_RSS} KiB"
echo "  inputs                    : $((INPUT_BYTES / 1024)) KiB"
echo "  ratio merge RSS/inputs    : $RSS_RATIO (target <= $RSS_TARGET): $(verdict "$RSS_RATIO" "$RSS_TARGET")"
