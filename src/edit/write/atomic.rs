//! Replacing one file atomically: a temp file in the same directory, written, given its mode
//! and owner, synced, checked against what the target must still hold, renamed over it, and the
//! directory synced; also creating and removing what an apply adds (a new file, its
//! directories).
//!
//! Must not: follow a symlink (the caller passes a resolved target; the temp file is opened
//! with `O_EXCL` and a leftover is unlinked, never opened), leave a temp file behind, or let a
//! reader or a crash see a half-written target.

use super::ApplyError;
use super::error::io_err;
use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The temp file's mode until its final one is set: the bytes may be secrets.
const TEMP_FILE_MODE: u32 = 0o600;

/// What the target must hold just before the rename. Checked again there because time has
/// passed since the plan (backups, earlier files).
pub(super) enum Expect<'a> {
    Bytes(&'a [u8]),
    Absent,
    Any,
}

/// Mode and owner to give the written file.
pub(super) struct Ownership {
    pub(super) mode: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    /// False for new files: they keep the owner a file created by this process gets.
    pub(super) chown: bool,
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
            .mode(TEMP_FILE_MODE)
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

pub(super) fn sync_dir(dir: &Path) -> Result<(), ApplyError> {
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
pub(super) struct WriteFailure {
    pub(super) error: ApplyError,
    pub(super) renamed: bool,
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
pub(super) fn replace_atomically(
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
pub(super) fn remove_created(target: &Path) -> Result<(), ApplyError> {
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
pub(super) fn remove_created_dirs(dirs: &[PathBuf]) {
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

pub(super) fn create_missing_dirs(dirs: &[PathBuf]) -> Result<(), ApplyError> {
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

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

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
    fn a_leftover_temp_file_does_not_block_the_next_apply() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        fs::write(h.root.join("etc/.a.conf.apim-tune.tmp"), b"half").unwrap();
        apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"b\n");
        assert!(temp_files(&h.root).is_empty());
    }
}
