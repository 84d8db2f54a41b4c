//! Sync between enterprise and authority nodes over libp2p (TCP + Noise + Yamux,
//! identify, ping, and request-response on `/exlic/sync/1`).
//!
//! * [`codec`] frames [`exlic_client::protocol`] messages with size limits;
//! * [`net`] builds the swarm both roles use (limits, timeouts, the peer's ed25519 key);
//! * [`client`] is the enterprise side: dial with backoff, sync rounds, blob upload,
//!   outbox delivery, status for the UI;
//! * [`server`] is the authority side: accepts requests and hands them to
//!   [`crate::authority::Authority`].

pub mod client;
pub mod codec;
pub mod net;
pub mod per_source;
pub mod server;
