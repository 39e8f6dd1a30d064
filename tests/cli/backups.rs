//! `backups`: a header names each column and a legend says what it is (the id and the time
//! used to be two unlabelled columns of the same shape).

use crate::CliTest;

fn bin(args: &[&str], root: &std::path::Path) -> String {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(args)
        .arg("--root")
        .arg(root)
        .env("SOURCE_DATE_EPOCH", "1795326481")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn backups_has_a_header_and_says_what_each_column_is() {
    let t = CliTest::new("modern-4.2");
    let empty = bin(&["backups"], &t.root);
    assert!(empty.starts_with("no backups in "), "{empty}");
    let applied = t
        .audit(
            Some("wso2am-4.2.0"),
            &["--apply", "--yes", "--java-version", "17"],
        )
        .env("SOURCE_DATE_EPOCH", "1795326481")
        .output()
        .unwrap();
    assert!(matches!(applied.status.code(), Some(0 | 1)));
    bin(&["rollback"], &t.root);
    let listing = bin(&["backups"], &t.root);
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("Backups in "), "{listing}");
    let header: Vec<&str> = lines[1].split("  ").filter(|c| !c.is_empty()).collect();
    assert_eq!(
        header.iter().map(|c| c.trim()).collect::<Vec<_>>(),
        ["ID", "MADE (UTC)", "FILES", "ROLLED BACK (UTC)"],
        "{listing}"
    );
    // The id as `rollback --to` takes it, the times readable, so the two no longer look alike.
    let row = lines[2];
    let id = row.split_whitespace().next().unwrap();
    assert!(
        id.len() >= 16 && id.as_bytes()[8] == b'T' && id.ends_with('Z'),
        "{row}"
    );
    let made = &row[lines[1].find("MADE").unwrap()..][..19];
    assert_eq!(made.as_bytes()[4], b'-', "{row}");
    assert_eq!(made.as_bytes()[13], b':', "{row}");
    let files: usize = row[lines[1].find("FILES").unwrap()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {row}"));
    assert!(files > 0, "{row}");
    let rolled = row[lines[1].find("ROLLED").unwrap()..].trim();
    assert!(rolled.len() == 19 && rolled.as_bytes()[10] == b' ', "{row}");
    for column in ["ID:", "MADE:", "FILES:", "ROLLED BACK:"] {
        assert!(
            listing.contains(column),
            "no legend for {column}:\n{listing}"
        );
    }
}
