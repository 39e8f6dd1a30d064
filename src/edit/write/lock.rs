//! The lock that lets one apply or rollback run at a time: `<backup_dir>/.lock`, created with
//! `O_EXCL` and holding the pid of the run that owns it; a lock whose process is gone is taken
//! over. Must not: remove a lock a live process holds, or one whose pid it cannot read.

use super::ApplyError;
use super::error::io_err;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Lock file inside the backup directory; holds the pid of the run that owns it.
pub(super) const LOCK_FILE: &str = ".lock";

/// Holds `<backup_dir>/.lock` for one apply or rollback and removes it when dropped, so every
/// exit path (including `?` and panics) releases it.
pub(super) struct LockGuard {
    path: PathBuf,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Nothing to report to on drop; a lock left behind is taken over as stale next time.
        let _ = fs::remove_file(&self.path);
    }
}

pub(super) fn take_lock(backup_dir: &Path) -> Result<LockGuard, ApplyError> {
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

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

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
}
