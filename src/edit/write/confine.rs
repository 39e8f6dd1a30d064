//! Confinement: where a change really lands, and whether that place is inside the allowed
//! directories.
//!
//! Links are followed by the one resolver the readers use too, `source::resolve_in_root`, so
//! the writer lands where the audit read. It is anchored at the host's `/` because the writer is
//! not told which allowed directory is `--root`: absolute link targets are real host paths here,
//! and one that leaves the allowed directories is refused. On top of the resolver the writer
//! checks what a reader need not: the target is a regular file or absent, its nearest existing
//! directory really is one, and it is inside the allowed directories.
//!
//! Must not: write, or accept a target that is not a regular file, whose directory cannot be
//! resolved, or that resolves outside the allowed directories.

use super::ApplyError;
use super::error::io_err;
use crate::source::{TOO_MANY_LINKS, resolve_in_root};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where links are resolved from (see the module docs).
const HOST_ROOT: &str = "/";

/// Where a change really lands.
pub(super) struct Resolved {
    /// The path with every link resolved; nothing in it is a symlink.
    pub(super) real: PathBuf,
    /// Directories missing on the way to `real`, outermost first (only when the file is new).
    pub(super) missing_dirs: Vec<PathBuf>,
    /// The regular file there now, if any.
    pub(super) meta: Option<fs::Metadata>,
}

/// `path` with its links resolved as the readers resolve them. A relative path is taken from
/// the current directory, as the kernel would.
pub(super) fn real_path(path: &Path) -> Result<PathBuf, ApplyError> {
    let absolute = std::path::absolute(path).map_err(io_err("resolve", path))?;
    resolve_in_root(Path::new(HOST_ROOT), &absolute).map_err(|e| {
        if e.kind() == io::ErrorKind::Other && e.to_string() == TOO_MANY_LINKS {
            ApplyError::InvalidPath {
                path: path.to_path_buf(),
                reason: "too many levels of symbolic links",
            }
        } else {
            io_err("resolve", path)(e)
        }
    })
}

/// Follows `path` to its real location and looks at what is there.
pub(super) fn resolve(path: &Path) -> Result<Resolved, ApplyError> {
    if path.file_name().is_none() {
        return Err(ApplyError::InvalidPath {
            path: path.to_path_buf(),
            reason: "it names no file",
        });
    }
    let real = real_path(path)?;
    match fs::symlink_metadata(&real) {
        Ok(meta) if meta.is_file() => Ok(Resolved {
            real,
            missing_dirs: Vec::new(),
            meta: Some(meta),
        }),
        // A link here was put there after the resolver passed: not what was planned.
        Ok(_) => Err(ApplyError::NotRegularFile { path: real }),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory =>
        {
            let missing_dirs = missing_above(&real, path)?;
            Ok(Resolved {
                real,
                missing_dirs,
                meta: None,
            })
        }
        Err(e) => Err(io_err("inspect", &real)(e)),
    }
}

/// The directories missing above `real`, outermost first. The nearest one that exists must be
/// a directory. `origin` is only for error messages.
fn missing_above(real: &Path, origin: &Path) -> Result<Vec<PathBuf>, ApplyError> {
    let mut missing = Vec::new();
    let mut dir = real.parent();
    while let Some(d) = dir {
        match fs::symlink_metadata(d) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                return Err(ApplyError::InvalidPath {
                    path: origin.to_path_buf(),
                    reason: "its parent is not a directory",
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(d.to_path_buf());
                dir = d.parent();
            }
            Err(e) => return Err(io_err("resolve", d)(e)),
        }
    }
    missing.reverse();
    Ok(missing)
}

/// The allowed directories, canonicalized; ones that do not exist cannot contain anything.
pub(super) fn canonical_allowed(allowed: &[PathBuf]) -> Vec<PathBuf> {
    allowed
        .iter()
        .filter_map(|dir| dir.canonicalize().ok())
        .collect()
}

pub(super) fn inside_allowed(real: &Path, allowed: &[PathBuf]) -> bool {
    // Path::starts_with compares whole components, so `/opt/wso2x` is not inside `/opt/wso2`.
    allowed.iter().any(|dir| real.starts_with(dir))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

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
    fn the_writer_lands_where_the_reader_read() {
        let h = host();
        put(&h.root.join("opt/wso2/conf/sysctl.conf"), b"a\n", 0o644);
        fs::create_dir_all(h.root.join("etc/sysctl.d")).unwrap();
        symlink("../opt/wso2/conf", h.root.join("etc/conf")).unwrap();
        symlink(
            "../conf/sysctl.conf",
            h.root.join("etc/sysctl.d/99-sysctl.conf"),
        )
        .unwrap();
        let rel = Path::new("etc/sysctl.d/99-sysctl.conf");
        let read = crate::source::resolve_in_root(&h.root, rel).unwrap();
        assert_eq!(real_path(&h.root.join(rel)).unwrap(), read);
        assert_eq!(read, h.root.join("opt/wso2/conf/sysctl.conf"));
    }

    #[test]
    fn loops_files_as_directories_and_new_directories() {
        let h = host();
        let a = h.root.join("etc/loop-a");
        symlink("loop-b", &a).unwrap();
        symlink("loop-a", h.root.join("etc/loop-b")).unwrap();
        assert!(matches!(
            resolve(&a),
            Err(ApplyError::InvalidPath { reason, .. }) if reason == "too many levels of symbolic links"
        ));
        put(&h.root.join("etc/file"), b"x\n", 0o644);
        assert!(matches!(
            resolve(&h.root.join("etc/file/x.conf")),
            Err(ApplyError::InvalidPath { reason, .. }) if reason == "its parent is not a directory"
        ));
        // A new file below a linked directory: the missing directories are the real ones.
        fs::create_dir_all(h.root.join("usr/lib")).unwrap();
        symlink("../usr/lib", h.root.join("etc/lib")).unwrap();
        let r = resolve(&h.root.join("etc/lib/sysctl.d/99.conf")).unwrap();
        assert_eq!(r.real, h.root.join("usr/lib/sysctl.d/99.conf"));
        assert_eq!(r.missing_dirs, [h.root.join("usr/lib/sysctl.d")]);
        assert!(r.meta.is_none());
    }
}
