//! Confinement: where a change really lands (symlinks followed as the kernel would, up to its
//! own limit), and whether that place is inside the allowed directories.
//!
//! Must not: write, or accept a target that is not a regular file, whose directory cannot be
//! resolved, or that resolves outside the allowed directories.

use super::ApplyError;
use super::error::io_err;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Links followed before giving up; the kernel's own limit for path resolution is 40.
const MAX_LINKS: usize = 40;

/// Where a change really lands.
pub(super) struct Resolved {
    /// Canonical directory + file name; the name itself is not a symlink.
    pub(super) real: PathBuf,
    /// Directories missing on the way to `real`, outermost first (only when the file is new).
    pub(super) missing_dirs: Vec<PathBuf>,
    /// The regular file there now, if any.
    pub(super) meta: Option<fs::Metadata>,
}

/// Follows `path` to its real location: the parent directory is canonicalized and the file,
/// while it is a symlink, is replaced by the link's target, as the kernel would.
pub(super) fn resolve(path: &Path) -> Result<Resolved, ApplyError> {
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
        assert!(!lock_path(&h).exists());
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
}
