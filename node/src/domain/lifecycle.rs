//! The application state machine (domain.md §9.1) as seen from the enterprise node.

use exlic_client::status::ApplicationStatus;

/// An action the enterprise asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 暂存 / edit fields / attach files.
    Edit,
    /// 保存并盖章.
    Seal,
    /// 上报.
    Report,
    /// Take a sealed application that has not been reported back to 暂存 to correct it
    /// (its next seal is a new revision under the same 申请表号).
    Unseal,
    /// Delete the draft.
    Delete,
}

/// Why an action is refused in the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} is not allowed while the application is {zh} ({code}): {why}", zh = .status.zh(), code = .status.code())]
pub struct Refused {
    /// What was asked.
    pub action: &'static str,
    /// The state it is in.
    pub status: ApplicationStatus,
    /// Why not, in words.
    pub why: &'static str,
}

/// Checks whether `action` is allowed in `status`.
pub fn check(status: ApplicationStatus, action: Action) -> Result<(), Refused> {
    use ApplicationStatus as S;
    let (name, ok, why) = match action {
        Action::Edit => (
            "editing",
            matches!(status, S::Draft | S::Returned),
            "a sealed application is frozen until the authority returns it for correction",
        ),
        Action::Seal => (
            "sealing",
            matches!(status, S::Draft | S::Returned),
            "only a draft or an application returned for correction can be sealed",
        ),
        Action::Report => (
            "reporting",
            matches!(status, S::Sealed),
            "only a sealed application that has not been reported can be reported",
        ),
        Action::Unseal => (
            "taking back to draft",
            matches!(status, S::Sealed),
            "only a sealed application that has not been reported can go back to draft",
        ),
        Action::Delete => (
            "deleting",
            matches!(status, S::Draft | S::Sealed),
            "only drafts and sealed applications not yet reported can be deleted",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(Refused {
            action: name,
            status,
            why,
        })
    }
}

/// Whether edits are refused in this status.
pub fn is_frozen(status: ApplicationStatus) -> bool {
    check(status, Action::Edit).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationStatus as S;

    #[test]
    fn the_table_of_allowed_actions() {
        let allowed = |s, a| check(s, a).is_ok();
        assert!(allowed(S::Draft, Action::Edit));
        assert!(allowed(S::Returned, Action::Edit));
        assert!(!allowed(S::Sealed, Action::Edit));
        assert!(!allowed(S::Queued, Action::Edit));
        assert!(allowed(S::Returned, Action::Seal));
        assert!(!allowed(S::Sealed, Action::Seal));
        assert!(allowed(S::Sealed, Action::Report));
        assert!(!allowed(S::Draft, Action::Report));
        assert!(!allowed(S::Queued, Action::Report));
        assert!(allowed(S::Sealed, Action::Delete));
        assert!(allowed(S::Sealed, Action::Unseal));
        assert!(!allowed(S::Queued, Action::Unseal));
        assert!(!allowed(S::Draft, Action::Unseal));
        assert!(!allowed(S::PendingInitial, Action::Delete));
        let msg = check(S::Sealed, Action::Edit).unwrap_err().to_string();
        assert!(msg.contains("待上报"), "{msg}");
    }
}
