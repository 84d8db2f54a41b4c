//! People who sign in to a node — the office's staff, the enterprise's operators: accounts
//! with Argon2id password hashes, the wrong-password throttle, stored sessions and the
//! audit trail of sign-ins. Each role keeps only its own list of roles on top.
//!
//! Wrong passwords are throttled per login name *and* source address: after
//! [`MAX_FAILURES`] from one address that address waits before it may try that name again
//! (doubling from [`FIRST_WAIT_MS`] up to [`LOCK_MS`]), while the real user signs in from
//! anywhere else; an address that fails [`SOURCE_FAILURES`] times over any names waits
//! too. Unknown names go through exactly the same steps, so no answer tells whether a
//! name exists.
//!
//! Passwords exist in clear only in the request that carries them; they are never
//! stored or logged. Sessions are random 256-bit tokens stored by their SHA-256 (a
//! restart keeps them), expiring after [`SESSION_TTL_MS`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use exlic_client::DocId;

use crate::clock::Clock;
use crate::store::audit::{self, AuditEntry};
use crate::store::staff::{self as rows, AccountRow};
use crate::store::{Store, StoreError, WriteBatch};

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
/// How long a session lasts without a new sign-in.
pub const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// Why a sign-in failed. The message never says whether the login name exists.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong name or password.
    #[error("wrong user name or password")]
    Wrong,
    /// Too many failures.
    #[error("too many failed sign-ins: locked until {0} (Unix ms)")]
    Locked(i64),
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field breaks its rule.
    #[error("{field}: {message}")]
    BadInput {
        /// The field.
        field: &'static str,
        /// The rule.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Argon2id for passwords: 19 MiB, 2 passes (OWASP's recommended minimum), so a sign-in
/// costs tens of milliseconds and an offline guess as much.
fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid parameters"),
    )
}

/// Checks `password` against `hash`; with no hash, spends the same time and fails, so
/// timing does not reveal whether a name exists.
fn password_matches(hash: Option<&str>, password: &str) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$1TEUmDhYW5sP0r2OtN3oC4wdgxvhKBUGKe7P3SqHiRY";
    let ok = hasher()
        .verify_password(password.as_bytes(), hash.unwrap_or(DUMMY))
        .is_ok();
    ok && hash.is_some()
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

/// The accounts of one node, their sign-in and its audit trail.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    throttle: Arc<Mutex<Throttle>>,
}

impl Accounts {
    /// The accounts kept in `store`.
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            throttle: Arc::default(),
        }
    }

    /// Creates or replaces the account `login` with role code `role` (the caller's roles
    /// decide which codes exist). `name` empty: the login is shown.
    pub fn put(
        &self,
        login: &str,
        name: &str,
        role: &str,
        password: &str,
    ) -> Result<(), AccountError> {
        let (login, row) = Self::row_for(login, name, role, password)?;
        let w = self.store.write()?;
        Self::put_row(&w, &login, &row, self.clock.now_ms())?;
        w.commit()?;
        Ok(())
    }

    /// Checks an account's fields and hashes its password (with a fresh salt): its login,
    /// trimmed, and the row [`Self::put_row`] stores.
    pub fn row_for(
        login: &str,
        name: &str,
        role: &str,
        password: &str,
    ) -> Result<(String, AccountRow), AccountError> {
        let login = login.trim();
        if login.is_empty()
            || login.len() > 64
            || !login
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(AccountError::BadInput {
                field: "login",
                message: "1–64 characters of a–z, 0–9, . _ -".into(),
            });
        }
        if password.chars().count() < MIN_PASSWORD {
            return Err(AccountError::BadInput {
                field: "password",
                message: format!("at least {MIN_PASSWORD} characters"),
            });
        }
        if name.chars().count() > 64 {
            return Err(AccountError::BadInput {
                field: "name",
                message: "at most 64 characters".into(),
            });
        }
        let hash = hasher()
            .hash_password_with_salt(password.as_bytes(), &crate::random::bytes::<16>())
            .map_err(|e| AccountError::BadInput {
                field: "password",
                message: e.to_string(),
            })?
            .to_string();
        let row = AccountRow {
            role: role.to_owned(),
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
        Ok((login.to_owned(), row))
    }

    /// Stores account `login` as `row` (from [`Self::row_for`]) with its audit entry,
    /// dated `at_ms`.
    pub fn put_row(
        w: &WriteBatch<'_>,
        login: &str,
        row: &AccountRow,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        rows::put(w, login, row)?;
        audit::append(
            w,
            at_ms,
            "system",
            DocId([0; 16]),
            "account",
            &format!("@login={login};role={}", row.role),
        )?;
        Ok(())
    }

    /// Checks a password from address `from`; throttles wrong ones (see the module docs).
    /// Every attempt goes to the audit trail, as `what` (e.g. "login"), with the address.
    pub fn check(
        &self,
        login: &str,
        password: &str,
        from: &str,
        what: &str,
    ) -> Result<Result<AccountRow, LoginError>, StoreError> {
        let now = self.clock.now_ms();
        let throttle = || self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = throttle().wait_until(login, from);
        if waiting > now {
            self.audit(login, what, &format!("@result=waiting;from={from}"))?;
            return Ok(Err(LoginError::Locked(waiting)));
        }
        let acct = rows::get(&self.store.read()?, login)?;
        if password_matches(acct.as_ref().map(|a| a.hash.as_str()), password)
            && let Some(a) = acct
        {
            throttle().succeeded(login, from);
            self.audit(login, what, &format!("@result=ok;from={from}"))?;
            return Ok(Ok(a));
        }
        let until = throttle().failed(login, from, now);
        if until > now {
            self.audit(login, what, &format!("@result=locked;from={from}"))?;
            Ok(Err(LoginError::Locked(until)))
        } else {
            self.audit(login, what, &format!("@result=wrong;from={from}"))?;
            Ok(Err(LoginError::Wrong))
        }
    }

    fn audit(&self, actor: &str, action: &str, detail: &str) -> Result<(), StoreError> {
        self.record(actor, DocId([0; 16]), action, detail)
    }

    /// Every account, by login.
    pub fn list(&self) -> Result<Vec<(String, AccountRow)>, StoreError> {
        rows::all(&self.store.read()?)
    }

    /// The account `login`.
    pub fn get(&self, login: &str) -> Result<Option<AccountRow>, StoreError> {
        rows::get(&self.store.read()?, login)
    }

    /// Records an action in the audit trail (its own durable commit).
    pub fn record(
        &self,
        actor: &str,
        subject: DocId,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let w = self.store.write()?;
        audit::append(&w, self.clock.now_ms(), actor, subject, action, detail)?;
        w.commit()?;
        Ok(())
    }

    /// One page of the audit entries `filter` admits, newest first, and how many it
    /// admits in all.
    pub fn audit_page(
        &self,
        filter: &audit::Filter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        audit::newest_page(&self.store.read()?, filter, offset, limit)
    }

    /// The audit trail, newest first, at most `limit` entries, optionally about one
    /// subject.
    pub fn audit_trail(
        &self,
        subject: Option<DocId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        audit::newest(&self.store.read()?, subject, limit)
    }
}

/// Sign-in sessions, by the SHA-256 of their token, kept in the store so a restart
/// signs no one out. A session names the login; the account is read at each use, so a
/// changed or removed account takes effect at once.
#[derive(Debug)]
pub struct Sessions {
    store: Arc<Store>,
}

/// META key prefix of a session row.
const SESSION_PREFIX: &str = "staff_session.";

impl Sessions {
    /// Sessions over a node's store.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    fn key(token: &str) -> String {
        format!(
            "{SESSION_PREFIX}{}",
            hex::encode(exlic_client::seal::sha256(token.as_bytes()))
        )
    }

    /// Starts a session for `login`; returns its token (64 hex characters).
    pub fn start(&self, login: &str, now_ms: i64) -> Result<String, StoreError> {
        let token = hex::encode(crate::random::bytes::<32>());
        let mut v = (now_ms + SESSION_TTL_MS).to_be_bytes().to_vec();
        v.extend_from_slice(login.as_bytes());
        let w = self.store.write()?;
        crate::store::meta_put(&w, &Self::key(&token), &v)?;
        w.commit()?;
        Ok(token)
    }

    /// The login and account of a live session.
    pub fn get(&self, token: &str, now_ms: i64) -> Option<(String, AccountRow)> {
        let txn = self.store.read().ok()?;
        let v = crate::store::meta_get(&txn, &Self::key(token)).ok()??;
        let expires = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        if expires <= now_ms {
            return None;
        }
        let login = std::str::from_utf8(&v[8..]).ok()?;
        let a = rows::get(&txn, login).ok()??;
        Some((login.to_owned(), a))
    }

    /// Ends a session.
    pub fn end(&self, token: &str) -> Result<(), StoreError> {
        let w = self.store.write()?;
        crate::store::meta_remove(&w, &Self::key(token))?;
        w.commit()?;
        Ok(())
    }
}
