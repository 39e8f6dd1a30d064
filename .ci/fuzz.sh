#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time and fails when one finds a crash (a panic,
# a failed property, a timeout or running out of memory) (issue 15).
#
# Time: FUZZ_SECONDS per target (default 20) × 12 targets = 4 min of fuzzing, plus building the
# fuzz crate in release mode (a few minutes cold) and installing cargo-fuzz when missing (at
# most 15 min, once). Usage: .ci/fuzz.sh [target…]; FUZZ_SECONDS=300 .ci/fuzz.sh xml for longer.
#
# Seed corpora are built here from ../shared/fixtures and tests/fixtures (nothing is committed
# under fuzz/corpus); a crash leaves its input in fuzz/artifacts/<target>/, and the fix comes
# with a test in tests/fuzz_regressions.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
# cargo fuzz passes `-Z` flags (`-Zsanitizer`, and cargo's own); the stable toolchain accepts
# them only with RUSTC_BOOTSTRAP. No sanitizer: the targets are safe Rust, so AddressSanitizer
# would only slow them down; release mode keeps debug assertions (overflow checks) on.
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    timeout 900 cargo install cargo-fuzz --version 0.13.2 --locked
fi

shared=../shared/fixtures/wso2
fixtures=tests/fixtures
corpus=fuzz/corpus

# seed <target> <prefix as printf format> <file>…: each file, after the parameter bytes the
# target reads first, becomes one seed.
seed() {
    local target=$1 prefix=$2
    shift 2
    mkdir -p "$corpus/$target"
    local f n=0
    for f in "$@"; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        { printf "$prefix"; head -c 65536 "$f"; } >"$corpus/$target/seed-$n"
    done
}
# inline <target> <printf format>…: one seed per format.
inline() {
    local target=$1 n=0
    shift
    mkdir -p "$corpus/$target"
    for fmt in "$@"; do
        n=$((n + 1))
        printf "$fmt" >"$corpus/$target/inline-$n"
    done
}

mapfile -t xml < <(find "$shared" -name '*.xml' 2>/dev/null | sort)
mapfile -t tomls < <(find "$shared" examples "$fixtures/hosts" -name 'deployment.toml' 2>/dev/null | sort)
mapfile -t props < <(find "$shared" -name '*.properties' 2>/dev/null | sort)
mapfile -t scripts < <(find "$shared" examples "$fixtures/hosts" -name '*.sh' 2>/dev/null | sort)
mapfile -t sysctl < <(find "$fixtures/hosts" -path '*sysctl*' -type f 2>/dev/null | sort)
mapfile -t limits < <(find "$fixtures/hosts" -path '*/etc/security/*' -type f 2>/dev/null | sort)
mapfile -t units < <(find "$fixtures/hosts" \( -path '*/systemd/*' -o -path '*/etc/default/*' \) -type f 2>/dev/null | sort)
mapfile -t profiles < <(find profiles "$fixtures/profiles" -name '*.toml' 2>/dev/null | sort)
mapfile -t waivers < <(find "$fixtures/waivers" -name '*.toml' 2>/dev/null | sort)

seed xml '' "${xml[@]}"
seed xml_edit '\001\000\0041234' "${xml[@]}"
seed xml_edit '\002\001\004true' "${xml[@]}"
seed toml '' "${tomls[@]}"
seed toml_edit '\001\002\003abc' "${tomls[@]}"
seed properties '\001\003abc' "${props[@]}"
seed start_script '\001' "${scripts[@]}"
seed sysctl '\001' "${sysctl[@]}"
seed limits '\001' "${limits[@]}"
seed systemd '' "${units[@]}"
seed profile '' "${profiles[@]}"
seed waivers '\000' "${waivers[@]}"
inline sysctl '\000net.core.somaxconn = 4096\n-kernel.pid_max=1\r\n# c\n; c\nvm/swappiness\t=\t1'
inline limits '\000* soft nofile 65536\nwso2 hard nproc unlimited # c\n@g - memlock -1\r\n'
inline systemd '[Service]\nExecStart=/opt/apim/bin/api-manager.sh\nUser=wso2\nLimitNOFILE=65536:65536\nMemoryMax=4G\nEnvironment="JAVA_OPTS=-Xmx2g" A=b\\\n c\nEnvironmentFile=-/etc/default/wso2am\nJVM_MEM_OPTS="-Xms1g -Xmx1g"\n'
inline waivers \
    '\000[[waiver]]\ncode = "SYS001"\nsubject = "sysctl:net.core.somaxconn"\nreason = "r"\nexpires = 2027-01-31\n' \
    '\001{"schema":"apim-tune/audit/v1","findings":[{"code":"SYS001","subject":"sysctl:net.core.somaxconn"},{"code":"LIM001","subject":"limits:wso2:nofile:soft"},{"code":"APM001","subject":"deployment.toml:apim.cache.enable"},{"code":"JVM001","subject":"bin/api-manager.sh:-Xmx"},{"code":"X","subject":"node:gw1/systemd:wso2am.service:LimitNOFILE"}]}'
inline http1 \
    '\000\005\007\011HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello' \
    '\000\003\002\001HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: x-a\r\nX-A: 1\r\n\r\n5\r\nhello\r\n0\r\nT: v\r\n\r\n' \
    '\001\001\001\001HTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 304 Not Modified\r\n\r\n' \
    '\000\004\004\0043;ext=1\r\nabc\r\n0\r\n\r\n'

mapfile -t targets < <(if [ "$#" -gt 0 ]; then printf '%s\n' "$@"; else cargo fuzz list; fi)
cargo fuzz build -s none

failed=()
for t in "${targets[@]}"; do
    echo "fuzz: $t for ${seconds}s" >&2
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: memory growing past 2 GiB is a
    # failure too; -max_len: large enough for every seed's interesting part.
    if ! cargo fuzz run -s none "$t" "$corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 >"fuzz/$t.log" 2>&1; then
        failed+=("$t")
        tail -n 40 "fuzz/$t.log" >&2
    else
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "fuzz/$t.log" | tr '\n' ' ' >&2
        echo >&2
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash" >&2
