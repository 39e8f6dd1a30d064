//! Display forms of `db audit`'s per-table figures, shared by the text and Markdown renderers so
//! both show a size the same way. Formatting only: no figure is computed here.

use crate::db::model::TableStats;

/// The table's size in binary units, with a leading `~` when the engine only estimates it
/// (MySQL's `information_schema`, which InnoDB keeps approximately), so nobody reads an estimate
/// as a measurement.
pub(crate) fn size(t: &TableStats) -> Option<String> {
    let bytes = t.size_bytes?;
    let approx = if t.size_kind == Some("estimate") {
        "~"
    } else {
        ""
    };
    Some(format!("{approx}{}", human_bytes(bytes)))
}

/// `512 B`, `1.5 KiB`, `12.0 MiB`, `1.2 GiB`, `3.4 TiB`: one decimal, the largest unit that
/// keeps the number at or above 1.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Display only: f64 holds any table size to well within the one decimal shown.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        // Moves up at what would print as `1024.0`, not only at 1024 exactly.
        if value < 1023.95 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_humans_write_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_bytes(12 * 1024 * 1024), "12.0 MiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024 / 4), "1.2 GiB");
        assert_eq!(human_bytes(u64::MAX), "16777216.0 TiB");
        let t = |kind| TableStats {
            size_bytes: Some(2048),
            size_kind: kind,
            ..TableStats::default()
        };
        assert_eq!(size(&t(Some("exact"))).as_deref(), Some("2.0 KiB"));
        assert_eq!(size(&t(Some("estimate"))).as_deref(), Some("~2.0 KiB"));
        assert_eq!(size(&t(None)).as_deref(), Some("2.0 KiB"));
        assert_eq!(size(&TableStats::default()), None);
    }
}
