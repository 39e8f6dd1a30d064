#!/usr/bin/env bash
# `apim-tune db clean` against the floor: one plain `DELETE … WHERE` of the same rows, on
# PostgreSQL with 1,000,000 tokens (half removable), while a paced token lookup loop (pgbench,
# independent of our code) measures what live traffic sees.
#
#   bash bench/db-clean.sh                     # ROUNDS=3 BATCH=10000 PAUSE=10ms TOKENS=1000000
#   ROUNDS=1 TOKENS=200000 bash bench/db-clean.sh
#
# Prints, as medians over ROUNDS interleaved rounds: rows/s of db clean (and of db clean --backup),
# rows/s of the plain DELETE, their ratio, and the p99 of the lookups before, during each run.
# Targets (issue 7): clean ≥ 0.5× the plain DELETE's rate, lookup p99 below 10 ms during the
# clean. It reports; it exits 0 either way.
#
# The server is a throwaway PostgreSQL (.ci/db-servers.sh --realistic: fsync on, 256 MB shared
# buffers, max_wal_size 4 GB so no checkpoint falls inside one run) on 127.0.0.1:55433; it is
# stopped and its data removed on exit. Lookups: 500/s, each timed from its scheduled start
# (pgbench --rate adds the schedule lag), so a stall is not hidden by coordinated omission.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-10000}
PAUSE=${PAUSE:-10ms}
TOKENS=${TOKENS:-1000000}
RATE=${RATE:-500}
PORT=${PORT:-55433}

cargo build --release -q
BIN=$PWD/target/release/apim-tune
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

envf=$(.ci/db-servers.sh start --realistic --only pg --pg-port "$PORT")
# shellcheck source=/dev/null
. "$envf"
WORK=$(mktemp -d /tmp/apimtune-bench.XXXXXX)
chmod 755 "$WORK"
trap '.ci/db-servers.sh stop "$APIM_TUNE_DB_DIR" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
BASE=${APIM_TUNE_TEST_PG_URL%/*}
export PGPASSWORD=apim
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U apim "$@"; }

# One "now" for the seed, every clean and every plain DELETE: the same cut-off, the same rows.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}

echo "seeding $TOKENS tokens into apim_seed…" >&2
psql_ -d apim -c "CREATE DATABASE apim_seed"
"$BIN" db init --url "$BASE/apim_seed" >/dev/null
"$BIN" db seed --url "$BASE/apim_seed" --tokens "$TOKENS" --codes 0 --sessions 0 --registry 0 --audit-rows 0 >&2
# The lookup loop's keys: hashes of live tokens (kinds 0 and 6 of the seed), numbered.
psql_ -d apim_seed -c "CREATE TABLE bench_live AS SELECT row_number() OVER () AS n, ACCESS_TOKEN_HASH AS h \
    FROM IDN_OAUTH2_ACCESS_TOKEN WHERE TOKEN_STATE = 'ACTIVE' AND VALIDITY_PERIOD = 3600000 \
    AND TIME_CREATED > CAST(to_timestamp($SOURCE_DATE_EPOCH - 3600) AT TIME ZONE 'UTC' AS TIMESTAMP) LIMIT 100000" \
    -c "ALTER TABLE bench_live ADD PRIMARY KEY (n)" -c "VACUUM ANALYZE bench_live" -c "VACUUM ANALYZE IDN_OAUTH2_ACCESS_TOKEN" -c "VACUUM ANALYZE IDN_OAUTH2_ACCESS_TOKEN_SCOPE"
LIVE=$(psql_ -d apim_seed -At -c "SELECT count(*) FROM bench_live")
cat >"$WORK/lookup.sql" <<SQL
\set i random(1, $LIVE)
SELECT t.TOKEN_ID, t.TOKEN_STATE FROM bench_live b JOIN IDN_OAUTH2_ACCESS_TOKEN t ON t.ACCESS_TOKEN_HASH = b.h WHERE b.n = :i;
SQL
PLAIN_SQL=$("$BIN" db clean --url "$BASE/apim_seed" --tokens --print-sql)

fresh() {
    psql_ -d apim -c "DROP DATABASE IF EXISTS r" -c "CREATE DATABASE r TEMPLATE apim_seed"
}

# Starts the paced lookup loop on database r; LOOKUP_PID is set.
lookups_start() {
    rm -f "$WORK"/lk*
    (cd "$WORK" && exec "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U apim -c 1 -R "$RATE" -T 900 \
        -f lookup.sql --log --log-prefix=lk r >/dev/null 2>&1) &
    LOOKUP_PID=$!
    sleep 1
}

# A background job of a script ignores SIGINT, so TERM. pgbench buffers its log: wait a second
# first, so what it loses at the end is after the measured window.
lookups_stop() {
    sleep 1
    kill -TERM "$LOOKUP_PID" 2>/dev/null || true
    wait "$LOOKUP_PID" 2>/dev/null || true
}

# p99 (ms) of the lookups that finished between $1 and $2 (epoch seconds, fractional):
# latency = elapsed + schedule lag (fields 3 and 7 of pgbench's log, µs).
p99() {
    cat "$WORK"/lk* 2>/dev/null | awk -v a="$1" -v b="$2" '{ t = $5 + $6 / 1e6; if (t >= a && t <= b) print ($3 + $7) / 1000 }' \
        | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f", v[i] }'
}

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
    for mode in clean backup plain; do
        fresh
        lookups_start
        t0=$(now)
        sleep 3
        idle=$(p99 "$t0" "$(now)")
        t0=$(now)
        case $mode in
            clean | backup)
                extra=()
                [ "$mode" = backup ] && extra=(--backup)
                out=$("$BIN" db clean --url "$BASE/r" --tokens --batch "$BATCH" --pause "$PAUSE" --yes --format json "${extra[@]}")
                rows=$(printf '%s' "$out" | sed -n 's/.*"rows":\([0-9]*\).*/\1/p' | head -1)
                ;;
            plain)
                rows=$(psql_ -d r -At -c "WITH d AS (${PLAIN_SQL%;} RETURNING 1) SELECT count(*) FROM d")
                ;;
        esac
        t1=$(now)
        during=$(p99 "$t0" "$t1")
        lookups_stop
        rate=$(awk -v r="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", r / (b - a) }')
        echo "$round $mode $rows $rate $idle $during" | tee -a "$WORK/results" >&2
    done
done

col() { awk -v m="$1" -v c="$2" '$2 == m { print $c }' "$WORK/results" | median; }
clean=$(col clean 4)
backup=$(col backup 4)
plain=$(col plain 4)
ratio=$(awk -v a="$clean" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
ratio_b=$(awk -v a="$backup" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
pass() { awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN { if ((d == "ge" && v >= t) || (d == "lt" && v < t)) print "PASS"; else print "FAIL" }'; }
echo
echo "db clean vs one plain DELETE: PostgreSQL, $TOKENS tokens (half removable), batch $BATCH, pause $PAUSE, lookups $RATE/s; medians of $ROUNDS rounds"
printf '  %-28s %10s %8s %14s %14s\n' "run" "rows/s" "× plain" "idle p99 ms" "during p99 ms"
printf '  %-28s %10s %8s %14s %14s\n' "db clean" "$clean" "$ratio" "$(col clean 5)" "$(col clean 6)"
printf '  %-28s %10s %8s %14s %14s\n' "db clean --backup" "$backup" "$ratio_b" "$(col backup 5)" "$(col backup 6)"
printf '  %-28s %10s %8s %14s %14s\n' "plain DELETE (the floor)" "$plain" "1.00" "$(col plain 5)" "$(col plain 6)"
echo "target: db clean ≥ 0.5× the plain DELETE: $(pass "$ratio" 0.5 ge) ($ratio)"
echo "target: lookup p99 during db clean < 10 ms: $(pass "$(col clean 6)" 10 lt) ($(col clean 6) ms)"
echo "        lookup p99 during the plain DELETE < 10 ms: $(pass "$(col plain 6)" 10 lt) ($(col plain 6) ms; expected to fail)"
