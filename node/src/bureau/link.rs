//! The bureau's link to one office as a client role: the sans-IO session the network
//! driver runs — read the office's log page by page, then hand back the co-signature.

use super::*;

/// The bureau's link to one office, for the network driver: one per office.
#[derive(Debug, Clone)]
pub struct OfficeLink {
    /// The bureau.
    pub bureau: Arc<Bureau>,
    /// The office's number.
    pub office: u32,
}

/// Where a link's session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Read,
    Cosign,
}

/// One link's session: read the log page by page, then send the co-signature.
#[derive(Debug)]
pub struct LinkSession {
    phase: Phase,
    from: u64,
    rounds: u64,
}

impl From<BureauError> for SessionError {
    fn from(e: BureauError) -> Self {
        SessionError::Local(e.to_string())
    }
}

impl ClientRole for OfficeLink {
    type Session = LinkSession;

    fn device_seed(&self) -> [u8; 32] {
        self.bureau.key.to_bytes()
    }

    fn store(&self) -> &Arc<Store> {
        &self.bureau.store
    }

    fn now_ms(&self) -> i64 {
        self.bureau.clock.now_ms()
    }

    fn open(&self, _creds: Credentials, rounds: u64) -> LinkSession {
        LinkSession {
            phase: Phase::Read,
            from: 0,
            rounds,
        }
    }

    fn round(&self, s: &mut LinkSession) -> Result<Step, SessionError> {
        if self.bureau.halted(self.office)? {
            s.rounds += 1;
            return Ok(Step::RoundDone);
        }
        s.phase = Phase::Read;
        s.from = self.bureau.held(self.office)?;
        Ok(Step::Send(Request::LogPage { from: s.from }))
    }

    fn answer(&self, s: &mut LinkSession, answer: Answer) -> Result<Step, SessionError> {
        let r = answer.map_err(|(c, m)| SessionError::Refused(c, m))?;
        match (s.phase, r) {
            (
                Phase::Read,
                Response::LogPage {
                    entries,
                    checkpoint,
                    keys,
                    more,
                },
            ) => match self.bureau.apply_page(
                self.office,
                s.from,
                &entries,
                &checkpoint,
                &keys,
                more,
            )? {
                PageOutcome::More { from } => {
                    s.from = from;
                    Ok(Step::Send(Request::LogPage { from }))
                }
                PageOutcome::Cosign(note) => {
                    s.phase = Phase::Cosign;
                    Ok(Step::Send(Request::Cosigned { checkpoint: note }))
                }
                PageOutcome::Done | PageOutcome::Halted => {
                    s.rounds += 1;
                    Ok(Step::RoundDone)
                }
            },
            (Phase::Cosign, Response::CosignKept) => {
                s.rounds += 1;
                Ok(Step::RoundDone)
            }
            _ => Err(SessionError::Unexpected),
        }
    }

    fn enrolled(_s: &LinkSession) -> bool {
        true
    }

    fn rounds(s: &LinkSession) -> u64 {
        s.rounds
    }
}
