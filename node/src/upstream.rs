//! What a node that syncs with an office as its client (the enterprise, customs) gives
//! the network driver (`sync::client`): a sans-IO session per connection that answers
//! each of the office's answers with its next request ([`Step`]), and the few facts the
//! driver needs ([`ClientRole`]).

use std::sync::Arc;

use exlic_client::protocol::{ErrorCode, Request, Response};

use crate::store::Store;

/// The office's answer to a request: a response, or its refusal.
pub type Answer = Result<Response, (ErrorCode, String)>;

/// What to do next.
#[derive(Debug)]
pub enum Step {
    /// Send this request and hand its answer to [`ClientRole::answer`].
    Send(Request),
    /// The round is complete; start the next with [`ClientRole::round`] after a local
    /// change or the poll interval.
    RoundDone,
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The authority refused a request the session cannot go on without.
    #[error("the authority refused: {0:?}: {1}")]
    Refused(ErrorCode, String),
    /// An answer that does not fit the request.
    #[error("unexpected answer")]
    Unexpected,
    /// This node could not do its part.
    #[error("{0}")]
    Local(String),
}

/// One of the offices a client node syncs with: the one it was enrolled from, or another
/// it enrolled with later (an enterprise whose commodities several offices issue, a customs
/// district that checks every office's licences).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Link {
    /// The office the node was enrolled from.
    Home,
    /// Another office, by agency code.
    Other(String),
}

impl Link {
    /// The link for `agency` (home when it is the home office's code).
    pub fn of(home: &str, agency: &str) -> Link {
        if agency == home {
            Link::Home
        } else {
            Link::Other(agency.to_owned())
        }
    }

    /// Whether this is the home office.
    pub fn is_home(&self) -> bool {
        matches!(self, Link::Home)
    }

    /// Another office's agency code; `None` for the home office.
    pub fn other(&self) -> Option<&str> {
        match self {
            Link::Home => None,
            Link::Other(a) => Some(a),
        }
    }

    /// The record key `base` of this link: `base` itself for the home office (as before
    /// a node could have several), `office.<agency>.<base>` for another.
    pub fn key(&self, base: &str) -> String {
        match self {
            Link::Home => base.to_owned(),
            Link::Other(a) => format!("office.{a}.{base}"),
        }
    }
}

/// How to enrol: the office's root key, the invite secret until enrolled, and (an
/// enterprise's first device) the e-key's public key.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The authority's root key (its identity; the root of this node's trust).
    pub authority_key: [u8; 32],
    /// The invite secret, until enrolled.
    pub invite_secret: Option<[u8; 32]>,
    /// The enterprise's master public key, registered at enrolment (customs: unused).
    pub master_key: [u8; 32],
    /// The agency code of the office, when it is not the node's home office (an
    /// enterprise or a customs node enrolled with several).
    pub office: Option<String>,
}

/// A role that syncs with an office as its client.
pub trait ClientRole: Send + Sync + 'static {
    /// One connection's session state.
    type Session: Send + 'static;
    /// The node's key seed (its libp2p identity).
    fn device_seed(&self) -> [u8; 32];
    /// Its store (whose change notification starts a round early).
    fn store(&self) -> &Arc<Store>;
    /// Now, by the node's clock, Unix ms.
    fn now_ms(&self) -> i64;
    /// A new session after a connection is established; `rounds` counts earlier rounds.
    fn open(&self, creds: Credentials, rounds: u64) -> Self::Session;
    /// Starts a round.
    fn round(&self, s: &mut Self::Session) -> Result<Step, SessionError>;
    /// Takes the answer to the last request.
    fn answer(&self, s: &mut Self::Session, answer: Answer) -> Result<Step, SessionError>;
    /// Work the session deferred, run while its last request is in flight (the driver
    /// may skip it: the session runs it with the next answer at the latest).
    fn between(&self, _s: &mut Self::Session) -> Result<(), SessionError> {
        Ok(())
    }
    /// Whether the session has deferred work for [`Self::between`].
    fn has_deferred(_s: &Self::Session) -> bool {
        false
    }
    /// Whether the node is known to be enrolled.
    fn enrolled(s: &Self::Session) -> bool;
    /// Rounds completed.
    fn rounds(s: &Self::Session) -> u64;
}
