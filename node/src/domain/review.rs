//! The review state machine (domain.md §3.1): the 经办人's 初审 then the 处长's 复审, each
//! approving or refusing with a reason; approval at 复审 issues the licence.

use exlic_client::status::ApplicationStatus;

/// Which review stage decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// 初审 by the 经办人.
    Initial,
    /// 复审 by the 处长.
    Second,
}

impl Stage {
    /// The status a case waits in for this stage.
    pub fn waiting(self) -> ApplicationStatus {
        match self {
            Stage::Initial => ApplicationStatus::PendingInitial,
            Stage::Second => ApplicationStatus::PendingSecond,
        }
    }
}

/// What a decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The case's status after it.
    pub next: ApplicationStatus,
    /// The case history's name for it (synced to the enterprise, which shows it).
    pub action: &'static str,
    /// The audit trail's code for it (`store::audit::codes`).
    pub code: &'static str,
}

impl Decision {
    /// Whether the licence is issued now.
    pub fn issues(&self) -> bool {
        self.next == ApplicationStatus::Issued
    }
}

/// Why a decision cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A refusal without a reason.
    #[error("a refusal must give its reason")]
    NoReason,
    /// The case is not waiting for this stage.
    #[error("the application is {} ({}), not {}", .status.zh(), .status.code(), .stage.waiting().zh())]
    WrongStage {
        /// Where the case is.
        status: ApplicationStatus,
        /// The stage that tried to decide.
        stage: Stage,
    },
}

/// The decision of `stage` on a case at `status`: approve, or refuse with `reason`.
pub fn decide(
    stage: Stage,
    status: ApplicationStatus,
    approve: bool,
    reason: &str,
) -> Result<Decision, Refusal> {
    if !approve && reason.trim().is_empty() {
        return Err(Refusal::NoReason);
    }
    if status != stage.waiting() {
        return Err(Refusal::WrongStage { status, stage });
    }
    let (next, action, code) = match (stage, approve) {
        (Stage::Initial, true) => (
            ApplicationStatus::PendingSecond,
            "初审通过",
            "review.initial.approve",
        ),
        (Stage::Initial, false) => (
            ApplicationStatus::Returned,
            "初审不予通过",
            "review.initial.reject",
        ),
        (Stage::Second, true) => (
            ApplicationStatus::Issued,
            "复审通过",
            "review.second.approve",
        ),
        (Stage::Second, false) => (
            ApplicationStatus::Rejected,
            "复审不予通过",
            "review.second.reject",
        ),
    };
    Ok(Decision { next, action, code })
}

/// A submission of `revision` against the case the office holds (`prior`: its revision and
/// status), refused unless it is the first or a later revision of a returned application:
/// revisions only move forward (THREATS T3).
pub fn accept_revision(
    prior: Option<(u32, ApplicationStatus)>,
    revision: u32,
) -> Result<(), StaleRevision> {
    match prior {
        Some((rev, status)) if revision <= rev || status != ApplicationStatus::Returned => {
            Err(StaleRevision {
                revision,
                prior: rev,
            })
        }
        _ => Ok(()),
    }
}

/// A submission that does not move its case forward.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revision {revision} is not after revision {prior} in a returned application")]
pub struct StaleRevision {
    /// The revision submitted.
    pub revision: u32,
    /// The revision the case holds.
    pub prior: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationStatus as S;

    #[test]
    fn each_stage_moves_its_own_cases_only() {
        let d = decide(Stage::Initial, S::PendingInitial, true, "").unwrap();
        assert_eq!(d.next, S::PendingSecond);
        assert!(!d.issues());
        let d = decide(Stage::Second, S::PendingSecond, true, "").unwrap();
        assert!(d.issues());
        assert_eq!(
            decide(Stage::Initial, S::Returned, false, "x").unwrap_err(),
            Refusal::WrongStage {
                status: S::Returned,
                stage: Stage::Initial
            }
        );
        assert!(decide(Stage::Second, S::PendingInitial, true, "").is_err());
    }

    #[test]
    fn revisions_only_move_forward_and_only_after_a_return() {
        assert_eq!(accept_revision(None, 1), Ok(()));
        assert_eq!(accept_revision(Some((1, S::Returned)), 2), Ok(()));
        assert!(
            accept_revision(Some((2, S::Returned)), 2).is_err(),
            "a replay"
        );
        assert!(
            accept_revision(Some((2, S::Returned)), 1).is_err(),
            "an older one"
        );
        assert_eq!(
            accept_revision(Some((1, S::PendingInitial)), 2),
            Err(StaleRevision {
                revision: 2,
                prior: 1
            }),
            "not returned: the case is under review"
        );
    }

    #[test]
    fn a_refusal_needs_a_reason_and_returns_or_rejects() {
        assert_eq!(
            decide(Stage::Initial, S::PendingInitial, false, "  "),
            Err(Refusal::NoReason)
        );
        let d = decide(Stage::Initial, S::PendingInitial, false, "资料不全").unwrap();
        assert_eq!(d.next, S::Returned);
        let d = decide(Stage::Second, S::PendingSecond, false, "超出配额").unwrap();
        assert_eq!(d.next, S::Rejected);
    }
}
