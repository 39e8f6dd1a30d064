//! Reading files for the audit: under `--root` with symlinks resolved inside that root.
//!
//! Every reader goes through here so that a missing file, an unreadable file and a file that is
//! not UTF-8 are told apart, and so that a symlink in a fake root never escapes to the real host.

use crate::model::{SourceFile, SourceProblem, display_path};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// The outcome of reading one file.
#[derive(Debug)]
pub enum Read {
    Absent,
    File(Arc<SourceFile>),
    Problem(SourceProblem),
}

impl Read {
    /// The file, if there is one. For facts, where a file that is absent or cannot be read
    /// means the fact is not known; it is not a finding.
    pub(crate) fn file(self) -> Option<Arc<SourceFile>> {
        match self {
            Read::File(f) => Some(f),
            Read::Absent | Read::Problem(_) => None,
        }
    }
}

/// The text of `rel` under `root`, or `None` when it is absent or unreadable: a host fact that
/// cannot be read is simply not known.
pub(crate) fn read_text(root: &Path, rel: &str) -> Option<String> {
    read_under(root, rel).file().map(|f| f.text.clone())
}

/// Whether `rel` exists under `root` (a file or a directory, e.g. `sys/module/nf_nat`), its
/// symlinks resolved inside the root.
pub(crate) fn exists_under(root: &Path, rel: &str) -> bool {
    resolve_in_root(root, Path::new(rel)).is_ok_and(|p| p.exists())
}

/// Links followed before giving up; the kernel's own limit for path resolution is 40.
const MAX_LINKS: usize = 40;
/// The message of the error [`resolve_in_root`] gives when a path holds more links than that.
pub(crate) const TOO_MANY_LINKS: &str = "too many levels of symbolic links";

/// Splits `/proc/PID/root/rest` (also `/proc/self/root`, `/proc/PID/task/TID/root`) into the
/// magic root link and the rest; `None` for any other path. The kernel jumps into that process's
/// root when it walks the link, but reading the link gives `/` for a process in another mount
/// namespace, so such a root must never be canonicalised: see `cli::options::canonical`.
pub fn proc_root_split(path: &Path) -> Option<(PathBuf, PathBuf)> {
    use std::path::Component;
    let parts: Vec<Component> = path.components().collect();
    let is_id = |c: &Component| {
        let s = c.as_os_str().to_string_lossy();
        s == "self"
            || s == "thread-self"
            || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    };
    let name = |c: &Component, n: &str| c.as_os_str() == n;
    let len = match parts.as_slice() {
        [Component::RootDir, p, pid, r, ..] if name(p, "proc") && is_id(pid) && name(r, "root") => {
            4
        }
        [Component::RootDir, p, pid, t, tid, r, ..]
            if name(p, "proc")
                && is_id(pid)
                && name(t, "task")
                && is_id(tid)
                && name(r, "root") =>
        {
            6
        }
        _ => return None,
    };
    let root: PathBuf = parts[..len].iter().collect();
    let rest: PathBuf = parts[len..].iter().collect();
    Some((root, rest))
}

/// Resolves `rel` (a path inside `root`) component by component. Absolute symlink targets are
/// taken relative to `root`, and `..` never climbs above it, as in a chroot.
pub fn resolve_in_root(root: &Path, rel: &Path) -> io::Result<PathBuf> {
    let mut walk = Walk::default();
    walk.follow(root, rel)?;
    Ok(root.join(walk.resolved))
}

/// The state of a resolution under a root: where it has got to, and how many links it followed
/// on the way. Resuming from a directory's walk gives what a walk of the whole path gives.
#[derive(Clone, Default)]
struct Walk {
    /// Relative to the root, with no link left in it.
    resolved: PathBuf,
    links: usize,
}

impl Walk {
    /// Walks the components of `rel` from where the walk is.
    fn follow(&mut self, root: &Path, rel: &Path) -> io::Result<()> {
        let Walk { resolved, links } = self;
        // Components still to walk, last first, so a link's target can be pushed in front.
        let mut pending: Vec<Part> = parts(rel);
        pending.reverse();
        while let Some(part) = pending.pop() {
            match part {
                Part::Root => resolved.clear(),
                Part::Parent => {
                    resolved.pop();
                }
                Part::Name(name) => {
                    let candidate = resolved.join(&name);
                    let full = root.join(&candidate);
                    match link_target(&full)? {
                        Some(target) => {
                            *links += 1;
                            if *links > MAX_LINKS {
                                return Err(io::Error::other(TOO_MANY_LINKS));
                            }
                            if target.is_absolute() {
                                resolved.clear();
                            }
                            pending.extend(parts(&target).into_iter().rev());
                        }
                        None => *resolved = candidate,
                    }
                }
            }
        }
        Ok(())
    }
}

/// The target of `path` when it is a symbolic link; `None` when it is anything else or absent.
/// Inside [`remembering`] each path is asked once.
fn link_target(path: &Path) -> io::Result<Option<PathBuf>> {
    if let Some(known) = SEEN.with(|seen| seen.borrow().as_ref()?.get(path).cloned()) {
        return Ok(known);
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Some(std::fs::read_link(path)?),
        _ => None,
    };
    SEEN.with(|seen| {
        if let Some(seen) = seen.borrow_mut().as_mut() {
            seen.insert(path.to_path_buf(), target.clone());
        }
    });
    Ok(target)
}

thread_local! {
    /// What [`link_target`] found for each path, while [`remembering`] runs.
    static SEEN: std::cell::RefCell<Option<std::collections::HashMap<PathBuf, Option<PathBuf>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `read` with the links met while resolving paths remembered: an audit resolves hundreds
/// of paths under the same few directories (`proc/sys/net/ipv4`, `usr/lib/systemd/system`), and
/// each component is then looked up once instead of once per path. Only reading may happen
/// inside: a link made or removed under the root during `read` would not be seen. A nested call
/// shares the outer one's memory, which ends with the outer call.
pub fn remembering<T>(read: impl FnOnce() -> T) -> T {
    /// Forgets on the way out, also when `read` panics.
    struct Forget;
    impl Drop for Forget {
        fn drop(&mut self) {
            SEEN.with(|seen| *seen.borrow_mut() = None);
        }
    }
    let outermost = SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        let outermost = seen.is_none();
        if outermost {
            *seen = Some(std::collections::HashMap::new());
        }
        outermost
    });
    // Lazily: a `Forget` made and dropped for a nested call would end the outer one's memory.
    let _forget = outermost.then(|| Forget);
    read()
}

/// A path component that matters for resolution (`.` and prefixes dropped).
enum Part {
    Root,
    Parent,
    Name(std::ffi::OsString),
}

fn parts(path: &Path) -> Vec<Part> {
    path.components()
        .filter_map(|c| match c {
            Component::RootDir => Some(Part::Root),
            Component::ParentDir => Some(Part::Parent),
            Component::Normal(s) => Some(Part::Name(s.to_os_string())),
            Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// Reads `rel` under `root` (symlinks resolved inside the root). The display name is `rel`.
pub fn read_under(root: &Path, rel: &str) -> Read {
    let rel_path = Path::new(rel.trim_start_matches('/'));
    let display = rel_path.to_string_lossy().into_owned();
    let resolved = match resolve_in_root(root, rel_path) {
        Ok(p) => p,
        Err(e) => return Read::Problem(SourceProblem::unreadable(&display, lower(&e))),
    };
    read_file(&resolved, display)
}

/// Reads a file named by a real path (the API-M home is not under `--root`).
pub fn read_path(root: &Path, path: &Path) -> Read {
    let display = display_path(root, path);
    read_file(path, display)
}

fn read_file(path: &Path, display: String) -> Read {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A dangling symlink is a problem worth reporting, a missing file is not.
            if std::fs::symlink_metadata(path).is_ok() {
                return Read::Problem(SourceProblem::unreadable(
                    &display,
                    "dangling symbolic link",
                ));
            }
            return Read::Absent;
        }
        Err(e) => return Read::Problem(SourceProblem::unreadable(&display, lower(&e))),
        Ok(m) if m.is_dir() => {
            return Read::Problem(SourceProblem::unreadable(
                &display,
                "is a directory, expected a file",
            ));
        }
        Ok(_) => {}
    }
    read_contents(path, display)
}

/// Reads a file known not to be a directory: its bytes, which must be UTF-8.
fn read_contents(path: &Path, display: String) -> Read {
    let bytes = match read_bytes_at_most(path, max_bytes_of(path)) {
        Ok(b) => b,
        Err(e) => return Read::Problem(SourceProblem::unreadable(&display, lower(&e))),
    };
    match String::from_utf8(bytes) {
        Ok(text) => Read::File(SourceFile::new(path.to_path_buf(), display, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Read::Problem(SourceProblem::unreadable(
                &display,
                format!("not valid UTF-8 (first bad byte at offset {at})"),
            ))
        }
    }
}

/// The most a file read here may hold: far above any real configuration file (the largest WSO2
/// file of the corpus is under 100 KiB), small enough that a runaway or hostile file cannot
/// exhaust memory. It is the cap of structured files (XML, TOML, JSON: an API definition in
/// `synapse-configs` can be large); the other kinds have smaller ones ([`max_bytes_of`]).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The cap of line-based files (sysctl, pam limits, systemd units and environment files,
/// `.properties`, start-up scripts, `/proc` and `/sys` files): real ones hold a few KiB; at this
/// size an audit of a file of one-line findings still takes well under a second and about
/// 12 bytes of memory per byte of input (bench/hostile-inputs.sh).
pub(crate) const MAX_LINE_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The cap for the file at `path`, by its kind (told by the name, which is all a reader knows
/// before it reads): structured files [`MAX_FILE_BYTES`], everything else
/// [`MAX_LINE_FILE_BYTES`].
pub(crate) fn max_bytes_of(path: &Path) -> u64 {
    let structured = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["xml", "toml", "json", "j2", "xsd", "wsdl"]
            .iter()
            .any(|s| e.eq_ignore_ascii_case(s))
    });
    if structured {
        MAX_FILE_BYTES
    } else {
        MAX_LINE_FILE_BYTES
    }
}

/// The bytes of the regular file at `path`, at most [`MAX_FILE_BYTES`]. Anything else is an
/// error that names what it is: a FIFO would block the read until a writer came, a character
/// device (`/dev/zero`) would be read until memory ran out.
///
/// Unlike `std::fs::read` it takes no size hint from `stat`: `/proc` and `/sys` report 0.
pub(crate) fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    read_bytes_at_most(path, MAX_FILE_BYTES)
}

/// [`read_bytes`] with a cap of `max` bytes.
pub fn read_bytes_at_most(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    // Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer; a
    // regular file ignores the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    // The type of what was opened, not of the name: nothing can swap it in between.
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {what}, expected a regular file"),
        ));
    }
    let mut bytes = Vec::with_capacity(8 * 1024);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "is larger than {}, more than any such file holds",
                size_text(max)
            ),
        ));
    }
    Ok(bytes)
}

/// The text of the regular file at `path` (a real path, e.g. a `--profile` or `--waivers`
/// file), at most `max` bytes, UTF-8: the readers outside a root get the same protection as
/// those inside (no FIFO hang, no endless device, no runaway size).
pub fn read_text_at_most(path: &Path, max: u64) -> io::Result<String> {
    let bytes = read_bytes_at_most(path, max)?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// The cap of the small files apim-tune reads for itself: profiles, waivers, a JDK's `release`
/// file. Real ones hold a few KiB.
pub const MAX_OWN_FILE_BYTES: u64 = 1024 * 1024;

/// `8 MiB`, `64 KiB`: a cap as a person reads it.
fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Lists the regular entries of `dir` (under `root`) whose name ends with `suffix`, sorted by
/// name in byte order, which is the "C" locale order pam_limits and systemd use.
pub fn list_dir(root: &Path, dir: &str, suffix: &str) -> Vec<String> {
    match Listing::read(root, dir) {
        Some(listing) => listing.names(suffix).map(str::to_string).collect(),
        None => Vec::new(),
    }
}

/// One directory under `root`, read once: where it resolved to and the name and type of each
/// entry. The types come from the directory itself (`d_type`), so a caller scanning many files
/// learns which are plain files, links or neither without a `stat` per name.
pub struct Listing {
    /// The directory as asked for, relative to the root (no leading `/`).
    rel: String,
    /// How the directory resolved, to resume from for paths below it.
    walk: Walk,
    /// The directory with its symlinks resolved inside the root.
    path: PathBuf,
    /// Entries whose name is UTF-8, by name in byte order; the type is the entry's own (a link is
    /// a link, not what it points to), `None` when it could not be told.
    entries: std::collections::BTreeMap<String, Option<std::fs::FileType>>,
}

impl Listing {
    /// Lists `dir` under `root`; `None` when it does not resolve to a directory that can be read.
    pub fn read(root: &Path, dir: &str) -> Option<Listing> {
        let rel = dir.trim_start_matches('/').to_string();
        let mut walk = Walk::default();
        walk.follow(root, Path::new(&rel)).ok()?;
        Listing::read_resolved(root, rel, walk)
    }

    /// Lists `dirs` for a search in which the first directory holding a name wins (systemd's
    /// unit path). A directory reached again under another name (`lib` is a link to `usr/lib`
    /// on merged-usr systems) is listed once, under the name that reached it first: its second
    /// sighting could add no name the first did not already win.
    pub fn read_first_wins(root: &Path, dirs: &[&str]) -> Vec<Listing> {
        let mut listings: Vec<Listing> = Vec::new();
        for dir in dirs {
            let rel = dir.trim_start_matches('/').to_string();
            let mut walk = Walk::default();
            if walk.follow(root, Path::new(&rel)).is_err()
                || listings.iter().any(|l| l.walk.resolved == walk.resolved)
            {
                continue;
            }
            listings.extend(Listing::read_resolved(root, rel, walk));
        }
        listings
    }

    fn read_resolved(root: &Path, rel: String, walk: Walk) -> Option<Listing> {
        let path = root.join(&walk.resolved);
        let entries = std::fs::read_dir(&path)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.file_type().ok())))
            .collect();
        Some(Listing {
            rel,
            walk,
            path,
            entries,
        })
    }

    /// [`resolve_in_root`] for `<dir>/<sub>`, without walking the directory's own path again
    /// nor, when the listing says the first component of `sub` is not a link, that component.
    pub fn resolve(&self, root: &Path, sub: &str) -> io::Result<PathBuf> {
        let sub = Path::new(sub);
        let mut walk = self.walk.clone();
        let mut rest = sub.components();
        let rest = match rest.next() {
            Some(Component::Normal(first))
                if first
                    .to_str()
                    .and_then(|n| self.entries.get(n))
                    .is_some_and(|t| t.is_some_and(|t| !t.is_symlink())) =>
            {
                walk.resolved.push(first);
                rest.as_path()
            }
            _ => sub,
        };
        walk.follow(root, rest)?;
        Ok(root.join(walk.resolved))
    }

    /// The directory as asked for, relative to the root.
    pub fn rel(&self) -> &str {
        &self.rel
    }

    /// Names ending with `suffix` and not hidden, in byte order (what [`list_dir`] gives).
    pub fn names<'a>(&'a self, suffix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .keys()
            .map(String::as_str)
            .filter(move |n| n.ends_with(suffix) && !n.starts_with('.'))
    }

    /// Whether the directory has an entry `name`, of any type.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// [`is_masked`] for the entry `name`: only a link can be a mask, so nothing else is asked
    /// of the file system.
    pub fn is_masked(&self, name: &str) -> bool {
        self.entries
            .get(name)
            .is_some_and(|t| t.is_none_or(|t| t.is_symlink()))
            && std::fs::read_link(self.path.join(name)).is_ok_and(|t| t == Path::new("/dev/null"))
    }

    /// [`read_under`] for `<dir>/<name>`. A plain file is read where it is, without resolving
    /// the directory again; anything else (a link, or an entry that is gone) takes the full path.
    pub fn read_entry(&self, root: &Path, name: &str) -> Read {
        let rel = format!("{}/{name}", self.rel);
        match self.entries.get(name) {
            // The listing already says it is a plain file: no `stat` before the open.
            Some(Some(t)) if t.is_file() => read_contents(&self.path.join(name), rel),
            _ => read_under(root, &rel),
        }
    }
}

/// The files of a set of drop-in directories as systemd chooses them: for each file name the
/// first directory (highest priority) wins and the others are ignored; the result is `dir/name`
/// sorted by name in byte order, the order systemd applies them in. Masked entries are kept:
/// callers decide with [`is_masked`].
pub fn drop_in_order(root: &Path, dirs: &[&str], suffix: &str) -> Vec<String> {
    let mut chosen: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for dir in dirs {
        for name in list_dir(root, dir, suffix) {
            chosen.entry(name).or_insert(dir);
        }
    }
    chosen
        .into_iter()
        .map(|(name, dir)| format!("{dir}/{name}"))
        .collect()
}

/// Whether `rel` (under `root`) is a link to `/dev/null`: systemd's mask, which hides the same
/// name in lower-priority directories and sets nothing. The directory is resolved inside the
/// root first, so the `read_link` never reaches the real host.
pub fn is_masked(root: &Path, rel: &str) -> bool {
    let rel = Path::new(rel);
    let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
        return false;
    };
    resolve_in_root(root, parent)
        .and_then(|dir| std::fs::read_link(dir.join(name)))
        .is_ok_and(|t| t == Path::new("/dev/null"))
}

/// A name for apim-tune's own drop-in that sorts after every name in `existing` (so it is
/// applied last): `base`, with `z`s put in front while something still sorts later. Earlier
/// apim-tune drop-ins (names ending in `apim-tune.conf`) do not count.
pub fn name_sorting_last(existing: &[String], base: &str) -> String {
    let mut candidate = base.to_string();
    while existing
        .iter()
        .any(|n| n.as_str() > candidate.as_str() && !n.ends_with("apim-tune.conf"))
    {
        candidate.insert(0, 'z');
    }
    candidate
}

/// [`name_sorting_last`], or an apim-tune file already there that still sorts last (a second
/// apply edits its own drop-in rather than adding another).
pub fn own_name_sorting_last(existing: &[String], base: &str) -> String {
    let candidate = name_sorting_last(existing, base);
    existing
        .iter()
        .filter(|n| n.ends_with("apim-tune.conf"))
        .max()
        .filter(|n| n.as_str() >= candidate.as_str())
        .cloned()
        .unwrap_or(candidate)
}

fn lower(e: &io::Error) -> String {
    let s = e.to_string();
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => s,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn only_a_process_root_link_splits() {
        let split = |p: &str| {
            proc_root_split(Path::new(p))
                .map(|(a, b)| (a.display().to_string(), b.display().to_string()))
        };
        let some = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(split("/proc/42/root"), some("/proc/42/root", ""));
        assert_eq!(
            split("/proc/42/root/opt/wso2am"),
            some("/proc/42/root", "opt/wso2am")
        );
        assert_eq!(split("/proc/self/root/etc"), some("/proc/self/root", "etc"));
        assert_eq!(
            split("/proc/42/task/43/root/etc"),
            some("/proc/42/task/43/root", "etc")
        );
        for other in [
            "/proc/42/cwd",
            "/proc/sys/root",
            "/srv/proc/42/root",
            "proc/42/root",
            "/proc/4x/root",
            "/",
        ] {
            assert_eq!(split(other), None, "{other}");
        }
    }

    use super::*;

    fn problem(read: Read) -> String {
        match read {
            Read::Problem(p) => p.message,
            other => panic!("expected a problem, got {other:?}"),
        }
    }

    #[test]
    fn a_fifo_is_a_problem_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("etc/sysctl.conf");
        std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRUSR).unwrap();
        let message = problem(read_under(dir.path(), "etc/sysctl.conf"));
        assert!(message.contains("FIFO"), "{message}");
    }

    #[test]
    fn a_character_device_is_a_problem_not_an_endless_read() {
        let dir = tempfile::tempdir().unwrap();
        // By its real path: a link to it under the root would resolve inside the root.
        let message = problem(read_path(dir.path(), Path::new("/dev/zero")));
        assert!(message.contains("character device"), "{message}");
    }

    #[test]
    fn each_kind_of_file_has_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let sized = |name: &str, len: u64| {
            let path = dir.path().join(name);
            // Sparse: no disk is used for the hole.
            std::fs::File::create(&path).unwrap().set_len(len).unwrap();
            path
        };
        // A line-based file: 8 MiB.
        let conf = sized("big.conf", MAX_LINE_FILE_BYTES + 1);
        let message = problem(read_path(dir.path(), &conf));
        assert!(message.contains("larger than 8 MiB"), "{message}");
        let conf = sized("big.conf", MAX_LINE_FILE_BYTES);
        assert!(matches!(read_path(dir.path(), &conf), Read::File(_)));
        // A structured file: 16 MiB, so the same size is fine.
        let xml = sized("big.xml", MAX_LINE_FILE_BYTES + 1);
        assert!(matches!(read_path(dir.path(), &xml), Read::File(_)));
        let xml = sized("big.xml", MAX_FILE_BYTES + 1);
        let message = problem(read_path(dir.path(), &xml));
        assert!(message.contains("larger than 16 MiB"), "{message}");
        assert!(read_bytes(&conf).is_ok_and(|b| b.len() as u64 == MAX_LINE_FILE_BYTES));
    }

    #[test]
    fn absolute_symlink_stays_in_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc/sysctl.d")).unwrap();
        std::fs::write(root.join("etc/sysctl.conf"), "a = 1\n").unwrap();
        std::os::unix::fs::symlink("/etc/sysctl.conf", root.join("etc/sysctl.d/99-sysctl.conf"))
            .unwrap();
        match read_under(root, "etc/sysctl.d/99-sysctl.conf") {
            Read::File(f) => {
                assert_eq!(f.text, "a = 1\n");
                assert_eq!(f.path, root.join("etc/sysctl.conf"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn dot_dot_never_climbs_out_of_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("r");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(dir.path().join("outside"), "secret").unwrap();
        std::os::unix::fs::symlink("../../../outside", root.join("etc/link")).unwrap();
        assert_eq!(
            resolve_in_root(&root, Path::new("etc/link")).unwrap(),
            root.join("outside")
        );
        assert!(matches!(read_under(&root, "etc/link"), Read::Absent));
    }

    #[test]
    fn a_listing_resolves_below_it_as_the_whole_path_resolves() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("proc/1")).unwrap();
        std::fs::create_dir_all(root.join("elsewhere/7")).unwrap();
        std::fs::write(root.join("proc/1/cmdline"), "java\0").unwrap();
        std::fs::write(root.join("elsewhere/7/cmdline"), "sh\0").unwrap();
        symlink("/elsewhere/7", root.join("proc/2")).unwrap();
        symlink("../../../../x", root.join("proc/1/up")).unwrap();
        symlink("/proc/1/cmdline", root.join("proc/1/abs")).unwrap();
        symlink("loop", root.join("proc/loop")).unwrap();
        symlink("proc", root.join("p")).unwrap();
        for dir in ["proc", "p", "/proc"] {
            let listing = Listing::read(root, dir).unwrap();
            for sub in [
                "1/cmdline",
                "2/cmdline",
                "2/../1/cmdline",
                "1/up",
                "1/abs",
                "3/cmdline",
                "loop/x",
                "../etc",
                "./1",
            ] {
                let whole = resolve_in_root(root, &Path::new(dir).join(sub));
                let below = listing.resolve(root, sub);
                match (whole, below) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{dir} {sub}"),
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{dir} {sub}"),
                    (a, b) => panic!("{dir} {sub}: {a:?} vs {b:?}"),
                }
            }
        }
    }

    #[test]
    fn a_directory_reached_twice_is_listed_once_under_its_first_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib/d")).unwrap();
        std::fs::create_dir_all(root.join("etc/d")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        let listings = Listing::read_first_wins(root, &["etc/d", "usr/lib/d", "lib/d", "none"]);
        let rels: Vec<&str> = listings.iter().map(Listing::rel).collect();
        assert_eq!(rels, ["etc/d", "usr/lib/d"]);
    }

    #[test]
    fn remembering_lasts_until_the_outermost_call_ends() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(root.join("c")).unwrap();
        let resolve = || resolve_in_root(root, Path::new("a/b")).unwrap();
        remembering(|| {
            assert_eq!(resolve(), root.join("a/b"));
            assert_eq!(remembering(resolve), root.join("a/b"));
            // Not seen inside: `a` was already looked up, and the nested call kept that.
            std::fs::remove_dir(root.join("a")).unwrap();
            std::os::unix::fs::symlink("c", root.join("a")).unwrap();
            assert_eq!(resolve(), root.join("a/b"));
        });
        assert_eq!(resolve(), root.join("c/b"));
        assert_eq!(remembering(resolve), root.join("c/b"));
    }

    #[test]
    fn missing_dangling_and_binary_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(matches!(read_under(root, "nope"), Read::Absent));
        std::os::unix::fs::symlink("/nowhere", root.join("dangling")).unwrap();
        assert!(matches!(
            read_under(root, "dangling"),
            Read::Absent | Read::Problem(_)
        ));
        std::fs::write(root.join("bin"), [0x66, 0xff, 0x00]).unwrap();
        match read_under(root, "bin") {
            Read::Problem(p) => assert!(p.message.contains("UTF-8"), "{}", p.message),
            other => panic!("unexpected {other:?}"),
        }
    }
}
