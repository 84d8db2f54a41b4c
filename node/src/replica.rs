//! Replication below the roles: Automerge's sync step for one document against one peer
//! ([`docsync`]), used by both roles' replicas. It knows documents, peers and the store,
//! never which role runs it; what drives the roles over the network is [`crate::sync`],
//! above them.

pub mod docsync;
