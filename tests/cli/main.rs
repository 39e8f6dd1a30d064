//! End-to-end tests through the real binary: fake roots under `tests/fixtures/hosts/`, each a
//! copy of a host (etc/, proc/, sys/) with an API-M home under `opt/`.

/// Snapshots live in the top-level `snapshots/` folder, next to `tests/`.
#[macro_export]
macro_rules! in_snapshots {
    ($($body:tt)*) => {
        insta::with_settings!(
            { snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"), prepend_module_to_snapshot => false },
            { $($body)* }
        )
    };
}

mod advice;
mod apply;
mod audit;
mod backups;
mod codes;
mod completions;
mod converge;
mod exit_codes;
mod facts;
mod fleet;
mod fleet_reports;
mod gateway;
mod help;
mod host;
mod hostile_apply;
mod hostile_input;
mod html;
mod hygiene_advice;
mod in_effect;
mod kernel_advice;
mod kubernetes;
mod limits_advice;
mod man;
mod output;
mod paths;
mod proc_root;
mod reports;
mod rules_json;
mod secret_property;
mod secrets;
#[path = "../../src/test_support/skip.rs"]
mod skip;
mod sysctl_boot;
mod text_report;
mod transport_advice;
mod validate;
mod wiring_advice;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fake root copied to a temporary directory, and the binary run against it.
pub struct CliTest {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl CliTest {
    /// Copies `tests/fixtures/hosts/<scenario>` to a fresh temporary root.
    pub fn new(scenario: &str) -> CliTest {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        copy_tree(&fixtures().join("hosts").join(scenario), &root);
        CliTest { dir, root }
    }

    /// `apim-tune audit --root ROOT --color never [--apim-home ROOT/opt/HOME] ARGS…`, with an
    /// environment that cannot leak in (no JAVA_HOME, APIM_HOME, CARBON_HOME, NO_COLOR).
    pub fn audit(&self, home: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = self.audit_with_color(home, args);
        cmd.args(["--color", "never"]);
        cmd
    }

    /// Like [`CliTest::audit`] but without `--color never`, for the colour tests.
    pub fn audit_with_color(&self, home: Option<&str>, args: &[&str]) -> Command {
        self.command("audit", home, args)
    }

    /// `apim-tune SUBCOMMAND --root ROOT [--apim-home ROOT/opt/HOME] ARGS…` in a clean environment.
    pub fn command(&self, subcommand: &str, home: Option<&str>, args: &[&str]) -> Command {
        Command::from_std(self.std_command(subcommand, home, args))
    }

    /// [`CliTest::command`] as a plain `std::process::Command`, for servers spawned in the background.
    pub fn std_command(
        &self,
        subcommand: &str,
        home: Option<&str>,
        args: &[&str],
    ) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("apim-tune"));
        cmd.env_remove("JAVA_HOME")
            .env_remove("APIM_HOME")
            .env_remove("CARBON_HOME")
            .env_remove("NO_COLOR")
            .current_dir(self.dir.path())
            .arg(subcommand)
            .arg("--root")
            .arg(&self.root);
        if let Some(h) = home {
            cmd.arg("--apim-home").arg(self.root.join("opt").join(h));
        }
        cmd.args(args);
        cmd
    }

    /// Runs and returns (exit code, stdout, stderr) with the temporary root replaced by `[ROOT]`.
    pub fn run(&self, home: Option<&str>, args: &[&str]) -> (i32, String, String) {
        let out = self.audit(home, args).output().unwrap();
        let root = self.root.display().to_string();
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&root, "[ROOT]");
        (
            out.status.code().unwrap_or(-1),
            clean(&out.stdout),
            clean(&out.stderr),
        )
    }

    pub fn json(&self, home: Option<&str>, args: &[&str]) -> (i32, serde_json::Value) {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = self.run(home, &all);
        let v = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{stdout}\n{stderr}"));
        (code, v)
    }
}

pub fn codes_of(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
