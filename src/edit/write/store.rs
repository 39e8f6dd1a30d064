//! The backup store: `<backup_dir>/<id>/` folders, each with the saved originals in `files/`,
//! a `manifest.json`, and a `rolled-back` marker once undone; creating them, reading them back
//! and listing them.
//!
//! Owner-only throughout (0700 folders, 0600 files): backups may hold secrets (deployment.toml
//! has passwords). Every step goes through directories opened without following symlinks
//! (`fsat`): a backup directory that is (or lies below) a link is refused, and a link planted
//! in a folder (`rolled-back`, `manifest.json`, a saved original) is neither read nor written
//! through. Must not: overwrite or delete anything in a folder once written, or trust a saved
//! original whose checksum does not match its manifest.

use super::error::io_err;
use super::fsat::{Dir, is_dir};
use super::{ApplyError, BackupSummary, Manifest, ManifestEntry};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::io::{self, Write};
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

/// `backup_dir` made absolute (a relative one is taken from the current directory), with `.`
/// and `..` resolved lexically: the user types `--backup-dir ../bk`, and `fsat` only opens
/// paths of plain components. Lexical is what the kernel would do as long as no component
/// that a `..` steps out of is a link (the current directory never is: it comes from
/// `getcwd`), so such a link is refused, as links are everywhere else on the way.
fn absolute(backup_dir: &Path) -> Result<PathBuf, ApplyError> {
    let full = std::path::absolute(backup_dir).map_err(io_err("resolve", backup_dir))?;
    let mut out = PathBuf::new();
    for component in full.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if std::fs::symlink_metadata(&out).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(ApplyError::SymlinkInPath { path: out });
                }
                // At `/`, `..` is `/` again, as for the kernel.
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Checks, before anything is created, that the backup directory can be opened or created
/// without following a link: its nearest existing ancestor (itself, when it exists) is opened
/// like every directory written in. A refusal here comes before the lock (and its directory)
/// exists, so "nothing was written" is true.
pub(super) fn check_backup_dir(backup_dir: &Path) -> Result<(), ApplyError> {
    let full = absolute(backup_dir)?;
    let existing = full
        .ancestors()
        .find(|p| std::fs::symlink_metadata(p).is_ok())
        .unwrap_or(Path::new("/"));
    Dir::open(existing).map(drop)
}

/// Opens the backup directory without following links, creating it (owner-only) when missing.
pub(super) fn open_backup_dir(backup_dir: &Path) -> Result<Dir, ApplyError> {
    Dir::open_or_create(&absolute(backup_dir)?, PRIVATE_DIR_MODE)
}

/// Opens an existing backup directory without following links; `None` when it is missing.
pub(super) fn open_existing_backup_dir(backup_dir: &Path) -> Result<Option<Dir>, ApplyError> {
    match Dir::open(&absolute(backup_dir)?) {
        Ok(dir) => Ok(Some(dir)),
        Err(ApplyError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A folder name we create or accept: one plain component, not hidden (hidden entries are not
/// backups).
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
    pub(super) dir: Dir,
    files_dir: Dir,
}

/// Creates `<backup_dir>/<now>` (or `<now>-2` …) and its `files/`, both owner-only.
pub(super) fn create_folder(backup_dir: &Dir, now: &str) -> Result<NewFolder, ApplyError> {
    let (id, dir) = create_apply_dir(backup_dir, now)?;
    let files = OsStr::new(FILES_DIR);
    dir.mkdir(files, PRIVATE_DIR_MODE)
        .map_err(io_err("create the backup folder", &dir.join(files)))?;
    let files_dir = dir.sub(files)?;
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
        write_private(&self.files_dir, &backup, bytes)?;
        Ok(backup)
    }

    /// Writes the manifest once every original is saved, and syncs the folders up to
    /// `backup_dir`, so the backup is durable before the first target is touched.
    pub(super) fn seal(&self, manifest: &Manifest, backup_dir: &Dir) -> Result<(), ApplyError> {
        sync(&self.files_dir)?;
        let manifest_path = self.dir.join(OsStr::new(MANIFEST_FILE));
        let mut json =
            serde_json::to_vec_pretty(manifest).map_err(|source| ApplyError::Manifest {
                path: manifest_path.clone(),
                source,
            })?;
        json.push(b'\n');
        write_private(&self.dir, MANIFEST_FILE, &json)?;
        sync(&self.dir)?;
        sync(backup_dir)
    }
}

fn sync(dir: &Dir) -> Result<(), ApplyError> {
    dir.sync().map_err(io_err("sync the directory", dir.path()))
}

/// Creates `<backup_dir>/<now>` (or `<now>-2`, `-3` …) owner-only and returns its id.
fn create_apply_dir(backup_dir: &Dir, now: &str) -> Result<(String, Dir), ApplyError> {
    if !valid_id(now) {
        return Err(ApplyError::InvalidId(now.to_string()));
    }
    for n in 1..=MAX_ID_SUFFIX {
        let id = if n == 1 {
            now.to_string()
        } else {
            format!("{now}-{n}")
        };
        match backup_dir.mkdir(OsStr::new(&id), PRIVATE_DIR_MODE) {
            Ok(()) => {
                let dir = backup_dir.sub(OsStr::new(&id))?;
                return Ok((id, dir));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io_err(
                    "create the backup folder",
                    &backup_dir.join(OsStr::new(&id)),
                )(e));
            }
        }
    }
    Err(ApplyError::InvalidId(now.to_string()))
}

/// Writes a new file in a backup folder (never overwriting, never through a link) and syncs it.
fn write_private(dir: &Dir, name: &str, bytes: &[u8]) -> Result<(), ApplyError> {
    let path = dir.join(OsStr::new(name));
    let mut file = dir
        .create_new(OsStr::new(name), PRIVATE_FILE_MODE)
        .map_err(io_err("create", &path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err("write", &path))
}

/// Reads the regular file `name` of a folder, never through a link.
fn read_in(dir: &Dir, name: &str) -> Result<Vec<u8>, ApplyError> {
    let path = dir.join(OsStr::new(name));
    match dir.read(OsStr::new(name)) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(io_err("read", &path)(io::ErrorKind::NotFound.into())),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            Err(ApplyError::SymlinkInPath { path })
        }
        Err(e) => Err(io_err("read", &path)(e)),
    }
}

pub(super) fn load_manifest(dir: &Dir) -> Result<Manifest, ApplyError> {
    let bytes = read_in(dir, MANIFEST_FILE)?;
    serde_json::from_slice(&bytes).map_err(|source| ApplyError::Manifest {
        path: dir.join(OsStr::new(MANIFEST_FILE)),
        source,
    })
}

/// When the folder was rolled back, if it was. A `rolled-back` entry that is not a regular
/// file (a planted link) is an error: neither "rolled back" nor "not rolled back" is known.
pub(super) fn rolled_back_at(dir: &Dir) -> Result<Option<String>, ApplyError> {
    match dir.read(OsStr::new(ROLLED_BACK_FILE)) {
        Ok(Some(bytes)) => Ok(Some(String::from_utf8_lossy(&bytes).trim().to_string())),
        Ok(None) => Ok(None),
        Err(_) => Err(ApplyError::NotRegularFile {
            path: dir.join(OsStr::new(ROLLED_BACK_FILE)),
        }),
    }
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
/// skipped: a crash while one was being made must not hide the others. A backup directory that
/// is (or lies below) a symlink is an error.
pub fn list_backups(backup_dir: &Path) -> Result<Vec<BackupSummary>, ApplyError> {
    let Some(dir) = open_existing_backup_dir(backup_dir)? else {
        return Ok(Vec::new());
    };
    Ok(list_in(&dir)
        .into_iter()
        .map(|(summary, _)| summary)
        .collect())
}

/// [`list_backups`] on an open backup directory, with each folder opened.
pub(super) fn list_in(backup_dir: &Dir) -> Vec<(BackupSummary, Dir)> {
    let names = backup_dir.names().unwrap_or_default();
    let mut out = Vec::new();
    for name in names {
        let Some(id) = name.to_str().map(str::to_string) else {
            continue;
        };
        if !valid_id(&id) {
            continue;
        }
        // Not following links: a link planted here is not a backup of ours.
        let is_folder = matches!(backup_dir.stat(&name), Ok(Some(st)) if is_dir(&st));
        let Some(folder) = is_folder.then(|| backup_dir.sub(&name).ok()).flatten() else {
            continue;
        };
        let Ok(manifest) = load_manifest(&folder) else {
            continue;
        };
        let rolled_back = match rolled_back_at(&folder) {
            Ok(when) => when,
            Err(_) => Some("(unknown: its `rolled-back` marker is not a regular file)".into()),
        };
        out.push((
            BackupSummary {
                rolled_back,
                id,
                created: manifest.created,
                files: manifest.files.len(),
                dir: folder.path().to_path_buf(),
            },
            folder,
        ));
    }
    out.sort_by(|(a, _), (b, _)| {
        (&a.created, suffix_rank(&a.id, &a.created), &a.id).cmp(&(
            &b.created,
            suffix_rank(&b.id, &b.created),
            &b.id,
        ))
    });
    out
}

/// Reads a saved original and checks it against the manifest before it is trusted.
pub(super) fn read_backup(dir: &Dir, entry: &ManifestEntry) -> Result<Vec<u8>, ApplyError> {
    let name = entry.backup.as_deref().unwrap_or_default();
    let path = dir.join(OsStr::new(FILES_DIR)).join(name);
    if !valid_id(name) {
        return Err(ApplyError::BackupCorrupt { path });
    }
    let files = dir.sub(OsStr::new(FILES_DIR))?;
    let bytes = read_in(&files, name)?;
    if entry.sha256_before.as_deref() != Some(sha256_hex(&bytes).as_str()) {
        return Err(ApplyError::BackupCorrupt { path });
    }
    Ok(bytes)
}

/// Writes the `rolled-back` marker (the time, and why) into an apply folder: a new file, so a
/// link planted under that name is refused rather than written through.
pub(super) fn mark_rolled_back(dir: &Dir, text: &str) -> Result<(), ApplyError> {
    write_private(dir, ROLLED_BACK_FILE, format!("{text}\n").as_bytes())?;
    sync(dir)
}

#[cfg(test)]
mod tests {
    use super::super::fsat;
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn a_typed_backup_dir_has_its_dots_resolved_and_a_link_stepped_out_of_refused() {
        let h = host();
        let dir = h.root.join("var");
        fs::create_dir_all(dir.join("a")).unwrap();
        assert_eq!(absolute(&dir.join("a/../b/./c/..")).unwrap(), dir.join("b"));
        assert_eq!(absolute(Path::new("/../x")).unwrap(), PathBuf::from("/x"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            absolute(Path::new("../bk")).unwrap(),
            cwd.parent().unwrap_or(&cwd).join("bk")
        );
        // `link/..` means the link target's parent to the kernel: refused, never guessed.
        std::os::unix::fs::symlink(&h.outside, dir.join("link")).unwrap();
        let err = absolute(&dir.join("link/../bk")).unwrap_err();
        assert!(
            matches!(err, ApplyError::SymlinkInPath { ref path } if *path == dir.join("link")),
            "{err:?}"
        );
        // The check before the lock: a missing directory below a plain one is fine, one below
        // a link is not, and neither check creates anything.
        check_backup_dir(&dir.join("a/new/deeper")).unwrap();
        assert!(!dir.join("a/new").exists());
        assert!(matches!(
            check_backup_dir(&dir.join("link/new")),
            Err(ApplyError::SymlinkInPath { .. })
        ));
    }

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
        let on_disk = load_manifest(&fsat::Dir::open(&record.dir).unwrap()).unwrap();
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
