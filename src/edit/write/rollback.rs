//! Rolling an apply back: every file it wrote gets its original bytes, mode and owner back,
//! files it created are removed (with the directories it made, while empty), and the folder is
//! marked `rolled-back`.
//!
//! Must not: restore anything before every entry is checked (a target changed since the apply
//! is refused unless forced, a saved original must match its checksum, a recorded path must
//! still be inside the allowed directories), or undo one apply twice.

use super::atomic::{
    Expect, Ownership, remove_created, remove_created_dirs, replace_atomically, sweep_temp_files,
};
use super::confine::{canonical_allowed, inside_allowed, real_path};
use super::fsat::{Dir, is_plain_absolute, is_regular, split};
use super::lock::take_lock;
use super::store::{
    list_in, load_manifest, mark_rolled_back, open_existing_backup_dir, read_backup,
    rolled_back_at, sha256_hex, valid_id,
};
use super::{ApplyError, ApplyOptions, Manifest, ManifestEntry, RollbackReport};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// What is at a path now, for comparing with the manifest.
enum State {
    Absent,
    File(Vec<u8>),
    /// A symlink, directory or other non-regular file: not what the apply left.
    Other,
}

/// What is at `path`, looked at without following a link anywhere in it.
fn current_state(path: &Path) -> Result<State, ApplyError> {
    let (dir, name) = split(path)?;
    let dir = match Dir::open(dir) {
        Ok(dir) => dir,
        // The directory is gone (a created file's directory removed by hand): nothing there.
        Err(ApplyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(State::Absent);
        }
        Err(e) => return Err(e),
    };
    match dir.stat(name) {
        Ok(None) => Ok(State::Absent),
        Ok(Some(st)) if is_regular(&st) => match dir.read(name) {
            Ok(Some(bytes)) => Ok(State::File(bytes)),
            Ok(None) => Ok(State::Absent),
            Err(e) => Err(super::error::io_err("read", path)(e)),
        },
        Ok(Some(_)) => Ok(State::Other),
        Err(e) => Err(super::error::io_err("inspect", path)(e)),
    }
}

/// Checks what a manifest says before any of it is used: it is a file on disk, so anyone who
/// could write there could name any path. Every path must be absolute, of plain components
/// (no `..`), and inside the allowed directories; a created directory must be an ancestor of
/// its file; a saved original's name must be one plain name.
fn validate(manifest: &Manifest, path: &Path, allowed: &[PathBuf]) -> Result<(), ApplyError> {
    let invalid = |reason: String| ApplyError::InvalidManifest {
        path: path.to_path_buf(),
        reason,
    };
    for entry in &manifest.files {
        let shown = entry.path.display();
        if !is_plain_absolute(&entry.path) || entry.path.file_name().is_none() {
            return Err(invalid(format!(
                "`{shown}` is not an absolute path of plain components"
            )));
        }
        if !inside_allowed(&entry.path, allowed) {
            return Err(ApplyError::LinkEscapes {
                path: entry.path.clone(),
                target: entry.path.clone(),
            });
        }
        if entry.existed != entry.backup.is_some()
            || entry.backup.as_deref().is_some_and(|b| !valid_id(b))
        {
            return Err(invalid(format!(
                "the saved original of `{shown}` is not valid"
            )));
        }
        if entry.existed && !entry.created_dirs.is_empty() {
            return Err(invalid(format!(
                "`{shown}` existed, yet directories are recorded as created for it"
            )));
        }
        for dir in &entry.created_dirs {
            let ancestor = entry.path.starts_with(dir) && *dir != entry.path;
            if !is_plain_absolute(dir) || !ancestor || !inside_allowed(dir, allowed) {
                return Err(invalid(format!(
                    "the created directory `{}` is not a directory above `{shown}` inside the allowed directories",
                    dir.display()
                )));
            }
            if allowed.iter().any(|a| a == dir) {
                return Err(invalid(format!(
                    "the created directory `{}` is an allowed directory itself",
                    dir.display()
                )));
            }
        }
    }
    Ok(())
}

/// Where to restore an entry: its recorded path with the directory resolved again (the
/// manifest is only a file on disk), which must still be inside the allowed directories.
fn restore_target(entry: &ManifestEntry, allowed: &[PathBuf]) -> Result<PathBuf, ApplyError> {
    let invalid = |reason| ApplyError::InvalidPath {
        path: entry.path.clone(),
        reason,
    };
    if !entry.path.is_absolute() {
        return Err(invalid("the manifest path is not absolute"));
    }
    let (Some(dir), Some(name)) = (entry.path.parent(), entry.path.file_name()) else {
        return Err(invalid("it names no file"));
    };
    // The directory is resolved as the apply resolved it; a directory that is gone stays as
    // recorded, and the state check decides what that means.
    let target = real_path(dir)?.join(name);
    if !inside_allowed(&target, allowed) {
        return Err(ApplyError::LinkEscapes {
            path: entry.path.clone(),
            target,
        });
    }
    Ok(target)
}

/// One entry of a rollback, checked and ready.
struct Restore<'a> {
    entry: &'a ManifestEntry,
    target: PathBuf,
    /// The original bytes; `None` for a file the apply created.
    original: Option<Vec<u8>>,
    /// What the check saw there; must still be there at the rename.
    state: State,
    /// Already as before the apply: nothing to write.
    skip: bool,
}

/// Undoes an apply (`id`, or the newest one) recorded in `opts.backup_dir`: every file gets
/// its original bytes, mode and owner back and files the apply created are removed; temp files
/// a killed apply left next to them are removed too. Unless `force`, a file changed since the
/// apply makes it refuse before anything is restored. `opts.failpoint` is not used.
pub fn rollback(
    opts: &ApplyOptions,
    id: Option<&str>,
    force: bool,
) -> Result<RollbackReport, ApplyError> {
    let backup_dir = opts.backup_dir.as_path();
    let nothing = || ApplyError::NothingToRollBack {
        backup_dir: backup_dir.to_path_buf(),
    };
    // Refused before the lock's directory is created, as for `apply`.
    super::store::check_backup_dir(backup_dir)?;
    let _lock = take_lock(&opts.root)?;
    let Some(backups) = open_existing_backup_dir(backup_dir)? else {
        return Err(nothing());
    };
    let allowed = canonical_allowed(&opts.allowed);
    let listed = list_in(&backups);
    let removed_temp_files = sweep_leftovers(&listed, &allowed);
    let (id, dir) = match id {
        Some(id) => {
            let unknown = || ApplyError::UnknownId {
                id: id.to_string(),
                backup_dir: backup_dir.to_path_buf(),
            };
            if !valid_id(id) {
                return Err(unknown());
            }
            let dir = match backups.sub(OsStr::new(id)) {
                Ok(dir) => dir,
                Err(e @ ApplyError::SymlinkInPath { .. }) => return Err(e),
                Err(_) => return Err(unknown()),
            };
            (id.to_string(), dir)
        }
        // The newest apply, even if it was rolled back already: undoing an older one as well
        // because `rollback` was run twice would be a surprise.
        None => match listed.into_iter().next_back() {
            Some((newest, dir)) => (newest.id, dir),
            None => return Err(nothing()),
        },
    };
    if let Some(when) = rolled_back_at(&dir)? {
        return Err(ApplyError::AlreadyRolledBack { id, when });
    }
    let manifest = load_manifest(&dir)?;
    validate(
        &manifest,
        &dir.join(OsStr::new(super::store::MANIFEST_FILE)),
        &allowed,
    )?;

    // Everything is checked before anything is restored.
    let mut steps = Vec::with_capacity(manifest.files.len());
    for entry in &manifest.files {
        let target = restore_target(entry, &allowed)?;
        let original = if entry.existed {
            Some(read_backup(&dir, entry)?)
        } else {
            None
        };
        let state = current_state(&target)?;
        let as_after =
            matches!(&state, State::File(bytes) if sha256_hex(bytes) == entry.sha256_after);
        let as_before = match (&original, &state) {
            (Some(original), State::File(bytes)) => bytes == original,
            (None, State::Absent) => true,
            _ => false,
        };
        let skip = !as_after && as_before;
        if !as_after && !as_before && !force {
            return Err(ApplyError::Refused { path: target });
        }
        steps.push(Restore {
            entry,
            target,
            original,
            state,
            skip,
        });
    }

    let mut report = RollbackReport {
        id: id.clone(),
        restored: Vec::new(),
        removed: Vec::new(),
        skipped: Vec::new(),
        removed_temp_files,
    };
    for step in &steps {
        let display = step.entry.display.clone();
        if step.skip {
            if !step.entry.existed {
                remove_created_dirs(&step.entry.created_dirs);
            }
            report.skipped.push(display);
            continue;
        }
        let result = match &step.original {
            Some(original) => {
                let owner = Ownership {
                    mode: step.entry.mode & 0o7777,
                    uid: step.entry.uid,
                    gid: step.entry.gid,
                    chown: true,
                };
                let expect = match &step.state {
                    State::File(bytes) => Expect::Bytes(bytes),
                    State::Absent => Expect::Absent,
                    State::Other => Expect::Any,
                };
                replace_atomically(&step.target, original, &owner, expect, None)
                    .map_err(|f| f.error)
            }
            None => remove_created(&step.target, Expect::Any)
                .map(|()| remove_created_dirs(&step.entry.created_dirs)),
        };
        if let Err(cause) = result {
            return Err(ApplyError::RollbackIncomplete {
                id,
                done: report.restored.len() + report.removed.len(),
                cause: Box::new(cause),
            });
        }
        if step.original.is_some() {
            report.restored.push(display);
        } else {
            report.removed.push(display);
        }
    }

    mark_rolled_back(&dir, &opts.now)?;
    Ok(report)
}

/// Removes temp files a killed apply left next to the files any recorded apply names (only
/// inside the allowed directories: the manifests are not trusted).
fn sweep_leftovers(listed: &[(super::BackupSummary, Dir)], allowed: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = BTreeSet::new();
    for (_, folder) in listed {
        if let Ok(manifest) = load_manifest(folder) {
            for entry in &manifest.files {
                if let Some(dir) = entry.path.parent()
                    && is_plain_absolute(dir)
                    && inside_allowed(dir, allowed)
                {
                    dirs.insert(dir.to_path_buf());
                }
            }
        }
    }
    dirs.iter().flat_map(|d| sweep_temp_files(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn a_new_file_is_created_0644_and_rollback_removes_it() {
        let h = host();
        let new = h.root.join("etc/sysctl.d/99-apim-tune.conf");
        let record = apply(&[change(&new, None, b"vm.swappiness = 1\n")], &h.opts).unwrap();
        assert_eq!(fs::read(&new).unwrap(), b"vm.swappiness = 1\n");
        assert_eq!(mode_of(&new), 0o644);
        let entry = &record.manifest.files[0];
        assert!(!entry.existed && entry.backup.is_none() && entry.sha256_before.is_none());
        assert_eq!(entry.created_dirs, vec![h.root.join("etc/sysctl.d")]);

        let report = rb(&h, None, false, "later").unwrap();
        assert_eq!(report.removed, vec!["99-apim-tune.conf".to_string()]);
        assert!(report.restored.is_empty());
        assert!(!new.exists());
        assert!(!h.root.join("etc/sysctl.d").exists());
        assert!(h.root.join("etc").is_dir());
    }

    #[test]
    fn rollback_restores_every_byte_mode_and_owner() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        let b = h.root.join("opt/wso2/conf/deployment.toml");
        let a_before = b"a\r\n\x00binary\xfe\n";
        put(&a, a_before, 0o640);
        put(&b, b"b\n", 0o755);
        let record = apply(
            &[
                change(&a, Some(a_before), b"a after\n"),
                change(&b, Some(b"b\n"), b"b after\n"),
            ],
            &h.opts,
        )
        .unwrap();
        // A mode change alone is not a content change: the rollback still puts the mode back.
        fs::set_permissions(&a, Permissions::from_mode(0o600)).unwrap();
        let is_root = nix::unistd::geteuid().is_root();
        if is_root {
            std::os::unix::fs::chown(&b, Some(4321), Some(4321)).unwrap();
        }
        let report = rb(&h, Some(&record.id), false, "20261122T060000Z").unwrap();
        assert_eq!(report.id, record.id);
        assert_eq!(report.restored, vec!["a.conf", "deployment.toml"]);
        assert_eq!(fs::read(&a).unwrap(), a_before);
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
        assert_eq!(mode_of(&a), 0o640);
        assert_eq!(mode_of(&b), 0o755);
        if is_root {
            let meta = fs::metadata(&b).unwrap();
            assert_eq!(
                (meta.uid(), meta.gid()),
                (record.manifest.files[1].uid, record.manifest.files[1].gid)
            );
        }
        assert!(temp_files(&h.root).is_empty());
        assert_eq!(
            fs::read_to_string(record.dir.join(ROLLED_BACK_FILE)).unwrap(),
            "20261122T060000Z\n"
        );
        let listed = list_backups(&h.opts.backup_dir).unwrap();
        assert_eq!(listed[0].rolled_back.as_deref(), Some("20261122T060000Z"));
    }

    #[test]
    fn rollback_refuses_a_file_changed_since_the_apply_unless_forced() {
        let (h, a, b) = applied_a_and_b();
        fs::write(&b, b"b edited by hand\n").unwrap();
        let err = rb(&h, None, false, "t").unwrap_err();
        assert!(
            matches!(err, ApplyError::Refused { ref path } if *path == b),
            "{err:?}"
        );
        // Refused before anything was restored.
        assert_eq!(fs::read(&a).unwrap(), b"a2\n");
        assert_eq!(fs::read(&b).unwrap(), b"b edited by hand\n");

        let report = rb(&h, None, true, "t").unwrap();
        assert_eq!(report.restored.len(), 2);
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
    }

    #[test]
    fn a_second_rollback_says_it_was_done_already() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        assert!(matches!(
            rb(&h, None, false, "t"),
            Err(ApplyError::NothingToRollBack { .. })
        ));
        let record = apply(&[change(&a, Some(b"a\n"), b"a2\n")], &h.opts).unwrap();
        assert!(matches!(
            rb(&h, Some("nope"), false, "t"),
            Err(ApplyError::UnknownId { .. })
        ));
        assert!(matches!(
            rb(&h, Some("../etc"), false, "t"),
            Err(ApplyError::UnknownId { .. })
        ));
        rb(&h, Some(&record.id), false, "t1").unwrap();
        for id in [Some(record.id.as_str()), None] {
            let err = rb(&h, id, true, "t2").unwrap_err();
            assert!(
                matches!(err, ApplyError::AlreadyRolledBack { ref when, .. } if when == "t1"),
                "{err:?}"
            );
        }
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
    }

    #[test]
    fn a_rollback_run_again_skips_files_already_restored() {
        let (h, a, b) = applied_a_and_b();
        // As if an earlier rollback had stopped after the first file.
        fs::write(&a, b"a\n").unwrap();
        let report = rb(&h, None, false, "t").unwrap();
        assert_eq!(report.skipped, vec!["a.conf"]);
        assert_eq!(report.restored, vec!["b.conf"]);
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
    }

    #[test]
    fn rollback_refuses_a_manifest_path_outside_the_allowed_dirs() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        let record = apply(&[change(&a, Some(b"a\n"), b"a2\n")], &h.opts).unwrap();
        let victim = h.outside.join("a.conf");
        put(&victim, b"a2\n", 0o644);
        let mut manifest = record.manifest.clone();
        manifest.files[0].path = victim.clone();
        fs::write(
            record.dir.join(MANIFEST_FILE),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let err = rb(&h, None, true, "t").unwrap_err();
        assert!(matches!(err, ApplyError::LinkEscapes { .. }), "{err:?}");
        assert_eq!(fs::read(&victim).unwrap(), b"a2\n");
    }

    #[test]
    fn rollback_refuses_a_tampered_backup() {
        let h = host();
        let a = h.root.join("etc/a.conf");
        put(&a, b"a\n", 0o644);
        let record = apply(&[change(&a, Some(b"a\n"), b"a2\n")], &h.opts).unwrap();
        fs::write(record.dir.join("files/1-a.conf"), b"evil\n").unwrap();
        let err = rb(&h, None, true, "t").unwrap_err();
        assert!(matches!(err, ApplyError::BackupCorrupt { .. }), "{err:?}");
        assert_eq!(fs::read(&a).unwrap(), b"a2\n");
    }

    #[test]
    fn rollback_refuses_created_dirs_outside_the_root_and_planted_markers() {
        let h = host();
        let new = h.root.join("etc/sysctl.d/99.conf");
        let record = apply(&[change(&new, None, b"x\n")], &h.opts).unwrap();
        let victim = h.outside.join("empty-dir");
        fs::create_dir(&victim).unwrap();
        let manifest_path = record.dir.join(MANIFEST_FILE);
        let good = fs::read(&manifest_path).unwrap();
        let tamper = |edit: &dyn Fn(&mut super::super::ManifestEntry)| {
            let mut manifest = record.manifest.clone();
            edit(&mut manifest.files[0]);
            fs::remove_file(&manifest_path).unwrap();
            fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        };
        tamper(&|e| e.created_dirs = vec![victim.clone()]);
        let err = rb(&h, None, true, "t").unwrap_err();
        assert!(matches!(err, ApplyError::InvalidManifest { .. }), "{err:?}");
        assert!(victim.is_dir() && new.is_file());
        tamper(&|e| e.path = h.root.join("etc/../../outside/empty-dir/x"));
        let err = rb(&h, None, true, "t").unwrap_err();
        assert!(matches!(err, ApplyError::InvalidManifest { .. }), "{err:?}");
        tamper(&|e| e.created_dirs = vec![h.root.clone()]);
        let err = rb(&h, None, true, "t").unwrap_err();
        assert!(matches!(err, ApplyError::InvalidManifest { .. }), "{err:?}");
        assert!(new.is_file());

        // A `rolled-back` link planted in the folder: refused, nothing written through it.
        fs::remove_file(&manifest_path).unwrap();
        fs::write(&manifest_path, &good).unwrap();
        let target = h.outside.join("created-by-rollback");
        symlink(&target, record.dir.join(ROLLED_BACK_FILE)).unwrap();
        let err = rb(&h, None, false, "t").unwrap_err();
        assert!(matches!(err, ApplyError::NotRegularFile { .. }), "{err:?}");
        assert!(!target.exists());
        assert!(new.is_file());
    }
}
