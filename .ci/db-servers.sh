#!/usr/bin/env bash
# Throwaway PostgreSQL and MariaDB servers on loopback for the `apim-tune db` tests and the bench.
# Installs the Debian packages when missing, puts all data under one `mktemp -d` directory, and
# starts the servers directly (no systemd, no packaged cluster, nothing read from /etc/mysql).
# Runs as root: apt-get, and `runuser` to the postgres user because initdb refuses root.
#
#   envf=$(.ci/db-servers.sh start [--realistic] [--pg-port N] [--my-port N] [--only pg|mariadb])
#   . "$envf"        # exports APIM_TUNE_TEST_PG_URL, APIM_TUNE_TEST_MYSQL_URL, APIM_TUNE_DB_DIR,
#                    # and the TLS ones: APIM_TUNE_TEST_PG_TLS_URL, APIM_TUNE_TEST_MYSQL_TLS_URL,
#                    # APIM_TUNE_TEST_CA_FILE, APIM_TUNE_TEST_OTHER_CA_FILE
#   .ci/db-servers.sh stop "$APIM_TUNE_DB_DIR"
#
# `start` prints the path of the env file as its only stdout line; everything else goes to stderr.
# Defaults are for tests: PostgreSQL without fsync, MariaDB without a log flush per commit.
# `--realistic` (for benchmarks) keeps the flushes on and sizes PostgreSQL's shared_buffers and
# max_wal_size. MariaDB runs at `--default-time-zone=+05:30` on purpose, so code that relies on a
# UTC server or session shows up in the tests.
# Both servers speak TLS with a certificate for 127.0.0.1/localhost signed by a throwaway CA made
# here with openssl; a second user (`apim_tls`) may log in over TLS only, so a test that connects
# as it proves the connection was encrypted. A second, unrelated CA is there for the "wrong CA"
# test.
# `stop` is idempotent: an already stopped server or an absent directory is not an error.
set -euo pipefail

readonly MARKER=.apimtune-db-servers
readonly WAIT_SECONDS=60
# Role/user, password and database the tests connect with (throwaway servers on 127.0.0.1 only).
readonly DB_USER=apim DB_PASS=apim DB_NAME=apim
# The user that may only log in over TLS.
readonly TLS_USER=apim_tls TLS_PASS=apim_tls

say() { printf 'db-servers: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}
usage() {
    echo "usage:" >&2
    sed -n '7,11p' "$0" | sed 's/^#//' >&2
    exit 2
}

# Run a command as another user without a shell in between, from / (root's home is not readable).
as_user() {
    local user=$1
    shift
    if command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u "$user" -- "$@")
    else
        (cd / && su -s /bin/sh "$user" -c "$(printf '%q ' "$@")")
    fi
}

# Print the last lines of a log to stderr (for a failed start).
log_tail() {
    local f=$1
    if [ -s "$f" ]; then
        say "last lines of $f:"
        tail -n 40 "$f" | sed 's/^/    /' >&2
    else
        say "($f is empty or absent)"
    fi
}

# Run a command with its output in LOG; on failure show the log tail and fail. The subshell keeps
# the redirection out of this shell, so a trap that fires meanwhile still writes to our stderr.
logged() {
    local log=$1
    shift
    if ! ("$@") </dev/null >>"$log" 2>&1; then
        say "failed: $*"
        log_tail "$log"
        return 1
    fi
}

# Is something accepting connections on 127.0.0.1:PORT? (bash's /dev/tcp; no ss/netstat needed)
port_in_use() {
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

newest_pgbin() {
    local d
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1) || true
    [ -n "$d" ] && [ -x "$d/initdb" ] && printf '%s\n' "$d"
}

# The bin directory of the PostgreSQL version that created DATADIR, else the newest one.
pgbin_for() {
    local v
    v=$(cat "$1/PG_VERSION" 2>/dev/null || true)
    if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
        printf '%s\n' "/usr/lib/postgresql/$v/bin"
    else
        newest_pgbin
    fi
}

# Is PID running (and not a zombie)? The servers are reparented to PID 1 once their starter exits,
# and a container's PID 1 may reap late or never; `kill -0` alone would see the zombie as alive.
running() {
    local state
    state=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Is PID running program NAME? (guards against a recycled pid)
pid_is() {
    local pid=$1 name=$2
    [[ $pid =~ ^[0-9]+$ ]] && running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

# Wait up to SECONDS for PID to exit; true if it is gone.
wait_gone() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        running "$pid" || return 0
        sleep 0.1
    done
    ! running "$pid"
}

install_missing() {
    local want_pg=$1 want_my=$2 log=$3
    local need=()
    # The throwaway CA and server certificate for the TLS tests.
    command -v openssl >/dev/null 2>&1 || need+=(openssl)
    if [ "$want_pg" = 1 ]; then
        newest_pgbin >/dev/null || need+=(postgresql)
        command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
    fi
    if [ "$want_my" = 1 ]; then
        { [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null 2>&1; } || need+=(mariadb-server)
        { command -v mariadb >/dev/null 2>&1 && command -v mariadb-admin >/dev/null 2>&1; } || need+=(mariadb-client)
    fi
    [ "${#need[@]}" -gt 0 ] || return 0
    say "installing ${need[*]} (apt-get; log: $log)"
    export DEBIAN_FRONTEND=noninteractive
    # Output goes to a file, not to our stderr: a service that a package starts must not hold the
    # caller's pipes open.
    logged "$log" apt-get update -q
    logged "$log" apt-get install -y -q --no-install-recommends "${need[@]}"
}

# A CA, a server certificate it signs (for 127.0.0.1 and localhost, as the tests connect), and
# an unrelated CA, in DIR/tls. Throwaway: 2-day certificates, keys without a passphrase.
make_certs() {
    local tls=$1/tls log=$1/tls/openssl.log
    mkdir -p "$tls"
    command -v openssl >/dev/null 2>&1 || die "openssl is needed for the TLS certificates"
    local ca
    for ca in ca other-ca; do
        logged "$log" openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
            -subj "/CN=apim-tune test $ca" -keyout "$tls/$ca.key" -out "$tls/$ca.pem"
    done
    logged "$log" openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
        -keyout "$tls/server.key" -out "$tls/server.csr"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
        >"$tls/server.ext"
    logged "$log" openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -days 2 -sha256 -extfile "$tls/server.ext" -out "$tls/server.pem"
    chmod 755 "$tls"
    chmod 644 "$tls/ca.pem" "$tls/other-ca.pem" "$tls/server.pem"
}

# A copy of the server key readable by USER only (PostgreSQL refuses a key others can read).
server_key_for() {
    local user=$1 dest=$2
    cp "$DIR/tls/server.key" "$dest"
    chown "$user:$user" "$dest"
    chmod 600 "$dest"
}

# ---- start ----------------------------------------------------------------------------------

DIR=""
START_OK=0
ENVFILE=""

start_failed() {
    local rc=$?
    if [ "$START_OK" != 1 ] && [ -n "$DIR" ]; then
        say "start failed; stopping what was started and removing $DIR"
        stop_dir "$DIR" || true
    fi
    exit "$rc"
}

start_pg() {
    local dir=$1 port=$2 realistic=$3
    local pgbin pg=$dir/pg
    pgbin=$(newest_pgbin) || die "no PostgreSQL server under /usr/lib/postgresql/*/bin"
    mkdir -p "$pg"
    chown postgres:postgres "$pg"
    chmod 700 "$pg"
    say "PostgreSQL $(basename "$(dirname "$pgbin")"): initdb in $pg/data"
    # --no-sync: the fresh cluster is throwaway, and the fsyncs cost seconds on a busy disk.
    logged "$pg/initdb.log" as_user postgres "$pgbin/initdb" -D "$pg/data" -U postgres \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync
    {
        echo
        echo "# added by .ci/db-servers.sh"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$pg'"
        echo "ssl = on"
        echo "ssl_cert_file = '$dir/tls/server.pem'"
        echo "ssl_key_file = '$pg/server.key'"
        if [ "$realistic" = 1 ]; then
            echo "shared_buffers = 256MB"
            echo "max_wal_size = 4GB"
        else
            # Test data is throwaway: skip the disk flushes.
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >>"$pg/data/postgresql.conf"
    server_key_for postgres "$pg/server.key"
    # The TLS-only user: refused without TLS, before the general rules initdb wrote.
    {
        echo "# added by .ci/db-servers.sh: $TLS_USER logs in over TLS only"
        echo "hostnossl all $TLS_USER all reject"
        echo "hostssl all $TLS_USER 127.0.0.1/32 scram-sha-256"
        cat "$pg/data/pg_hba.conf"
    } >"$pg/pg_hba.new"
    mv "$pg/pg_hba.new" "$pg/data/pg_hba.conf"
    chown postgres:postgres "$pg/data/pg_hba.conf"
    if ! logged "$pg/pg_ctl.log" as_user postgres "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/server.log" \
        -w -t "$WAIT_SECONDS" start; then
        log_tail "$pg/server.log"
        die "PostgreSQL did not start on 127.0.0.1:$port"
    fi
    local i ok=0
    for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
        if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; then
            ok=1
            break
        fi
        sleep 0.1
    done
    if [ "$ok" != 1 ]; then
        log_tail "$pg/server.log"
        die "PostgreSQL does not accept connections on 127.0.0.1:$port after ${WAIT_SECONDS}s"
    fi
    # Superuser over the socket (trust), then the test role over TCP with its password.
    logged "$pg/setup.log" "$pgbin/psql" -X -q -h "$pg" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASS'" \
        -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" \
        -c "CREATE ROLE $TLS_USER LOGIN CREATEDB PASSWORD '$TLS_PASS'" \
        -c "GRANT ALL ON DATABASE $DB_NAME TO $TLS_USER" \
        -c "GRANT ALL ON SCHEMA public TO $TLS_USER"
    PGPASSWORD=$DB_PASS logged "$pg/setup.log" "$pgbin/psql" -X -q -w -h 127.0.0.1 -p "$port" \
        -U "$DB_USER" -d "$DB_NAME" -v ON_ERROR_STOP=1 -c 'SELECT 1'
}

start_mariadb() {
    local dir=$1 port=$2 realistic=$3
    local my=$dir/my
    mkdir -p "$my"
    chown mysql:mysql "$my"
    chmod 750 "$my"
    say "MariaDB $(/usr/sbin/mariadbd --version 2>/dev/null | sed -n 's/.*Ver \([^ ]*\).*/\1/p'): install-db in $my/data"
    # The two InnoDB options apply to the bootstrap only (fewer flushes; the data is throwaway).
    logged "$my/install-db.log" mariadb-install-db --no-defaults --user=mysql --datadir="$my/data" \
        --auth-root-authentication-method=normal --skip-test-db \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0
    # Started directly (mysqld_safe would restart it), in its own session so a Ctrl-C aimed at the
    # caller does not reach it; the EXIT trap or `stop` shuts it down.
    local opts=(--no-defaults --user=mysql --datadir="$my/data" --socket="$my/mysqld.sock"
        --pid-file="$my/mysqld.pid" --bind-address=127.0.0.1 --port="$port" --skip-name-resolve
        --default-time-zone=+05:30 --log-error="$my/error.log"
        --ssl-ca="$dir/tls/ca.pem" --ssl-cert="$dir/tls/server.pem" --ssl-key="$my/server.key")
    server_key_for mysql "$my/server.key"
    if [ "$realistic" != 1 ]; then
        # Test data is throwaway: no flush per commit, no doublewrite (like PostgreSQL's fsync=off).
        opts+=(--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0)
    fi
    if command -v setsid >/dev/null 2>&1; then
        setsid /usr/sbin/mariadbd "${opts[@]}" </dev/null >>"$my/stdout.log" 2>&1 &
    else
        /usr/sbin/mariadbd "${opts[@]}" </dev/null >>"$my/stdout.log" 2>&1 &
    fi
    local pid=$! i ok=0
    echo "$pid" >"$my/mariadbd.pid"
    for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
        if mariadb-admin --no-defaults --socket="$my/mysqld.sock" -uroot --connect-timeout=1 ping \
            >/dev/null 2>&1; then
            ok=1
            break
        fi
        running "$pid" || break
        sleep 0.1
    done
    if [ "$ok" != 1 ]; then
        log_tail "$my/error.log"
        if running "$pid"; then
            die "MariaDB does not accept connections after ${WAIT_SECONDS}s (port $port)"
        fi
        die "MariaDB exited during start (port $port)"
    fi
    logged "$my/setup.log" mariadb --no-defaults --socket="$my/mysqld.sock" -uroot -e "
        CREATE DATABASE $DB_NAME;
        CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
        GRANT ALL ON *.* TO '$DB_USER'@'127.0.0.1' WITH GRANT OPTION;
        CREATE USER '$TLS_USER'@'127.0.0.1' IDENTIFIED BY '$TLS_PASS' REQUIRE SSL;
        GRANT ALL ON *.* TO '$TLS_USER'@'127.0.0.1';"
    logged "$my/setup.log" mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" \
        -u"$DB_USER" -p"$DB_PASS" "$DB_NAME" -e 'SELECT 1'
}

do_start() {
    local realistic=0 pg_port=55432 my_port=53306 want_pg=1 want_my=1
    while [ $# -gt 0 ]; do
        case $1 in
        --realistic) realistic=1 ;;
        --pg-port) pg_port=${2:?--pg-port needs a number}; shift ;;
        --pg-port=*) pg_port=${1#*=} ;;
        --my-port) my_port=${2:?--my-port needs a number}; shift ;;
        --my-port=*) my_port=${1#*=} ;;
        --only) case ${2:-} in
            pg | postgres | postgresql) want_my=0 ;;
            mariadb | mysql) want_pg=0 ;;
            *) die "--only takes pg or mariadb" ;;
            esac
            shift ;;
        -h | --help) usage ;;
        *) die "unknown option for start: $1" ;;
        esac
        shift
    done
    local p
    for p in "$pg_port" "$my_port"; do
        if ! [[ $p =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
            die "not a port number: $p"
        fi
    done
    [ "$want_pg" = 0 ] || [ "$want_my" = 0 ] || [ "$pg_port" != "$my_port" ] ||
        die "--pg-port and --my-port are the same ($pg_port)"
    [ "$(id -u)" = 0 ] || die "must run as root (apt-get, and initdb as the postgres user)"

    # Fail early and clearly on a taken port, before installing or creating anything.
    if [ "$want_pg" = 1 ] && port_in_use "$pg_port"; then
        die "port $pg_port (PostgreSQL) on 127.0.0.1 is already in use; stop that server or pass --pg-port"
    fi
    if [ "$want_my" = 1 ] && port_in_use "$my_port"; then
        die "port $my_port (MariaDB) on 127.0.0.1 is already in use; stop that server or pass --my-port"
    fi

    DIR=$(mktemp -d /tmp/apimtune-db.XXXXXX)
    trap start_failed EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    chmod 755 "$DIR" # the postgres and mysql users must reach their subdirectories
    : >"$DIR/$MARKER"
    say "data directory $DIR"

    install_missing "$want_pg" "$want_my" "$DIR/apt.log"
    make_certs "$DIR"
    [ "$want_pg" = 0 ] || start_pg "$DIR" "$pg_port" "$realistic"
    [ "$want_my" = 0 ] || start_mariadb "$DIR" "$my_port" "$realistic"

    ENVFILE=$DIR/env
    {
        echo "# written by .ci/db-servers.sh start; stop with: .ci/db-servers.sh stop $DIR"
        [ "$want_pg" = 0 ] || echo "export APIM_TUNE_TEST_PG_URL=postgres://$DB_USER:$DB_PASS@127.0.0.1:$pg_port/$DB_NAME"
        [ "$want_my" = 0 ] || echo "export APIM_TUNE_TEST_MYSQL_URL=mysql://$DB_USER:$DB_PASS@127.0.0.1:$my_port/$DB_NAME"
        [ "$want_pg" = 0 ] || echo "export APIM_TUNE_TEST_PG_TLS_URL=postgres://$TLS_USER:$TLS_PASS@127.0.0.1:$pg_port/$DB_NAME"
        [ "$want_my" = 0 ] || echo "export APIM_TUNE_TEST_MYSQL_TLS_URL=mysql://$TLS_USER:$TLS_PASS@127.0.0.1:$my_port/$DB_NAME"
        echo "export APIM_TUNE_TEST_CA_FILE=$DIR/tls/ca.pem"
        echo "export APIM_TUNE_TEST_OTHER_CA_FILE=$DIR/tls/other-ca.pem"
        echo "export APIM_TUNE_DB_DIR=$DIR"
    } >"$ENVFILE"
    START_OK=1
    trap - EXIT INT TERM
    say "ready; env file $ENVFILE"
}

cmd_start() {
    do_start "$@" >&2
    printf '%s\n' "$ENVFILE"
}

# ---- stop -----------------------------------------------------------------------------------

stop_pg() {
    local pg=$1/pg
    [ -d "$pg/data" ] || return 0
    local pid
    pid=$(head -n 1 "$pg/data/postmaster.pid" 2>/dev/null || true)
    pid_is "$pid" postgres || return 0
    local pgbin
    pgbin=$(pgbin_for "$pg/data") || pgbin=""
    if [ -n "$pgbin" ]; then
        as_user postgres "$pgbin/pg_ctl" -D "$pg/data" -m fast -w -t 30 stop </dev/null >&2 || true
    else
        kill -INT "$pid" 2>/dev/null || true # SIGINT is PostgreSQL's "fast" shutdown
    fi
    if ! wait_gone "$pid" 10; then
        say "PostgreSQL (pid $pid) did not stop; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || true
    fi
}

stop_mariadb() {
    local my=$1/my
    [ -d "$my" ] || return 0
    local pid
    pid=$(cat "$my/mysqld.pid" 2>/dev/null || cat "$my/mariadbd.pid" 2>/dev/null || true)
    pid_is "$pid" mariadbd || return 0
    if [ -S "$my/mysqld.sock" ] && command -v mariadb-admin >/dev/null 2>&1; then
        mariadb-admin --no-defaults --socket="$my/mysqld.sock" -uroot --connect-timeout=5 shutdown \
            </dev/null >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    else
        kill -TERM "$pid" 2>/dev/null || true
    fi
    if ! wait_gone "$pid" 30; then
        say "MariaDB (pid $pid) did not stop within 30s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || true
    fi
}

stop_dir() {
    local dir=$1
    stop_pg "$dir"
    stop_mariadb "$dir"
    rm -rf -- "$dir"
}

cmd_stop() {
    local dir=${1:-${APIM_TUNE_DB_DIR:-}}
    [ -n "$dir" ] || die "usage: $0 stop DIR (or set APIM_TUNE_DB_DIR)"
    # Accept the env file's path too.
    if [ -f "$dir" ] && [ "$(basename "$dir")" = env ]; then dir=$(dirname "$dir"); fi
    if [ ! -e "$dir" ]; then
        say "$dir does not exist; nothing to stop"
        return 0
    fi
    [ -f "$dir/$MARKER" ] || die "$dir was not made by $0 start (no $MARKER); not touching it"
    [ "$(id -u)" = 0 ] || die "must run as root"
    stop_dir "$dir"
    say "stopped; removed $dir"
}

case ${1:-} in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
*) usage ;;
esac
