//! Test fixtures shared by the writer's parts: a fake host with an allowed root and a place
//! outside it, and helpers to put files there and look at what an apply left behind.

pub(super) use super::ApplyError;
pub(super) use super::store::{MANIFEST_FILE, ROLLED_BACK_FILE};
pub(super) use super::{ApplyOptions, FileChange, apply, list_backups, rollback};
pub(super) use std::fs::{self, Permissions};
pub(super) use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
pub(super) use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub(super) const NOW: &str = "20261122T054801Z";

/// A fake host: `root/` is allowed, `outside/` is not, backups under `root/var/backups`.
pub(super) struct Host {
    _tmp: TempDir,
    pub(super) root: PathBuf,
    pub(super) outside: PathBuf,
    pub(super) opts: ApplyOptions,
}

pub(super) fn host() -> Host {
    let tmp = TempDir::new().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let root = base.join("root");
    let outside = base.join("outside");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    let opts = ApplyOptions {
        root: root.clone(),
        backup_dir: root.join("var/backups/apim-tune"),
        allowed: vec![root.clone()],
        now: NOW.to_string(),
        failpoint: None,
    };
    Host {
        _tmp: tmp,
        root,
        outside,
        opts,
    }
}

pub(super) fn put(path: &Path, bytes: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

pub(super) fn change(path: &Path, before: Option<&[u8]>, after: &[u8]) -> FileChange {
    FileChange {
        path: path.to_path_buf(),
        display: path.file_name().unwrap().to_string_lossy().into_owned(),
        before: before.map(<[u8]>::to_vec),
        after: after.to_vec(),
        secret: false,
    }
}

pub(super) fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

/// Every entry below `dir`, recursively, as paths.
pub(super) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                out.extend(walk(&path));
            }
            out.push(path);
        }
    }
    out
}

pub(super) fn temp_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(super::atomic::is_temp_name))
        .collect()
}

pub(super) fn apply_folders(h: &Host) -> Vec<PathBuf> {
    match fs::read_dir(&h.opts.backup_dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `rollback` of `id` (or the newest) on `h`, recorded as rolled back at `now`.
pub(super) fn rb(
    h: &Host,
    id: Option<&str>,
    force: bool,
    now: &str,
) -> Result<super::RollbackReport, ApplyError> {
    let mut opts = h.opts.clone();
    opts.now = now.to_string();
    rollback(&opts, id, force)
}

/// `etc/a.conf` and `etc/b.conf` applied from `a`/`b` to `a2`/`b2`, for the rollback tests.
pub(super) fn applied_a_and_b() -> (Host, PathBuf, PathBuf) {
    let h = host();
    let a = h.root.join("etc/a.conf");
    let b = h.root.join("etc/b.conf");
    put(&a, b"a\n", 0o644);
    put(&b, b"b\n", 0o644);
    apply(
        &[
            change(&a, Some(b"a\n"), b"a2\n"),
            change(&b, Some(b"b\n"), b"b2\n"),
        ],
        &h.opts,
    )
    .unwrap();
    (h, a, b)
}
