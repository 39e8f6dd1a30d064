//! The sysctl family, one table: given these files and live values → these findings and fixes.

use crate::diag::Code;
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
            "tw_recycle on 5.10, where the key is gone: SYS011, not SYS010",
            Node::new()
                .kernel("5.10.0-28-amd64")
                .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n")
                .link(link.0, link.1),
            Code::SYSCTL_KEY_NOT_IN_KERNEL,
            vec![
                "SYS011 sysctl:net.ipv4.tcp_tw_recycle @etc/sysctl.conf:1 1 → absent (the key does not exist) | comment out etc/sysctl.conf:1",
            ],
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
            "a key the kernel lacks, in /run: reported, no fix (a later file cannot unset a key)",
            Node::new()
                .kernel("5.10.0-28-amd64")
                .file("run/sysctl.d/50-runtime.conf", "net.ipv4.tcp_tw_recycle = 1\n"),
            Code::SYSCTL_KEY_NOT_IN_KERNEL,
            vec![
                "SYS011 sysctl:net.ipv4.tcp_tw_recycle @run/sysctl.d/50-runtime.conf:1 1 → absent (the key does not exist) | no fix",
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
