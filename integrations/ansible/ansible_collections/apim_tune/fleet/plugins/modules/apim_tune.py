#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: apim-tune contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: apim_tune
short_description: Audit and tune a WSO2 API Manager node with apim-tune
description:
  - Runs the C(apim-tune) binary on the node.
  - Always returns the audit report (C(apim-tune audit --format json)) of each API-M home and, with
    O(facts=true), the node's facts export (C(apim-tune facts)) that C(apim-tune fleet merge) reads.
  - In check mode it runs C(apim-tune audit --diff --record FILE) and returns whether anything would
    change and apim-tune's own masked unified diff as Ansible's diff in its C(prepared) form; file
    contents are never returned (no before/after), so no secret of a configuration file leaves the node.
  - Otherwise, when the diff is not empty, it runs C(apim-tune audit --apply --yes --record FILE) and
    returns the backup id (for C(apim-tune rollback)) and what must be restarted (the systemd units
    apim-tune detected as running the home, and the effects of the change).
  - Fails with the binary's standard error when the binary fails (exit code 2) or an apply was rolled
    back (exit code 3).
version_added: "0.1.0"
author:
  - apim-tune contributors (@apim-tune)
options:
  binary:
    description: Path of the apim-tune binary on the node.
    type: path
    default: apim-tune
  apim_home:
    description:
      - The API-M homes to audit, one audit (and one apply) each. Empty audits the host alone.
    type: list
    elements: path
    default: []
  root:
    description: Read host files under this directory instead of C(/) (a mounted image, a fake root).
    type: path
  role:
    description: Node role, selects apim-tune's shipped profile of that name (every home of the node).
    type: str
    choices: [all-in-one, gateway, key-manager, control-plane, traffic-manager]
  profile:
    description: A profile file (TOML) on the node to use instead of the shipped one.
    type: path
  waivers:
    description: A waivers file on the node (accepted deviations).
    type: path
  backup_dir:
    description: Where C(--apply) keeps its backups (apim-tune's default is C(var/backups/apim-tune) under the root).
    type: path
  salt:
    description:
      - The key of the fingerprints of secrets in the facts export (C(APIM_TUNE_FLEET_SALT)); the same on
        every node of a deployment so that C(fleet merge) can compare them.
      - Passed in the environment, never on the command line.
    type: str
  apply:
    description:
      - Apply the fixable findings (in check mode only show the diff). With V(false) the module only
        reports and never changes the node.
    type: bool
    default: true
  facts:
    description: Also return the node's facts export (C(apim-tune facts)).
    type: bool
    default: true
  extra_args:
    description: More options for every C(audit) run, e.g. C([--cores, "8"]).
    type: list
    elements: str
    default: []
notes:
  - Supports check mode and diff mode.
  - Needs a C(apim-tune) binary that knows C(audit --record) for the backup id and the restart facts;
    with an older one check mode still reports the change from the diff.
seealso:
  - name: apim-tune
    description: The audit, its rules and the apply record.
    link: https://github.com/wso2/docs-apim
'''

EXAMPLES = r'''
- name: Tune the gateway (check mode shows the diff)
  apim_tune.fleet.apim_tune:
    binary: /usr/local/bin/apim-tune
    apim_home: [/opt/wso2am-4.2.0]
    role: gateway
    salt: "{{ vault_apim_tune_salt }}"
  register: tuned

- name: Restart what the apply needs restarted
  ansible.builtin.systemd:
    name: "{{ item }}"
    state: restarted
  loop: "{{ tuned.restart.units }}"
  when: tuned.restart.needed

- name: Report only, under a mounted image
  apim_tune.fleet.apim_tune:
    root: /mnt/image
    apim_home: [/mnt/image/opt/wso2am-4.2.0]
    apply: false
    facts: false
'''

RETURN = r'''
report:
  description: The audit report (apim-tune's JSON) of the first home, after any apply.
  returned: always
  type: dict
reports:
  description: One item per audited home, with C(apim_home) and its C(report).
  returned: always
  type: list
  elements: dict
facts:
  description: The node's facts export (schema C(apim-tune/facts/v1)); secrets only as keyed fingerprints.
  returned: when O(facts=true)
  type: dict
records:
  description: The apply records (schema C(apim-tune/apply/v1)) of the diff or apply run of each home.
  returned: when O(apply=true)
  type: list
  elements: dict
backup:
  description: The id of the last backup an apply made (for C(apim-tune rollback)), else null.
  returned: always
  type: str
  sample: 20261207T212708Z
backups:
  description: Every backup id the applies made, one per home that changed.
  returned: always
  type: list
  elements: str
restart:
  description: What must be restarted to put the change in effect.
  returned: always
  type: dict
  contains:
    needed:
      description: Whether an effect takes a restart of API-M.
      type: bool
    units:
      description: The systemd units apim-tune detected as running the audited homes.
      type: list
      elements: str
    effects:
      description: C(sysctl_reload), C(new_sessions), C(restart_service), C(restart_apim).
      type: list
      elements: str
diff:
  description: apim-tune's masked unified diff, as Ansible's diff in its C(prepared) form.
  returned: when changed
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.apim_tune.fleet.plugins.module_utils.apim_tune_record import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_ROLLED_BACK,
    ROLES,
    RecordError,
    ansible_diff,
    change_command,
    facts_command,
    parse_json_output,
    parse_record,
    record_from_diff_output,
    report_command,
    restart_of,
    target_args,
)


def run(module, cmd, env):
    rc, out, err = module.run_command(cmd, environ_update=env)
    if rc not in (EXIT_OK, EXIT_FINDINGS):
        what = 'rolled back every file it had written' if rc == EXIT_ROLLED_BACK else 'failed'
        module.fail_json(msg='apim-tune %s (exit code %d): %s' % (what, rc, err.strip()),
                         rc=rc, stderr=err, cmd=cmd)
    return rc, out, err


def read_record(module, path):
    """The record the run wrote, or None when it wrote none (a binary without --record)."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            text = f.read()
    finally:
        os.remove(path)
    try:
        return parse_record(text)
    except RecordError as e:
        module.fail_json(msg='apim-tune wrote an apply record that is not %s: %s' % ('apim-tune/apply/v1', e))


def change(module, p, target, env):
    record_path = os.path.join(module.tmpdir, 'apim-tune-record.json')
    common = dict(backup_dir=p['backup_dir'], waivers=p['waivers'], extra_args=p['extra_args'])
    rc, out, err = run(module, change_command(p['binary'], target, record_path, apply=False, **common), env)
    planned = read_record(module, record_path) or record_from_diff_output(rc, out)
    if module.check_mode or not planned['changed']:
        return planned
    run(module, change_command(p['binary'], target, record_path, apply=True, **common), env)
    done = read_record(module, record_path)
    if done is None:
        # A binary without --record applied all the same: the change is the planned one, the
        # backup id and the units are unknown.
        done = dict(planned, mode='apply')
    return done


def main():
    module = AnsibleModule(
        argument_spec=dict(
            binary=dict(type='path', default='apim-tune'),
            apim_home=dict(type='list', elements='path', default=[]),
            root=dict(type='path'),
            role=dict(type='str', choices=ROLES),
            profile=dict(type='path'),
            waivers=dict(type='path'),
            backup_dir=dict(type='path'),
            salt=dict(type='str', no_log=True),
            apply=dict(type='bool', default=True),
            facts=dict(type='bool', default=True),
            extra_args=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    # The salt goes in the environment only: a command line is visible to every user of the node.
    env = {'APIM_TUNE_FLEET_SALT': p['salt']} if p['salt'] else {}
    homes = p['apim_home'] or [None]

    records = []
    if p['apply']:
        for home in homes:
            records.append(change(module, p, target_args(p['root'], home, p['role'], p['profile']), env))

    reports = []
    for home in homes:
        target = target_args(p['root'], home, p['role'], p['profile'])
        rc, out, err = run(module, report_command(p['binary'], target, p['waivers'], p['extra_args']), env)
        try:
            reports.append({'apim_home': home, 'report': parse_json_output('audit --format json', out)})
        except RecordError as e:
            module.fail_json(msg=str(e), stderr=err)

    result = dict(
        changed=any(r['changed'] for r in records),
        report=reports[0]['report'],
        reports=reports,
        records=records,
        backups=[r['backup'] for r in records if r['backup']],
        restart=restart_of([r for r in records if r['changed']]),
    )
    result['backup'] = result['backups'][-1] if result['backups'] else None
    if result['changed']:
        result['diff'] = ansible_diff(records)

    if p['facts']:
        rc, out, err = run(module, facts_command(p['binary'], p['root'], p['apim_home'], p['role'], p['profile'], p['extra_args']), env)
        try:
            result['facts'] = parse_json_output('facts', out)
        except RecordError as e:
            module.fail_json(msg=str(e), stderr=err)

    module.exit_json(**result)


if __name__ == '__main__':
    main()
