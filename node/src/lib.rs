//! `exlic-node`: the exlic node — storage, domain rules, roles and the HTTP API.
//!
//! * [`domain`] — the licence domain, free of I/O (reference data, rules V01–V24,
//!   totals, numbering, lifecycle);
//! * [`store`] — the redb file: Automerge documents, attachment blobs, index tables,
//!   the change sequence, seals and the outbox;
//! * [`enterprise`] — the enterprise role: what a user can do, as transactions;
//! * [`authority`] — the authority role: registry, invites, replicas, submissions;
//! * [`sync`] — libp2p transport and the sync protocol between the two roles;
//! * [`ekey`] — the PIN-protected enterprise master key (e-key) and its lockout;
//! * [`api`] — the axum router for `/api/v1/` and its OpenAPI document;
//! * [`config`], [`clock`], [`cli`] — the shell around them.

/// jemalloc for every program built on the node (the `exlic` binary, the benches, the
/// tests). With glibc's allocator, loading Automerge documents fragments the heap badly:
/// 1,000 documents holding 26 MB live kept 137 MB resident, and 1.1 GB after saving each
/// once; jemalloc keeps them at 37 MB and makes a first sync's loading faster.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod api;
pub mod authority;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod ekey;
pub mod enterprise;
pub mod random;
pub mod store;
pub mod sync;
pub mod tls;
pub mod ui;
