//! Test fixtures shared by the host readers' tests: files put under a fake root, and interface
//! address tables written the way the kernel writes them. Test-only; no reader uses it.

use std::net::Ipv4Addr;
use std::path::Path;

/// Writes `rel` under `root`, creating its directories.
pub(crate) fn write(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a file under the root"))
        .expect("create the directories");
    std::fs::write(path, bytes).expect("write the file");
}

/// A `/proc/net/fib_trie` for a host whose interfaces hold `addrs` (each an address and its
/// prefix length), as a kernel since 4.x prints it: the same trie in the `Main` and `Local`
/// tables, with each interface's network, its own `/32 host LOCAL` entry and its broadcast,
/// beside the default route and loopback.
pub(crate) fn fib_trie(addrs: &[(&str, u8)]) -> String {
    let mut table =
        String::from("  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n");
    for (addr, len) in addrs {
        let addr: Ipv4Addr = addr.parse().expect("an IPv4 address");
        let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
        let net = Ipv4Addr::from(u32::from(addr) & mask);
        let broadcast = Ipv4Addr::from(u32::from(addr) | !mask);
        table.push_str(&format!(
            "     +-- {net}/{len} 2 0 2\n        |-- {net}\n           /{len} link UNICAST\n\
             \x20       |-- {addr}\n           /32 host LOCAL\n\
             \x20       |-- {broadcast}\n           /32 link BROADCAST\n"
        ));
    }
    table
        .push_str("     +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\n");
    format!("Main:\n{table}Local:\n{table}")
}

#[test]
fn fib_trie_lists_each_address_as_a_local_host_entry() {
    let text = fib_trie(&[("10.0.1.23", 24)]);
    assert!(text.contains("+-- 10.0.1.0/24 2 0 2\n"), "{text}");
    assert!(
        text.contains("|-- 10.0.1.23\n           /32 host LOCAL\n"),
        "{text}"
    );
    assert!(
        text.contains("|-- 10.0.1.255\n           /32 link BROADCAST\n"),
        "{text}"
    );
    assert_eq!(text.matches("/32 host LOCAL").count(), 4);
}
