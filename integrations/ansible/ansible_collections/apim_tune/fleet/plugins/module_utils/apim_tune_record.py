# -*- coding: utf-8 -*-
# Copyright: apim-tune contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of the apim_tune module: the command lines it runs and the apply records it reads.

Kept apart from the module so that ansible-test units can test them without running a binary.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

RECORD_SCHEMA = 'apim-tune/apply/v1'

# Exit codes of apim-tune (src/exit_code.rs): 0 nothing at or above --fail-on, 1 findings (or,
# with --diff, a change), 2 the tool failed, 3 --apply failed and restored what it had written.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_TOOL_ERROR = 2
EXIT_ROLLED_BACK = 3

# The effects of an apply that only a restart of API-M puts in effect; `sysctl_reload` and
# `new_sessions` are put in effect otherwise (a reload, the next login).
RESTART_EFFECTS = frozenset(['restart_service', 'restart_apim'])

ROLES = ['all-in-one', 'gateway', 'key-manager', 'control-plane', 'traffic-manager']


class RecordError(Exception):
    """An apply record that is not what `apim-tune/apply/v1` promises."""


def target_args(root=None, apim_home=None, role=None, profile=None):
    """The options that say what to audit: the same for the report, the diff and the apply."""
    args = []
    if root:
        args += ['--root', root]
    if apim_home:
        args += ['--apim-home', apim_home]
    if role:
        args += ['--role', role]
    if profile:
        args += ['--profile', profile]
    return args


def report_command(binary, target, waivers=None, extra_args=None):
    """`audit --format json`: --fail-on never, so the exit code says only whether the tool worked."""
    cmd = [binary, 'audit'] + list(target) + ['--format', 'json', '--fail-on', 'never', '--color', 'never']
    if waivers:
        cmd += ['--waivers', waivers]
    return cmd + list(extra_args or [])


def change_command(binary, target, record, apply=False, backup_dir=None, waivers=None, extra_args=None):
    """`audit --diff --record F` (what would change) or `audit --apply --yes --record F`."""
    cmd = [binary, 'audit'] + list(target) + ['--fail-on', 'never', '--color', 'never']
    cmd += ['--apply', '--yes'] if apply else ['--diff']
    if backup_dir:
        cmd += ['--backup-dir', backup_dir]
    cmd += ['--record', record]
    if waivers:
        cmd += ['--waivers', waivers]
    return cmd + list(extra_args or [])


# The host overrides `facts` shares with `audit`: the export must describe the node the audit
# judged (the same role, memory, JDK...), or the merge compares other values than the report's.
FACTS_OVERRIDES = ('--cores', '--memory', '--nat', '--java-version', '--java-home', '--kernel',
                   '--user', '--apim-version')


def facts_overrides(extra_args):
    """The words of `extra_args` that `facts` also takes (a flag and its value, or `flag=value`)."""
    words = list(extra_args or [])
    out = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in FACTS_OVERRIDES:
            out += words[i:i + 2]
            i += 2
            continue
        if any(w.startswith(f + '=') for f in FACTS_OVERRIDES):
            out.append(w)
        i += 1
    return out


def facts_command(binary, root=None, apim_homes=None, role=None, profile=None, extra_args=None):
    """`facts`: one export for the node, every home in it, audited as `audit` audits it."""
    cmd = [binary, 'facts']
    if root:
        cmd += ['--root', root]
    homes = list(apim_homes or [])
    for home in homes:
        cmd += ['--apim-home', home]
    # apim-tune takes --role/--profile with one home only (each home says its own role).
    if len(homes) <= 1:
        if role:
            cmd += ['--role', role]
        if profile:
            cmd += ['--profile', profile]
    return cmd + facts_overrides(extra_args)


def _string_list(record, key):
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError('`%s` is not a list of strings' % key)
    return value


def parse_record(text):
    """Check an apply record and return it as a dict with every key of the schema present."""
    try:
        record = json.loads(text)
    except ValueError as e:
        raise RecordError('not JSON: %s' % e)
    if not isinstance(record, dict):
        raise RecordError('not a JSON object')
    if record.get('schema') != RECORD_SCHEMA:
        raise RecordError('schema is %r, expected %r' % (record.get('schema'), RECORD_SCHEMA))
    if record.get('mode') not in ('diff', 'apply'):
        raise RecordError('mode is %r, expected "diff" or "apply"' % (record.get('mode'),))
    if not isinstance(record.get('changed'), bool):
        raise RecordError('`changed` is not true or false')
    diff = record.get('diff')
    if diff is None:
        diff = ''
    if not isinstance(diff, str):
        raise RecordError('`diff` is not a string')
    changes = record.get('changes', 0)
    if isinstance(changes, bool) or not isinstance(changes, int) or changes < 0:
        raise RecordError('`changes` is not a count')
    for key in ('backup', 'backup_dir'):
        if record.get(key) is not None and not isinstance(record.get(key), str):
            raise RecordError('`%s` is not a string or null' % key)
    return {
        'schema': RECORD_SCHEMA,
        'mode': record['mode'],
        'changed': record['changed'],
        'changes': changes,
        'files': _string_list(record, 'files'),
        'diff': diff,
        'backup': record.get('backup'),
        'backup_dir': record.get('backup_dir'),
        'effects': _string_list(record, 'effects'),
        'units': _string_list(record, 'units'),
    }


def record_from_diff_output(rc, stdout):
    """What a `--diff` run that wrote no record (a binary without --record) still tells: its exit
    code says whether anything would change and its stdout is the masked diff."""
    changed = rc == EXIT_FINDINGS and bool(stdout.strip())
    return {
        'schema': RECORD_SCHEMA,
        'mode': 'diff',
        'changed': changed,
        'changes': 0,
        'files': diff_files(stdout) if changed else [],
        'diff': stdout if changed else '',
        'backup': None,
        'backup_dir': None,
        'effects': [],
        'units': [],
    }


def diff_files(diff):
    """The files a unified diff names (its `+++ b/PATH` lines), in order, once each."""
    files = []
    for line in diff.splitlines():
        if line.startswith('+++ '):
            path = line[4:].split('\t', 1)[0]
            if path.startswith('b/'):
                path = path[2:]
            if path != '/dev/null' and path not in files:
                files.append(path)
    return files


def ansible_diff(records):
    """Ansible's diff in its `prepared` form: apim-tune's own masked diff text. Never before/after:
    those would carry file contents, secrets included."""
    text = ''.join(r['diff'] if r['diff'].endswith('\n') or not r['diff'] else r['diff'] + '\n'
                   for r in records if r['changed'])
    return {'prepared': text}


def restart_of(records):
    """What must be restarted after the applies: the units apim-tune detected and the effects,
    each once, in the order first seen; `needed` when an effect takes a restart."""
    units = []
    effects = []
    for r in records:
        for u in r['units']:
            if u not in units:
                units.append(u)
        for e in r['effects']:
            if e not in effects:
                effects.append(e)
    return {
        'needed': any(e in RESTART_EFFECTS for e in effects),
        'units': units,
        'effects': effects,
    }


def parse_json_output(what, text):
    """The JSON a command printed, or a RecordError naming the command."""
    try:
        return json.loads(text)
    except ValueError as e:
        raise RecordError('%s did not print JSON: %s' % (what, e))
