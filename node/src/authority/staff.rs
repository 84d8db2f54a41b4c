//! Staff of the issuing office: accounts with roles (经办人, 处长, administrator),
//! Argon2id password hashes, throttling of wrong passwords, and login sessions.
//!
//! Wrong passwords are throttled per login name *and* source address: after
//! [`MAX_FAILURES`] from one address that address waits before it may try that name again
//! (doubling from [`FIRST_WAIT_MS`] up to [`LOCK_MS`]), while the officer signs in from
//! anywhere else; an address that fails [`SOURCE_FAILURES`] times over any names waits
//! too. Unknown names go through exactly the same steps, so no answer tells whether a
//! name exists.
//!
//! Passwords exist in clear only in the request that carries them; they are never
//! stored or logged. Sessions are random 256-bit tokens stored by their SHA-256 (a
//! restart keeps them), expiring after [`SESSION_TTL_MS`].

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use super::AuthorityError;
use crate::store::audit::{self, AuditEntry};
use crate::store::staff::{self as accounts, AccountRow};

/// Wrong passwords in a row, for one name from one address, before that address waits.
pub const MAX_FAILURES: u32 = 5;
/// The first wait; each further failure doubles it.
pub const FIRST_WAIT_MS: i64 = 60 * 1000;
/// The longest wait.
pub const LOCK_MS: i64 = 15 * 60 * 1000;
/// Wrong passwords from one address, over any names, before the address waits.
pub const SOURCE_FAILURES: u32 = 50;
/// Entries the throttle keeps before it forgets the oldest finished waits.
const THROTTLE_ENTRIES: usize = 100_000;
/// How long a session lasts without a new login.
pub const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

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

/// Why a login failed. The message never says whether the login name exists.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong name or password.
    #[error("wrong user name or password")]
    Wrong,
    /// Too many failures.
    #[error("too many failed sign-ins: locked until {0} (Unix ms)")]
    Locked(i64),
}

/// Argon2id for staff passwords: 19 MiB, 2 passes (OWASP's recommended minimum), so a
/// login costs tens of milliseconds and an offline guess as much.
fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid parameters"),
    )
}

/// Staff accounts, sign-in and the audit trail.
#[derive(Debug, Clone)]
pub struct StaffAccounts {
    pub(super) office: std::sync::Arc<super::office::Office>,
    pub(super) throttle: std::sync::Arc<Mutex<Throttle>>,
}

/// Wrong-password counts and waits, per (name, address) and per address. Kept in memory:
/// a restart forgets them, which only ever lets a real user in sooner.
#[derive(Debug, Default)]
pub struct Throttle {
    pairs: HashMap<(String, String), (u32, i64)>,
    sources: HashMap<String, (u32, i64)>,
}

impl Throttle {
    /// Until when `from` must wait before trying `login` again (0: it need not).
    fn wait_until(&self, login: &str, from: &str) -> i64 {
        let pair = self
            .pairs
            .get(&(login.to_owned(), from.to_owned()))
            .map(|x| x.1)
            .unwrap_or(0);
        let source = self.sources.get(from).map(|x| x.1).unwrap_or(0);
        pair.max(source)
    }

    /// Counts a wrong password; returns until when `from` must now wait (0: not yet).
    fn failed(&mut self, login: &str, from: &str, now: i64) -> i64 {
        if self.pairs.len() + self.sources.len() > THROTTLE_ENTRIES {
            self.pairs.retain(|_, (_, until)| *until > now);
            self.sources.retain(|_, (_, until)| *until > now);
        }
        let wait = |n: u32, over: u32, first: i64| {
            if n < over {
                0
            } else {
                let doublings = (n - over).min(16);
                (first << doublings).min(LOCK_MS)
            }
        };
        let p = self
            .pairs
            .entry((login.to_owned(), from.to_owned()))
            .or_insert((0, 0));
        p.0 += 1;
        let pair_wait = wait(p.0, MAX_FAILURES, FIRST_WAIT_MS);
        if pair_wait > 0 {
            p.1 = now + pair_wait;
        }
        let until_pair = p.1;
        let s = self.sources.entry(from.to_owned()).or_insert((0, 0));
        s.0 += 1;
        if s.0 >= SOURCE_FAILURES {
            s.1 = now + LOCK_MS;
        }
        until_pair.max(s.1).max(0)
    }

    /// A right password from `from` clears its count for `login`.
    fn succeeded(&mut self, login: &str, from: &str) {
        self.pairs.remove(&(login.to_owned(), from.to_owned()));
    }
}

impl StaffAccounts {
    /// Creates or replaces a staff account.
    pub fn put(
        &self,
        login: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<(), AuthorityError> {
        let login = login.trim();
        if login.is_empty()
            || login.len() > 64
            || !login
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(AuthorityError::bad_input(
                "login",
                "1–64 characters of a–z, 0–9, . _ -",
            ));
        }
        if password.chars().count() < MIN_PASSWORD {
            return Err(AuthorityError::bad_input(
                "password",
                format!("at least {MIN_PASSWORD} characters"),
            ));
        }
        let hash = hasher()
            .hash_password_with_salt(password.as_bytes(), &crate::random::bytes::<16>())
            .map_err(|e| AuthorityError::bad_input("password", e.to_string()))?
            .to_string();
        let acct = AccountRow {
            role: role.code().to_owned(),
            name: if name.trim().is_empty() {
                login
            } else {
                name.trim()
            }
            .to_owned(),
            hash,
            failures: 0,
            locked_until_ms: 0,
        };
        let w = self.office.store.write()?;
        accounts::put(&w, login, &acct)?;
        audit::append(
            &w,
            self.office.clock.now_ms(),
            "system",
            exlic_client::DocId([0; 16]),
            "staff account",
            &format!("{login}: {}", role.code()),
        )?;
        w.commit()?;
        Ok(())
    }

    /// Checks a password from address `from`; throttles wrong ones (see the module docs).
    /// Every attempt goes to the audit trail with the address.
    pub fn login(
        &self,
        login: &str,
        password: &str,
        from: &str,
    ) -> Result<Result<Staff, LoginError>, AuthorityError> {
        let now = self.office.clock.now_ms();
        let throttle = || self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = throttle().wait_until(login, from);
        if waiting > now {
            self.audit_login(now, login, from, "refused: waiting after wrong passwords")?;
            return Ok(Err(LoginError::Locked(waiting)));
        }
        let acct = accounts::get(&self.office.store.read()?, login)?
            .and_then(|a| Some((Role::parse(&a.role)?, a)));
        let ok = match &acct {
            Some((_, a)) => hasher()
                .verify_password(password.as_bytes(), a.hash.as_str())
                .is_ok(),
            None => {
                // Spend the same time as a real check, so timing does not reveal the name.
                let dummy = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$1TEUmDhYW5sP0r2OtN3oC4wdgxvhKBUGKe7P3SqHiRY";
                let _ = hasher().verify_password(password.as_bytes(), dummy);
                false
            }
        };
        if let (true, Some((role, a))) = (ok, acct) {
            throttle().succeeded(login, from);
            self.audit_login(now, login, from, "signed in")?;
            return Ok(Ok(Staff {
                login: login.to_owned(),
                name: a.name,
                role,
            }));
        }
        let until = throttle().failed(login, from, now);
        if until > now {
            self.audit_login(now, login, from, "failed: wrong password; waiting")?;
            Ok(Err(LoginError::Locked(until)))
        } else {
            self.audit_login(now, login, from, "failed: wrong password")?;
            Ok(Err(LoginError::Wrong))
        }
    }

    fn audit_login(
        &self,
        now: i64,
        login: &str,
        from: &str,
        what: &str,
    ) -> Result<(), AuthorityError> {
        let w = self.office.store.write()?;
        audit::append(
            &w,
            now,
            login,
            exlic_client::DocId([0; 16]),
            "login",
            &format!("{what} from {from}"),
        )?;
        w.commit()?;
        Ok(())
    }

    /// Staff accounts: (login, name, role).
    pub fn list(&self) -> Result<Vec<(String, String, Role)>, AuthorityError> {
        Ok(accounts::all(&self.office.store.read()?)?
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
        let w = self.office.store.write()?;
        audit::append(
            &w,
            self.office.clock.now_ms(),
            actor,
            subject,
            action,
            detail,
        )?;
        w.commit()?;
        Ok(())
    }

    /// The audit trail, newest first, at most `limit` entries, optionally for one case.
    pub fn audit_trail(
        &self,
        subject: Option<exlic_client::DocId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, AuthorityError> {
        Ok(audit::newest(&self.office.store.read()?, subject, limit)?)
    }
}

/// Login sessions, by the SHA-256 of their token, kept in the store so a restart of the
/// office signs no one out. A session names the login; the account's role and name are
/// read at each use, so a changed or removed account takes effect at once.
#[derive(Debug)]
pub struct Sessions {
    store: std::sync::Arc<crate::store::Store>,
}

/// META key prefix of a session row.
const SESSION_PREFIX: &str = "staff_session.";

impl Sessions {
    /// Sessions over the office's store.
    pub fn new(store: std::sync::Arc<crate::store::Store>) -> Self {
        Self { store }
    }

    fn key(token: &str) -> String {
        format!(
            "{SESSION_PREFIX}{}",
            hex::encode(exlic_client::seal::sha256(token.as_bytes()))
        )
    }

    /// Starts a session; returns its token (64 hex characters).
    pub fn start(&self, staff: &Staff, now_ms: i64) -> Result<String, AuthorityError> {
        let token = hex::encode(crate::random::bytes::<32>());
        let mut v = (now_ms + SESSION_TTL_MS).to_be_bytes().to_vec();
        v.extend_from_slice(staff.login.as_bytes());
        let w = self.store.write()?;
        crate::store::meta_put(&w, &Self::key(&token), &v)?;
        w.commit()?;
        Ok(token)
    }

    /// The staff member of a live session.
    pub fn get(&self, token: &str, now_ms: i64) -> Option<Staff> {
        let txn = self.store.read().ok()?;
        let v = crate::store::meta_get(&txn, &Self::key(token)).ok()??;
        let expires = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        if expires <= now_ms {
            return None;
        }
        let login = std::str::from_utf8(&v[8..]).ok()?;
        let a = accounts::get(&txn, login).ok()??;
        Some(Staff {
            login: login.to_owned(),
            name: a.name,
            role: Role::parse(&a.role)?,
        })
    }

    /// Ends a session.
    pub fn end(&self, token: &str) -> Result<(), AuthorityError> {
        let w = self.store.write()?;
        crate::store::meta_remove(&w, &Self::key(token))?;
        w.commit()?;
        Ok(())
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
        let raw = accounts::raw(&a.store().read().unwrap(), "wang")
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
                .any(|e| e.detail.contains("waiting from 10.0.0.9"))
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
