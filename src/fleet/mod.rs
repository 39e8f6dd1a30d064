//! A deployment of many nodes, read: the per-node facts export (`apim-tune facts`, schema
//! [`facts::SCHEMA`]), Ansible's inventory and rendered Kubernetes manifests.
//!
//! Like `host/` and `apim/` this only reads and models; the cross-node rules in
//! `rules/fleet/` judge what it reads, and `deployment` orchestrates a `fleet merge`.

pub mod facts;
pub mod inventory;
pub mod k8s;
pub mod nodes;
