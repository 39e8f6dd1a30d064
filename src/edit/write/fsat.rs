//! Directories opened without following symlinks, and every write done relative to them.
//!
//! A path is opened by walking it from `/` one component at a time with
//! `openat(O_DIRECTORY | O_NOFOLLOW)`, so a component that is (or has become) a symlink fails
//! the walk instead of taking the write elsewhere. Every file the writer creates, renames or
//! removes is then named relative to that directory descriptor (`openat`, `renameat2`,
//! `unlinkat`, `mkdirat`): swapping a directory for a link after the walk no longer redirects
//! anything, because the descriptor keeps pointing at the directory that was checked.
//!
//! Must not: follow a symlink in any component, or accept a name that is not one plain
//! component.

use super::ApplyError;
use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The most [`Dir::read`] reads: far above any config file or manifest (the readers stop at
/// 16 MiB), so a planted giant cannot exhaust memory.
const MAX_READ: u64 = 64 * 1024 * 1024;

/// Flags every directory is opened with.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// An open directory, and the path it was opened as (for messages and for joining names).
pub(super) struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

/// How `renameat2` may replace the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rename {
    /// Replace whatever is there (plain `rename`).
    Replace,
    /// Fail with EEXIST if the destination exists.
    NoReplace,
    /// Swap the two names atomically; both must exist.
    Exchange,
}

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// The plain components of an absolute path; `None` when it has `.`/`..` or is relative.
fn normal_components(path: &Path) -> Option<Vec<&OsStr>> {
    let mut parts = Vec::new();
    for (i, c) in path.components().enumerate() {
        match c {
            Component::RootDir if i == 0 => {}
            Component::Normal(name) => parts.push(name),
            _ => return None,
        }
    }
    (path.is_absolute()).then_some(parts)
}

/// Whether `path` is absolute and made of plain components only (no `.`, `..`).
pub(super) fn is_plain_absolute(path: &Path) -> bool {
    normal_components(path).is_some()
}

/// The error for a component that could not be opened as a directory without following links.
fn walk_error(dir: &Dir, name: &OsStr, e: Errno, op: &'static str) -> ApplyError {
    let at = dir.path.join(name);
    if matches!(e, Errno::ELOOP | Errno::ENOTDIR)
        && fstatat(&dir.fd, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
    {
        return ApplyError::SymlinkInPath { path: at };
    }
    ApplyError::Io {
        op,
        path: at,
        source: errno_io(e),
    }
}

impl Dir {
    fn root() -> Result<Dir, ApplyError> {
        let fd = openat(nix::fcntl::AT_FDCWD, "/", dir_flags(), Mode::empty()).map_err(|e| {
            ApplyError::Io {
                op: "open",
                path: PathBuf::from("/"),
                source: errno_io(e),
            }
        })?;
        Ok(Dir {
            fd,
            path: PathBuf::from("/"),
        })
    }

    /// Opens the absolute `path`, refusing a symlink in any component.
    pub(super) fn open(path: &Path) -> Result<Dir, ApplyError> {
        let parts = normal_components(path).ok_or_else(|| ApplyError::InvalidPath {
            path: path.to_path_buf(),
            reason: "it is not an absolute path of plain components",
        })?;
        let mut dir = Dir::root()?;
        for name in parts {
            dir = dir.sub(name)?;
        }
        Ok(dir)
    }

    /// Opens the absolute `path` like [`Dir::open`], creating missing components: the last
    /// with `last_mode`, the ones above it with 0755.
    pub(super) fn open_or_create(path: &Path, last_mode: u32) -> Result<Dir, ApplyError> {
        let parts = normal_components(path).ok_or_else(|| ApplyError::InvalidPath {
            path: path.to_path_buf(),
            reason: "it is not an absolute path of plain components",
        })?;
        let count = parts.len();
        let mut dir = Dir::root()?;
        for (i, name) in parts.into_iter().enumerate() {
            let mode = if i + 1 == count { last_mode } else { 0o755 };
            match dir.mkdir(name, mode) {
                Ok(()) => dir.sync().ok(),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => None,
                Err(e) => {
                    return Err(ApplyError::Io {
                        op: "create the directory",
                        path: dir.path.join(name),
                        source: e,
                    });
                }
            };
            dir = dir.sub(name)?;
        }
        Ok(dir)
    }

    /// Opens the directory `name` inside this one, not following a link.
    pub(super) fn sub(&self, name: &OsStr) -> Result<Dir, ApplyError> {
        check_name(name, &self.path)?;
        match openat(&self.fd, name, dir_flags(), Mode::empty()) {
            Ok(fd) => Ok(Dir {
                fd,
                path: self.path.join(name),
            }),
            Err(e) => Err(walk_error(self, name, e, "open the directory")),
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    pub(super) fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        check_name_io(name)?;
        mkdirat(&self.fd, name, Mode::from_bits_truncate(mode)).map_err(errno_io)?;
        Ok(())
    }

    /// Creates a new file (never an existing one, never through a link) with `mode`.
    pub(super) fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        check_name_io(name)?;
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::from_bits_truncate(mode)).map_err(errno_io)?;
        Ok(File::from(fd))
    }

    /// Opens (creating when missing, mode `mode`) a regular file for reading and writing,
    /// never through a link.
    pub(super) fn open_rw(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        check_name_io(name)?;
        let flags = OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::from_bits_truncate(mode)).map_err(errno_io)?;
        let file = File::from(fd);
        regular(&file)?;
        Ok(file)
    }

    /// The bytes of the regular file `name`; `Ok(None)` when there is nothing there. A link,
    /// directory or device is an error (ELOOP / "not a regular file"), never read.
    pub(super) fn read(&self, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
        check_name_io(name)?;
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(errno_io(e)),
        };
        let file = File::from(fd);
        regular(&file)?;
        let mut out = Vec::new();
        file.take(MAX_READ + 1).read_to_end(&mut out)?;
        if out.len() as u64 > MAX_READ {
            return Err(io::Error::other("larger than 64 MiB"));
        }
        Ok(Some(out))
    }

    /// What is at `name`, links not followed; `None` when nothing is.
    pub(super) fn stat(&self, name: &OsStr) -> io::Result<Option<FileStat>> {
        check_name_io(name)?;
        match fstatat(&self.fd, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(errno_io(e)),
        }
    }

    pub(super) fn unlink(&self, name: &OsStr) -> io::Result<()> {
        check_name_io(name)?;
        unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir).map_err(errno_io)
    }

    pub(super) fn rmdir(&self, name: &OsStr) -> io::Result<()> {
        check_name_io(name)?;
        unlinkat(&self.fd, name, UnlinkatFlags::RemoveDir).map_err(errno_io)
    }

    /// `renameat2(from, to)` inside this directory. Called through `syscall` rather than the
    /// libc wrapper so it also builds against C libraries that lack one.
    pub(super) fn rename(&self, from: &OsStr, to: &OsStr, how: Rename) -> io::Result<()> {
        check_name_io(from)?;
        check_name_io(to)?;
        let flags: nix::libc::c_uint = match how {
            Rename::Replace => 0,
            Rename::NoReplace => nix::libc::RENAME_NOREPLACE,
            Rename::Exchange => nix::libc::RENAME_EXCHANGE,
        };
        let from = std::ffi::CString::new(from.as_bytes()).map_err(io::Error::other)?;
        let to = std::ffi::CString::new(to.as_bytes()).map_err(io::Error::other)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: both names are NUL-terminated and live across the call; the fd is open.
        let res = unsafe {
            nix::libc::syscall(
                nix::libc::SYS_renameat2,
                fd,
                from.as_ptr(),
                fd,
                to.as_ptr(),
                flags,
            )
        };
        if res == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub(super) fn sync(&self) -> io::Result<()> {
        nix::unistd::fsync(&self.fd).map_err(errno_io)
    }

    /// The names in this directory (without `.` and `..`).
    pub(super) fn names(&self) -> io::Result<Vec<OsString>> {
        let fd = self.fd.as_fd().try_clone_to_owned()?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(errno_io)?;
        let mut out = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(errno_io)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                out.push(name.to_os_string());
            }
        }
        Ok(out)
    }
}

/// Fails unless `file` is a regular file.
fn regular(file: &File) -> io::Result<()> {
    let st = fstat(file).map_err(errno_io)?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG {
        Ok(())
    } else {
        Err(io::Error::other("not a regular file"))
    }
}

pub(super) fn is_regular(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
}

pub(super) fn is_dir(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}

fn plain_name(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty() && bytes != b"." && bytes != b".." && !bytes.contains(&b'/')
}

fn check_name(name: &OsStr, at: &Path) -> Result<(), ApplyError> {
    if plain_name(name) {
        Ok(())
    } else {
        Err(ApplyError::InvalidPath {
            path: at.join(name),
            reason: "it is not one plain file name",
        })
    }
}

fn check_name_io(name: &OsStr) -> io::Result<()> {
    if plain_name(name) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not one plain file name",
        ))
    }
}

/// The directory and file name of an absolute path of plain components.
pub(super) fn split(path: &Path) -> Result<(&Path, &OsStr), ApplyError> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) if is_plain_absolute(path) => Ok((dir, name)),
        _ => Err(ApplyError::InvalidPath {
            path: path.to_path_buf(),
            reason: "it is not an absolute path of plain components",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn read_takes_regular_files_only_and_caps_their_size() {
        let h = host();
        let dir = Dir::open(&h.root.join("etc")).unwrap();
        nix::unistd::mkfifo(&h.root.join("etc/fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        // O_NONBLOCK: a FIFO nobody writes to is refused at once, not waited on.
        assert!(dir.read(OsStr::new("fifo")).is_err());
        let big = File::create(h.root.join("etc/big")).unwrap();
        big.set_len(MAX_READ + 1).unwrap();
        assert!(dir.read(OsStr::new("big")).is_err());
        symlink("big", h.root.join("etc/link")).unwrap();
        assert_eq!(
            dir.read(OsStr::new("link")).unwrap_err().raw_os_error(),
            Some(nix::libc::ELOOP)
        );
        assert_eq!(dir.read(OsStr::new("missing")).unwrap(), None);
        assert!(dir.read(OsStr::new("..")).is_err());
        put(&h.root.join("etc/ok"), b"ok\n", 0o644);
        assert_eq!(dir.read(OsStr::new("ok")).unwrap().unwrap(), b"ok\n");
    }
}
