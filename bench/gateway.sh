#!/usr/bin/env bash
# The same 1 KiB keep-alive load, in one run on loopback, through:
#   1. the embedded backend directly (the ceiling),
#   2. nginx as a reverse proxy to it (one worker, upstream keep-alive),
#   3. the embedded gateway to it (one runtime thread, token validation with a warm cache),
# all measured with wrk; then apim-tune's own load generator against the same nginx, beside wrk.
# Prints req/s and p99 for each, and the ratios the targets are about:
#   gateway ≥ 1.0× nginx's throughput, gateway p99 ≤ 1.2× nginx's, `apim-tune load` ≥ 0.9× wrk.
#
# Installs nginx and wrk from Debian when missing. Binds 127.0.0.1 only; every load is bounded
# by DURATION. Environment: DURATION (seconds, default 10), CONNECTIONS (default 50),
# ROUNDS (default 1: each load is run ROUNDS times, interleaved, and the median kept).
set -euo pipefail

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
ROUNDS="${ROUNDS:-1}"
for v in DURATION CONNECTIONS ROUNDS; do
	case "${!v}" in
	'' | *[!0-9]* | 0)
		echo "$v must be a positive integer, got '${!v}'" >&2
		exit 2
		;;
	esac
done

cd "$(dirname "$0")/.."

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ "${#need[@]}" -gt 0 ]; then
	echo "installing ${need[*]} from Debian" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

cargo build --release --quiet
BIN="${CARGO_TARGET_DIR:-target}/release/apim-tune"

work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port, by asking the kernel.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on 127.0.0.1:$1" >&2
	exit 1
}

BACKEND_PORT="$(free_port)"
NGINX_PORT="$(free_port)"
GATEWAY_PORT="$(free_port)"

"$BIN" backend --listen "127.0.0.1:$BACKEND_PORT" --payload 1024 --threads 1 >/dev/null &
pids+=($!)

mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>/dev/null &
pids+=($!)

# No API-M home: API-M 4.2.0's defaults (gateway token cache on); one runtime thread like
# nginx's one worker; the key manager's lookup costs 2 ms on the misses that warm the cache.
"$BIN" gateway --listen "127.0.0.1:$GATEWAY_PORT" --backend "127.0.0.1:$BACKEND_PORT" \
	--worker-threads 1 --format json --apim-version 4.2.0 >"$work/gateway.json" 2>"$work/gateway.log" &
pids+=($!)

wait_port "$BACKEND_PORT"
wait_port "$NGINX_PORT"
wait_port "$GATEWAY_PORT"
TOKEN="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"]["active"][0])' "$work/gateway.json")"
PATH_="/pizzashack/1.0.0/menu"
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$GATEWAY_PORT$PATH_" ||
	{ echo "the gateway did not answer 200" >&2; exit 1; }

# wrk's output -> "req/s p99_ms"
wrk_run() {
	wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" | python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit("wrk saw %s non-2xx responses" % errors.group(1))
print(rps, float(m.group(1)) * scale)'
}
builtin_run() {
	"$BIN" load "$1" --connections "$CONNECTIONS" --duration "$DURATION" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
bad = sum(n for s, n in d["status"].items() if not s.startswith("2"))
if bad or d["errors"]["io"] or d["errors"]["connect"]:
    sys.exit("apim-tune load saw errors: %s" % d)
print(d["throughput_rps"], d["latency_ms"]["p99"])'
}

declare -A rps p99
names=(backend nginx gateway builtin_on_nginx wrk_on_nginx)
for n in "${names[@]}"; do rps[$n]=""; p99[$n]=""; done
record() { read -r r p <<<"$2"; rps[$1]+="$r "; p99[$1]+="$p "; }
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS: ${DURATION}s per load, $CONNECTIONS connections" >&2
	record backend "$(wrk_run "http://127.0.0.1:$BACKEND_PORT$PATH_")"
	record nginx "$(wrk_run "http://127.0.0.1:$NGINX_PORT$PATH_")"
	record gateway "$(wrk_run -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$GATEWAY_PORT$PATH_")"
	record builtin_on_nginx "$(builtin_run "http://127.0.0.1:$NGINX_PORT$PATH_")"
	record wrk_on_nginx "$(wrk_run "http://127.0.0.1:$NGINX_PORT$PATH_")"
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A R P
for n in "${names[@]}"; do
	R[$n]="$(median <<<"${rps[$n]}")"
	P[$n]="$(median <<<"${p99[$n]}")"
done

echo
printf '%-48s %12s %10s\n' "load (1 KiB, keep-alive, $CONNECTIONS conns)" "req/s" "p99 ms"
printf '%-48s %12.0f %10.3f\n' "wrk -> backend" "${R[backend]}" "${P[backend]}"
printf '%-48s %12.0f %10.3f\n' "wrk -> nginx (1 worker) -> backend" "${R[nginx]}" "${P[nginx]}"
printf '%-48s %12.0f %10.3f\n' "wrk -> apim-tune gateway (1 thread) -> backend" "${R[gateway]}" "${P[gateway]}"
printf '%-48s %12.0f %10.3f\n' "apim-tune load -> nginx -> backend" "${R[builtin_on_nginx]}" "${P[builtin_on_nginx]}"
printf '%-48s %12.0f %10.3f\n' "wrk -> nginx -> backend (same pass)" "${R[wrk_on_nginx]}" "${P[wrk_on_nginx]}"
echo
python3 - "${R[gateway]}" "${R[nginx]}" "${P[gateway]}" "${P[nginx]}" "${R[builtin_on_nginx]}" "${R[wrk_on_nginx]}" <<'EOF'
import sys
g, n, gp, np_, b, w = map(float, sys.argv[1:])
print(f"gateway / nginx throughput: {g / n:.2f}x  (target >= 1.0)")
print(f"gateway / nginx p99:        {gp / np_:.2f}x  (target <= 1.2)")
print(f"apim-tune load / wrk:       {b / w:.2f}x  (target >= 0.9)")
EOF
