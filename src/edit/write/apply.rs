//! One apply as a transaction: every target checked before anything is written, the backup
//! made durable, then each file replaced; on a failure midway, every file written so far is put
//! back (newest first) and the error says whether that worked.
//!
//! Must not: write before every target is planned, write the same real file twice, or delete
//! the failed apply's backup folder (it is kept as evidence and marked rolled back).

use super::atomic::{
    AfterTempWrite, Expect, Ownership, WriteFailure, create_missing_dirs, remove_created,
    remove_created_dirs, replace_atomically, sweep_temp_files,
};
use super::confine::{canonical_allowed, inside_allowed, resolve};
use super::error::io_err;
use super::fsat::Dir;
use super::lock::take_lock;
use super::store::{self, TOOL_VERSION, mark_rolled_back, open_backup_dir, sha256_hex};
use super::{ApplyError, ApplyOptions, ApplyRecord, FileChange, Manifest, ManifestEntry};
use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Permission bits of a file the apply creates (a new drop-in) that holds no secret.
const NEW_FILE_MODE: u32 = 0o644;
/// Permission bits of a file the apply creates that holds a secret (`FileChange::secret`).
const NEW_SECRET_FILE_MODE: u32 = 0o600;
/// Test hook: `after-temp-write[:N]` fails the N-th written file after its temp write.
const FAILPOINT_AFTER_TEMP_WRITE: &str = "after-temp-write";
/// Test hook: `stop-after-temp-write[:N]` stops the process (SIGSTOP) after the N-th temp
/// write, holding the lock with a temp file on disk, so a test can run a second apply against
/// it and then kill it as an operator's Ctrl-C or an OOM kill would.
const FAILPOINT_STOP_AFTER_TEMP_WRITE: &str = "stop-after-temp-write";
/// Test hook: `stop-then-fail-after-temp-write[:N]` stops there and, once continued, fails, so
/// a test can change files the apply already wrote (a concurrent writer) before the undo.
const FAILPOINT_STOP_THEN_FAIL: &str = "stop-then-fail-after-temp-write";

/// What a failpoint does at the N-th written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failpoint {
    Fail(usize),
    Stop(usize),
    StopThenFail(usize),
}

/// The failpoint named by `failpoint`, if any.
fn parse_failpoint(failpoint: Option<&str>) -> Result<Option<Failpoint>, ApplyError> {
    let Some(text) = failpoint else {
        return Ok(None);
    };
    let unknown = || ApplyError::UnknownFailpoint(text.to_string());
    let (make, rest): (fn(usize) -> Failpoint, &str) =
        if let Some(rest) = text.strip_prefix(FAILPOINT_STOP_THEN_FAIL) {
            (Failpoint::StopThenFail, rest)
        } else if let Some(rest) = text.strip_prefix(FAILPOINT_STOP_AFTER_TEMP_WRITE) {
            (Failpoint::Stop, rest)
        } else if let Some(rest) = text.strip_prefix(FAILPOINT_AFTER_TEMP_WRITE) {
            (Failpoint::Fail, rest)
        } else {
            return Err(unknown());
        };
    if rest.is_empty() {
        return Ok(Some(make(1)));
    }
    let number = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix('='))
        .ok_or_else(unknown)?;
    match number.parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(make(n))),
        _ => Err(unknown()),
    }
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

/// Applies `changes` as one transaction: all files get their `after` bytes, or (on a failure
/// midway) every file written so far gets its original back. See the module docs.
pub fn apply(changes: &[FileChange], opts: &ApplyOptions) -> Result<ApplyRecord, ApplyError> {
    let fail_at = parse_failpoint(opts.failpoint.as_deref())?;
    // A backup directory that cannot be used is refused before the lock's directory is
    // created, so a refusal writes nothing.
    store::check_backup_dir(&opts.backup_dir)?;
    // The lock first: with it held, no other run on this root is writing, so temp files found
    // below are leftovers of a killed one.
    let _lock = take_lock(&opts.root)?;
    let backup_dir = open_backup_dir(&opts.backup_dir)?;

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
    let removed_temp_files = sweep_leftovers(&planned, &backup_dir, &allowed);
    planned.retain(|p| p.change.before.as_deref() != Some(p.change.after.as_slice()));
    if planned.is_empty() {
        return Ok(ApplyRecord {
            id: String::new(),
            dir: PathBuf::new(),
            removed_temp_files,
            manifest: Manifest {
                id: String::new(),
                created: opts.now.clone(),
                tool_version: TOOL_VERSION.to_string(),
                files: Vec::new(),
            },
        });
    }

    // Backups and the manifest are durable before the first target is touched.
    let folder = store::create_folder(&backup_dir, &opts.now)?;
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    let mut entries = Vec::with_capacity(planned.len());
    for (index, p) in planned.iter().enumerate() {
        let backup = match &p.change.before {
            Some(before) => Some(folder.save_original(index, &p.real, before)?),
            None => None,
        };
        let (mode, uid, gid) = match &p.meta {
            Some(meta) => (meta.mode() & 0o7777, meta.uid(), meta.gid()),
            None if p.change.secret => (NEW_SECRET_FILE_MODE, euid, egid),
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
    let manifest = Manifest {
        id: folder.id.clone(),
        created: opts.now.clone(),
        tool_version: TOOL_VERSION.to_string(),
        files: entries,
    };
    folder.seal(&manifest, &backup_dir)?;
    let store::NewFolder { id, dir, .. } = folder;

    for (index, (p, entry)) in planned.iter().zip(&manifest.files).enumerate() {
        let hook = match fail_at {
            Some(Failpoint::Fail(n)) if n == index + 1 => Some(AfterTempWrite::Fail),
            Some(Failpoint::Stop(n)) if n == index + 1 => Some(AfterTempWrite::Stop),
            Some(Failpoint::StopThenFail(n)) if n == index + 1 => {
                Some(AfterTempWrite::StopThenFail)
            }
            _ => None,
        };
        let result = write_one(p, entry, hook);
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
    Ok(ApplyRecord {
        id,
        dir: dir.path().to_path_buf(),
        manifest,
        removed_temp_files,
    })
}

/// Removes temp files a killed run left (they hold whole config files, secrets included) in
/// the directories of this apply's targets and of every recorded apply's files that lie inside
/// the allowed directories.
fn sweep_leftovers(planned: &[Planned<'_>], backup_dir: &Dir, allowed: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = BTreeSet::new();
    for p in planned {
        if let Some(dir) = p.real.parent() {
            dirs.insert(dir.to_path_buf());
        }
    }
    for (_, folder) in store::list_in(backup_dir) {
        if let Ok(manifest) = store::load_manifest(&folder) {
            for entry in &manifest.files {
                if let Some(dir) = entry.path.parent()
                    && super::fsat::is_plain_absolute(dir)
                    && inside_allowed(dir, allowed)
                {
                    dirs.insert(dir.to_path_buf());
                }
            }
        }
    }
    dirs.iter().flat_map(|d| sweep_temp_files(d)).collect()
}

fn write_one(
    p: &Planned<'_>,
    entry: &ManifestEntry,
    hook: Option<AfterTempWrite>,
) -> Result<(), WriteFailure> {
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
    replace_atomically(&p.real, &p.change.after, &owner, expect, hook)
}

/// Puts back every file written before the one at `failed` (and that one too if its rename
/// happened), newest first, and turns the failure into the error `apply` returns.
fn undo(
    planned: &[Planned<'_>],
    entries: &[ManifestEntry],
    failed: usize,
    failure: WriteFailure,
    dir: &Dir,
    now: &str,
) -> ApplyError {
    let mut not_restored = Vec::new();
    let mut kept = Vec::new();
    for index in (0..=failed).rev() {
        let (p, entry) = (&planned[index], &entries[index]);
        let written = index < failed || failure.renamed;
        if written {
            // Only what this apply wrote is taken back: a file another writer changed since is
            // swapped back to theirs (never lost) and reported as kept.
            let ours = Expect::Bytes(&p.change.after);
            // The original bytes in memory are the ones saved (and synced) in the backup.
            let restored = match &p.change.before {
                Some(before) => {
                    let owner = Ownership {
                        mode: entry.mode,
                        uid: entry.uid,
                        gid: entry.gid,
                        chown: true,
                    };
                    replace_atomically(&p.real, before, &owner, ours, None).map_err(|f| f.error)
                }
                None => remove_created(&p.real, ours),
            };
            match restored {
                Ok(()) => {}
                Err(ApplyError::ChangedSinceRead { .. }) => kept.push(p.real.clone()),
                Err(_) => not_restored.push(p.real.clone()),
            }
        }
        if !entry.existed {
            remove_created_dirs(&entry.created_dirs);
        }
    }
    let cause = Box::new(failure.error);
    if not_restored.is_empty() && kept.is_empty() {
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
            dir: dir.path().to_path_buf(),
            failed: not_restored,
            kept,
            cause,
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

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
        assert_eq!(
            parse_failpoint(Some("after-temp-write")).unwrap(),
            Some(Failpoint::Fail(1))
        );
        assert_eq!(
            parse_failpoint(Some("after-temp-write=3")).unwrap(),
            Some(Failpoint::Fail(3))
        );
        assert_eq!(
            parse_failpoint(Some("stop-after-temp-write:2")).unwrap(),
            Some(Failpoint::Stop(2))
        );
        assert_eq!(
            parse_failpoint(Some("stop-then-fail-after-temp-write:2")).unwrap(),
            Some(Failpoint::StopThenFail(2))
        );
        assert!(parse_failpoint(Some("after-temp-write:0")).is_err());
    }
}
