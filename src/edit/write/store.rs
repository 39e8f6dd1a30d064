//! The backup store: `<backup_dir>/<id>/` folders, each with the saved originals in `files/`,
//! a `manifest.json`, and a `rolled-back` marker once undone; creating them, reading them back
//! and listing them.
//!
//! Owner-only throughout (0700 folders, 0600 files): backups may hold secrets (deployment.toml
//! has passwords). Must not: overwrite or delete anything in a folder once written, or trust a
//! saved original whose checksum does not match its manifest.

use super::atomic::sync_dir;
use super::error::io_err;
use super::{ApplyError, BackupSummary, Manifest, ManifestEntry};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

pub(super) const MANIFEST_FILE: &str = "manifest.json";
/// Folder inside an apply folder that holds the saved originals.
const FILES_DIR: &str = "files";
/// Marker written into an apply folder once it has been rolled back; holds the time.
pub(super) const ROLLED_BACK_FILE: &str = "rolled-back";
const PRIVATE_DIR_MODE: u32 = 0o700;
pub(super) const PRIVATE_FILE_MODE: u32 = 0o600;
/// Recorded in every manifest, for whoever reads a backup later.
pub(super) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Suffixes tried for an apply folder whose timestamp is already taken (`<now>-2` …).
const MAX_ID_SUFFIX: u32 = 10_000;

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Creates the backup directory (owner-only) when missing.
pub(super) fn ensure_backup_dir(backup_dir: &Path) -> Result<(), ApplyError> {
    if backup_dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = backup_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err("create the directory", parent))?;
    }
    match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(backup_dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && backup_dir.is_dir() => Ok(()),
        Err(e) => Err(io_err("create the backup directory", backup_dir)(e)),
    }
}

/// A folder name we create or accept: one plain component, not hidden (hidden entries such as
/// the lock are not backups).
pub(super) fn valid_id(id: &str) -> bool {
    let mut components = Path::new(id).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !id.starts_with('.')
        && !id.contains('/')
}

/// An apply folder being filled, before its manifest makes it a backup.
pub(super) struct NewFolder {
    pub(super) id: String,
    pub(super) dir: PathBuf,
    files_dir: PathBuf,
}

/// Creates `<backup_dir>/<now>` (or `<now>-2` …) and its `files/`, both owner-only.
pub(super) fn create_folder(backup_dir: &Path, now: &str) -> Result<NewFolder, ApplyError> {
    let (id, dir) = create_apply_dir(backup_dir, now)?;
    let files_dir = dir.join(FILES_DIR);
    DirBuilder::new()
        .mode(PRIVATE_DIR_MODE)
        .create(&files_dir)
        .map_err(io_err("create the backup folder", &files_dir))?;
    Ok(NewFolder { id, dir, files_dir })
}

impl NewFolder {
    /// Saves the original of the `index`-th (0-based) change as `files/<index + 1>-<name>`,
    /// synced, and returns that name for the manifest.
    pub(super) fn save_original(
        &self,
        index: usize,
        real: &Path,
        bytes: &[u8],
    ) -> Result<String, ApplyError> {
        let name = real.file_name().unwrap_or(OsStr::new("file"));
        let backup = format!("{}-{}", index + 1, name.to_string_lossy());
        write_private(&self.files_dir.join(&backup), bytes)?;
        Ok(backup)
    }

    /// Writes the manifest once every original is saved, and syncs the folders up to
    /// `backup_dir`, so the backup is durable before the first target is touched.
    pub(super) fn seal(&self, manifest: &Manifest, backup_dir: &Path) -> Result<(), ApplyError> {
        sync_dir(&self.files_dir)?;
        let manifest_path = self.dir.join(MANIFEST_FILE);
        let mut json =
            serde_json::to_vec_pretty(manifest).map_err(|source| ApplyError::Manifest {
                path: manifest_path.clone(),
                source,
            })?;
        json.push(b'\n');
        write_private(&manifest_path, &json)?;
        sync_dir(&self.dir)?;
        sync_dir(backup_dir)
    }
}

/// Creates `<backup_dir>/<now>` (or `<now>-2`, `-3` …) owner-only and returns its id.
fn create_apply_dir(backup_dir: &Path, now: &str) -> Result<(String, PathBuf), ApplyError> {
    if !valid_id(now) {
        return Err(ApplyError::InvalidId(now.to_string()));
    }
    for n in 1..=MAX_ID_SUFFIX {
        let id = if n == 1 {
            now.to_string()
        } else {
            format!("{now}-{n}")
        };
        let dir = backup_dir.join(&id);
        match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("create the backup folder", &dir)(e)),
        }
    }
    Err(ApplyError::InvalidId(now.to_string()))
}

/// Writes a new file in a backup folder (never overwriting) and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ApplyError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)
        .map_err(io_err("create", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err("write", path))
}

pub(super) fn load_manifest(dir: &Path) -> Result<Manifest, ApplyError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = fs::read(&path).map_err(io_err("read", &path))?;
    serde_json::from_slice(&bytes).map_err(|source| ApplyError::Manifest { path, source })
}

pub(super) fn rolled_back_at(dir: &Path) -> Option<String> {
    fs::read_to_string(dir.join(ROLLED_BACK_FILE))
        .ok()
        .map(|text| text.trim().to_string())
}

/// Order of applies made with the same `now`: `<now>`, `<now>-2`, … `<now>-10` (numerically).
fn suffix_rank(id: &str, created: &str) -> u64 {
    if id == created {
        return 1;
    }
    id.strip_prefix(created)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// The applies recorded in `backup_dir`, oldest first. Folders without a readable manifest are
/// skipped: a crash while one was being made must not hide the others.
pub fn list_backups(backup_dir: &Path) -> Result<Vec<BackupSummary>, ApplyError> {
    let entries = match fs::read_dir(backup_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("list", backup_dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("list", backup_dir))?;
        // file_type does not follow symlinks: a link planted here is not a backup of ours.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Some(id) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !valid_id(&id) {
            continue;
        }
        let dir = entry.path();
        let Ok(manifest) = load_manifest(&dir) else {
            continue;
        };
        out.push(BackupSummary {
            rolled_back: rolled_back_at(&dir),
            id,
            created: manifest.created,
            files: manifest.files.len(),
            dir,
        });
    }
    out.sort_by(|a, b| {
        (&a.created, suffix_rank(&a.id, &a.created), &a.id).cmp(&(
            &b.created,
            suffix_rank(&b.id, &b.created),
            &b.id,
        ))
    });
    Ok(out)
}

/// Reads a saved original and checks it against the manifest before it is trusted.
pub(super) fn read_backup(dir: &Path, entry: &ManifestEntry) -> Result<Vec<u8>, ApplyError> {
    let name = entry.backup.as_deref().unwrap_or_default();
    let path = dir.join(FILES_DIR).join(name);
    if !valid_id(name) {
        return Err(ApplyError::BackupCorrupt { path });
    }
    let bytes = fs::read(&path).map_err(io_err("read", &path))?;
    if entry.sha256_before.as_deref() != Some(sha256_hex(&bytes).as_str()) {
        return Err(ApplyError::BackupCorrupt { path });
    }
    Ok(bytes)
}

/// Writes the `rolled-back` marker (the time, and why) into an apply folder.
pub(super) fn mark_rolled_back(dir: &Path, text: &str) -> Result<(), ApplyError> {
    let marker = dir.join(ROLLED_BACK_FILE);
    fs::write(&marker, format!("{text}\n"))
        .and_then(|()| File::open(&marker)?.sync_all())
        .map_err(io_err("write", &marker))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn sha256_hex_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn apply_writes_bytes_exactly_and_saves_the_originals() {
        let h = host();
        let a = h.root.join("etc/sysctl.conf");
        let b = h.root.join("opt/wso2/conf/deployment.toml");
        put(&a, b"vm.swappiness = 60\n", 0o644);
        put(&b, b"[server]\nhostname = \"x\"\n", 0o644);
        let after_b = b"[server]\nhostname = \"x\"\n\n[a]\n\x00\xff odd bytes\n";
        let record = apply(
            &[
                change(&a, Some(b"vm.swappiness = 60\n"), b"vm.swappiness = 1\n"),
                change(&b, Some(b"[server]\nhostname = \"x\"\n"), after_b),
            ],
            &h.opts,
        )
        .unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"vm.swappiness = 1\n");
        assert_eq!(fs::read(&b).unwrap(), after_b);

        assert_eq!(record.id, NOW);
        assert_eq!(record.dir, h.opts.backup_dir.join(NOW));
        let on_disk = load_manifest(&record.dir).unwrap();
        assert_eq!(on_disk, record.manifest);
        assert_eq!(on_disk.tool_version, TOOL_VERSION);
        let entry = &on_disk.files[1];
        assert_eq!(entry.path, b);
        assert!(entry.existed);
        assert_eq!(entry.backup.as_deref(), Some("2-deployment.toml"));
        assert_eq!(entry.sha256_after, sha256_hex(after_b));
        assert_eq!(
            entry.sha256_before.as_deref(),
            Some(sha256_hex(b"[server]\nhostname = \"x\"\n").as_str())
        );
        assert_eq!(
            fs::read(record.dir.join("files/1-sysctl.conf")).unwrap(),
            b"vm.swappiness = 60\n"
        );
        assert_eq!(
            fs::read(record.dir.join("files/2-deployment.toml")).unwrap(),
            b"[server]\nhostname = \"x\"\n"
        );
        // Backups may hold secrets.
        assert_eq!(mode_of(&record.dir), 0o700);
        assert_eq!(mode_of(&record.dir.join("files/1-sysctl.conf")), 0o600);
        assert_eq!(mode_of(&record.dir.join(MANIFEST_FILE)), 0o600);
        assert!(temp_files(&h.root).is_empty());
        assert!(!lock_path(&h).exists());
    }

    #[test]
    fn list_backups_is_oldest_first_and_skips_junk() {
        let mut h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"0\n", 0o644);
        assert!(list_backups(&h.opts.backup_dir).unwrap().is_empty());
        let mut content = b"0\n".to_vec();
        let mut apply_next = |h: &Host| {
            let next = format!("{}\n", content.len()).into_bytes();
            let next = [content.clone(), next].concat();
            let record = apply(&[change(&a, Some(&content), &next)], &h.opts).unwrap();
            content = next;
            record.id
        };
        h.opts.now = "20260101T000000Z".to_string();
        let mut expected = Vec::new();
        for _ in 0..11 {
            expected.push(apply_next(&h));
        }
        h.opts.now = "20250101T000000Z".to_string();
        expected.insert(0, apply_next(&h));
        h.opts.now = "20270101T000000Z".to_string();
        expected.push(apply_next(&h));
        assert_eq!(expected[2], "20260101T000000Z-2");
        assert_eq!(expected[11], "20260101T000000Z-11");

        fs::create_dir(h.opts.backup_dir.join("junk")).unwrap();
        fs::create_dir(h.opts.backup_dir.join("broken")).unwrap();
        fs::write(h.opts.backup_dir.join("broken").join(MANIFEST_FILE), b"{").unwrap();
        fs::write(h.opts.backup_dir.join("stray-file"), b"x").unwrap();

        let listed = list_backups(&h.opts.backup_dir).unwrap();
        let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, expected);
        assert!(
            listed
                .iter()
                .all(|s| s.files == 1 && s.rolled_back.is_none())
        );
        assert_eq!(listed[0].created, "20250101T000000Z");
        assert_eq!(listed[0].dir, h.opts.backup_dir.join("20250101T000000Z"));
    }

    #[test]
    fn a_timestamp_that_is_not_a_plain_name_is_refused() {
        let mut h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        h.opts.now = "../x".to_string();
        let err = apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap_err();
        assert!(matches!(err, ApplyError::InvalidId(_)));
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
    }
}
