//! The transactional writer behind `--apply`, `rollback` and `backups`: the public types and
//! the map of its parts.
//!
//! The parts, in the order an apply uses them: `lock` (one run at a time per root: `flock` on
//! `<root>/var/lib/apim-tune/lock`), `confine` (where a target really lands, and that it is
//! allowed), `fsat` (directories opened from `/` without following symlinks; every create,
//! rename and remove is relative to one), `store` (the per-apply backup folder
//! `<backup_dir>/<id>/manifest.json` and `files/<n>-<name>`, listing it), `atomic` (temp file
//! `.<name>.apim-tune-tmp.<pid>` in the same directory, fsync, mode and owner, `renameat2`
//! exchange checked against the plan, directory fsync; sweeping leftover temp files), `apply`
//! (the transaction, and undoing a failed one) and `rollback` (putting a finished one back byte
//! for byte).
//!
//! It must not: print (the CLI reports), write anything before every target has been checked,
//! write outside the allowed directories and the backup directory, follow a symlink where it
//! writes (a link on the way to the backup directory, the lock, or a target's directory is
//! refused; a target that is itself a link is resolved first, by `confine`, and must resolve
//! inside the allowed directories), lose a concurrent writer's replacement of a target (the
//! exchange is checked and undone; undoing a failed apply takes back only files that still hold
//! what it wrote, and names the others, kept as their writer left them), trust a manifest (data from disk: every path is validated
//! before use), leave a half-written target or a temp file behind (a killed run's are removed
//! by the next apply and by `rollback`), or delete anything from a backup folder (a failed
//! apply's folder is kept as evidence, marked `rolled-back` once every file it wrote is
//! restored, so `rollback` does not pick it). New files are 0644, or 0600 when they hold a
//! secret (`FileChange::secret`).
//!
//! Known limits: the rename gives the target a new inode, so hard links to it keep the old
//! content, and ACLs or extended attributes of the original are not carried over (mode, owner
//! and group are); a writer that still writes through a descriptor opened on the old file
//! before the exchange writes into the replaced file (see `atomic`). Absolute symlink targets
//! are taken as real host paths, not relative to `--root`; one that leaves the allowed
//! directories is refused.

mod apply;
mod atomic;
mod confine;
mod error;
mod fsat;
mod lock;
mod rollback;
mod store;
#[cfg(test)]
mod testkit;

#[cfg(test)]
mod tests {
    #[test]
    fn holds_secret_sees_known_values_and_secret_assignments_only() {
        use super::holds_secret;
        assert!(holds_secret("x = hunter22\n", &["hunter22".to_string()]));
        assert!(holds_secret(
            "[Service]\nEnvironment=\"JAVA_OPTS=-Dtrust.password=x\"\n",
            &[]
        ));
        assert!(holds_secret("DB_PASSWORD=x\n", &[]));
        assert!(!holds_secret(
            "[Service]\nEnvironment=\"JVM_MEM_OPTS=-Xms2g -Xmx2g\"\n",
            &[]
        ));
        assert!(!holds_secret(
            "net.core.somaxconn = 4096\n",
            &[String::new()]
        ));
    }
}

pub use apply::apply;
pub use error::ApplyError;
pub use rollback::rollback;
pub use store::{list_backups, sha256_hex};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Whether the new text of a file holds a secret, by the signs the diff masks: a secret value
/// the plan knows for this file (`known`), or a word that assigns a secret-named key
/// (`DB_PASSWORD=…`, `-Dx.password=…`, `Environment="JAVA_OPTS=-Dx.secret=…"`). Decides
/// [`FileChange::secret`].
pub fn holds_secret(after: &str, known: &[String]) -> bool {
    known
        .iter()
        .any(|s| !s.is_empty() && after.contains(s.as_str()))
        || after.split_whitespace().any(|word| {
            crate::redact::secret_in_word(word.trim_matches(['"', '\'']))
                .is_some_and(|value| !value.is_empty())
        })
}

/// One file to write. `path` is where the change must land as the audit named it (may be a symlink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    pub display: String,
    /// The bytes the audit read; `None`: the file must not exist yet (a new drop-in).
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
    /// The new bytes hold a secret: a file the apply creates is then owner-only (0600).
    pub secret: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyOptions {
    /// The `--root` (absolute, no symlink in it): the lock lives under it.
    pub root: PathBuf,
    /// e.g. `<root>/var/backups/apim-tune`; created (mode 0700) when missing. A relative one
    /// is taken from the current directory, `.` and `..` resolved lexically (see `store`).
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
    /// Temp files of a killed earlier run that this one removed.
    pub removed_temp_files: Vec<PathBuf>,
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
    /// Temp files of a killed apply that this rollback removed.
    pub removed_temp_files: Vec<PathBuf>,
}
