//! Orchestration of `fleet merge`: exports + inventory (+ manifests) → matched nodes →
//! cross-node findings (`rules::fleet`) → waivers → a [`crate::outcome::FleetReport`]. Never prints.
