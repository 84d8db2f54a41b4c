//! The office's signed statement of a licence's standing (`exlic/standing/v1`): valid,
//! deleted (删证), written off (核销), used up or expired, since when, and as of when the
//! office said so. The office signs one when it issues a licence and one at each change;
//! the statement travels with the licence to the enterprise, which serves it beside the
//! licence file, and `exlic verify --standing` checks a licence against it offline.
//!
//! A statement says what was true at `as_of_ms`; a verifier shows how old it is. Expiry
//! needs no statement: [`judge`] reads it from the licence and the verifier's own date.

use crate::certificate::Trust;
use crate::encoding::{DecodeError, Reader, Writer};
use crate::licence::{Licence, valid_licence_no};
use crate::signed::{self, SignedError};

/// Signature tag of standing statements.
pub const TAG: &[u8] = b"exlic/standing/v1";

/// A licence's standing (domain.md §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Issued, and none of the below.
    Valid,
    /// 删证 approved.
    Deleted,
    /// 核销 approved.
    WrittenOff,
    /// Every use (一批一证 1, 非一批一证 12) or the whole quantity declared at customs.
    UsedUp,
    /// Past its expiry date (有效截止日期).
    Expired,
}

impl State {
    /// Every state, in tag order.
    pub const ALL: [State; 5] = [
        State::Valid,
        State::Deleted,
        State::WrittenOff,
        State::UsedUp,
        State::Expired,
    ];

    /// The one-byte tag in the encoding.
    pub fn tag(self) -> u8 {
        match self {
            State::Valid => 0,
            State::Deleted => 1,
            State::WrittenOff => 2,
            State::UsedUp => 3,
            State::Expired => 4,
        }
    }

    /// From its tag.
    pub fn from_tag(t: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.tag() == t)
    }

    /// The API code: `valid`, `deleted`, `written_off`, `used_up`, `expired`.
    pub fn code(self) -> &'static str {
        match self {
            State::Valid => "valid",
            State::Deleted => "deleted",
            State::WrittenOff => "written_off",
            State::UsedUp => "used_up",
            State::Expired => "expired",
        }
    }

    /// From its API code.
    pub fn from_code(c: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == c)
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            State::Valid => "有效",
            State::Deleted => "已删证",
            State::WrittenOff => "已核销",
            State::UsedUp => "已用完",
            State::Expired => "已过期",
        }
    }
}

/// What the office attests about one licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// 许可证号.
    pub licence_no: String,
    /// Its standing.
    pub state: State,
    /// When it took this standing (issuance for `Valid`), Unix ms.
    pub since_ms: i64,
    /// When the office signed this statement: the standing is as of then, Unix ms.
    pub as_of_ms: i64,
    /// The office key that signs.
    pub authority_key: [u8; 32],
}

/// Why a licence and a statement do not go together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandingError {
    /// The statement is about another licence.
    #[error("the standing is about licence {statement}, not {licence}")]
    OtherLicence {
        /// The licence checked.
        licence: String,
        /// The statement's licence.
        statement: String,
    },
    /// The statement does not verify.
    #[error("the standing statement does not verify: {0}")]
    Signature(#[from] SignedError),
}

impl Standing {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .str(&self.licence_no)
            .u8(self.state.tag())
            .i64(self.since_ms)
            .i64(self.as_of_ms)
            .fixed(&self.authority_key);
        w.finish()
    }

    /// Decodes, refusing anything malformed.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let licence_no = r.str("licence_no", 16)?.to_owned();
        if !valid_licence_no(&licence_no) {
            return Err(DecodeError::Invalid {
                field: "licence_no",
                reason: "not a licence number",
            });
        }
        let state = State::from_tag(r.u8("state")?).ok_or(DecodeError::Invalid {
            field: "state",
            reason: "unknown",
        })?;
        let out = Self {
            licence_no,
            state,
            since_ms: r.i64("since_ms")?,
            as_of_ms: r.i64("as_of_ms")?,
            authority_key: r.fixed("authority_key")?,
        };
        r.end()?;
        if out.since_ms > out.as_of_ms {
            return Err(DecodeError::Invalid {
                field: "since_ms",
                reason: "after as_of_ms",
            });
        }
        Ok(out)
    }

    /// Signs with the office key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(TAG, &self.encode(), key)
    }

    /// Checks a signed statement against a chain of office keys: it must be signed by the
    /// key it names, and that key must have been the office's key at `as_of_ms`.
    pub fn verify_trusted(carried: &[u8], trust: &Trust) -> Result<Self, SignedError> {
        signed::open_dated(TAG, carried, trust, Self::decode, |s| {
            (s.authority_key, s.as_of_ms)
        })
    }
}

/// Signature tag of standing feed pages.
pub const FEED_TAG: &[u8] = b"exlic/standing-feed/v1";
/// Most entries on one feed page.
pub const FEED_MAX_ENTRIES: usize = 4096;

/// One licence's standing on a feed page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// 许可证号.
    pub licence_no: String,
    /// Its standing.
    pub state: State,
    /// Since when, Unix ms.
    pub since_ms: i64,
}

/// A page of the office's standing feed (`exlic/standing-feed/v1`): the standing of every
/// licence whose standing changed at feed positions `from..to`, as of `as_of_ms`. A node
/// that is not a licence's holder (customs) follows the feed from its last `to`, so a
/// round carries only what changed; one signature covers the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPage {
    /// The office key that signs.
    pub authority_key: [u8; 32],
    /// The first feed position covered.
    pub from: u64,
    /// One past the last feed position covered: where the next page starts.
    pub to: u64,
    /// When the office signed the page, Unix ms.
    pub as_of_ms: i64,
    /// The licences whose standing changed in `from..to`, each once, with its standing now.
    pub entries: Vec<FeedEntry>,
}

impl FeedPage {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .fixed(&self.authority_key)
            .u64(self.from)
            .u64(self.to)
            .i64(self.as_of_ms)
            .count(self.entries.len());
        for e in &self.entries {
            w.str(&e.licence_no).u8(e.state.tag()).i64(e.since_ms);
        }
        w.finish()
    }

    /// Decodes, refusing anything malformed.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let authority_key = r.fixed("authority_key")?;
        let from = r.u64("from")?;
        let to = r.u64("to")?;
        let as_of_ms = r.i64("as_of_ms")?;
        if to < from {
            return Err(DecodeError::Invalid {
                field: "to",
                reason: "before from",
            });
        }
        let n = r.count("entries", FEED_MAX_ENTRIES, 23)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let licence_no = r.str("entries.licence_no", 16)?.to_owned();
            if !valid_licence_no(&licence_no) {
                return Err(DecodeError::Invalid {
                    field: "entries.licence_no",
                    reason: "not a licence number",
                });
            }
            let state = State::from_tag(r.u8("entries.state")?).ok_or(DecodeError::Invalid {
                field: "entries.state",
                reason: "unknown",
            })?;
            entries.push(FeedEntry {
                licence_no,
                state,
                since_ms: r.i64("entries.since_ms")?,
            });
        }
        r.end()?;
        Ok(Self {
            authority_key,
            from,
            to,
            as_of_ms,
            entries,
        })
    }

    /// Signs with the office key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(FEED_TAG, &self.encode(), key)
    }

    /// Checks a signed page against a chain of office keys, like [`Standing::verify_trusted`].
    pub fn verify_trusted(carried: &[u8], trust: &Trust) -> Result<Self, SignedError> {
        signed::open_dated(FEED_TAG, carried, trust, Self::decode, |p| {
            (p.authority_key, p.as_of_ms)
        })
    }
}

/// A licence's standing as a verifier concludes it on `today` (`YYYYMMDD`, China):
/// the statement's, when it says anything but valid; else expired past the licence's
/// expiry; else valid. A statement about another licence is an error.
pub fn judge(
    licence: &Licence,
    statement: Option<&Standing>,
    today: &str,
) -> Result<State, StandingError> {
    if let Some(s) = statement {
        if s.licence_no != licence.licence_no {
            return Err(StandingError::OtherLicence {
                licence: licence.licence_no.clone(),
                statement: s.licence_no.clone(),
            });
        }
        if s.state != State::Valid {
            return Ok(s.state);
        }
    }
    if licence.expiry.replace('-', "").as_str() < today {
        return Ok(State::Expired);
    }
    Ok(State::Valid)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;

    fn statement(state: State, key: &SigningKey) -> Standing {
        Standing {
            licence_no: "26AA000001".into(),
            state,
            since_ms: 1_764_000_000_000,
            as_of_ms: 1_764_000_100_000,
            authority_key: key.verifying_key().to_bytes(),
        }
    }

    #[test]
    fn a_statement_verifies_only_under_its_office_and_decides_the_standing() {
        let office = SigningKey::from_bytes(&[1; 32]);
        let other = SigningKey::from_bytes(&[5; 32]);
        let trust = Trust::new(office.verifying_key().to_bytes());
        let lic = crate::sample::licence(); // 26AA000001, expires 20261231
        for state in State::ALL {
            let signed = statement(state, &office).sign(&office);
            let s = Standing::verify_trusted(&signed, &trust).unwrap();
            assert_eq!(s.state, state);
            assert_eq!(State::from_code(state.code()), Some(state));
            let judged = judge(&lic, Some(&s), "20261201").unwrap();
            assert_eq!(judged, state, "a statement's standing is the verdict");
        }
        // Signed by a key outside the chain, or altered: refused.
        let forged = statement(State::Valid, &other).sign(&other);
        assert!(Standing::verify_trusted(&forged, &trust).is_err());
        let mut altered = statement(State::Deleted, &office).sign(&office);
        let i = 4 + 1 + 4 + 10; // the state byte, after version and licence number
        altered[i] = State::Valid.tag();
        assert!(Standing::verify_trusted(&altered, &trust).is_err());
        // Expiry needs no statement; a valid statement does not outlive the expiry.
        assert_eq!(judge(&lic, None, "20261231").unwrap(), State::Valid);
        assert_eq!(judge(&lic, None, "20270101").unwrap(), State::Expired);
        let valid = statement(State::Valid, &office);
        assert_eq!(
            judge(&lic, Some(&valid), "20270101").unwrap(),
            State::Expired
        );
        // A statement about another licence is no evidence about this one.
        let other_no = Standing {
            licence_no: "26AA000002".into(),
            ..statement(State::Deleted, &office)
        };
        assert!(matches!(
            judge(&lic, Some(&other_no), "20261201"),
            Err(StandingError::OtherLicence { .. })
        ));
    }

    #[test]
    fn malformed_statements_are_refused() {
        let office = SigningKey::from_bytes(&[1; 32]);
        let mut s = statement(State::Valid, &office);
        s.licence_no = "not-a-number".into();
        assert!(Standing::decode(&s.encode()).is_err());
        let mut s = statement(State::Valid, &office);
        s.since_ms = s.as_of_ms + 1;
        assert!(Standing::decode(&s.encode()).is_err());
        let mut b = statement(State::Valid, &office).encode();
        b[1 + 4 + 10] = 9; // unknown state
        assert!(Standing::decode(&b).is_err());
    }

    #[test]
    fn a_feed_page_round_trips_verifies_and_stays_small() {
        let office = SigningKey::from_bytes(&[1; 32]);
        let trust = Trust::new(office.verifying_key().to_bytes());
        let page = FeedPage {
            authority_key: office.verifying_key().to_bytes(),
            from: 7,
            to: 1007,
            as_of_ms: 1_764_000_100_000,
            entries: (0..1000)
                .map(|i| FeedEntry {
                    licence_no: format!("26AA{i:06}"),
                    state: State::ALL[i % 5],
                    since_ms: 1_764_000_000_000 + i as i64,
                })
                .collect(),
        };
        let signed = page.sign(&office);
        assert!(signed.len() < 64 * 1024, "{} bytes", signed.len());
        assert_eq!(FeedPage::verify_trusted(&signed, &trust).unwrap(), page);
        let other = SigningKey::from_bytes(&[5; 32]);
        assert!(FeedPage::verify_trusted(&page.sign(&other), &trust).is_err());
        let mut altered = signed;
        altered[4 + 1 + 32 + 8 + 8 + 8 + 4 + 4 + 10] ^= 1; // the first entry's state
        assert!(FeedPage::verify_trusted(&altered, &trust).is_err());
    }
}
