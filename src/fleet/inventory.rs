//! Ansible's inventory as `ansible-inventory --list` prints it: groups, hosts, host variables.
