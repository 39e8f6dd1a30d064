//! Replacing one file atomically: a temp file in the same directory, written, given its mode
//! and owner, synced, then swapped in with `renameat2`, and the directory synced; also creating
//! and removing what an apply adds (a new file, its directories).
//!
//! No lost update: an existing target is swapped with `RENAME_EXCHANGE`, so the file that comes
//! out is exactly the one that was replaced. It is compared with what the plan was based on; if
//! a writer replaced the target in the meantime, the two are swapped back and the change is
//! refused, so the other writer's file stays. A new file goes in with `RENAME_NOREPLACE`, so a
//! file someone created meanwhile is never overwritten. What this cannot see: a process that
//! still writes through a descriptor it opened on the old file before the swap (no rename-based
//! tool can); its bytes land in the old file, which is removed. On a file system without
//! `RENAME_EXCHANGE` or `RENAME_NOREPLACE` (EINVAL, or ENOSYS on kernels before 3.15), the
//! target is compared just before a plain rename instead, as before issue 15.
//!
//! Temp files are named `.<name>.apim-tune-tmp.<pid>` and created 0600 (they hold the whole new
//! file, secrets included); [`sweep_temp_files`] removes the ones a killed run left.
//!
//! Must not: follow a symlink (every step is relative to a directory opened without following
//! links, see `fsat`), leave a temp file behind, or let a reader or a crash see a half-written
//! target.

use super::ApplyError;
use super::error::io_err;
use super::fsat::{Dir, Rename, is_regular, split};
use std::ffi::{OsStr, OsString};
use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The temp file's mode until its final one is set: the bytes may be secrets.
const TEMP_FILE_MODE: u32 = 0o600;
/// The mark in a temp file's name, between the target's name and the pid.
const TEMP_MARK: &str = ".apim-tune-tmp.";
/// The temp name used before issue 15 (no pid); still swept.
const OLD_TEMP_SUFFIX: &str = ".apim-tune.tmp";

/// What the target must hold just before it is replaced. Checked again there because time has
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
struct TempFile<'a> {
    dir: &'a Dir,
    name: OsString,
    armed: bool,
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if self.armed {
            // Best effort on an error path that already carries the real cause.
            let _ = self.dir.unlink(&self.name);
        }
    }
}

/// `.<name>.apim-tune-tmp.<pid>`: hidden, recognisable by [`is_temp_name`], and unique per run.
pub(super) fn temp_name(name: &OsStr) -> OsString {
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(TEMP_MARK);
    temp.push(std::process::id().to_string());
    temp
}

/// Whether `name` is one of our temp files (this version's or the old spelling).
pub(super) fn is_temp_name(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    if !bytes.starts_with(b".") {
        return false;
    }
    if bytes.len() > 1 + OLD_TEMP_SUFFIX.len() && bytes.ends_with(OLD_TEMP_SUFFIX.as_bytes()) {
        return true;
    }
    let mark = TEMP_MARK.as_bytes();
    match bytes.windows(mark.len()).rposition(|w| w == mark) {
        Some(at) if at > 1 => {
            let pid = &bytes[at + mark.len()..];
            !pid.is_empty() && pid.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Removes our temp files (regular files only; a link is unlinked, never followed) from `dir`,
/// and returns their paths. Only called with the lock held, so none belongs to a live run on
/// this root. A directory that cannot be opened safely is left alone: the write that needs it
/// will report why.
pub(super) fn sweep_temp_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(d) = Dir::open(dir) else {
        return Vec::new();
    };
    let Ok(names) = d.names() else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for name in names.iter().filter(|n| is_temp_name(n)) {
        let regular = matches!(d.stat(name), Ok(Some(st)) if is_regular(&st));
        if regular && d.unlink(name).is_ok() {
            removed.push(d.join(name));
        }
    }
    if !removed.is_empty() {
        let _ = d.sync();
    }
    removed
}

/// Opens the temp file in `dir` with O_EXCL and O_NOFOLLOW; owner-only until its final mode is
/// set, since the bytes may be secrets. A leftover of ours with the same name (a killed run
/// that had our pid) is unlinked first; unlink never follows a symlink.
fn create_temp<'a>(dir: &'a Dir, name: &OsStr) -> Result<(TempFile<'a>, File), ApplyError> {
    let temp = temp_name(name);
    let path = dir.join(&temp);
    let file = match dir.create_new(&temp, TEMP_FILE_MODE) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let is_dir = matches!(dir.stat(&temp), Ok(Some(st)) if super::fsat::is_dir(&st));
            if is_dir {
                return Err(io_err("create the temp file", &path)(e));
            }
            dir.unlink(&temp)
                .map_err(io_err("remove the leftover temp file", &path))?;
            dir.create_new(&temp, TEMP_FILE_MODE)
                .map_err(io_err("create the temp file", &path))?
        }
        Err(e) => return Err(io_err("create the temp file", &path)(e)),
    };
    Ok((
        TempFile {
            dir,
            name: temp,
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

/// Does the entry `name` in `dir` hold what `expect` says? Read failures count as "no".
fn matches_expect(dir: &Dir, name: &OsStr, expect: &Expect<'_>) -> bool {
    match expect {
        Expect::Any => true,
        Expect::Absent => matches!(dir.stat(name), Ok(None)),
        Expect::Bytes(bytes) => matches!(dir.read(name), Ok(Some(now)) if now == *bytes),
    }
}

/// Test hooks run after the temp file is written and synced, before the rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterTempWrite {
    /// Fail as if the rename had failed.
    Fail,
    /// Stop the process (SIGSTOP), as a run frozen or about to be killed there would be.
    Stop,
    /// Stop, then (once continued) fail: a test changes files while the run is stopped, as a
    /// concurrent writer would, and sees what the undo of the failed apply does with them.
    StopThenFail,
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
/// new one, never a mix, and a concurrent writer's file is never lost (see the module docs).
pub(super) fn replace_atomically(
    target: &Path,
    bytes: &[u8],
    owner: &Ownership,
    expect: Expect<'_>,
    hook: Option<AfterTempWrite>,
) -> Result<(), WriteFailure> {
    let (dir_path, name) = split(target)?;
    let dir = Dir::open(dir_path)?;
    let (mut temp, mut file) = create_temp(&dir, name)?;
    let temp_path = dir.join(&temp.name);
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
    if matches!(
        hook,
        Some(AfterTempWrite::Stop | AfterTempWrite::StopThenFail)
    ) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
    if matches!(
        hook,
        Some(AfterTempWrite::Fail | AfterTempWrite::StopThenFail)
    ) {
        return Err(
            io_err("rename the temp file over", target)(io::Error::other(
                "failpoint after-temp-write",
            ))
            .into(),
        );
    }
    let changed = || ApplyError::ChangedSinceRead {
        path: target.to_path_buf(),
    };
    match expect {
        Expect::Absent => match dir.rename(&temp.name, name, Rename::NoReplace) {
            Ok(()) => temp.armed = false,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(changed().into()),
            Err(e) if unsupported(&e) => {
                // No RENAME_NOREPLACE here: the narrower check-then-rename.
                if !matches_expect(&dir, name, &Expect::Absent) {
                    return Err(changed().into());
                }
                dir.rename(&temp.name, name, Rename::Replace)
                    .map_err(io_err("rename the temp file over", target))?;
                temp.armed = false;
            }
            Err(e) => return Err(io_err("rename the temp file over", target)(e).into()),
        },
        Expect::Bytes(before) => {
            exchange_checked(&dir, &mut temp, name, target, before)?;
        }
        Expect::Any => {
            dir.rename(&temp.name, name, Rename::Replace)
                .map_err(io_err("rename the temp file over", target))?;
            temp.armed = false;
        }
    }
    dir.sync()
        .map_err(io_err("sync the directory", dir.path()))
        .map_err(|error| WriteFailure {
            error,
            renamed: true,
        })
}

/// `renameat2` flags this file system (EINVAL) or kernel (ENOSYS, before Linux 3.15) lacks.
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EINVAL | nix::libc::ENOSYS)
    )
}

/// Swaps the temp file with the target, checks that what came out is `before`, and swaps back
/// (refusing) if not. On success the old file, now under the temp name, is removed.
fn exchange_checked(
    dir: &Dir,
    temp: &mut TempFile<'_>,
    name: &OsStr,
    target: &Path,
    before: &[u8],
) -> Result<(), ApplyError> {
    let changed = || ApplyError::ChangedSinceRead {
        path: target.to_path_buf(),
    };
    match dir.rename(&temp.name, name, Rename::Exchange) {
        Ok(()) => {}
        // Nothing there to exchange with: not the file the plan was based on.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(changed()),
        Err(e) if unsupported(&e) => {
            // No RENAME_EXCHANGE on this file system or kernel: the narrower check-then-rename.
            if !matches_expect(dir, name, &Expect::Bytes(before)) {
                return Err(changed());
            }
            dir.rename(&temp.name, name, Rename::Replace)
                .map_err(io_err("rename the temp file over", target))?;
            temp.armed = false;
            return Ok(());
        }
        Err(e) => return Err(io_err("exchange the temp file with", target)(e)),
    }
    // The temp name now holds the file that was the target a moment ago (maybe a link or a
    // directory someone put there: `read` does not follow or read those).
    if matches_expect(dir, &temp.name, &Expect::Bytes(before)) {
        // The old file is in the backup; the temp name is ours to remove.
        let _ = dir.unlink(&temp.name);
        temp.armed = false;
        return Ok(());
    }
    // Someone replaced the target since it was read: put their file back, drop ours.
    match dir.rename(&temp.name, name, Rename::Exchange) {
        Ok(()) => Err(changed()),
        Err(e) => {
            // Their file is under the temp name: keep it (disarm) and say where it is.
            temp.armed = false;
            Err(io_err(
                "swap back the file another writer had put at",
                target,
            )(io::Error::other(format!(
                "{e}; their version is at `{}`",
                dir.join(&temp.name).display()
            ))))
        }
    }
}

/// Removes a file the apply created (never through a link), and its directory entry durably.
/// With `Expect::Bytes`, only when it still holds those bytes: it is first moved aside (so no
/// writer can slip in between the check and the unlink), checked there, and put back with
/// `RENAME_NOREPLACE` if another writer changed it (`ChangedSinceRead`).
pub(super) fn remove_created(target: &Path, expect: Expect<'_>) -> Result<(), ApplyError> {
    let (dir_path, name) = split(target)?;
    let dir = Dir::open(dir_path)?;
    let Expect::Bytes(ours) = expect else {
        match dir.unlink(name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("remove", target)(e)),
        }
        return dir.sync().map_err(io_err("sync the directory", dir.path()));
    };
    let aside = temp_name(name);
    match dir.rename(name, &aside, Rename::NoReplace) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("move aside", target)(e)),
    }
    if matches_expect(&dir, &aside, &Expect::Bytes(ours)) {
        dir.unlink(&aside).map_err(io_err("remove", target))?;
        return dir.sync().map_err(io_err("sync the directory", dir.path()));
    }
    // Another writer's file: back where it was, unless yet another one has appeared there.
    match dir.rename(&aside, name, Rename::NoReplace) {
        Ok(()) => Err(ApplyError::ChangedSinceRead {
            path: target.to_path_buf(),
        }),
        Err(e) => Err(io_err(
            "put back the file another writer had put at",
            target,
        )(io::Error::other(format!(
            "{e}; their version is at `{}`",
            dir.join(&aside).display()
        )))),
    }
}

/// Removes directories the apply created, innermost first, while they are empty. A directory
/// someone has put files into since is left alone; a link is never followed.
pub(super) fn remove_created_dirs(dirs: &[PathBuf]) {
    for path in dirs.iter().rev() {
        let Ok((parent, name)) = split(path) else {
            continue;
        };
        let Ok(dir) = Dir::open(parent) else {
            continue;
        };
        // Not empty, not a directory or already gone: its parents cannot be empty-and-ours.
        if dir.rmdir(name).is_ok() {
            let _ = dir.sync();
        }
    }
}

pub(super) fn create_missing_dirs(dirs: &[PathBuf]) -> Result<(), ApplyError> {
    for path in dirs {
        let (parent, name) = split(path)?;
        let dir = Dir::open(parent)?;
        match dir.mkdir(name, 0o755) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Someone made it meanwhile: fine if it is a real directory (opened, not followed).
                dir.sub(name)?;
            }
            Err(e) => return Err(io_err("create the directory", path)(e)),
        }
        dir.sync().map_err(io_err("sync the directory", parent))?;
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
        fs::write(h.root.join("etc/.a.conf.apim-tune-tmp.1"), b"half").unwrap();
        apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"b\n");
        assert!(temp_files(&h.root).is_empty());
    }

    #[test]
    fn a_file_replaced_after_the_check_is_swapped_back_not_lost() {
        // As if a writer renamed its version over the target after the plan's check: the
        // exchange brings out a file that is not the plan's `before`, so theirs goes back.
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"theirs\n", 0o640);
        let owner = Ownership {
            mode: 0o644,
            uid: 0,
            gid: 0,
            chown: false,
        };
        let err = replace_atomically(&a, b"ours\n", &owner, Expect::Bytes(b"old\n"), None)
            .err()
            .unwrap();
        assert!(
            matches!(err.error, ApplyError::ChangedSinceRead { .. }),
            "{:?}",
            err.error
        );
        assert_eq!(fs::read(&a).unwrap(), b"theirs\n");
        assert_eq!(mode_of(&a), 0o640);
        assert!(temp_files(&h.root).is_empty());

        // A link put in the target's place is swapped back too, never read through.
        fs::remove_file(&a).unwrap();
        put(&h.outside.join("x"), b"old\n", 0o644);
        symlink(h.outside.join("x"), &a).unwrap();
        let err = replace_atomically(&a, b"ours\n", &owner, Expect::Bytes(b"old\n"), None)
            .err()
            .unwrap();
        assert!(matches!(err.error, ApplyError::ChangedSinceRead { .. }));
        assert!(fs::symlink_metadata(&a).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(h.outside.join("x")).unwrap(), b"old\n");

        // A new file that appeared meanwhile is not overwritten (RENAME_NOREPLACE).
        let b = h.root.join("etc/b.conf");
        put(&b, b"theirs\n", 0o644);
        let err = replace_atomically(&b, b"ours\n", &owner, Expect::Absent, None)
            .err()
            .unwrap();
        assert!(matches!(err.error, ApplyError::ChangedSinceRead { .. }));
        assert_eq!(fs::read(&b).unwrap(), b"theirs\n");
        assert!(temp_files(&h.root).is_empty());
    }

    #[test]
    fn a_created_file_is_removed_only_while_it_holds_what_the_apply_wrote() {
        let h = host();
        let a = h.root.join("etc/new.conf");
        put(&a, b"theirs\n", 0o644);
        let err = remove_created(&a, Expect::Bytes(b"ours\n")).unwrap_err();
        assert!(
            matches!(err, ApplyError::ChangedSinceRead { .. }),
            "{err:?}"
        );
        assert_eq!(fs::read(&a).unwrap(), b"theirs\n");
        assert!(temp_files(&h.root).is_empty());
        remove_created(&a, Expect::Bytes(b"theirs\n")).unwrap();
        assert!(!a.exists());
        assert!(temp_files(&h.root).is_empty());
        // Already gone: nothing to do.
        remove_created(&a, Expect::Bytes(b"ours\n")).unwrap();
    }

    #[test]
    fn temp_names_are_recognised_and_nothing_else() {
        let name = temp_name(OsStr::new("deployment.toml"));
        assert!(
            name.to_string_lossy()
                .starts_with(".deployment.toml.apim-tune-tmp.")
        );
        assert!(is_temp_name(&name));
        assert!(is_temp_name(OsStr::new(".a.conf.apim-tune.tmp")));
        for other in [
            "a.conf",
            ".apim-tune-tmp.1",
            ".a.conf.apim-tune-tmp.",
            ".a.conf.apim-tune-tmp.12x",
            "a.conf.apim-tune-tmp.12",
            ".apim-tune.tmp",
        ] {
            assert!(!is_temp_name(OsStr::new(other)), "{other}");
        }
    }

    #[test]
    fn a_directory_in_the_path_replaced_by_a_link_is_refused() {
        let h = host();
        let a = h.root.join("etc/app/a.conf");
        put(&a, b"a\n", 0o644);
        put(&h.outside.join("a.conf"), b"a\n", 0o644);
        fs::rename(h.root.join("etc/app"), h.root.join("etc/app.real")).unwrap();
        symlink(&h.outside, h.root.join("etc/app")).unwrap();
        let owner = Ownership {
            mode: 0o644,
            uid: 0,
            gid: 0,
            chown: false,
        };
        let err = replace_atomically(&a, b"b\n", &owner, Expect::Bytes(b"a\n"), None)
            .err()
            .unwrap();
        assert!(
            matches!(err.error, ApplyError::SymlinkInPath { ref path } if *path == h.root.join("etc/app")),
            "{:?}",
            err.error
        );
        assert_eq!(walk(&h.outside), vec![h.outside.join("a.conf")]);
        assert_eq!(fs::read(h.outside.join("a.conf")).unwrap(), b"a\n");
    }
}
