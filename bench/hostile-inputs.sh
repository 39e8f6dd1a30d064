#!/usr/bin/env bash
# Peak memory and wall time of `apim-tune` on hostile inputs (issue 15): an 11 MB and a 50 MB
# /etc/sysctl.conf (and one just under the cap), a `--diff` over 200,000 fixable sysctl lines, and an XML file nested
# 1,000,000 levels deep. Prints one line per binary and case: exit code, seconds, peak RSS and
# the bytes written to stdout.
#
# Yardstick: the same audit of the same root with an ordinary sysctl.conf (the fixture's own,
# 3 lines), measured in the same run, so a case's cost is read as a ratio to it.
#
# Usage: bench/hostile-inputs.sh [BINARY...]   (default: target/release/apim-tune, built here)
# e.g.   bench/hostile-inputs.sh /tmp/apim-tune-before target/release/apim-tune
# Environment: LIMIT_S (default 300) ends a case that runs longer, reported as `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."

LIMIT_S="${LIMIT_S:-300}"
if [ "$#" -eq 0 ]; then
	echo "building the release binary..."
	cargo build --release --quiet
	set -- target/release/apim-tune
fi
for bin in "$@"; do
	[ -x "$bin" ] || {
		echo "not an executable: $bin" >&2
		exit 2
	}
done
[ -x /usr/bin/time ] || {
	echo "/usr/bin/time is needed for peak memory (Debian package: time)" >&2
	exit 2
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A host whose /etc/sysctl.conf boot does not read (no 99-sysctl.conf link, as on Debian 13):
# every line of it is a finding with a fix (SYS013), the worst case for per-line findings.
make_root() { # name
	local root="$work/$1"
	cp -r tests/fixtures/hosts/debian13-no-link "$root"
	echo "$root"
}

# Lines that cycle over keys the fixture's kernel has (with values below and above the profile)
# and one it lacks, as a runaway generator or a careless concatenation would leave them.
sysctl_lines() { # count
	awk -v n="$1" 'BEGIN {
		split("net.core.somaxconn=128 net.ipv4.tcp_fin_timeout=60 net.core.rmem_max=212992 net.ipv4.ip_local_port_range=32768\t60999 fs.file-max=65536 net.ipv4.tcp_tw_reuse=0 net.core.wmem_max=212992 no.such.key=1", k, " ")
		for (i = 0; i < n; i++) print k[i % 8 + 1]
	}'
}

normal="$(make_root normal)"
big11="$(make_root big11)"
big50="$(make_root big50)"
big8="$(make_root big8)"
diff200k="$(make_root diff200k)"
# ~24 bytes a line: 11 MB and 50 MB.
sysctl_lines 480000 >"$big11/etc/sysctl.conf"
sysctl_lines 2200000 >"$big50/etc/sysctl.conf"
# Just under the 8 MiB cap of a line-based file: the largest sysctl.conf that is read.
sysctl_lines 360000 >"$big8/etc/sysctl.conf"
sysctl_lines 200000 >"$diff200k/etc/sysctl.conf"

# An API-M 2.6 home whose carbon.xml is 1,000,000 elements deep (7 MB).
deep_home="$work/apim-2.6.0"
cp -r examples/apim-2.6.0 "$deep_home"
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "<a>"; for (i = 0; i < 1000000; i++) printf "</a>"; print "" }' \
	>"$deep_home/repository/conf/carbon.xml"

size() { du -h "$1" | cut -f1; }
echo "inputs: sysctl.conf $(size "$big11/etc/sysctl.conf") (480,000 lines), $(size "$big50/etc/sysctl.conf") (2,200,000 lines), $(stat -c %s "$big8/etc/sysctl.conf") bytes (360,000 lines), 200,000 lines ($(size "$diff200k/etc/sysctl.conf")), carbon.xml $(size "$deep_home/repository/conf/carbon.xml") (1,000,000 deep)"
echo "limit per case: ${LIMIT_S} s"
printf '%-28s %-12s %5s %9s %10s %12s\n' binary case exit seconds "peak MiB" "stdout B"

run_case() { # bin name args...
	local bin="$1" name="$2"
	shift 2
	local out="$work/out" tfile="$work/time" rc=0
	timeout "$LIMIT_S" /usr/bin/time -f '%e %M' -o "$tfile" "$bin" "$@" >"$out" 2>/dev/null || rc=$?
	local secs="-" kib=0
	if [ "$rc" -eq 124 ]; then
		secs="timeout"
	elif [ -s "$tfile" ]; then
		# /usr/bin/time writes "Command exited with non-zero status N" first when it did.
		read -r secs kib < <(tail -n1 "$tfile")
	fi
	printf '%-28s %-12s %5s %9s %10s %12s\n' "$(basename "$(dirname "$bin")")/$(basename "$bin")" \
		"$name" "$rc" "$secs" "$((kib / 1024))" "$(stat -c %s "$out")"
}

for bin in "$@"; do
	common=(--color never --fail-on never --format json)
	run_case "$bin" yardstick audit --root "$normal" "${common[@]}"
	run_case "$bin" sysctl-11MB audit --root "$big11" "${common[@]}"
	run_case "$bin" sysctl-50MB audit --root "$big50" "${common[@]}"
	run_case "$bin" sysctl-8MB audit --root "$big8" "${common[@]}"
	run_case "$bin" diff-200k audit --root "$diff200k" --color never --fail-on never --diff
	run_case "$bin" xml-1M-deep audit --root "$normal" --apim-home "$deep_home" "${common[@]}"
done
