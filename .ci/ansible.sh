#!/usr/bin/env bash
# The Ansible collection's tests (integrations/ansible/ansible_collections/apim_tune/fleet):
# ansible-core from PyPI in a venv, then `ansible-test sanity`, `units` and `integration` with
# --local --requirements (requirements from PyPI into ansible-test's own venvs; never --venv or
# --docker, which fetch from elsewhere), then the four-node SSH lab (.ci/lab/run.sh).
#
# Usage: .ci/ansible.sh [BINARY]   (default: `cargo build` of this repo, the debug binary)
# Runs as root (the lab makes network namespaces). Prints each step's wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

ansible_core=2.17.7
python=python3.11
collection=$repo/integrations/ansible/ansible_collections/apim_tune/fleet

if [ $# -ge 1 ]; then
    bin=$(realpath "$1")
else
    cargo build --quiet
    bin=$(realpath "${CARGO_TARGET_DIR:-target}/debug/apim-tune")
fi
[ -x "$bin" ] || { echo "ansible.sh: no binary at $bin" >&2; exit 2; }

t0=$(date +%s)
step() { printf '[ansible.sh %s +%ss] %s\n' "$(date +%T)" "$(($(date +%s) - t0))" "$*" >&2; }

command -v "$python" >/dev/null 2>&1 || python=python3
# Debian's python3 lacks ensurepip (so venv) until python3-venv is installed.
if ! "$python" -c 'import ensurepip' 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends python3-venv >/dev/null
fi
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

work=${APIM_TUNE_ANSIBLE_DIR:-/tmp/apim-tune-ansible}
mkdir -p "$work"
venv=$work/venv
if [ ! -x "$venv/bin/ansible-test" ] || ! "$venv/bin/ansible" --version 2>/dev/null | grep -q "core $ansible_core"; then
    step "venv with ansible-core $ansible_core from PyPI"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet "ansible-core==$ansible_core"
fi
export PATH=$venv/bin:$PATH

# ansible-test keeps its venvs and caches under $HOME/.ansible/test: a private HOME keeps them
# out of root's. Its pip bootstrap downloads get-pip.py from a host that is not a package
# registry; the cached stand-in below bootstraps pip from Python's own ensurepip and then
# installs the pinned pip ansible-test asks for from PyPI, as get-pip.py would.
export HOME=$work/home
# The pip version ansible-test pins (the bootstrap script is cached under its name).
pip_pin=$("$venv/bin/python" - <<'EOF'
import inspect
import re

from ansible_test._internal import python_requirements

print(re.search(r"pip='([0-9.]+)'", inspect.getsource(python_requirements)).group(1))
EOF
)
mkdir -p "$HOME/.ansible/test/cache"
cat >"$HOME/.ansible/test/cache/get_pip_${pip_pin//./_}.py" <<'EOF'
import ensurepip
import os
import subprocess
import sys

env = dict(os.environ)  # ensurepip points PIP_CONFIG_FILE at /dev/null: keep the site's pip config
ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + sys.argv[1:], env=env))
EOF

# What the binary can do yet: the apply record (`audit --record`) and the facts export. Without
# them the tests that need them are skipped here, which fails under CI=true.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cp -r examples/apim-4.2.0 "$probe/home"
has_record=false
"$bin" audit --root "$probe" --apim-home "$probe/home" --diff --record "$probe/record.json" >/dev/null 2>&1 || true
[ -s "$probe/record.json" ] && has_record=true
has_facts=false
"$bin" facts --root "$probe" --apim-home "$probe/home" >/dev/null 2>&1 && has_facts=true
for cap in has_record has_facts; do
    if [ "${!cap}" != true ]; then
        echo "SKIP: the binary lacks ${cap#has_} (the tests that need it are skipped)" >&2
        if [ "${CI:-}" = true ]; then exit 1; fi
    fi
done

cd "$collection"
cat >tests/integration/integration_config.yml <<EOF
apim_tune_binary: $bin
apim_tune_example_home: $repo/examples/apim-4.2.0
apim_tune_has_record: $has_record
apim_tune_has_facts: $has_facts
EOF

step "ansible-test sanity"
ansible-test sanity --local --requirements --python "$pyver" --color no
step "ansible-test units"
ansible-test units --local --requirements --python "$pyver" --color no
step "ansible-test integration"
ansible-test integration --local --requirements --python "$pyver" --color no apim_tune
cd "$repo"

step "four-node SSH lab"
.ci/lab/run.sh "$bin"
step "done"
