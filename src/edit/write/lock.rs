//! The lock that lets one apply or rollback run at a time on a root: an exclusive `flock` on
//! `<root>/var/lib/apim-tune/lock`.
//!
//! Why there: the lock belongs to the root being changed, not to the backups, so two applies
//! with different `--backup-dir` still exclude each other; `var/lib/<program>` is where a
//! program's state lives on a Linux host. Why `flock`: the kernel releases it when the process
//! ends, however it ends, so there is no stale lock to take over and no pid to misjudge. The
//! file itself is never removed (removing a flocked file lets a third run lock a new inode while
//! a second still waits on the old one); its content, the holder's pid, is only for the message.
//! It is owner-only (0600): a file others can open is a file others can `flock`, and so block
//! every apply. The path to it is opened without following symlinks (see `fsat`).
//!
//! Must not: wait (a second run is told at once), or tell anyone to remove the lock.

use super::ApplyError;
use super::error::io_err;
use super::fsat::Dir;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Directory of the lock, relative to the root.
pub(super) const LOCK_DIR: &str = "var/lib/apim-tune";
/// The lock file's name inside [`LOCK_DIR`].
pub(super) const LOCK_FILE: &str = "lock";
const LOCK_DIR_MODE: u32 = 0o700;
const LOCK_FILE_MODE: u32 = 0o600;

/// Holds the lock until dropped; the kernel drops it too if the process dies.
pub(super) struct LockGuard {
    _lock: Flock<File>,
}

/// Where the lock of `root` is.
pub(super) fn lock_path(root: &Path) -> PathBuf {
    root.join(LOCK_DIR).join(LOCK_FILE)
}

pub(super) fn take_lock(root: &Path) -> Result<LockGuard, ApplyError> {
    let path = lock_path(root);
    let dir = Dir::open_or_create(&root.join(LOCK_DIR), LOCK_DIR_MODE)?;
    let file = dir
        .open_rw(OsStr::new(LOCK_FILE), LOCK_FILE_MODE)
        .map_err(io_err("open the lock", &path))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut lock) => {
            // For the message another run shows; a failure here does not weaken the lock.
            let _ = lock
                .set_len(0)
                .and_then(|()| lock.rewind())
                .and_then(|()| writeln!(lock, "{}", std::process::id()));
            Ok(LockGuard { _lock: lock })
        }
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            let pid = file
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse::<u32>().ok());
            Err(ApplyError::Locked { pid, lock: path })
        }
        Err((_, e)) => Err(io_err("lock", &path)(std::io::Error::from_raw_os_error(
            e as i32,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn a_held_lock_stops_apply_and_rollback_and_is_not_removed() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        let held = take_lock(&h.root).unwrap();
        let err = apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap_err();
        let me = std::process::id();
        assert!(
            matches!(err, ApplyError::Locked { pid: Some(pid), .. } if pid == me),
            "{err:?}"
        );
        assert!(!err.to_string().contains("remove"), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
        let err = rb(&h, None, false, "t").unwrap_err();
        assert!(matches!(err, ApplyError::Locked { .. }), "{err:?}");
        // Another backup directory is the same root: still excluded.
        let mut other = h.opts.clone();
        other.backup_dir = h.root.join("srv/other-backups");
        let err = apply(&[change(&a, Some(b"a\n"), b"b\n")], &other).unwrap_err();
        assert!(matches!(err, ApplyError::Locked { .. }), "{err:?}");
        drop(held);
        apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"b\n");
        assert_eq!(mode_of(&lock_path(&h.root)), 0o600);
    }

    #[test]
    fn a_lock_file_left_by_a_dead_run_does_not_block() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        put(&lock_path(&h.root), b"999999999\n", 0o600);
        apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"b\n");
    }

    #[test]
    fn a_symlinked_lock_directory_is_refused() {
        let h = host();
        fs::create_dir_all(h.root.join("var")).unwrap();
        symlink(&h.outside, h.root.join("var/lib")).unwrap();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        let err = apply(&[change(&a, Some(b"a\n"), b"b\n")], &h.opts).unwrap_err();
        assert!(matches!(err, ApplyError::SymlinkInPath { .. }), "{err:?}");
        assert!(walk(&h.outside).is_empty());
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
    }
}
