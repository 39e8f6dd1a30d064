//! Limits rules that need code: soft above hard, nproc for Carbon's threads, root and `*`.
//!
//! Each judges limits.conf and limits.d only when no systemd unit runs API-M: a service never
//! goes through pam_limits, and the service rules judge its unit instead.

pub mod nproc_threads;
pub mod root_wildcard;
pub mod soft_above_hard;

#[cfg(test)]
mod tests;
