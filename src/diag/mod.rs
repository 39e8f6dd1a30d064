//! Diagnostics core: what a finding is, in types. [`Code`] names a kind of problem, [`Subject`]
//! the setting it is about, [`Fix`] what would change and what it takes to be in effect, and
//! [`Finding`] puts them together with the evidence.
//!
//! Plain data with no knowledge of any rule, reader or output format: `rules/` declares the codes
//! and builds findings, `report/` renders them and `edit/` realises their fixes.

mod code;
mod finding;
mod fix;
mod severity;
pub mod sources;
mod subject;

pub use code::{Code, CodeInfo, Family};
pub use finding::{Checked, Finding, Waived};
pub use fix::{Applicability, Change, Effect, Fix, FixShape, JvmValue, Value, ValueKind};
pub use severity::Severity;
pub use subject::Subject;
