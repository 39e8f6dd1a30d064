//! The transactional writer behind `--apply`, `rollback` and `backups`.
//!
//! It owns: the lock in the backup directory, resolving each target to its real path (following
//! symlinks, but only to places inside the allowed directories), the per-apply backup folder
//! (`<backup_dir>/<id>/manifest.json` and `files/<n>-<name>`), the atomic replacement of files
//! (temp file in the same directory, fsync, mode and owner, rename, directory fsync), undoing a
//! failed apply, and rolling a finished one back byte for byte.
//!
//! It must not: print (the CLI reports), write anything before every target has been checked,
//! write outside the allowed directories, leave a half-written target or a temp file behind,
//! or delete anything from a backup folder (a failed apply's folder is kept as evidence, marked
//! `rolled-back` once every file it wrote is restored, so `rollback` does not pick it).
//!
//! Known limits: the rename gives the target a new inode, so hard links to it keep the old
//! content, and ACLs or extended attributes of the original are not carried over (mode, owner
//! and group are). Absolute symlink targets are taken as real host paths, not relative to
//! `--root`; one that leaves the allowed directories is refused.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Lock file inside the backup directory; holds the pid of the run that owns it.
const LOCK_FILE: &str = ".lock";
const MANIFEST_FILE: &str = "manifest.json";
/// Folder inside an apply folder that holds the saved originals.
const FILES_DIR: &str = "files";
/// Marker written into an apply folder once it has been rolled back; holds the time.
const ROLLED_BACK_FILE: &str = "rolled-back";
/// Permission bits of a file the apply creates (a new drop-in).
const NEW_FILE_MODE: u32 = 0o644;
/// Backups may hold secrets (deployment.toml has passwords): only the owner may read them.
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;
/// Links followed before giving up; the kernel's own limit for path resolution is 40.
const MAX_LINKS: usize = 40;
/// Suffixes tried for an apply folder whose timestamp is already taken (`<now>-2` …).
const MAX_ID_SUFFIX: u32 = 10_000;
const FAILPOINT_AFTER_TEMP_WRITE: &str = "after-temp-write";
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One file to write. `path` is where the change must land as the audit named it (may be a symlink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    pub display: String,
    /// The bytes the audit read; `None`: the file must not exist yet (a new drop-in).
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyOptions {
    /// e.g. `<root>/var/backups/apim-tune`; created (mode 0700) when missing.
    pub backup_dir: PathBuf,
    /// Directories a resolved target must stay inside: the `--root` and the API-M home.
    pub allowed: Vec<PathBuf>,
    /// Timestamp text for the id and the manifest, supplied by the caller so tests are
    /// deterministic. It becomes a folder name, and backups are listed in its text order.
    pub now: String,
    /// Test hook: `after-temp-write[:N]` fails the N-th written file (default 1) after its temp
    /// file is written and synced, before the rename.
    pub failpoint: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The real (resolved) path written.
    pub path: PathBuf,
    pub display: String,
    pub existed: bool,
    pub sha256_before: Option<String>,
    pub sha256_after: String,
    /// Permission bits (including setuid, setgid and sticky) given to the written file.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// File name of the saved original inside the apply folder's `files/`.
    pub backup: Option<String>,
    /// Directories the apply created for a new file, outermost first; removed again (when
    /// empty) by a rollback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub created: String,
    pub tool_version: String,
    pub files: Vec<ManifestEntry>,
}

/// What an apply did. `manifest.files` empty: nothing needed changing, no backup folder was
/// created, and `id` and `dir` are empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyRecord {
    pub id: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    pub id: String,
    pub created: String,
    pub files: usize,
    pub dir: PathBuf,
    /// When the apply was rolled back, if it was.
    pub rolled_back: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackReport {
    pub id: String,
    /// Display names of the files given their original bytes back.
    pub restored: Vec<String>,
    /// Display names of the files the apply had created, now removed.
    pub removed: Vec<String>,
    /// Display names of the files that already were as before the apply (a rollback that
    /// stopped midway and is run again).
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("another apim-tune run (pid {pid}) holds the lock `{}`", lock.display())]
    Locked { pid: u32, lock: PathBuf },
    #[error(
        "the lock `{}` holds no process id; remove it if no apim-tune run is active",
        lock.display()
    )]
    LockUnreadable { lock: PathBuf },
    #[error("`{}` changed since it was read; run the audit again", path.display())]
    ChangedSinceRead { path: PathBuf },
    #[error(
        "`{}` resolves to `{}`, outside the allowed directories",
        path.display(),
        target.display()
    )]
    LinkEscapes { path: PathBuf, target: PathBuf },
    #[error("`{}` is not a regular file", path.display())]
    NotRegularFile { path: PathBuf },
    #[error("`{}` is the target of more than one change", path.display())]
    DuplicateTarget { path: PathBuf },
    #[error("`{}` cannot be written: {reason}", path.display())]
    InvalidPath { path: PathBuf, reason: &'static str },
    #[error("`{0}` cannot be used as a backup id")]
    InvalidId(String),
    #[error("unknown failpoint `{0}`")]
    UnknownFailpoint(String),
    #[error("cannot {op} `{}`", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the manifest `{}` cannot be read or written", path.display())]
    Manifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    // The cause is spelled out in the message rather than offered as `source()`: callers report
    // this variant on its own line (it has its own exit code), and a chain printer would
    // otherwise repeat it.
    #[error(
        "the apply failed midway and every file it had written was restored: {}",
        chain(cause)
    )]
    RolledBack { cause: Box<ApplyError> },
    #[error(
        "the apply failed midway and {} file(s) could not be restored ({}); their originals are in `{}`",
        failed.len(),
        failed.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", "),
        dir.display()
    )]
    RestoreIncomplete {
        dir: PathBuf,
        failed: Vec<PathBuf>,
        #[source]
        cause: Box<ApplyError>,
    },
    #[error("there is no apply to roll back in `{}`", backup_dir.display())]
    NothingToRollBack { backup_dir: PathBuf },
    #[error("there is no apply `{id}` in `{}`", backup_dir.display())]
    UnknownId { id: String, backup_dir: PathBuf },
    #[error("apply `{id}` was already rolled back at {when}")]
    AlreadyRolledBack { id: String, when: String },
    #[error(
        "`{}` changed since the apply; use `--force` to restore it anyway",
        path.display()
    )]
    Refused { path: PathBuf },
    #[error(
        "the saved original `{}` does not match its checksum in the manifest",
        path.display()
    )]
    BackupCorrupt { path: PathBuf },
    #[error("the rollback of `{id}` stopped after {done} file(s); run it again to finish")]
    RollbackIncomplete {
        id: String,
        done: usize,
        #[source]
        cause: Box<ApplyError>,
    },
}

/// An error and its sources as one line (`a: b: c`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Wraps an `io::Error` with what was being done and to which path.
fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ApplyError + 'a {
    move |source| ApplyError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

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

// ---------------------------------------------------------------------------------------------
// Lock

/// Holds `<backup_dir>/.lock` for one apply or rollback and removes it when dropped, so every
/// exit path (including `?` and panics) releases it.
struct LockGuard {
    path: PathBuf,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Nothing to report to on drop; a lock left behind is taken over as stale next time.
        let _ = fs::remove_file(&self.path);
    }
}

fn take_lock(backup_dir: &Path) -> Result<LockGuard, ApplyError> {
    let path = backup_dir.join(LOCK_FILE);
    // The second and third tries follow the removal of a stale lock.
    for _ in 0..3 {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
        {
            Ok(mut file) => {
                // The guard exists from here on, so a failed write still removes the file.
                let guard = LockGuard { path: path.clone() };
                writeln!(file, "{}", std::process::id())
                    .and_then(|()| file.sync_all())
                    .map_err(io_err("write the lock", &path))?;
                return Ok(guard);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = match fs::read_to_string(&path) {
                    Ok(text) => text,
                    // Released between our create and our read: try again.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err("read the lock", &path)(e)),
                };
                // An empty or garbled lock may be a run that has created the file but not yet
                // written its pid: never take it over.
                let pid = match text.trim().parse::<u32>() {
                    Ok(pid) if pid > 0 => pid,
                    _ => return Err(ApplyError::LockUnreadable { lock: path }),
                };
                if pid_alive(pid) {
                    return Err(ApplyError::Locked { pid, lock: path });
                }
                // The run that held it died without releasing it. Two runs that both see the
                // same stale lock could race here; the create_new above still lets only one of
                // them win each round, which is enough for an admin tool run by hand.
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("remove the stale lock", &path)(e)),
                }
            }
            Err(e) => return Err(io_err("create the lock", &path)(e)),
        }
    }
    Err(io_err("take the lock", &path)(io::Error::other(
        "the lock kept reappearing",
    )))
}

/// A pid is alive while `/proc/<pid>` exists (Linux only, like the rest of the tool).
fn pid_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Creates the backup directory (owner-only) when missing.
fn ensure_backup_dir(backup_dir: &Path) -> Result<(), ApplyError> {
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

// ---------------------------------------------------------------------------------------------
// Resolving targets

/// Where a change really lands.
struct Resolved {
    /// Canonical directory + file name; the name itself is not a symlink.
    real: PathBuf,
    /// Directories missing on the way to `real`, outermost first (only when the file is new).
    missing_dirs: Vec<PathBuf>,
    /// The regular file there now, if any.
    meta: Option<fs::Metadata>,
}

/// Follows `path` to its real location: the parent directory is canonicalized and the file,
/// while it is a symlink, is replaced by the link's target, as the kernel would.
fn resolve(path: &Path) -> Result<Resolved, ApplyError> {
    let mut current = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let name = current
            .file_name()
            .ok_or(ApplyError::InvalidPath {
                path: path.to_path_buf(),
                reason: "it names no file",
            })?
            .to_os_string();
        let parent = match current.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (dir, missing) = existing_ancestor(&parent, path)?;
        if !missing.is_empty() {
            // No directory, so no file and no link: a new file in new directories.
            let mut missing_dirs = Vec::with_capacity(missing.len());
            let mut walk = dir;
            for part in missing {
                walk.push(part);
                missing_dirs.push(walk.clone());
            }
            return Ok(Resolved {
                real: walk.join(name),
                missing_dirs,
                meta: None,
            });
        }
        let real = dir.join(&name);
        match fs::symlink_metadata(&real) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&real).map_err(io_err("read the link", &real))?;
                // A relative target is relative to the link's (real) directory; joining an
                // absolute one replaces the directory.
                current = dir.join(target);
            }
            Ok(meta) if meta.is_file() => {
                return Ok(Resolved {
                    real,
                    missing_dirs: Vec::new(),
                    meta: Some(meta),
                });
            }
            Ok(_) => return Err(ApplyError::NotRegularFile { path: real }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Resolved {
                    real,
                    missing_dirs: Vec::new(),
                    meta: None,
                });
            }
            Err(e) => return Err(io_err("inspect", &real)(e)),
        }
    }
    Err(ApplyError::InvalidPath {
        path: path.to_path_buf(),
        reason: "too many levels of symbolic links",
    })
}

/// Canonicalizes the deepest existing ancestor of `dir` and returns it with the names of the
/// missing directories below it, outermost first. `origin` is only for error messages.
fn existing_ancestor(dir: &Path, origin: &Path) -> Result<(PathBuf, Vec<OsString>), ApplyError> {
    let mut probe = dir.to_path_buf();
    let mut missing: Vec<OsString> = Vec::new();
    loop {
        let attempt = if probe.as_os_str().is_empty() {
            Path::new(".").canonicalize()
        } else {
            probe.canonicalize()
        };
        match attempt {
            Ok(canonical) => {
                if !canonical.is_dir() {
                    return Err(ApplyError::InvalidPath {
                        path: origin.to_path_buf(),
                        reason: "its parent is not a directory",
                    });
                }
                missing.reverse();
                return Ok((canonical, missing));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match probe.components().next_back() {
                Some(Component::Normal(part)) => {
                    missing.push(part.to_os_string());
                    probe.pop();
                }
                Some(Component::CurDir) => {
                    probe.pop();
                }
                // `..` below a missing directory has no meaning to resolve.
                _ => {
                    return Err(ApplyError::InvalidPath {
                        path: origin.to_path_buf(),
                        reason: "its directory cannot be resolved",
                    });
                }
            },
            Err(e) => return Err(io_err("resolve", &probe)(e)),
        }
    }
}

/// The allowed directories, canonicalized; ones that do not exist cannot contain anything.
fn canonical_allowed(allowed: &[PathBuf]) -> Vec<PathBuf> {
    allowed
        .iter()
        .filter_map(|dir| dir.canonicalize().ok())
        .collect()
}

fn inside_allowed(real: &Path, allowed: &[PathBuf]) -> bool {
    // Path::starts_with compares whole components, so `/opt/wso2x` is not inside `/opt/wso2`.
    allowed.iter().any(|dir| real.starts_with(dir))
}

// ---------------------------------------------------------------------------------------------
// Atomic replacement

/// What the target must hold just before the rename. Checked again there because time has
/// passed since the plan (backups, earlier files).
enum Expect<'a> {
    Bytes(&'a [u8]),
    Absent,
    Any,
}

/// Mode and owner to give the written file.
struct Ownership {
    mode: u32,
    uid: u32,
    gid: u32,
    /// False for new files: they keep the owner a file created by this process gets.
    chown: bool,
}

/// Removes the temp file unless the rename consumed it.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort on an error path that already carries the real cause.
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn temp_name(name: &OsStr) -> OsString {
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(".apim-tune.tmp");
    temp
}

/// Opens the temp file with O_EXCL; owner-only until its final mode is set, since the bytes
/// may be secrets. A leftover of ours (a run killed midway; the lock rules out a live one) is
/// unlinked first; unlink never follows a symlink.
fn create_temp(path: &Path) -> Result<(TempFile, File), ApplyError> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_FILE_MODE)
            .open(path)
    };
    let file = match open() {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
            if is_dir {
                return Err(io_err("create the temp file", path)(e));
            }
            fs::remove_file(path).map_err(io_err("remove the leftover temp file", path))?;
            open().map_err(io_err("create the temp file", path))?
        }
        Err(e) => return Err(io_err("create the temp file", path)(e)),
    };
    Ok((
        TempFile {
            path: path.to_path_buf(),
            armed: true,
        },
        file,
    ))
}

/// Gives the temp file the original's owner. EPERM is tolerated only when the original belongs
/// to us: then only the group could not be kept (we are not in it), which is the same result a
/// plain edit by this user would have had.
fn set_owner(file: &File, path: &Path, uid: u32, gid: u32) -> Result<(), ApplyError> {
    let meta = file.metadata().map_err(io_err("inspect", path))?;
    if meta.uid() == uid && meta.gid() == gid {
        return Ok(());
    }
    match std::os::unix::fs::fchown(file, Some(uid), Some(gid)) {
        Ok(()) => Ok(()),
        Err(e)
            if e.raw_os_error() == Some(nix::errno::Errno::EPERM as i32)
                && uid == nix::unistd::geteuid().as_raw() =>
        {
            Ok(())
        }
        Err(e) => Err(io_err("set the owner of", path)(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), ApplyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync the directory", dir))
}

/// Does the target hold what `expect` says? Read failures count as "no".
fn matches_expect(target: &Path, expect: &Expect<'_>) -> bool {
    match expect {
        Expect::Any => true,
        Expect::Absent => matches!(
            fs::symlink_metadata(target),
            Err(e) if e.kind() == io::ErrorKind::NotFound
        ),
        Expect::Bytes(bytes) => {
            let is_file = fs::symlink_metadata(target).is_ok_and(|m| m.is_file());
            is_file && fs::read(target).is_ok_and(|now| now == *bytes)
        }
    }
}

/// A failed replacement, and whether the rename had already happened (the target then holds
/// the new bytes and must be restored).
struct WriteFailure {
    error: ApplyError,
    renamed: bool,
}

impl From<ApplyError> for WriteFailure {
    fn from(error: ApplyError) -> Self {
        WriteFailure {
            error,
            renamed: false,
        }
    }
}

/// Replaces `target` with `bytes` so that a reader (or a crash) sees either the old file or the
/// new one, never a mix: temp file in the same directory (rename is atomic only within one
/// file system), data and metadata synced, rename, directory synced so the rename survives.
fn replace_atomically(
    target: &Path,
    bytes: &[u8],
    owner: &Ownership,
    expect: Expect<'_>,
    fail_before_rename: bool,
) -> Result<(), WriteFailure> {
    let (dir, name) = match (target.parent(), target.file_name()) {
        (Some(dir), Some(name)) => (dir, name),
        _ => {
            return Err(ApplyError::InvalidPath {
                path: target.to_path_buf(),
                reason: "it names no file",
            }
            .into());
        }
    };
    let temp_path = dir.join(temp_name(name));
    let (mut temp, mut file) = create_temp(&temp_path)?;
    file.write_all(bytes)
        .map_err(io_err("write the temp file", &temp_path))?;
    // Owner before mode: chown by a non-root user clears setuid/setgid bits.
    if owner.chown {
        set_owner(&file, &temp_path, owner.uid, owner.gid)?;
    }
    file.set_permissions(Permissions::from_mode(owner.mode & 0o7777))
        .map_err(io_err("set the mode of", &temp_path))?;
    // One sync after data, owner and mode, so all three are durable before the rename.
    file.sync_all()
        .map_err(io_err("sync the temp file", &temp_path))?;
    drop(file);
    if fail_before_rename {
        return Err(
            io_err("rename the temp file over", target)(io::Error::other(
                "failpoint after-temp-write",
            ))
            .into(),
        );
    }
    if !matches_expect(target, &expect) {
        return Err(ApplyError::ChangedSinceRead {
            path: target.to_path_buf(),
        }
        .into());
    }
    fs::rename(&temp_path, target).map_err(io_err("rename the temp file over", target))?;
    temp.armed = false;
    sync_dir(dir).map_err(|error| WriteFailure {
        error,
        renamed: true,
    })
}

/// Removes a file the apply created, and its directory entry durably.
fn remove_created(target: &Path) -> Result<(), ApplyError> {
    match fs::remove_file(target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("remove", target)(e)),
    }
    match target.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Removes directories the apply created, innermost first, while they are empty. A directory
/// someone has put files into since is left alone.
fn remove_created_dirs(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        if fs::remove_dir(dir).is_err() {
            // Not empty or already gone: its parents cannot be empty-and-ours either way.
            continue;
        }
        if let Some(parent) = dir.parent() {
            let _ = sync_dir(parent);
        }
    }
}

fn create_missing_dirs(dirs: &[PathBuf]) -> Result<(), ApplyError> {
    for dir in dirs {
        match DirBuilder::new().create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(io_err("create the directory", dir)(e)),
        }
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Apply

/// Which written file (1-based) the failpoint fails, if any.
fn parse_failpoint(failpoint: Option<&str>) -> Result<Option<usize>, ApplyError> {
    let Some(text) = failpoint else {
        return Ok(None);
    };
    let unknown = || ApplyError::UnknownFailpoint(text.to_string());
    let rest = text
        .strip_prefix(FAILPOINT_AFTER_TEMP_WRITE)
        .ok_or_else(unknown)?;
    if rest.is_empty() {
        return Ok(Some(1));
    }
    let number = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix('='))
        .ok_or_else(unknown)?;
    match number.parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(unknown()),
    }
}

/// A folder name we create or accept: one plain component, not hidden (hidden entries such as
/// the lock are not backups).
fn valid_id(id: &str) -> bool {
    let mut components = Path::new(id).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !id.starts_with('.')
        && !id.contains('/')
}

/// A change checked and ready to write.
struct Planned<'a> {
    change: &'a FileChange,
    real: PathBuf,
    missing_dirs: Vec<PathBuf>,
    meta: Option<fs::Metadata>,
}

/// Checks one change without writing anything: where it lands, that the place is allowed, and
/// that the file still holds what the audit read.
fn plan<'a>(change: &'a FileChange, allowed: &[PathBuf]) -> Result<Planned<'a>, ApplyError> {
    let resolved = resolve(&change.path)?;
    if !inside_allowed(&resolved.real, allowed) {
        return Err(ApplyError::LinkEscapes {
            path: change.path.clone(),
            target: resolved.real,
        });
    }
    let unchanged = match (&change.before, &resolved.meta) {
        (None, None) => true,
        (Some(before), Some(_)) => match fs::read(&resolved.real) {
            Ok(now) => now == *before,
            Err(e) => return Err(io_err("read", &resolved.real)(e)),
        },
        _ => false,
    };
    if !unchanged {
        return Err(ApplyError::ChangedSinceRead {
            path: change.path.clone(),
        });
    }
    Ok(Planned {
        change,
        real: resolved.real,
        // Directories are only ever created for a new file.
        missing_dirs: resolved.missing_dirs,
        meta: resolved.meta,
    })
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

/// Applies `changes` as one transaction: all files get their `after` bytes, or (on a failure
/// midway) every file written so far gets its original back. See the module docs.
pub fn apply(changes: &[FileChange], opts: &ApplyOptions) -> Result<ApplyRecord, ApplyError> {
    let fail_at = parse_failpoint(opts.failpoint.as_deref())?;
    ensure_backup_dir(&opts.backup_dir)?;
    let _lock = take_lock(&opts.backup_dir)?;

    // Every target is checked before anything is written.
    let allowed = canonical_allowed(&opts.allowed);
    let mut seen = HashSet::new();
    let mut planned = Vec::with_capacity(changes.len());
    for change in changes {
        let p = plan(change, &allowed)?;
        if !seen.insert(p.real.clone()) {
            // Two changes to one real file would each be checked against the original, and the
            // second would silently discard the first.
            return Err(ApplyError::DuplicateTarget { path: p.real });
        }
        planned.push(p);
    }
    planned.retain(|p| p.change.before.as_deref() != Some(p.change.after.as_slice()));
    if planned.is_empty() {
        return Ok(ApplyRecord {
            id: String::new(),
            dir: PathBuf::new(),
            manifest: Manifest {
                id: String::new(),
                created: opts.now.clone(),
                tool_version: TOOL_VERSION.to_string(),
                files: Vec::new(),
            },
        });
    }

    // Backups and the manifest are durable before the first target is touched.
    let (id, dir) = create_apply_dir(&opts.backup_dir, &opts.now)?;
    let files_dir = dir.join(FILES_DIR);
    DirBuilder::new()
        .mode(PRIVATE_DIR_MODE)
        .create(&files_dir)
        .map_err(io_err("create the backup folder", &files_dir))?;
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    let mut entries = Vec::with_capacity(planned.len());
    for (index, p) in planned.iter().enumerate() {
        let backup = match &p.change.before {
            Some(before) => {
                let name = p.real.file_name().unwrap_or(OsStr::new("file"));
                let backup = format!("{}-{}", index + 1, name.to_string_lossy());
                write_private(&files_dir.join(&backup), before)?;
                Some(backup)
            }
            None => None,
        };
        let (mode, uid, gid) = match &p.meta {
            Some(meta) => (meta.mode() & 0o7777, meta.uid(), meta.gid()),
            None => (NEW_FILE_MODE, euid, egid),
        };
        entries.push(ManifestEntry {
            path: p.real.clone(),
            display: p.change.display.clone(),
            existed: p.change.before.is_some(),
            sha256_before: p.change.before.as_deref().map(sha256_hex),
            sha256_after: sha256_hex(&p.change.after),
            mode,
            uid,
            gid,
            backup,
            created_dirs: p.missing_dirs.clone(),
        });
    }
    sync_dir(&files_dir)?;
    let manifest = Manifest {
        id: id.clone(),
        created: opts.now.clone(),
        tool_version: TOOL_VERSION.to_string(),
        files: entries,
    };
    let manifest_path = dir.join(MANIFEST_FILE);
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(|source| ApplyError::Manifest {
        path: manifest_path.clone(),
        source,
    })?;
    json.push(b'\n');
    write_private(&manifest_path, &json)?;
    sync_dir(&dir)?;
    sync_dir(&opts.backup_dir)?;

    for (index, (p, entry)) in planned.iter().zip(&manifest.files).enumerate() {
        let result = write_one(p, entry, fail_at == Some(index + 1));
        if let Err(failure) = result {
            return Err(undo(
                &planned,
                &manifest.files,
                index,
                failure,
                &dir,
                &opts.now,
            ));
        }
    }
    Ok(ApplyRecord { id, dir, manifest })
}

fn write_one(p: &Planned<'_>, entry: &ManifestEntry, fail: bool) -> Result<(), WriteFailure> {
    create_missing_dirs(&p.missing_dirs)?;
    let expect = match &p.change.before {
        Some(before) => Expect::Bytes(before),
        None => Expect::Absent,
    };
    let owner = Ownership {
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        chown: entry.existed,
    };
    replace_atomically(&p.real, &p.change.after, &owner, expect, fail)
}

/// Puts back every file written before the one at `failed` (and that one too if its rename
/// happened), newest first, and turns the failure into the error `apply` returns.
fn undo(
    planned: &[Planned<'_>],
    entries: &[ManifestEntry],
    failed: usize,
    failure: WriteFailure,
    dir: &Path,
    now: &str,
) -> ApplyError {
    let mut not_restored = Vec::new();
    for index in (0..=failed).rev() {
        let (p, entry) = (&planned[index], &entries[index]);
        let written = index < failed || failure.renamed;
        if written {
            // The original bytes in memory are the ones saved (and synced) in the backup.
            let restored = match &p.change.before {
                Some(before) => {
                    let owner = Ownership {
                        mode: entry.mode,
                        uid: entry.uid,
                        gid: entry.gid,
                        chown: true,
                    };
                    replace_atomically(&p.real, before, &owner, Expect::Any, false)
                        .map_err(|f| f.error)
                }
                None => remove_created(&p.real),
            };
            if restored.is_err() {
                not_restored.push(p.real.clone());
            }
        }
        if !entry.existed {
            remove_created_dirs(&entry.created_dirs);
        }
    }
    let cause = Box::new(failure.error);
    if not_restored.is_empty() {
        // Marked as rolled back so that `rollback` does not pick it as the apply to undo. Only
        // when complete: after a partial restore, `rollback` can still finish the job. A marker
        // that fails to be written changes nothing on the host, so it is not an error.
        let _ = mark_rolled_back(
            dir,
            &format!("{now} (the apply failed midway and was undone)"),
        );
        ApplyError::RolledBack { cause }
    } else {
        ApplyError::RestoreIncomplete {
            dir: dir.to_path_buf(),
            failed: not_restored,
            cause,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backups and rollback

fn load_manifest(dir: &Path) -> Result<Manifest, ApplyError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = fs::read(&path).map_err(io_err("read", &path))?;
    serde_json::from_slice(&bytes).map_err(|source| ApplyError::Manifest { path, source })
}

fn rolled_back_at(dir: &Path) -> Option<String> {
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

/// What is at a path now, for comparing with the manifest.
enum State {
    Absent,
    File(Vec<u8>),
    /// A symlink, directory or other non-regular file: not what the apply left.
    Other,
}

fn current_state(path: &Path) -> Result<State, ApplyError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => fs::read(path)
            .map(State::File)
            .map_err(io_err("read", path)),
        Ok(_) => Ok(State::Other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::Absent),
        Err(e) => Err(io_err("inspect", path)(e)),
    }
}

/// Where to restore an entry: its recorded path with the directory resolved again (the
/// manifest is only a file on disk), which must still be inside the allowed directories.
fn restore_target(entry: &ManifestEntry, allowed: &[PathBuf]) -> Result<PathBuf, ApplyError> {
    let invalid = |reason| ApplyError::InvalidPath {
        path: entry.path.clone(),
        reason,
    };
    if !entry.path.is_absolute() {
        return Err(invalid("the manifest path is not absolute"));
    }
    let (Some(dir), Some(name)) = (entry.path.parent(), entry.path.file_name()) else {
        return Err(invalid("it names no file"));
    };
    let target = match dir.canonicalize() {
        Ok(dir) => dir.join(name),
        // The directory is gone, so is the file; the state check decides what that means.
        Err(e) if e.kind() == io::ErrorKind::NotFound => entry.path.clone(),
        Err(e) => return Err(io_err("resolve", dir)(e)),
    };
    if !inside_allowed(&target, allowed) {
        return Err(ApplyError::LinkEscapes {
            path: entry.path.clone(),
            target,
        });
    }
    Ok(target)
}

/// Reads a saved original and checks it against the manifest before it is trusted.
fn read_backup(dir: &Path, entry: &ManifestEntry) -> Result<Vec<u8>, ApplyError> {
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

/// One entry of a rollback, checked and ready.
struct Restore<'a> {
    entry: &'a ManifestEntry,
    target: PathBuf,
    /// The original bytes; `None` for a file the apply created.
    original: Option<Vec<u8>>,
    /// What the check saw there; must still be there at the rename.
    state: State,
    /// Already as before the apply: nothing to write.
    skip: bool,
}

/// Undoes an apply (`id`, or the newest one): every file gets its original bytes, mode and
/// owner back and files the apply created are removed. Unless `force`, a file changed since the
/// apply makes it refuse before anything is restored.
pub fn rollback(
    backup_dir: &Path,
    id: Option<&str>,
    force: bool,
    allowed: &[PathBuf],
    now: &str,
) -> Result<RollbackReport, ApplyError> {
    if !backup_dir.is_dir() {
        return Err(ApplyError::NothingToRollBack {
            backup_dir: backup_dir.to_path_buf(),
        });
    }
    let _lock = take_lock(backup_dir)?;
    let (id, dir) = match id {
        Some(id) => {
            let dir = backup_dir.join(id);
            if !valid_id(id) || !dir.join(MANIFEST_FILE).is_file() {
                return Err(ApplyError::UnknownId {
                    id: id.to_string(),
                    backup_dir: backup_dir.to_path_buf(),
                });
            }
            (id.to_string(), dir)
        }
        // The newest apply, even if it was rolled back already: undoing an older one as well
        // because `rollback` was run twice would be a surprise.
        None => match list_backups(backup_dir)?.pop() {
            Some(newest) => (newest.id, newest.dir),
            None => {
                return Err(ApplyError::NothingToRollBack {
                    backup_dir: backup_dir.to_path_buf(),
                });
            }
        },
    };
    if let Some(when) = rolled_back_at(&dir) {
        return Err(ApplyError::AlreadyRolledBack { id, when });
    }
    let manifest = load_manifest(&dir)?;
    let allowed = canonical_allowed(allowed);

    // Everything is checked before anything is restored.
    let mut steps = Vec::with_capacity(manifest.files.len());
    for entry in &manifest.files {
        let target = restore_target(entry, &allowed)?;
        let original = if entry.existed {
            Some(read_backup(&dir, entry)?)
        } else {
            None
        };
        let state = current_state(&target)?;
        let as_after =
            matches!(&state, State::File(bytes) if sha256_hex(bytes) == entry.sha256_after);
        let as_before = match (&original, &state) {
            (Some(original), State::File(bytes)) => bytes == original,
            (None, State::Absent) => true,
            _ => false,
        };
        let skip = !as_after && as_before;
        if !as_after && !as_before && !force {
            return Err(ApplyError::Refused { path: target });
        }
        steps.push(Restore {
            entry,
            target,
            original,
            state,
            skip,
        });
    }

    let mut report = RollbackReport {
        id: id.clone(),
        restored: Vec::new(),
        removed: Vec::new(),
        skipped: Vec::new(),
    };
    for step in &steps {
        let display = step.entry.display.clone();
        if step.skip {
            if !step.entry.existed {
                remove_created_dirs(&step.entry.created_dirs);
            }
            report.skipped.push(display);
            continue;
        }
        let result = match &step.original {
            Some(original) => {
                let owner = Ownership {
                    mode: step.entry.mode,
                    uid: step.entry.uid,
                    gid: step.entry.gid,
                    chown: true,
                };
                let expect = match &step.state {
                    State::File(bytes) => Expect::Bytes(bytes),
                    State::Absent => Expect::Absent,
                    State::Other => Expect::Any,
                };
                replace_atomically(&step.target, original, &owner, expect, false)
                    .map_err(|f| f.error)
            }
            None => {
                remove_created(&step.target).map(|()| remove_created_dirs(&step.entry.created_dirs))
            }
        };
        if let Err(cause) = result {
            return Err(ApplyError::RollbackIncomplete {
                id,
                done: report.restored.len() + report.removed.len(),
                cause: Box::new(cause),
            });
        }
        if step.original.is_some() {
            report.restored.push(display);
        } else {
            report.removed.push(display);
        }
    }

    mark_rolled_back(&dir, now)?;
    Ok(report)
}

/// Writes the `rolled-back` marker (the time, and why) into an apply folder.
fn mark_rolled_back(dir: &Path, text: &str) -> Result<(), ApplyError> {
    let marker = dir.join(ROLLED_BACK_FILE);
    fs::write(&marker, format!("{text}\n"))
        .and_then(|()| File::open(&marker)?.sync_all())
        .map_err(io_err("write", &marker))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use tempfile::TempDir;

    const NOW: &str = "20261122T054801Z";

    /// A fake host: `root/` is allowed, `outside/` is not, backups under `root/var/backups`.
    struct Host {
        _tmp: TempDir,
        root: PathBuf,
        outside: PathBuf,
        opts: ApplyOptions,
    }

    fn host() -> Host {
        let tmp = TempDir::new().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let opts = ApplyOptions {
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

    fn put(path: &Path, bytes: &[u8], mode: u32) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    fn change(path: &Path, before: Option<&[u8]>, after: &[u8]) -> FileChange {
        FileChange {
            path: path.to_path_buf(),
            display: path.file_name().unwrap().to_string_lossy().into_owned(),
            before: before.map(<[u8]>::to_vec),
            after: after.to_vec(),
        }
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o7777
    }

    /// Every entry below `dir`, recursively, as paths.
    fn walk(dir: &Path) -> Vec<PathBuf> {
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

    fn temp_files(dir: &Path) -> Vec<PathBuf> {
        walk(dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".apim-tune.tmp"))
            .collect()
    }

    fn apply_folders(h: &Host) -> Vec<PathBuf> {
        match fs::read_dir(&h.opts.backup_dir) {
            Ok(entries) => entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_dir())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn lock_path(h: &Host) -> PathBuf {
        h.opts.backup_dir.join(LOCK_FILE)
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
    fn apply_keeps_modes_0640_and_0755() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        let b = h.root.join("opt/wso2/bin/api-manager.sh");
        put(&a, b"a\n", 0o640);
        put(&b, b"#!/bin/sh\n", 0o755);
        apply(
            &[
                change(&a, Some(b"a\n"), b"a2\n"),
                change(&b, Some(b"#!/bin/sh\n"), b"#!/bin/sh\nexit 0\n"),
            ],
            &h.opts,
        )
        .unwrap();
        assert_eq!(mode_of(&a), 0o640);
        assert_eq!(mode_of(&b), 0o755);
    }

    #[test]
    fn apply_keeps_the_owner_when_run_as_root() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let h = host();
        let a = h.root.join("opt/wso2/conf/deployment.toml");
        put(&a, b"x\n", 0o640);
        std::os::unix::fs::chown(&a, Some(1234), Some(5678)).unwrap();
        apply(&[change(&a, Some(b"x\n"), b"y\n")], &h.opts).unwrap();
        let meta = fs::metadata(&a).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (1234, 5678));
        assert_eq!(meta.mode() & 0o7777, 0o640);
    }

    #[test]
    fn apply_keeps_crlf_bytes() {
        let h = host();
        let a = h.root.join("opt/wso2/bin/wso2server.bat");
        let before = b"set A=1\r\nset B=2\r\n";
        let after = b"set A=1\r\nset B=3\r\nset C=\"x\"\r\n";
        put(&a, before, 0o644);
        apply(&[change(&a, Some(before), after)], &h.opts).unwrap();
        assert_eq!(fs::read(&a).unwrap(), after);
    }

    #[test]
    fn a_symlink_chain_inside_the_root_is_followed_and_stays_a_link() {
        let h = host();
        let real = h.root.join("opt/wso2/conf/deployment.toml");
        put(&real, b"old\n", 0o600);
        let hop = h.root.join("etc/wso2-hop.toml");
        let link = h.root.join("etc/deployment.toml");
        symlink("../opt/wso2/conf/deployment.toml", &hop).unwrap();
        symlink(&hop, &link).unwrap();
        let record = apply(&[change(&link, Some(b"old\n"), b"new\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&real).unwrap(), b"new\n");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(fs::symlink_metadata(&hop).unwrap().file_type().is_symlink());
        assert_eq!(mode_of(&real), 0o600);
        assert_eq!(record.manifest.files[0].path, real);
        assert!(temp_files(&h.root).is_empty());
    }

    #[test]
    fn a_symlink_out_of_the_allowed_dirs_is_refused_and_nothing_written() {
        let h = host();
        let inside = h.root.join("etc/a.conf");
        put(&inside, b"a\n", 0o644);
        let secret = h.outside.join("shadow");
        put(&secret, b"root:x\n", 0o600);
        let link = h.root.join("etc/limits.conf");
        symlink(&secret, &link).unwrap();
        let err = apply(
            &[
                change(&inside, Some(b"a\n"), b"b\n"),
                change(&link, Some(b"root:x\n"), b"pwned\n"),
            ],
            &h.opts,
        )
        .unwrap_err();
        match err {
            ApplyError::LinkEscapes { path, target } => {
                assert_eq!(path, link);
                assert_eq!(target, secret);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(fs::read(&inside).unwrap(), b"a\n");
        assert_eq!(fs::read(&secret).unwrap(), b"root:x\n");
        assert!(apply_folders(&h).is_empty());
        assert!(!lock_path(&h).exists());
    }

    #[test]
    fn a_file_changed_since_read_stops_everything() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        let b = h.root.join("etc/b.conf");
        put(&a, b"a\n", 0o644);
        put(&b, b"b edited by someone\n", 0o644);
        let new = h.root.join("etc/sysctl.d/99-apim.conf");
        put(&h.root.join("etc/exists.conf"), b"here\n", 0o644);
        let err = apply(
            &[
                change(&a, Some(b"a\n"), b"a2\n"),
                change(&new, None, b"new\n"),
                change(&b, Some(b"b\n"), b"b2\n"),
            ],
            &h.opts,
        )
        .unwrap_err();
        assert!(matches!(err, ApplyError::ChangedSinceRead { ref path } if *path == b));
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
        assert_eq!(fs::read(&b).unwrap(), b"b edited by someone\n");
        assert!(!new.exists() && !new.parent().unwrap().exists());
        assert!(apply_folders(&h).is_empty());

        // A "new" file that exists after all is a change too.
        let err = apply(
            &[change(&h.root.join("etc/exists.conf"), None, b"x\n")],
            &h.opts,
        )
        .unwrap_err();
        assert!(matches!(err, ApplyError::ChangedSinceRead { .. }));
        assert!(!lock_path(&h).exists());
    }

    #[test]
    fn an_apply_with_nothing_to_change_creates_no_backup_folder() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        let first = apply(&[change(&a, Some(b"a\n"), b"a2\n")], &h.opts).unwrap();
        assert_eq!(first.manifest.files.len(), 1);
        let second = apply(&[change(&a, Some(b"a2\n"), b"a2\n")], &h.opts).unwrap();
        assert!(second.manifest.files.is_empty());
        assert!(second.id.is_empty());
        assert_eq!(apply_folders(&h), vec![first.dir]);
        assert_eq!(list_backups(&h.opts.backup_dir).unwrap().len(), 1);
        assert_eq!(fs::read(&a).unwrap(), b"a2\n");
        let none = apply(&[], &h.opts).unwrap();
        assert!(none.manifest.files.is_empty());
        assert_eq!(apply_folders(&h).len(), 1);
    }

    #[test]
    fn unchanged_files_are_left_out_of_the_manifest() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        let b = h.root.join("etc/b.conf");
        put(&a, b"a\n", 0o644);
        put(&b, b"b\n", 0o644);
        let record = apply(
            &[
                change(&a, Some(b"a\n"), b"a\n"),
                change(&b, Some(b"b\n"), b"b2\n"),
            ],
            &h.opts,
        )
        .unwrap();
        assert_eq!(record.manifest.files.len(), 1);
        assert_eq!(record.manifest.files[0].path, b);
        assert_eq!(record.manifest.files[0].backup.as_deref(), Some("1-b.conf"));
    }

    #[test]
    fn a_failure_on_the_second_of_three_files_restores_all_of_them() {
        let mut h = host();
        let files = [
            h.root.join("etc/one.conf"),
            h.root.join("etc/two.conf"),
            h.root.join("opt/wso2/conf/three.toml"),
        ];
        let originals: [&[u8]; 3] = [b"one\r\n", b"two\n", b"three\n"];
        for (path, bytes) in files.iter().zip(originals) {
            put(path, bytes, 0o640);
        }
        h.opts.failpoint = Some("after-temp-write:2".to_string());
        let changes: Vec<FileChange> = files
            .iter()
            .zip(originals)
            .map(|(path, bytes)| change(path, Some(bytes), b"changed\n"))
            .collect();
        let err = apply(&changes, &h.opts).unwrap_err();
        match &err {
            ApplyError::RolledBack { cause } => {
                assert_eq!(
                    err.to_string(),
                    format!(
                        "the apply failed midway and every file it had written was restored: \
                         cannot rename the temp file over `{}`: failpoint after-temp-write",
                        files[1].display()
                    )
                );
                assert!(
                    matches!(**cause, ApplyError::Io { ref path, .. } if *path == files[1]),
                    "{cause:?}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        for (path, bytes) in files.iter().zip(originals) {
            assert_eq!(fs::read(path).unwrap(), bytes);
            assert_eq!(mode_of(path), 0o640);
        }
        assert!(temp_files(&h.root).is_empty());
        let folders = apply_folders(&h);
        assert_eq!(folders.len(), 1);
        assert!(folders[0].join(MANIFEST_FILE).is_file());
        assert_eq!(
            fs::read(folders[0].join("files/2-two.conf")).unwrap(),
            b"two\n"
        );
        // Kept as evidence, and marked so `rollback` does not take it for the apply to undo.
        let listed = list_backups(&h.opts.backup_dir).unwrap();
        assert_eq!(
            listed[0].rolled_back.as_deref(),
            Some("20261122T054801Z (the apply failed midway and was undone)")
        );
        assert!(!lock_path(&h).exists());
    }

    #[test]
    fn a_failure_after_creating_a_new_file_removes_it_and_its_directories() {
        let mut h = host();
        let new = h
            .root
            .join("etc/systemd/system/wso2am.service.d/limits.conf");
        let b = h.root.join("etc/b.conf");
        put(&b, b"b\n", 0o644);
        h.opts.failpoint = Some("after-temp-write:2".to_string());
        let err = apply(
            &[
                change(&new, None, b"[Service]\nLimitNOFILE=65535\n"),
                change(&b, Some(b"b\n"), b"b2\n"),
            ],
            &h.opts,
        )
        .unwrap_err();
        assert!(matches!(err, ApplyError::RolledBack { .. }), "{err:?}");
        assert!(!h.root.join("etc/systemd").exists());
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
        assert!(temp_files(&h.root).is_empty());
    }

    #[test]
    fn unknown_failpoints_are_rejected_before_anything_happens() {
        let mut h = host();
        h.opts.failpoint = Some("after-rename".to_string());
        let err = apply(&[], &h.opts).unwrap_err();
        assert!(matches!(err, ApplyError::UnknownFailpoint(_)));
        assert_eq!(parse_failpoint(Some("after-temp-write")).unwrap(), Some(1));
        assert_eq!(
            parse_failpoint(Some("after-temp-write=3")).unwrap(),
            Some(3)
        );
        assert!(parse_failpoint(Some("after-temp-write:0")).is_err());
    }

    #[test]
    fn two_changes_to_one_real_file_are_refused() {
        let h = host();
        let real = h.root.join("etc/a.conf");
        let link = h.root.join("etc/link.conf");
        put(&real, b"a\n", 0o644);
        symlink("a.conf", &link).unwrap();
        let err = apply(
            &[
                change(&real, Some(b"a\n"), b"b\n"),
                change(&link, Some(b"a\n"), b"c\n"),
            ],
            &h.opts,
        )
        .unwrap_err();
        assert!(matches!(err, ApplyError::DuplicateTarget { .. }));
        assert_eq!(fs::read(&real).unwrap(), b"a\n");
    }

    #[test]
    fn a_new_file_is_created_0644_and_rollback_removes_it() {
        let h = host();
        let new = h.root.join("etc/sysctl.d/99-apim-tune.conf");
        let record = apply(&[change(&new, None, b"vm.swappiness = 1\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&new).unwrap(), b"vm.swappiness = 1\n");
        assert_eq!(mode_of(&new), 0o644);
        let entry = &record.manifest.files[0];
        assert!(!entry.existed && entry.backup.is_none() && entry.sha256_before.is_none());
        assert_eq!(entry.created_dirs, vec![h.root.join("etc/sysctl.d")]);

        let report = rollback(&h.opts.backup_dir, None, false, &h.opts.allowed, "later").unwrap();
        assert_eq!(report.removed, vec!["99-apim-tune.conf".to_string()]);
        assert!(report.restored.is_empty());
        assert!(!new.exists());
        assert!(!h.root.join("etc/sysctl.d").exists());
        assert!(h.root.join("etc").is_dir());
    }

    #[test]
    fn rollback_restores_every_byte_mode_and_owner() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        let b = h.root.join("opt/wso2/conf/deployment.toml");
        let a_before = b"a\r\n\x00binary\xfe\n";
        put(&a, a_before, 0o640);
        put(&b, b"b\n", 0o755);
        let record = apply(
            &[
                change(&a, Some(a_before), b"a after\n"),
                change(&b, Some(b"b\n"), b"b after\n"),
            ],
            &h.opts,
        )
        .unwrap();
        // A mode change alone is not a content change: the rollback still puts the mode back.
        fs::set_permissions(&a, Permissions::from_mode(0o600)).unwrap();
        let is_root = nix::unistd::geteuid().is_root();
        if is_root {
            std::os::unix::fs::chown(&b, Some(4321), Some(4321)).unwrap();
        }
        let report = rollback(
            &h.opts.backup_dir,
            Some(&record.id),
            false,
            &h.opts.allowed,
            "20261122T060000Z",
        )
        .unwrap();
        assert_eq!(report.id, record.id);
        assert_eq!(report.restored, vec!["a.conf", "deployment.toml"]);
        assert_eq!(fs::read(&a).unwrap(), a_before);
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
        assert_eq!(mode_of(&a), 0o640);
        assert_eq!(mode_of(&b), 0o755);
        if is_root {
            let meta = fs::metadata(&b).unwrap();
            assert_eq!(
                (meta.uid(), meta.gid()),
                (record.manifest.files[1].uid, record.manifest.files[1].gid)
            );
        }
        assert!(temp_files(&h.root).is_empty());
        assert!(!lock_path(&h).exists());
        assert_eq!(
            fs::read_to_string(record.dir.join(ROLLED_BACK_FILE)).unwrap(),
            "20261122T060000Z\n"
        );
        let listed = list_backups(&h.opts.backup_dir).unwrap();
        assert_eq!(listed[0].rolled_back.as_deref(), Some("20261122T060000Z"));
    }

    /// `etc/a.conf` and `etc/b.conf` applied from `a`/`b` to `a2`/`b2`, for the rollback tests.
    fn applied_a_and_b() -> (Host, PathBuf, PathBuf) {
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

    #[test]
    fn rollback_refuses_a_file_changed_since_the_apply_unless_forced() {
        let (h, a, b) = applied_a_and_b();
        fs::write(&b, b"b edited by hand\n").unwrap();
        let err = rollback(&h.opts.backup_dir, None, false, &h.opts.allowed, "t").unwrap_err();
        assert!(
            matches!(err, ApplyError::Refused { ref path } if *path == b),
            "{err:?}"
        );
        // Refused before anything was restored.
        assert_eq!(fs::read(&a).unwrap(), b"a2\n");
        assert_eq!(fs::read(&b).unwrap(), b"b edited by hand\n");
        assert!(!lock_path(&h).exists());

        let report = rollback(&h.opts.backup_dir, None, true, &h.opts.allowed, "t").unwrap();
        assert_eq!(report.restored.len(), 2);
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
    }

    #[test]
    fn a_second_rollback_says_it_was_done_already() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        assert!(matches!(
            rollback(&h.opts.backup_dir, None, false, &h.opts.allowed, "t"),
            Err(ApplyError::NothingToRollBack { .. })
        ));
        let record = apply(&[change(&a, Some(b"a\n"), b"a2\n")], &h.opts).unwrap();
        assert!(matches!(
            rollback(
                &h.opts.backup_dir,
                Some("nope"),
                false,
                &h.opts.allowed,
                "t"
            ),
            Err(ApplyError::UnknownId { .. })
        ));
        assert!(matches!(
            rollback(
                &h.opts.backup_dir,
                Some("../etc"),
                false,
                &h.opts.allowed,
                "t"
            ),
            Err(ApplyError::UnknownId { .. })
        ));
        rollback(
            &h.opts.backup_dir,
            Some(&record.id),
            false,
            &h.opts.allowed,
            "t1",
        )
        .unwrap();
        for id in [Some(record.id.as_str()), None] {
            let err = rollback(&h.opts.backup_dir, id, true, &h.opts.allowed, "t2").unwrap_err();
            assert!(
                matches!(err, ApplyError::AlreadyRolledBack { ref when, .. } if when == "t1"),
                "{err:?}"
            );
        }
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
    }

    #[test]
    fn a_rollback_run_again_skips_files_already_restored() {
        let (h, a, b) = applied_a_and_b();
        // As if an earlier rollback had stopped after the first file.
        fs::write(&a, b"a\n").unwrap();
        let report = rollback(&h.opts.backup_dir, None, false, &h.opts.allowed, "t").unwrap();
        assert_eq!(report.skipped, vec!["a.conf"]);
        assert_eq!(report.restored, vec!["b.conf"]);
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
    }

    #[test]
    fn rollback_refuses_a_manifest_path_outside_the_allowed_dirs() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        let record = apply(&[change(&a, Some(b"a\n"), b"a2\n")], &h.opts).unwrap();
        let victim = h.outside.join("a.conf");
        put(&victim, b"a2\n", 0o644);
        let mut manifest = record.manifest.clone();
        manifest.files[0].path = victim.clone();
        fs::write(
            record.dir.join(MANIFEST_FILE),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let err = rollback(&h.opts.backup_dir, None, true, &h.opts.allowed, "t").unwrap_err();
        assert!(matches!(err, ApplyError::LinkEscapes { .. }), "{err:?}");
        assert_eq!(fs::read(&victim).unwrap(), b"a2\n");
    }

    #[test]
    fn rollback_refuses_a_tampered_backup() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        let record = apply(&[change(&a, Some(b"a\n"), b"a2\n")], &h.opts).unwrap();
        fs::write(record.dir.join("files/1-a.conf"), b"evil\n").unwrap();
        let err = rollback(&h.opts.backup_dir, None, true, &h.opts.allowed, "t").unwrap_err();
        assert!(matches!(err, ApplyError::BackupCorrupt { .. }), "{err:?}");
        assert_eq!(fs::read(&a).unwrap(), b"a2\n");
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
    fn a_lock_held_by_a_live_process_stops_apply_and_rollback() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        fs::create_dir_all(&h.opts.backup_dir).unwrap();
        let me = std::process::id();
        fs::write(lock_path(&h), format!("{me}\n")).unwrap();
        let err = apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap_err();
        assert!(
            matches!(err, ApplyError::Locked { pid, .. } if pid == me),
            "{err:?}"
        );
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
        let err = rollback(&h.opts.backup_dir, None, false, &h.opts.allowed, "t").unwrap_err();
        assert!(matches!(err, ApplyError::Locked { .. }), "{err:?}");
        // Someone else's lock is not ours to remove.
        assert!(lock_path(&h).exists());

        fs::write(lock_path(&h), b"").unwrap();
        let err = apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap_err();
        assert!(matches!(err, ApplyError::LockUnreadable { .. }), "{err:?}");
    }

    #[test]
    fn a_stale_lock_is_taken_over() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        fs::create_dir_all(&h.opts.backup_dir).unwrap();
        fs::write(lock_path(&h), b"999999999\n").unwrap();
        apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"b\n");
        assert!(!lock_path(&h).exists());
    }

    #[test]
    fn the_lock_is_released_on_success_and_on_error() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap();
        assert!(!lock_path(&h).exists());
        apply(&[change(&a, Some(b"stale\n"), b"c\n")], &h.opts).unwrap_err();
        assert!(!lock_path(&h).exists());
        let mut failing = h.opts.clone();
        failing.failpoint = Some("after-temp-write".to_string());
        let err = apply(&[change(&a, Some(b"b\n"), b"c\n")], &failing).unwrap_err();
        assert!(matches!(err, ApplyError::RolledBack { .. }));
        assert!(!lock_path(&h).exists());
        let err = rollback(&h.opts.backup_dir, None, false, &h.opts.allowed, "t").unwrap_err();
        assert!(
            matches!(err, ApplyError::AlreadyRolledBack { .. }),
            "{err:?}"
        );
        assert!(!lock_path(&h).exists());
        assert!(h.opts.backup_dir.is_dir());
    }

    #[test]
    fn a_leftover_temp_file_does_not_block_the_next_apply() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        fs::write(h.root.join("etc/.a.conf.apim-tune.tmp"), b"half").unwrap();
        apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"b\n");
        assert!(temp_files(&h.root).is_empty());
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
