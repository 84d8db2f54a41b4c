//! Staff of the issuing office: the roles (经办人, 处长, administrator) over the node's
//! [`accounts`](crate::accounts) — passwords, the wrong-password throttle, sessions and
//! the audit trail.

use super::AuthorityError;
use super::command::{Op, Outcome};
use crate::accounts::{self, AccountError, Accounts};
pub use crate::accounts::{LoginError, MAX_FAILURES, SESSION_TTL_MS};
use crate::store::audit::AuditEntry;

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// 经办人: initial review (初审).
    Officer,
    /// 处长: second review (复审) and issuing.
    Chief,
    /// Administrator: enrolment of enterprises, staff.
    Admin,
}

impl Role {
    /// Parses `officer`, `chief` or `admin`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "officer" => Some(Role::Officer),
            "chief" => Some(Role::Chief),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Chief => "chief",
            Role::Admin => "admin",
        }
    }

    /// The title the office uses.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Officer => "经办人",
            Role::Chief => "处长",
            Role::Admin => "管理员",
        }
    }
}

/// A signed-in staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// Login name.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

impl Staff {
    /// How the audit trail names this person.
    pub fn actor(&self) -> String {
        format!("{} {} ({})", self.role.zh(), self.name, self.login)
    }
}

/// Staff accounts, sign-in and the audit trail.
#[derive(Debug, Clone)]
pub struct StaffAccounts {
    pub(super) accounts: Accounts,
    pub(super) office: std::sync::Arc<super::office::Office>,
}

impl StaffAccounts {
    /// Creates or replaces a staff account: checked and hashed here (the salt drawn
    /// here), stored by a command, so every replica of an office holds the same account.
    pub fn put(
        &self,
        login: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<(), AuthorityError> {
        let (login, row) =
            Accounts::row_for(login, name, role.code(), password).map_err(|e| match e {
                AccountError::BadInput { field, message } => {
                    AuthorityError::bad_input(field, message)
                }
                AccountError::Store(e) => e.into(),
            })?;
        match self.office.run(Op::PutStaff {
            login,
            name: row.name,
            role: row.role,
            hash: row.hash,
        })? {
            Outcome::StaffPut => Ok(()),
            other => Err(Outcome::unexpected(other)),
        }
    }

    /// Checks a password from address `from`; throttles wrong ones (see
    /// [`crate::accounts`]). Every attempt goes to the audit trail with the address.
    pub fn login(
        &self,
        login: &str,
        password: &str,
        from: &str,
    ) -> Result<Result<Staff, LoginError>, AuthorityError> {
        // An account this replica does not hold may have been made through another a
        // moment ago: a read barrier first, so it is not refused as a wrong password.
        if crate::store::staff::get(&self.office.store.read()?, login.trim())?.is_none() {
            self.office.settle()?;
        }
        Ok(match self.accounts.check(login, password, from, "login")? {
            Ok(a) => match Role::parse(&a.role) {
                Some(role) => Ok(Staff {
                    login: login.to_owned(),
                    name: a.name,
                    role,
                }),
                None => Err(LoginError::Wrong),
            },
            Err(e) => Err(e),
        })
    }

    /// Staff accounts: (login, name, role).
    pub fn list(&self) -> Result<Vec<(String, String, Role)>, AuthorityError> {
        Ok(self
            .accounts
            .list()?
            .into_iter()
            .filter_map(|(login, a)| Some((login, a.name, Role::parse(&a.role)?)))
            .collect())
    }

    /// Records a staff action that is not a review decision.
    pub fn record(
        &self,
        actor: &str,
        subject: exlic_client::DocId,
        action: &str,
        detail: &str,
    ) -> Result<(), AuthorityError> {
        Ok(self.accounts.record(actor, subject, action, detail)?)
    }

    /// One page of the audit entries `filter` admits, newest first, and how many in all.
    pub fn audit_page(
        &self,
        filter: &crate::store::audit::Filter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, u64), AuthorityError> {
        Ok(self.accounts.audit_page(filter, offset, limit)?)
    }

    /// The audit trail, newest first, at most `limit` entries, optionally for one case.
    pub fn audit_trail(
        &self,
        subject: Option<exlic_client::DocId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, AuthorityError> {
        Ok(self.accounts.audit_trail(subject, limit)?)
    }
}

/// Applies a staff account (its password already hashed), dated `at_ms`; a sign-in
/// throttle the replica kept for it starts again.
pub(super) fn apply_put(
    w: &mut crate::store::WriteBatch<'_>,
    at_ms: i64,
    login: &str,
    (name, role, hash): (&str, &str, &str),
) -> Result<Outcome, AuthorityError> {
    if Role::parse(role).is_none() {
        return Err(AuthorityError::bad_input("role", "officer, chief or admin"));
    }
    let row = crate::store::staff::AccountRow {
        role: role.to_owned(),
        name: name.to_owned(),
        hash: hash.to_owned(),
        failures: 0,
        locked_until_ms: 0,
    };
    Accounts::put_row(w, login, &row, at_ms)?;
    Ok(Outcome::StaffPut)
}

/// Staff sessions: [`crate::accounts::Sessions`] read as [`Staff`].
#[derive(Debug)]
pub struct Sessions(accounts::Sessions);

impl Sessions {
    /// Sessions over the office's store.
    pub fn new(store: std::sync::Arc<crate::store::Store>) -> Self {
        Self(accounts::Sessions::new(store))
    }

    /// Starts a session; returns its token (64 hex characters).
    pub fn start(&self, staff: &Staff, now_ms: i64) -> Result<String, AuthorityError> {
        Ok(self.0.start(&staff.login, now_ms)?)
    }

    /// The staff member of a live session.
    pub fn get(&self, token: &str, now_ms: i64) -> Option<Staff> {
        let (login, a) = self.0.get(token, now_ms)?;
        Some(Staff {
            login,
            name: a.name,
            role: Role::parse(&a.role)?,
        })
    }

    /// Ends a session.
    pub fn end(&self, token: &str) -> Result<(), AuthorityError> {
        Ok(self.0.end(token)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_lockout_and_sessions() {
        let (a, _dir) = super::super::tests::authority_for_test();
        assert!(a.staff.put("wang", "王", Role::Officer, "short").is_err());
        a.staff
            .put("wang", "王", Role::Officer, "correct horse battery")
            .unwrap();
        // The stored record holds a PHC Argon2id hash, never the password.
        let raw = crate::store::staff::raw(&a.store().read().unwrap(), "wang")
            .unwrap()
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!text.contains("correct horse"));

        let ok = a
            .staff
            .login("wang", "correct horse battery", "127.0.0.1")
            .unwrap()
            .unwrap();
        assert_eq!(ok.role, Role::Officer);
        assert_eq!(
            a.staff.login("nobody", "x", "127.0.0.1").unwrap(),
            Err(LoginError::Wrong)
        );
        for _ in 0..MAX_FAILURES - 1 {
            assert_eq!(
                a.staff.login("wang", "wrong", "10.0.0.9").unwrap(),
                Err(LoginError::Wrong)
            );
        }
        assert!(matches!(
            a.staff.login("wang", "wrong", "10.0.0.9").unwrap(),
            Err(LoginError::Locked(_))
        ));
        // That address waits, even with the right password...
        assert!(matches!(
            a.staff
                .login("wang", "correct horse battery", "10.0.0.9")
                .unwrap(),
            Err(LoginError::Locked(_))
        ));
        // ...while the officer signs in from their own desk.
        assert!(
            a.staff
                .login("wang", "correct horse battery", "10.0.0.20")
                .unwrap()
                .is_ok()
        );
        // An unknown name gets exactly the answers a known one does.
        for _ in 0..MAX_FAILURES - 1 {
            assert_eq!(
                a.staff.login("nobody", "wrong", "10.0.0.9").unwrap(),
                Err(LoginError::Wrong)
            );
        }
        assert!(matches!(
            a.staff.login("nobody", "wrong", "10.0.0.9").unwrap(),
            Err(LoginError::Locked(_))
        ));
        let trail = a.staff.audit_trail(None, 100).unwrap();
        assert!(
            trail
                .iter()
                .any(|e| e.detail == "@result=locked;from=10.0.0.9")
        );
        assert!(trail.iter().all(|e| !e.detail.contains("correct horse")));

        let s = Sessions::new(a.store().clone());
        let t = s.start(&ok, 1_000).unwrap();
        assert_eq!(s.get(&t, 2_000), Some(ok.clone()));
        assert_eq!(s.get(&t, 1_000 + SESSION_TTL_MS), None, "expired");
        assert_eq!(s.get("forged", 2_000), None);
        // The store holds it: a new `Sessions` (a restart) still knows it.
        assert_eq!(Sessions::new(a.store().clone()).get(&t, 2_000), Some(ok));
        s.end(&t).unwrap();
        assert_eq!(s.get(&t, 2_000), None);
    }
}
