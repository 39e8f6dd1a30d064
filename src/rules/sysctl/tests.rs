//! The sysctl family, one table: given these files and live values → these findings and fixes.

use crate::diag::{Code, Severity};
use crate::rules::testing::Node;

#[test]
fn sysctl_rules() {
    let debian13 = "ID=debian\nVERSION_ID=\"13\"\n";
    let rocky9 = "ID=\"rocky\"\nVERSION_ID=\"9.4\"\n";
    // sysctl.conf as most distributions ship it: read at boot through this link.
    let link = ("etc/sysctl.d/99-sysctl.conf", "../sysctl.conf");
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "tw_recycle on before 4.12, behind NAT",
            Node::new()
                .kernel("4.9.0-19-amd64")
                .nat(true)
                .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n")
                .link(link.0, link.1)
                .live("net.ipv4.tcp_tw_recycle", "1"),
            Code::TCP_TW_RECYCLE_ENABLED,
            vec![
                "SYS010 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.conf:1 1 → absent (never set it) | comment out etc/sysctl.conf:1",
            ],
        ),
        (
            "tw_recycle on in the running kernel only: no line to fix",
            Node::new()
                .kernel("4.9.0-19-amd64")
                .live("net.ipv4.tcp_tw_recycle", "1"),
            Code::TCP_TW_RECYCLE_ENABLED,
            vec!["SYS010 sysctl:net.ipv4.tcp_tw_recycle @- 1 → absent (never set it) | no fix"],
        ),
        (
            "tw_recycle off: nothing",
            Node::new()
                .kernel("4.9.0-19-amd64")
                .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 0\n")
                .link(link.0, link.1)
                .live("net.ipv4.tcp_tw_recycle", "0"),
            Code::TCP_TW_RECYCLE_ENABLED,
            vec![],
        ),
        (
            "tw_recycle on 5.10, where the key is gone: a dead line for SYS010, not SYS011",
            Node::new()
                .kernel("5.10.0-28-amd64")
                .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n")
                .link(link.0, link.1),
            Code::TCP_TW_RECYCLE_ENABLED,
            vec![
                "SYS010 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.conf:1 1 → absent (the key does not exist) | comment out etc/sysctl.conf:1",
            ],
        ),
        (
            "tw_recycle on 5.10: SYS011 leaves the key to SYS010",
            Node::new()
                .kernel("5.10.0-28-amd64")
                .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n")
                .link(link.0, link.1),
            Code::SYSCTL_KEY_NOT_IN_KERNEL,
            vec![],
        ),
        (
            "a tw_recycle = 0 line on 6.1 is dead too",
            Node::new()
                .kernel("6.1.0-18-amd64")
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.tcp_tw_recycle = 0\n"),
            Code::TCP_TW_RECYCLE_ENABLED,
            vec![
                "SYS010 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.d/90-apim.conf:1 0 → absent (the key does not exist) | comment out etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "tw_recycle = 1 on an image, kernel unknown: the same fix",
            Node::new()
                .no_proc_sys()
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.tcp_tw_recycle = 1\n"),
            Code::TCP_TW_RECYCLE_ENABLED,
            vec![
                "SYS010 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.d/90-apim.conf:1 1 → absent (never set it) | comment out etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "a key no profile entry or rule reads differs live: not SYS005's business",
            Node::new()
                .file("etc/sysctl.d/90-site.conf", "vm.dirty_ratio = 10\n")
                .live("vm.dirty_ratio", "20"),
            Code::SYSCTL_LIVE_DIFFERS,
            vec![],
        ),
        (
            "a key a rule reads differs live: SYS005",
            Node::new()
                .file("etc/sysctl.d/90-site.conf", "vm.swappiness = 1\n")
                .live("vm.swappiness", "60"),
            Code::SYSCTL_LIVE_DIFFERS,
            vec!["SYS005 sysctl:vm.swappiness @etc/sysctl.d/90-site.conf:1 60 → 1 | no fix"],
        ),
        (
            "a 5,536-port range on an all-in-one node: too small, the default range at the line",
            Node::new()
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.ip_local_port_range = 40000 45535\n")
                .live("net.ipv4.ip_local_port_range", "40000\t45535"),
            Code::EPHEMERAL_PORT_RANGE_SMALL,
            vec![
                "SYS020 sysctl:net.ipv4.ip_local_port_range @etc/sysctl.d/90-apim.conf:1 40000 45535 → >= 28232 ports (e.g. `32768 60999`) | set `32768 60999` at etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "a small range ending at 65535: the fix keeps the end (never narrower), parity kept different",
            Node::new().live("net.ipv4.ip_local_port_range", "40001\t65535"),
            Code::EPHEMERAL_PORT_RANGE_SMALL,
            vec![
                "SYS020 sysctl:net.ipv4.ip_local_port_range @- 40001 65535 → >= 28232 ports (e.g. `32768 65535`) | add `net.ipv4.ip_local_port_range` = `32768 65535` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "the same range on a gateway, live only: the drop-in",
            Node::new()
                .role("gateway")
                .live("net.ipv4.ip_local_port_range", "40000\t45535"),
            Code::EPHEMERAL_PORT_RANGE_SMALL,
            vec![
                "SYS020 sysctl:net.ipv4.ip_local_port_range @- 40000 45535 → >= 28232 ports (e.g. `32768 60999`) | add `net.ipv4.ip_local_port_range` = `32768 60999` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "a small range on a key manager: its outbound connections are pooled, no finding",
            Node::new()
                .role("key-manager")
                .live("net.ipv4.ip_local_port_range", "40000\t45535"),
            Code::EPHEMERAL_PORT_RANGE_SMALL,
            vec![],
        ),
        (
            "a 49,001-port range: large enough, whatever its ends",
            Node::new()
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.ip_local_port_range = 16535 65535\n"),
            Code::EPHEMERAL_PORT_RANGE_SMALL,
            vec![],
        ),
        (
            "the small range's parity is left to SYS020's fix",
            Node::new().live("net.ipv4.ip_local_port_range", "40000\t45000"),
            Code::EPHEMERAL_PORT_RANGE_SAME_PARITY,
            vec![],
        ),
        (
            "both ends even: one more port at the top",
            Node::new()
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.ip_local_port_range = 10000 65000\n"),
            Code::EPHEMERAL_PORT_RANGE_SAME_PARITY,
            vec![
                "SYS021 sysctl:net.ipv4.ip_local_port_range @etc/sysctl.d/90-apim.conf:1 10000 65000 → ends of different parity | set `10000 65001` at etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "both ends odd, the top at 65535: one more port at the bottom",
            Node::new().live("net.ipv4.ip_local_port_range", "1025\t65535"),
            Code::EPHEMERAL_PORT_RANGE_SAME_PARITY,
            vec![
                "SYS021 sysctl:net.ipv4.ip_local_port_range @- 1025 65535 → ends of different parity | add `net.ipv4.ip_local_port_range` = `1024 65535` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "the kernel's default range: nothing",
            Node::new().live("net.ipv4.ip_local_port_range", "32768\t60999"),
            Code::EPHEMERAL_PORT_RANGE_SAME_PARITY,
            vec![],
        ),
        (
            "2.6 with offset 1 and the 1024-65535 range: every listen port, Thrift included, reserved",
            Node::new()
                .file("opt/wso2am/repository/conf/carbon.xml", CARBON_26_OFFSET_1)
                .file("opt/wso2am/repository/conf/api-manager.xml", API_MANAGER_THRIFT)
                .home("opt/wso2am")
                .live("net.ipv4.ip_local_reserved_ports", "")
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.ip_local_port_range = 1024 65535\n"),
            Code::LISTEN_PORT_IN_EPHEMERAL_RANGE,
            vec![
                "SYS022 sysctl:net.ipv4.ip_local_reserved_ports @etc/sysctl.d/90-apim.conf:1 (none reserved) → includes 5673, 7612, 7712, 8100, 8244, 8281, 9100, 9444, 9612, 9712, 9764, 10000, 10398, 11112 | add `net.ipv4.ip_local_reserved_ports` = `5673,7612,7712,8100,8244,8281,9100,9444,9612,9712,9764,10000,10398,11112` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "2.6 with the range from 10000: JMX and Thrift are inside (the old advice was false); reserved ones kept",
            Node::new()
                .file("opt/wso2am/repository/conf/carbon.xml", CARBON_26_OFFSET_1)
                .file("opt/wso2am/repository/conf/api-manager.xml", API_MANAGER_THRIFT)
                .home("opt/wso2am")
                .live("net.ipv4.ip_local_reserved_ports", "")
                .file(
                    "etc/sysctl.d/90-apim.conf",
                    "net.ipv4.ip_local_port_range = 10000 65535\nnet.ipv4.ip_local_reserved_ports = 10000,30000-30010\n",
                ),
            Code::LISTEN_PORT_IN_EPHEMERAL_RANGE,
            vec![
                "SYS022 sysctl:net.ipv4.ip_local_reserved_ports @etc/sysctl.d/90-apim.conf:2 10000,30000-30010 → includes 10398, 11112 | set `10000,10398,11112,30000-30010` at etc/sysctl.d/90-apim.conf:2",
            ],
        ),
        (
            "4.2 with [server] offset 2 and the range from 10000: JMX registry 10001 and server 11113",
            Node::new()
                .file("opt/wso2am/repository/conf/carbon.xml", "<Server><Version>4.2.0</Version></Server>\n")
                .file("opt/wso2am/repository/conf/deployment.toml", "[server]\noffset = 2\n")
                .home("opt/wso2am")
                .live("net.ipv4.ip_local_reserved_ports", "")
                .live("net.ipv4.ip_local_port_range", "10000\t65535"),
            Code::LISTEN_PORT_IN_EPHEMERAL_RANGE,
            vec![
                "SYS022 sysctl:net.ipv4.ip_local_reserved_ports @- (none reserved) → includes 10001, 11113 | add `net.ipv4.ip_local_reserved_ports` = `10001,11113` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "4.2 within the kernel's default range: nothing to reserve",
            Node::new()
                .file("opt/wso2am/repository/conf/carbon.xml", "<Server><Version>4.2.0</Version></Server>\n")
                .file("opt/wso2am/repository/conf/deployment.toml", "[server]\noffset = 2\n")
                .home("opt/wso2am")
                .live("net.ipv4.ip_local_reserved_ports", "")
                .live("net.ipv4.ip_local_port_range", "32768\t60999"),
            Code::LISTEN_PORT_IN_EPHEMERAL_RANGE,
            vec![],
        ),
        (
            "a proc/sys that shows no ip_local_reserved_ports: reported, no line written",
            Node::new()
                .file("opt/wso2am/repository/conf/carbon.xml", "<Server><Version>4.2.0</Version></Server>\n")
                .file("opt/wso2am/repository/conf/deployment.toml", "[server]\noffset = 0\n")
                .home("opt/wso2am")
                .live("net.ipv4.ip_local_port_range", "10000\t65535"),
            Code::LISTEN_PORT_IN_EPHEMERAL_RANGE,
            vec![
                "SYS022 sysctl:net.ipv4.ip_local_reserved_ports @- (none reserved) → includes 11111 | no fix",
            ],
        ),
        (
            "swappiness 60 with swap: 1 in the drop-in",
            Node::new()
                .file("proc/meminfo", "MemTotal: 8388608 kB\nSwapTotal: 2097148 kB\n")
                .live("vm.swappiness", "60"),
            Code::SWAPPINESS_HIGH_WITH_SWAP,
            vec![
                "SYS023 sysctl:vm.swappiness @- 60 → <= 10 (e.g. 1) | add `vm.swappiness` = `1` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "swappiness 60 without swap: nothing to swap out",
            Node::new()
                .file("proc/meminfo", "MemTotal: 8388608 kB\nSwapTotal: 0 kB\n")
                .live("vm.swappiness", "60"),
            Code::SWAPPINESS_HIGH_WITH_SWAP,
            vec![],
        ),
        (
            "swappiness unknown swap (no meminfo): nothing",
            Node::new().live("vm.swappiness", "60"),
            Code::SWAPPINESS_HIGH_WITH_SWAP,
            vec![],
        ),
        (
            "THP always: a finding with no fix (not a sysctl)",
            Node::new().file(
                "sys/kernel/mm/transparent_hugepage/enabled",
                "[always] madvise never\n",
            ),
            Code::TRANSPARENT_HUGEPAGES_ALWAYS,
            vec![
                "SYS024 file:sys/kernel/mm/transparent_hugepage/enabled @- always → madvise | no fix",
            ],
        ),
        (
            "THP madvise: nothing",
            Node::new().file(
                "sys/kernel/mm/transparent_hugepage/enabled",
                "always [madvise] never\n",
            ),
            Code::TRANSPARENT_HUGEPAGES_ALWAYS,
            vec![],
        ),
        (
            "live value differs from the line that wins at boot",
            Node::new()
                .file(
                    "etc/sysctl.d/90-apim.conf",
                    "net.ipv4.tcp_fin_timeout = 30\n",
                )
                .live("net.ipv4.tcp_fin_timeout", "60"),
            Code::SYSCTL_LIVE_DIFFERS,
            vec![
                "SYS005 sysctl:net.ipv4.tcp_fin_timeout @etc/sysctl.d/90-apim.conf:1 60 → 30 | no fix",
            ],
        ),
        (
            "a later file overrides an earlier line",
            Node::new()
                .file("etc/sysctl.d/10-a.conf", "net.core.somaxconn = 8192\n")
                .file("etc/sysctl.d/20-b.conf", "net.core.somaxconn = 4096\n"),
            Code::SYSCTL_SHADOWED_LINE,
            vec![
                "SYS006 sysctl:net.core.somaxconn @etc/sysctl.d/10-a.conf:1 8192 → 4096 (the value that wins at boot) | no fix",
            ],
        ),
        (
            "fs.file-max persisted below the value systemd raised",
            Node::new()
                .file("etc/sysctl.conf", "# copied\nfs.file-max = 2097152\n")
                .link(link.0, link.1)
                .live("fs.file-max", "9223372036854775807"),
            Code::SYSCTL_LOWERS_KERNEL_MAXIMUM,
            vec![
                "SYS012 sysctl:fs.file-max @etc/sysctl.conf:2 2097152 → >= 9223372036854775807 (or no line at all) | comment out etc/sysctl.conf:2",
            ],
        ),
        (
            "Debian 13 without the link: a sysctl.conf line moves to the drop-in (issue 13)",
            Node::new()
                .file("etc/os-release", debian13)
                .file("etc/sysctl.conf", "net.ipv4.tcp_fin_timeout = 30\n")
                .live("net.ipv4.tcp_fin_timeout", "60"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_fin_timeout @etc/sysctl.conf:1 30 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | move to etc/sysctl.d/99-zz-apim-tune.conf as `net.ipv4.tcp_fin_timeout` = `30`, commenting out etc/sysctl.conf:1",
            ],
        ),
        (
            "a key repeated on many unlinked lines is one finding: the last line moves, the earlier ones are commented out (issue 15)",
            Node::new()
                .file("etc/os-release", debian13)
                .file(
                    "etc/sysctl.conf",
                    "net.ipv4.tcp_fin_timeout = 40\nnet.core.somaxconn = 4096\nnet.ipv4.tcp_fin_timeout = 50\nnet.ipv4.tcp_fin_timeout = 30\n",
                )
                .live("net.ipv4.tcp_fin_timeout", "60")
                .live("net.core.somaxconn", "4096"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.core.somaxconn @etc/sysctl.conf:2 4096 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | move to etc/sysctl.d/99-zz-apim-tune.conf as `net.core.somaxconn` = `4096`, commenting out etc/sysctl.conf:2",
                "SYS013 sysctl:net.ipv4.tcp_fin_timeout @etc/sysctl.conf:4 30 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | move to etc/sysctl.d/99-zz-apim-tune.conf as `net.ipv4.tcp_fin_timeout` = `30`, commenting out etc/sysctl.conf:4 and :1 :3",
            ],
        ),
        (
            "a repeated harmful line: one finding that comments out every line of it",
            Node::new()
                .file("etc/os-release", debian13)
                .file(
                    "etc/sysctl.conf",
                    "net.ipv4.tcp_tw_recycle = 1\nnet.ipv4.tcp_tw_recycle = 1\n",
                ),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.conf:2 1 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | comment out etc/sysctl.conf:2 and :1",
            ],
        ),
        (
            "Debian 13: a harmful line is only commented out",
            Node::new()
                .file("etc/os-release", debian13)
                .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.conf:1 1 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | comment out etc/sysctl.conf:1",
            ],
        ),
        (
            "Debian 13 with the 99-sysctl.conf link: sysctl.conf is read, nothing to report",
            Node::new()
                .file("etc/os-release", debian13)
                .file("etc/sysctl.conf", "net.ipv4.tcp_fin_timeout = 30\n")
                .link("etc/sysctl.d/99-sysctl.conf", "../sysctl.conf"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![],
        ),
        (
            "no link on any distribution (Rocky 9): not read at boot either (issue 13)",
            Node::new()
                .file("etc/os-release", rocky9)
                .file(
                    "etc/sysctl.conf",
                    "# sysctl settings are defined through files in\n# /usr/lib/sysctl.d/, /run/sysctl.d/, and /etc/sysctl.d/.\nnet.ipv4.tcp_fin_timeout = 30\n",
                )
                .live("net.ipv4.tcp_fin_timeout", "60"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_fin_timeout @etc/sysctl.conf:3 30 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | move to etc/sysctl.d/99-zz-apim-tune.conf as `net.ipv4.tcp_fin_timeout` = `30`, commenting out etc/sysctl.conf:3",
            ],
        ),
        (
            "no distribution known at all: the same",
            Node::new()
                .file("etc/sysctl.conf", "net.ipv4.tcp_fin_timeout = 30\n")
                .live("net.ipv4.tcp_fin_timeout", "60"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_fin_timeout @etc/sysctl.conf:1 30 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | move to etc/sysctl.d/99-zz-apim-tune.conf as `net.ipv4.tcp_fin_timeout` = `30`, commenting out etc/sysctl.conf:1",
            ],
        ),
        (
            "a moved list value keeps every element the line or the kernel has above the profile",
            Node::new()
                .file("etc/sysctl.conf", "net.ipv4.tcp_rmem = 4096 87380 6291456\n")
                .live("net.ipv4.tcp_rmem", "4096\t131072\t6291456"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_rmem @etc/sysctl.conf:1 4096 87380 6291456 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | move to etc/sysctl.d/99-zz-apim-tune.conf as `net.ipv4.tcp_rmem` = `4096 131072 16777216`, commenting out etc/sysctl.conf:1",
            ],
        ),
        (
            "an unlinked sysctl.conf of comments only, as Rocky ships it: quiet",
            Node::new().file("etc/os-release", rocky9).file(
                "etc/sysctl.conf",
                "# System default settings live in /usr/lib/sysctl.d/00-system.conf.\n# To override those settings, enter new settings here, or in an /etc/sysctl.d/<name>.conf file\n#\n",
            ),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![],
        ),
        (
            "an unlinked line with the value boot sets anyway: quiet",
            Node::new()
                .file("etc/sysctl.conf", "net.ipv4.tcp_fin_timeout = 30\n")
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.tcp_fin_timeout=30\n"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![],
        ),
        (
            "an unlinked line boot sets otherwise: only commented out",
            Node::new()
                .file("etc/sysctl.conf", "net.ipv4.tcp_fin_timeout = 20\n")
                .file("etc/sysctl.d/90-apim.conf", "net.ipv4.tcp_fin_timeout = 30\n"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_fin_timeout @etc/sysctl.conf:1 20 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | comment out etc/sysctl.conf:1",
            ],
        ),
        (
            "an unlinked line for a key the kernel lacks: only commented out, never moved",
            Node::new()
                .kernel("6.1.0-18-amd64")
                .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 0\n"),
            Code::SYSCTL_CONF_NOT_READ_AT_BOOT,
            vec![
                "SYS013 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.conf:1 0 → in etc/sysctl.d/99-zz-apim-tune.conf, or removed | comment out etc/sysctl.conf:1",
            ],
        ),
        (
            "tw_recycle on in a package's file: the drop-in sets 0, the package's file is not edited (issue 13)",
            Node::new()
                .kernel("4.9.0-19-amd64")
                .file("usr/lib/sysctl.d/50-vendor.conf", "net.ipv4.tcp_tw_recycle = 1\n")
                .live("net.ipv4.tcp_tw_recycle", "1"),
            Code::TCP_TW_RECYCLE_ENABLED,
            vec![
                "SYS010 sysctl:net.ipv4.tcp_tw_recycle @usr/lib/sysctl.d/50-vendor.conf:1 1 → absent (never set it) | add `net.ipv4.tcp_tw_recycle` = `0` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "several overridden lines of one key in one file are one finding, at the last (issue 15)",
            Node::new()
                .file(
                    "etc/sysctl.d/10-a.conf",
                    "net.core.somaxconn = 8192\nnet.core.somaxconn = 1024\nnet.core.somaxconn = 2048\n",
                )
                .file("etc/sysctl.d/15-b.conf", "net.core.somaxconn = 512\n")
                .file("etc/sysctl.d/20-c.conf", "net.core.somaxconn = 4096\n"),
            Code::SYSCTL_SHADOWED_LINE,
            vec![
                "SYS006 sysctl:net.core.somaxconn @etc/sysctl.d/10-a.conf:3 2048 → 4096 (the value that wins at boot) | no fix",
                "SYS006 sysctl:net.core.somaxconn @etc/sysctl.d/15-b.conf:1 512 → 4096 (the value that wins at boot) | no fix",
            ],
        ),
        (
            "a key the kernel lacks, in /run: reported, no fix (a later file cannot unset a key)",
            Node::new()
                .kernel("5.10.0-28-amd64")
                .file("run/sysctl.d/50-runtime.conf", "net.ipv4.tcp_low_latency = 1\n"),
            Code::SYSCTL_KEY_NOT_IN_KERNEL,
            vec![
                "SYS011 sysctl:net.ipv4.tcp_low_latency @run/sysctl.d/50-runtime.conf:1 1 → absent (the key does not exist) | no fix",
            ],
        ),
        (
            "fs.file-max lowered in a package's file: the drop-in restores the live value",
            Node::new()
                .file("lib/sysctl.d/50-vendor.conf", "fs.file-max = 2097152\n")
                .live("fs.file-max", "9223372036854775807"),
            Code::SYSCTL_LOWERS_KERNEL_MAXIMUM,
            vec![
                "SYS012 sysctl:fs.file-max @lib/sysctl.d/50-vendor.conf:1 2097152 → >= 9223372036854775807 (or no line at all) | add `fs.file-max` = `9223372036854775807` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "a package's line overridden from /etc is how sysctl.d works: not a shadowed line",
            Node::new()
                .file("usr/lib/sysctl.d/50-default.conf", "net.core.somaxconn = 4096\n")
                .file("etc/sysctl.d/90-apim.conf", "net.core.somaxconn = 8192\n"),
            Code::SYSCTL_SHADOWED_LINE,
            vec![],
        ),
        (
            "a linked sysctl.conf line overridden by a later package file: shadowed at boot",
            Node::new()
                .file("etc/sysctl.conf", "net.core.somaxconn = 8192\n")
                .link(link.0, link.1)
                .file("usr/lib/sysctl.d/99-zvendor.conf", "net.core.somaxconn = 4096\n"),
            Code::SYSCTL_SHADOWED_LINE,
            vec![
                "SYS006 sysctl:net.core.somaxconn @etc/sysctl.conf:1 8192 → 4096 (the value that wins at boot) | no fix",
            ],
        ),
        (
            "a profile minimum, set too low in a file of the administrator's",
            Node::new()
                .file(
                    "etc/sysctl.d/90-apim.conf",
                    "net.core.somaxconn = 128\n",
                )
                .live("net.core.somaxconn", "128"),
            Code::SYSCTL_BELOW_RECOMMENDED,
            vec![
                "SYS001 sysctl:net.core.somaxconn @etc/sysctl.d/90-apim.conf:1 128 → >= 4096 | set `4096` at etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "a profile maximum, set too high in a vendor file: the finding points at it, the fix goes to the drop-in (issue 13)",
            Node::new()
                .file(
                    "usr/lib/sysctl.d/50-default.conf",
                    "net.ipv4.tcp_fin_timeout = 60\n",
                )
                .live("net.ipv4.tcp_fin_timeout", "60"),
            Code::SYSCTL_ABOVE_RECOMMENDED,
            vec![
                "SYS002 sysctl:net.ipv4.tcp_fin_timeout @usr/lib/sysctl.d/50-default.conf:1 60 → <= 30 | add `net.ipv4.tcp_fin_timeout` = `30` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "the same in /run, lost at reboot: the fix goes to the drop-in",
            Node::new()
                .file(
                    "run/sysctl.d/50-runtime.conf",
                    "net.ipv4.tcp_fin_timeout = 60\n",
                )
                .live("net.ipv4.tcp_fin_timeout", "60"),
            Code::SYSCTL_ABOVE_RECOMMENDED,
            vec![
                "SYS002 sysctl:net.ipv4.tcp_fin_timeout @run/sysctl.d/50-runtime.conf:1 60 → <= 30 | add `net.ipv4.tcp_fin_timeout` = `30` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}

/// A 2.6 carbon.xml reduced to what the port rules read: version, offset 1, the JMX ports.
const CARBON_26_OFFSET_1: &str = "<Server xmlns=\"http://wso2.org/projects/carbon/carbon.xml\">\n  <Version>2.6.0</Version>\n  <Ports>\n    <Offset>1</Offset>\n    <JMX>\n      <RMIRegistryPort>9999</RMIRegistryPort>\n      <RMIServerPort>11111</RMIServerPort>\n    </JMX>\n  </Ports>\n</Server>\n";

/// The Thrift key-validation server on, its port commented out as shipped (10397).
const API_MANAGER_THRIFT: &str = "<APIManager>\n  <APIKeyValidator>\n    <KeyValidatorClientType>ThriftClient</KeyValidatorClientType>\n    <EnableThriftServer>true</EnableThriftServer>\n    <!--ThriftServerPort>10397</ThriftServerPort-->\n  </APIKeyValidator>\n</APIManager>\n";

/// tcp_tw_recycle's severity follows the kernel: an error where it drops NAT clients, a warning
/// where the line is dead (4.12+) or the kernel unknown.
#[test]
fn tw_recycle_severity_by_kernel() {
    let line = "net.ipv4.tcp_tw_recycle = 1\n";
    let before = Node::new()
        .kernel("4.9.0-19-amd64")
        .file("etc/sysctl.d/90-apim.conf", line)
        .live("net.ipv4.tcp_tw_recycle", "1");
    assert_eq!(
        before.severities(Code::TCP_TW_RECYCLE_ENABLED),
        vec![Severity::Error]
    );
    let after = Node::new()
        .kernel("6.1.0-18-amd64")
        .file("etc/sysctl.d/90-apim.conf", line);
    assert_eq!(
        after.severities(Code::TCP_TW_RECYCLE_ENABLED),
        vec![Severity::Warning]
    );
    assert_eq!(
        after.messages(Code::TCP_TW_RECYCLE_ENABLED),
        vec![
            "etc/sysctl.d/90-apim.conf:1:27: `net.ipv4.tcp_tw_recycle` does not exist in kernel 6.1.0-18-amd64 (removed in 4.12): the line is dead, and procps `sysctl -p` exits 1 on it"
        ]
    );
    let unknown = Node::new()
        .no_proc_sys()
        .file("etc/sysctl.d/90-apim.conf", line);
    assert_eq!(
        unknown.severities(Code::TCP_TW_RECYCLE_ENABLED),
        vec![Severity::Warning]
    );
}

/// The port rules' notes name the ports, what opens them, and where the offset came from.
#[test]
fn listen_port_notes_name_the_offset() {
    let node = Node::new()
        .file("opt/wso2am/repository/conf/carbon.xml", CARBON_26_OFFSET_1)
        .file(
            "opt/wso2am/repository/conf/api-manager.xml",
            API_MANAGER_THRIFT,
        )
        .home("opt/wso2am")
        .live("net.ipv4.ip_local_reserved_ports", "")
        .live("net.ipv4.ip_local_port_range", "10000\t65535");
    let notes = node.notes_of(Code::LISTEN_PORT_IN_EPHEMERAL_RANGE);
    assert_eq!(
        notes,
        vec![
            "port offset 1 (carbon.xml /Server/Ports/Offset); 10000 JMX RMI registry, 10398 Thrift key-validation server, 11112 JMX RMI server"
        ]
    );
}

/// An image (no live values) without fs.file-max or fs.nr_open: systemd raises both to the
/// kernel's maximum at boot, and writing the profile's minimum would lower them. Nothing is
/// judged (issue 13: unknown stays unknown); the other parameters still are.
#[test]
fn an_image_never_gets_a_limit_systemd_raises() {
    let lines = Node::new()
        .no_proc_sys()
        .findings(Code::SYSCTL_BELOW_RECOMMENDED);
    assert!(!lines.is_empty());
    for key in ["fs.file-max", "fs.nr_open"] {
        assert!(!lines.iter().any(|l| l.contains(key)), "{key}: {lines:?}");
    }
}
