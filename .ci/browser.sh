#!/usr/bin/env bash
# The HTML reports in a real browser: builds the binary, writes each report (audit, db audit,
# validate, fleet merge) as HTML from the test fixtures, and runs tests/browser/check.py on
# them in Debian's headless Chromium (console errors, network requests, the filter, a phone's
# width, printing, and a screenshot against tests/browser/reference/). Then it plants a network
# request and an inline script in copies of a page and requires the checks to catch both, so
# a check that cannot fail fails here.
#
#   .ci/browser.sh            check
#   .ci/browser.sh --update   write new reference screenshots (review them, then commit)
#
# Needs chromium, chromium-driver and python3 (Debian packages; .ci/run installs them). Without
# them it says SKIPPED and exits 0, except under CI=true, where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in chromium chromedriver python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        if [ "${CI:-}" = true ]; then
            echo "FAIL: .ci/browser.sh: $tool is not installed (apt-get install chromium chromium-driver)" >&2
            exit 1
        fi
        echo "SKIPPED: .ci/browser.sh: $tool is not installed (apt-get install chromium chromium-driver)" >&2
        exit 0
    fi
done

cargo build -q
bin="${CARGO_TARGET_DIR:-target}/debug/apim-tune"
# A fixed-length path: it shows in the reports, and the screenshots are compared.
work=$(mktemp -d /tmp/apim-tune-browser.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/reports" "$work/planted"
out="$work/reports"

# Findings give exit 1; only 2 and up is a failure here.
run() { "$@" || [ $? -eq 1 ]; }

cp -r tests/fixtures/hosts/modern-4.2 "$work/root"
run "$bin" audit --root "$work/root" --apim-home "$work/root/opt/wso2am-4.2.0" \
    --java-version 17 --color never --format html >"$out/audit.html"

db="sqlite://$work/apim.db"
APIM_TUNE_DB_URL="$db" "$bin" db init >/dev/null
APIM_TUNE_DB_URL="$db" "$bin" db seed --tokens 4000 --codes 800 --sessions 400 \
    --registry 300 --audit-rows 400 >/dev/null
APIM_TUNE_DB_URL="$db" run "$bin" db audit --color never --format html >"$out/db-audit.html"

cp -r tests/fixtures/hosts/legacy-2.6 "$work/legacy"
run "$bin" validate --root "$work/legacy" --apim-home "$work/legacy/opt/wso2am-2.6.0" \
    --duration 0.5 --connections 4 --requests 400 --km-latency 0 --tokens 20 \
    --format html >"$out/validate.html"

set_dir=tests/fixtures/fleet/merge/deployment
run "$bin" fleet merge "$set_dir"/{cp1,gw1,gw2,tm1}.json --inventory "$set_dir/inventory.json" \
    --color never --format html >"$out/fleet-merge.html"

echo "browser: the reports in headless $(chromium --version 2>/dev/null | head -n1)"
python3 tests/browser/check.py "$out" tests/browser/reference "$@"

if [ "${1:-}" != --update ]; then
    # A request to the network (blocked by the policy, or made where there is none), and an
    # inline handler the policy must refuse: each must be caught.
    sed 's|<h1>|<img alt="" src="http://127.0.0.1:9/planted.png"><h1>|' "$out/audit.html" \
        >"$work/planted/request.html"
    sed -e 's|<meta http-equiv="Content-Security-Policy"[^>]*>||' \
        -e 's|<h1>|<img alt="" src="http://127.0.0.1:9/planted.png"><h1>|' "$out/audit.html" \
        >"$work/planted/no-policy.html"
    sed 's|<h1>|<script>document.title = "planted";</script><h1>|' "$out/fleet-merge.html" \
        >"$work/planted/inline-script.html"
    echo "browser: pages with planted problems, which the checks must catch"
    python3 tests/browser/check.py "$work/planted" tests/browser/reference --expect-failure

    # The screenshot comparison must tell pages apart: the audit against the deployment's
    # reference must fail.
    mkdir "$work/swapped" "$work/swapped-reference"
    cp "$out/audit.html" "$work/swapped/"
    cp tests/browser/reference/points.json "$work/swapped-reference/"
    cp tests/browser/reference/fleet-merge.png "$work/swapped-reference/audit.png"
    echo "browser: the audit against the deployment's reference screenshot, which must differ"
    if python3 tests/browser/check.py "$work/swapped" "$work/swapped-reference" 2>"$work/swapped.log"; then
        echo "FAIL: the screenshot comparison did not tell the audit from the deployment" >&2
        exit 1
    fi
    sed 's/^/  found, as planted: /' "$work/swapped.log"
fi
