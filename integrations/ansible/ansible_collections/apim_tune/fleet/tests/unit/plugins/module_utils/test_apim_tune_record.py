# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.apim_tune.fleet.plugins.module_utils.apim_tune_record import (
    RecordError,
    ansible_diff,
    change_command,
    diff_files,
    facts_command,
    parse_record,
    record_from_diff_output,
    report_command,
    restart_of,
    target_args,
)

DIFF = ('--- a/etc/sysctl.d/90-apim.conf\n+++ b/etc/sysctl.d/90-apim.conf\n@@ -1 +1 @@\n'
        '-net.core.somaxconn = 1024\n+net.core.somaxconn = 4096\n'
        '--- a/opt/wso2am-4.2.0/repository/conf/deployment.toml\n'
        '+++ b/opt/wso2am-4.2.0/repository/conf/deployment.toml\n@@ -3 +3 @@\n-password = ****\n+x = 1\n')


def record(**kw):
    r = {'schema': 'apim-tune/apply/v1', 'mode': 'apply', 'changed': True, 'changes': 2,
         'files': ['etc/sysctl.d/90-apim.conf'], 'diff': DIFF, 'backup': '20261207T212708Z',
         'backup_dir': '/var/backups/apim-tune', 'effects': ['sysctl_reload', 'restart_apim'],
         'units': ['wso2am.service']}
    r.update(kw)
    return r


def test_parse_record_keeps_every_field():
    r = parse_record(json.dumps(record()))
    assert r['backup'] == '20261207T212708Z'
    assert r['units'] == ['wso2am.service']
    assert r['effects'] == ['sysctl_reload', 'restart_apim']
    assert r['changes'] == 2


def test_parse_record_fills_absent_optional_fields():
    r = parse_record(json.dumps({'schema': 'apim-tune/apply/v1', 'mode': 'diff', 'changed': False}))
    assert r == {'schema': 'apim-tune/apply/v1', 'mode': 'diff', 'changed': False, 'changes': 0,
                 'files': [], 'diff': '', 'backup': None, 'backup_dir': None, 'effects': [], 'units': []}


@pytest.mark.parametrize('text, error', [
    ('{', 'not JSON'),
    ('[]', 'not a JSON object'),
    (json.dumps(record(schema='apim-tune/apply/v2')), 'schema is'),
    (json.dumps(record(mode='dry')), 'mode is'),
    (json.dumps(record(changed='yes')), '`changed`'),
    (json.dumps(record(diff=3)), '`diff`'),
    (json.dumps(record(changes=-1)), '`changes`'),
    (json.dumps(record(changes=True)), '`changes`'),
    (json.dumps(record(units='wso2am.service')), '`units`'),
    (json.dumps(record(effects=[1])), '`effects`'),
    (json.dumps(record(backup=5)), '`backup`'),
])
def test_parse_record_rejects_what_the_schema_does_not_promise(text, error):
    with pytest.raises(RecordError) as e:
        parse_record(text)
    assert error in str(e.value)


def test_diff_without_record_takes_the_exit_code_and_stdout():
    r = record_from_diff_output(1, DIFF)
    assert r['changed'] is True
    assert r['diff'] == DIFF
    assert r['files'] == ['etc/sysctl.d/90-apim.conf', 'opt/wso2am-4.2.0/repository/conf/deployment.toml']
    assert record_from_diff_output(0, '')['changed'] is False
    # exit 1 with nothing printed is findings, not a change
    assert record_from_diff_output(1, '\n')['changed'] is False


def test_diff_files_skips_dev_null_and_repeats():
    d = '+++ b/a\n+++ b/a\n+++ /dev/null\n+++ c\t2026-01-01\n'
    assert diff_files(d) == ['a', 'c']


def test_ansible_diff_is_prepared_text_only():
    d = ansible_diff([record(), record(changed=False, diff='--- a/x\n+++ b/x\n')])
    assert list(d) == ['prepared']
    assert d['prepared'] == DIFF
    assert ansible_diff([record(diff='no newline')])['prepared'] == 'no newline\n'


def test_restart_of_unions_units_and_effects():
    r = restart_of([record(), record(units=['wso2am-km.service', 'wso2am.service'], effects=['new_sessions'])])
    assert r == {'needed': True, 'units': ['wso2am.service', 'wso2am-km.service'],
                 'effects': ['sysctl_reload', 'restart_apim', 'new_sessions']}
    assert restart_of([record(effects=['sysctl_reload'])])['needed'] is False
    assert restart_of([])['needed'] is False


def test_commands():
    t = target_args('/r', '/r/opt/h', 'gateway', None)
    assert t == ['--root', '/r', '--apim-home', '/r/opt/h', '--role', 'gateway']
    assert target_args() == []
    assert report_command('b', t, 'w.toml', ['--cores', '8']) == [
        'b', 'audit', '--root', '/r', '--apim-home', '/r/opt/h', '--role', 'gateway', '--format', 'json',
        '--fail-on', 'never', '--color', 'never', '--waivers', 'w.toml', '--cores', '8']
    diff = change_command('b', [], '/tmp/r.json')
    assert diff == ['b', 'audit', '--fail-on', 'never', '--color', 'never', '--diff', '--record', '/tmp/r.json']
    apply = change_command('b', [], '/tmp/r.json', apply=True, backup_dir='/bk')
    assert apply == ['b', 'audit', '--fail-on', 'never', '--color', 'never', '--apply', '--yes',
                     '--backup-dir', '/bk', '--record', '/tmp/r.json']
    assert facts_command('b', '/r', ['/h1', '/h2']) == [
        'b', 'facts', '--root', '/r', '--apim-home', '/h1', '--apim-home', '/h2']
    assert facts_command('b') == ['b', 'facts']


def test_facts_audits_as_the_audit_does():
    # The export must carry the role and overrides the report was audited with (review of
    # issue 16: without --role, a node without server_role exported all-in-one).
    assert facts_command('b', None, ['/h'], 'gateway', None, ['--java-version', '17', '--client-timeout', '60', '--memory=8G']) == [
        'b', 'facts', '--apim-home', '/h', '--role', 'gateway', '--java-version', '17', '--memory=8G']
    # With two homes each home says its own role.
    assert facts_command('b', None, ['/a', '/b'], 'gateway', 'p.toml') == [
        'b', 'facts', '--apim-home', '/a', '--apim-home', '/b']
