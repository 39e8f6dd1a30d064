//! The key manager's token store: seeded active, expired and revoked tokens, and the revoked
//! set every request is checked against.
//!
//! Tokens look like API-M's opaque access tokens (UUIDs) and are generated from a fixed seed,
//! so the same `--tokens N` gives the same tokens on every run (scripts can reuse them).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

/// What the store knows of one token.
#[derive(Clone, Debug)]
struct Record {
    state: TokenState,
    /// When an active token stops being valid.
    expires_at: Instant,
    /// The application's subscriptions, by API name.
    subscriptions: &'static [&'static str],
}

/// The answer of a validation: a token valid until `expires_at` for these APIs, or why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validation {
    Valid {
        expires_at: Instant,
        subscriptions: &'static [&'static str],
    },
    Invalid(&'static str),
}

/// Every seeded application subscribes to the sample API; none to the admin API (→ 403).
pub(super) const SUBSCRIPTIONS: &[&str] = &["PizzaShackAPI"];

/// How long seeded active tokens stay valid: API-M's default access-token validity.
const ACTIVE_VALIDITY: Duration = Duration::from_secs(3600);

pub struct TokenStore {
    records: RwLock<HashMap<String, Record>>,
    /// Revoked tokens, consulted on every request after a cache hit, as the gateway's revoked
    /// token map is in API-M: a stale cache entry can never let a revoked token through.
    revoked: RwLock<HashSet<String>>,
}

/// Seeded tokens of each kind, for the CLI to print and the load to use.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SeededTokens {
    pub active: Vec<String>,
    pub expired: Vec<String>,
    pub revoked: Vec<String>,
}

impl TokenStore {
    /// `active` tokens, plus a tenth as many (at least one) expired and revoked ones.
    pub fn seeded(active: usize) -> (TokenStore, SeededTokens) {
        let others = (active / 10).max(1);
        let now = Instant::now();
        let mut records = HashMap::with_capacity(active + 2 * others);
        let mut seeded = SeededTokens::default();
        let mut revoked = HashSet::new();
        for (kind, count, state) in [
            (1u64, active, TokenState::Active),
            (2, others, TokenState::Expired),
            (3, others, TokenState::Revoked),
        ] {
            for i in 0..count as u64 {
                let token = token_for(kind, i);
                let expires_at = match state {
                    TokenState::Expired => now.checked_sub(Duration::from_secs(600)).unwrap_or(now),
                    _ => now + ACTIVE_VALIDITY,
                };
                records.insert(
                    token.clone(),
                    Record {
                        state,
                        expires_at,
                        subscriptions: SUBSCRIPTIONS,
                    },
                );
                match state {
                    TokenState::Active => seeded.active.push(token),
                    TokenState::Expired => seeded.expired.push(token),
                    TokenState::Revoked => {
                        revoked.insert(token.clone());
                        seeded.revoked.push(token)
                    }
                }
            }
        }
        let store = TokenStore {
            records: RwLock::new(records),
            revoked: RwLock::new(revoked),
        };
        (store, seeded)
    }

    /// The database lookup of a validation (its cost is paid by the caller).
    pub fn lookup(&self, token: &str, now: Instant) -> Validation {
        let records = self.records.read().unwrap_or_else(|p| p.into_inner());
        match records.get(token) {
            None => Validation::Invalid("unknown token"),
            Some(r) => match r.state {
                TokenState::Revoked => Validation::Invalid("token revoked"),
                TokenState::Expired => Validation::Invalid("token expired"),
                TokenState::Active if r.expires_at <= now => Validation::Invalid("token expired"),
                TokenState::Active => Validation::Valid {
                    expires_at: r.expires_at,
                    subscriptions: r.subscriptions,
                },
            },
        }
    }

    /// Marks a token revoked; `false` when the store does not know it.
    pub fn revoke(&self, token: &str) -> bool {
        // The revoked set first: from here on no request accepts the token, whatever a cache says.
        self.revoked
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.to_string());
        let mut records = self.records.write().unwrap_or_else(|p| p.into_inner());
        match records.get_mut(token) {
            Some(r) => {
                r.state = TokenState::Revoked;
                true
            }
            None => false,
        }
    }

    pub fn is_revoked(&self, token: &str) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(token)
    }
}

/// A UUID-shaped token, the same for the same (kind, index) on every run.
pub fn token_for(kind: u64, index: u64) -> String {
    let a = splitmix64(kind.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    let b = splitmix64(a ^ 0xD1B5_4A32_D192_ED03);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a & 0x0fff) as u16,
        ((b >> 48) as u16 & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_tokens_are_stable_distinct_and_uuid_shaped() {
        let (_, a) = TokenStore::seeded(50);
        let (_, b) = TokenStore::seeded(50);
        assert_eq!(a.active, b.active);
        assert_eq!(
            (a.active.len(), a.expired.len(), a.revoked.len()),
            (50, 5, 5)
        );
        let all: HashSet<&String> = a
            .active
            .iter()
            .chain(&a.expired)
            .chain(&a.revoked)
            .collect();
        assert_eq!(all.len(), 60);
        let t = &a.active[0];
        assert_eq!(t.len(), 36);
        assert_eq!(t.matches('-').count(), 4);
    }

    #[test]
    fn lookup_tells_each_state_apart() {
        let (store, seeded) = TokenStore::seeded(10);
        let now = Instant::now();
        assert!(matches!(
            store.lookup(&seeded.active[0], now),
            Validation::Valid { .. }
        ));
        assert_eq!(
            store.lookup(&seeded.expired[0], now),
            Validation::Invalid("token expired")
        );
        assert_eq!(
            store.lookup(&seeded.revoked[0], now),
            Validation::Invalid("token revoked")
        );
        assert_eq!(
            store.lookup("no-such-token", now),
            Validation::Invalid("unknown token")
        );
        // An active token past its validity is expired even if nobody marked it.
        assert_eq!(
            store.lookup(
                &seeded.active[0],
                now + ACTIVE_VALIDITY + Duration::from_secs(1)
            ),
            Validation::Invalid("token expired")
        );
    }

    #[test]
    fn revoke_marks_the_token_and_the_revoked_set() {
        let (store, seeded) = TokenStore::seeded(10);
        let t = &seeded.active[3];
        assert!(!store.is_revoked(t));
        assert!(store.revoke(t));
        assert!(store.is_revoked(t));
        assert_eq!(
            store.lookup(t, Instant::now()),
            Validation::Invalid("token revoked")
        );
        assert!(!store.revoke("unknown"));
    }
}
