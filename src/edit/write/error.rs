//! The writer's one error type, and the helper that names the operation and path of an I/O
//! failure. Must not: decide anything; it only describes what went wrong.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "another apim-tune apply or rollback{} holds the lock `{}` on this root; wait for it to finish (the lock ends with that process)",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        lock.display()
    )]
    Locked { pid: Option<u32>, lock: PathBuf },
    #[error(
        "`{}` is a symbolic link; apim-tune does not follow links where it writes (pass the real path)",
        path.display()
    )]
    SymlinkInPath { path: PathBuf },
    #[error("the manifest `{}` is not valid: {reason}", path.display())]
    InvalidManifest { path: PathBuf, reason: String },
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
    #[error("{}", restore_incomplete(dir, failed, kept))]
    RestoreIncomplete {
        dir: PathBuf,
        /// Files whose restore failed (an I/O error): they may hold this apply's bytes.
        failed: Vec<PathBuf>,
        /// Files another writer changed after this apply wrote them: left as that writer left
        /// them, since putting the original back would lose their change.
        kept: Vec<PathBuf>,
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

/// The message of `RestoreIncomplete`: which files were not put back, and why.
fn restore_incomplete(dir: &Path, failed: &[PathBuf], kept: &[PathBuf]) -> String {
    let list = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !failed.is_empty() {
        parts.push(format!(
            "{} file(s) could not be restored ({})",
            failed.len(),
            list(failed)
        ));
    }
    if !kept.is_empty() {
        parts.push(format!(
            "{} file(s) were changed by another writer after this apply wrote them and were kept as that writer left them, not restored ({})",
            kept.len(),
            list(kept)
        ));
    }
    format!(
        "the apply failed midway and {}; their originals are in `{}`",
        parts.join("; "),
        dir.display()
    )
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
pub(super) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> ApplyError + 'a {
    move |source| ApplyError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
