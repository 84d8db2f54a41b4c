//! A customs node's session with one of its offices, with no I/O of its own (the network
//! driver is `sync::client`, one per office): enrol once with that office's invite, then
//! each round follow its standing feed page by page from where the last page ended,
//! follow its log head (its newest checkpoint, proved from hash tiles to extend the one
//! held: `log_head`), and report the usage ledger from the first entry that office has
//! not acknowledged.

use exlic_client::protocol::{Request, Response, TileRef};

use super::Customs;
use super::log_head::LogStep;
use crate::upstream::{Answer, ClientRole, Credentials, Link, SessionError, Step};

/// Ledger entries per upload.
pub const USAGE_BATCH: usize = 500;

impl From<super::CustomsError> for SessionError {
    fn from(e: super::CustomsError) -> Self {
        SessionError::Local(e.to_string())
    }
}

/// Where a round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Enrol,
    Standing,
    Log,
    Usage,
}

/// One connection's session.
#[derive(Debug)]
pub struct Session {
    creds: Credentials,
    /// The office this session is with.
    link: Link,
    phase: Phase,
    rounds: u64,
    enrolled: bool,
    /// The tiles of the last log request.
    asked: Vec<TileRef>,
}

impl Session {
    fn log(&mut self, size: u64, tiles: Vec<TileRef>) -> Step {
        self.phase = Phase::Log;
        self.asked = tiles.clone();
        Step::Send(Request::LogTiles { size, tiles })
    }

    fn usage_or_done(&mut self, c: &Customs) -> Result<Step, SessionError> {
        let entries = c.unreported(&self.link, USAGE_BATCH)?;
        if entries.is_empty() {
            self.rounds += 1;
            return Ok(Step::RoundDone);
        }
        self.phase = Phase::Usage;
        Ok(Step::Send(Request::Usage(entries)))
    }
}

impl ClientRole for Customs {
    type Session = Session;

    fn device_seed(&self) -> [u8; 32] {
        self.seed()
    }

    fn store(&self) -> &std::sync::Arc<crate::store::Store> {
        Customs::store(self)
    }

    fn now_ms(&self) -> i64 {
        Customs::now_ms(self)
    }

    fn open(&self, creds: Credentials, rounds: u64) -> Session {
        Session {
            link: creds.office.clone().map_or(Link::Home, Link::Other),
            creds,
            phase: Phase::Enrol,
            rounds,
            enrolled: false,
            asked: Vec::new(),
        }
    }

    fn round(&self, s: &mut Session) -> Result<Step, SessionError> {
        if !s.enrolled
            && let Some(secret) = s
                .creds
                .invite_secret
                .filter(|_| self.invite_secret(&s.link).ok().flatten().is_some())
        {
            s.phase = Phase::Enrol;
            return Ok(Step::Send(Request::EnrolCustoms { secret }));
        }
        s.enrolled = true;
        s.phase = Phase::Standing;
        Ok(Step::Send(Request::Standing {
            cursor: self.feed_cursor(&s.link)?,
        }))
    }

    fn answer(&self, s: &mut Session, answer: Answer) -> Result<Step, SessionError> {
        let r = answer.map_err(|(c, m)| SessionError::Refused(c, m))?;
        match (s.phase, r) {
            (Phase::Enrol, Response::Enrolled { enterprise_uscc }) => {
                if enterprise_uscc != self.district() {
                    return Err(SessionError::Local(format!(
                        "the office enrolled this node for district {enterprise_uscc}, not {}",
                        self.district()
                    )));
                }
                self.set_enrolled(&s.link)?;
                s.enrolled = true;
                s.phase = Phase::Standing;
                Ok(Step::Send(Request::Standing {
                    cursor: self.feed_cursor(&s.link)?,
                }))
            }
            (Phase::Standing, Response::Standing { page, keys, more }) => {
                let next = self.apply_standing(&s.link, &page, &keys)?;
                if more {
                    return Ok(Step::Send(Request::Standing { cursor: next }));
                }
                Ok(s.log(0, Vec::new()))
            }
            (
                Phase::Log,
                Response::LogTiles {
                    checkpoint,
                    tiles,
                    keys,
                },
            ) => {
                if tiles.len() != s.asked.len() {
                    return Err(SessionError::Unexpected);
                }
                match self.follow_log(&s.link, &checkpoint, &s.asked, &tiles, &keys) {
                    Ok(LogStep::Fetch { size, tiles }) => Ok(s.log(size, tiles)),
                    Ok(LogStep::Done) => s.usage_or_done(self),
                    // What the office showed proves nothing either way (a checkpoint that
                    // does not verify, tiles it did not serve): the head held stays, and
                    // the usage report is not held up by it.
                    Err(super::CustomsError::BadInput { field, message }) => {
                        tracing::warn!(%field, %message, "the office's log head was not taken");
                        s.usage_or_done(self)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            (Phase::Usage, Response::UsageStored { seq }) => {
                let (last, acked) = self.ledger_position_at(&s.link)?;
                if seq > last || seq < acked {
                    return Err(SessionError::Unexpected);
                }
                if seq == acked {
                    // Nothing new was taken: stop for this round rather than resend.
                    s.rounds += 1;
                    return Ok(Step::RoundDone);
                }
                self.set_reported(&s.link, seq)?;
                s.usage_or_done(self)
            }
            _ => Err(SessionError::Unexpected),
        }
    }

    fn enrolled(s: &Session) -> bool {
        s.enrolled
    }

    fn rounds(s: &Session) -> u64 {
        s.rounds
    }
}
