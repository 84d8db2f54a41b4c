//! The enterprise's operators: who may act on this node, in which role (制单员 drafts;
//! 盖章员 also seals, reports and acts in the enterprise's name towards the office), the
//! confirmation every seal asks for, and the local audit trail of who did what.
//!
//! Accounts, passwords, the throttle and sessions are the node's
//! [`accounts`](crate::accounts), as for the office's staff.
//!
//! The seal confirmation is the e-key's PIN on the device that holds the e-key (a wrong
//! PIN counts toward the e-key's lockout, exactly as at 手机证书授权), and the sealing
//! operator's own password on a device without one (a joined second device, a
//! standalone node), throttled like a sign-in.

use exlic_client::DocId;

use super::{EnterpriseError, Result};
use crate::accounts::{AccountError, Accounts, LoginError};
use crate::ekey::{self, EkeyError};
use crate::store::audit::AuditEntry;

/// An operator's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorRole {
    /// 制单员: drafts, attachments, queries.
    Drafter,
    /// 盖章员: everything a drafter does, plus 保存并盖章, 上报 and the requests sent to
    /// the office in the enterprise's name.
    Sealer,
}

impl OperatorRole {
    /// Parses `drafter` or `sealer`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "drafter" => Some(Self::Drafter),
            "sealer" => Some(Self::Sealer),
            _ => None,
        }
    }

    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Drafter => "drafter",
            Self::Sealer => "sealer",
        }
    }

    /// The title the enterprise uses.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Drafter => "制单员",
            Self::Sealer => "盖章员",
        }
    }
}

/// A signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Login name.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: OperatorRole,
}

impl Operator {
    /// How the audit trail names this person.
    pub fn actor(&self) -> String {
        format!("{} {} ({})", self.role.zh(), self.name, self.login)
    }
}

/// Operator accounts, the seal confirmation and the audit trail.
#[derive(Debug, Clone)]
pub struct Operators {
    pub(super) device: std::sync::Arc<super::device::Device>,
    pub(super) accounts: Accounts,
}

fn account_err(e: AccountError) -> EnterpriseError {
    match e {
        AccountError::BadInput { field, message } => EnterpriseError::BadInput {
            field: field.into(),
            message,
        },
        AccountError::Store(e) => e.into(),
    }
}

impl Operators {
    /// Creates or replaces an operator account.
    pub fn put(&self, login: &str, name: &str, role: OperatorRole, password: &str) -> Result<()> {
        self.accounts
            .put(login, name, role.code(), password)
            .map_err(account_err)
    }

    /// Signs `login` in from address `from` (throttled; see [`crate::accounts`]).
    pub fn login(
        &self,
        login: &str,
        password: &str,
        from: &str,
    ) -> Result<std::result::Result<Operator, LoginError>> {
        Ok(match self.accounts.check(login, password, from, "login")? {
            Ok(a) => match OperatorRole::parse(&a.role) {
                Some(role) => Ok(Operator {
                    login: login.to_owned(),
                    name: a.name,
                    role,
                }),
                None => Err(LoginError::Wrong),
            },
            Err(e) => Err(e),
        })
    }

    /// The operator `login`, if the account exists.
    pub fn get(&self, login: &str) -> Result<Option<Operator>> {
        Ok(self.accounts.get(login)?.and_then(|a| {
            Some(Operator {
                login: login.to_owned(),
                name: a.name,
                role: OperatorRole::parse(&a.role)?,
            })
        }))
    }

    /// Every operator.
    pub fn list(&self) -> Result<Vec<Operator>> {
        Ok(self
            .accounts
            .list()?
            .into_iter()
            .filter_map(|(login, a)| {
                Some(Operator {
                    login,
                    name: a.name,
                    role: OperatorRole::parse(&a.role)?,
                })
            })
            .collect())
    }

    /// Whether this device holds the e-key (then seals are confirmed with its PIN).
    pub fn seal_needs_pin(&self) -> Result<bool> {
        Ok(ekey::public_key(&self.device.store)
            .map_err(ekey_err)?
            .is_some())
    }

    /// Confirms a seal by `op` with `secret`: the e-key's PIN where this device holds the
    /// e-key (a wrong one counts toward its lockout, durably, before the answer), else
    /// the operator's own password. Refusals name the field `pin`.
    pub fn confirm_seal(&self, op: &Operator, secret: &str, from: &str) -> Result<()> {
        if op.role != OperatorRole::Sealer {
            return Err(EnterpriseError::BadInput {
                field: "role".into(),
                message: format!(
                    "sealing is for the 盖章员 (sealer) role; you are {}",
                    op.role.code()
                ),
            });
        }
        if secret.is_empty() {
            return Err(EnterpriseError::BadInput {
                field: "pin".into(),
                message: "is required: the e-key PIN confirms every seal".into(),
            });
        }
        if self.seal_needs_pin()? {
            return match ekey::unlock(&self.device.store, secret) {
                Ok(_) => Ok(()),
                Err(e) => {
                    let detail = match &e {
                        ekey::EkeyError::WrongPin { remaining } => {
                            format!("@result=wrong;remaining={remaining}")
                        }
                        ekey::EkeyError::Locked => "@result=ekey_locked".to_owned(),
                        other => other.to_string(),
                    };
                    self.record(&op.actor(), DocId([0; 16]), "seal.refused", &detail)?;
                    Err(ekey_err(e))
                }
            };
        }
        match self.accounts.check(&op.login, secret, from, "seal.confirm")? {
            Ok(_) => Ok(()),
            Err(e) => Err(EnterpriseError::BadInput {
                field: "pin".into(),
                message: match e {
                    LoginError::Wrong => {
                        "wrong password (this device holds no e-key: a seal is confirmed with your own password)".into()
                    }
                    LoginError::Locked(_) => e.to_string(),
                },
            }),
        }
    }

    /// Records an action in the audit trail.
    pub fn record(&self, actor: &str, subject: DocId, action: &str, detail: &str) -> Result<()> {
        Ok(self.accounts.record(actor, subject, action, detail)?)
    }

    /// One page of the audit entries `filter` admits, newest first, and how many in all.
    pub fn audit_page(
        &self,
        filter: &crate::store::audit::Filter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, u64)> {
        Ok(self.accounts.audit_page(filter, offset, limit)?)
    }

    /// The audit trail, newest first.
    pub fn audit_trail(&self, subject: Option<DocId>, limit: usize) -> Result<Vec<AuditEntry>> {
        Ok(self.accounts.audit_trail(subject, limit)?)
    }
}

fn ekey_err(e: EkeyError) -> EnterpriseError {
    EnterpriseError::BadInput {
        field: "pin".into(),
        message: e.to_string(),
    }
}
