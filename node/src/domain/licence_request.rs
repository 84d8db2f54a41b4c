//! 删证申请 and 核销申请 (domain.md §2.3, §9.3, §9.4): which licence a request may name,
//! and the read-only fields filled from the licence the node already holds.

use exlic_client::licence::Licence;

/// What the enterprise asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 删证: delete a licence within its validity (unused quota returns).
    Delete,
    /// 核销: write a licence off.
    WriteOff,
}

impl Kind {
    /// The API code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Delete => "delete",
            Kind::WriteOff => "write_off",
        }
    }

    /// Parses `delete` or `write_off`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "delete" => Some(Kind::Delete),
            "write_off" => Some(Kind::WriteOff),
            _ => None,
        }
    }

    /// The manual's name.
    pub fn zh(self) -> &'static str {
        match self {
            Kind::Delete => "删证申请",
            Kind::WriteOff => "核销申请",
        }
    }

    /// The one-byte tag in records.
    pub fn tag(self) -> u8 {
        match self {
            Kind::Delete => 1,
            Kind::WriteOff => 2,
        }
    }

    /// From a record tag.
    pub fn from_tag(t: u8) -> Option<Self> {
        match t {
            1 => Some(Kind::Delete),
            2 => Some(Kind::WriteOff),
            _ => None,
        }
    }
}

/// A licence's standing (§9.2), as far as these requests are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Issued and not deleted or written off.
    Valid,
    /// 删证 approved.
    Deleted,
    /// 核销 approved.
    WrittenOff,
}

impl Standing {
    /// The one-byte tag in records.
    pub fn tag(self) -> u8 {
        match self {
            Standing::Valid => 0,
            Standing::Deleted => 1,
            Standing::WrittenOff => 2,
        }
    }

    /// As the office's signed standing statement names it.
    pub fn state(self) -> exlic_client::standing::State {
        match self {
            Standing::Valid => exlic_client::standing::State::Valid,
            Standing::Deleted => exlic_client::standing::State::Deleted,
            Standing::WrittenOff => exlic_client::standing::State::WrittenOff,
        }
    }

    /// From a record tag (unknown tags read as valid).
    pub fn from_tag(t: u8) -> Self {
        match t {
            1 => Standing::Deleted,
            2 => Standing::WrittenOff,
            _ => Standing::Valid,
        }
    }

    /// The API code.
    pub fn code(self) -> &'static str {
        match self {
            Standing::Valid => "valid",
            Standing::Deleted => "deleted",
            Standing::WrittenOff => "written_off",
        }
    }

    /// What approving `kind` makes of the licence.
    pub fn after(kind: Kind) -> Self {
        match kind {
            Kind::Delete => Standing::Deleted,
            Kind::WriteOff => Standing::WrittenOff,
        }
    }
}

/// The read-only fields of the form (§2.3), filled from the licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    /// 配额年度.
    pub quota_year: String,
    /// 出口商代码.
    pub exporter_code: String,
    /// 统一社会信用代码 (出口商).
    pub exporter_uscc: String,
    /// 发货人代码.
    pub consignor_code: String,
    /// 发货人统一社会信用代码.
    pub consignor_uscc: String,
    /// 出口许可证有效截止日期 (YYYYMMDD).
    pub expiry: String,
    /// 商品名称.
    pub commodity: String,
}

/// The read-only fields from `l`.
pub fn fill(l: &Licence) -> Filled {
    Filled {
        quota_year: l.quota_year.to_string(),
        exporter_code: l.exporter[1].clone(),
        exporter_uscc: l.exporter[2].clone(),
        consignor_code: l.consignor[1].clone(),
        consignor_uscc: l.consignor[2].clone(),
        expiry: l.expiry.clone(),
        commodity: format!("{} {}", l.commodity[0], l.commodity[1]),
    }
}

/// Why a request may not be made, as the user reads it; `today` is `YYYYMMDD`.
pub fn check(
    kind: Kind,
    l: &Licence,
    enterprise_uscc: &str,
    standing: Standing,
    open_request: bool,
    today: &str,
) -> Result<(), String> {
    // The licence is its 出口商's: a consignor named on it holds nothing to delete or
    // write off (and its request would reach the exporter's case).
    if l.exporter[2] != enterprise_uscc {
        return Err(format!(
            "licence_no: 许可证 {} does not belong to this enterprise (only its 出口商 may ask)",
            l.licence_no
        ));
    }
    match standing {
        Standing::Valid => {}
        Standing::Deleted => {
            return Err(format!(
                "licence_no: 许可证 {} is already deleted",
                l.licence_no
            ));
        }
        Standing::WrittenOff => {
            return Err(format!(
                "licence_no: 许可证 {} is already written off",
                l.licence_no
            ));
        }
    }
    if open_request {
        return Err(format!(
            "licence_no: 许可证 {} already has an open 删证/核销 request",
            l.licence_no
        ));
    }
    if kind == Kind::Delete && today > l.expiry.as_str() {
        return Err(format!(
            "licence_no: 删证 is possible only within validity; 许可证 {} expired on {}",
            l.licence_no, l.expiry
        ));
    }
    Ok(())
}

/// 删证 returns an unused licence: once customs has counted a use of it (`uses`), only
/// 核销 settles it.
pub fn check_usage(kind: Kind, l: &Licence, uses: u32) -> Result<(), String> {
    if kind == Kind::Delete && uses > 0 {
        return Err(format!(
            "licence_no: 许可证 {} has been used at customs ({uses} declaration(s)): 删证 is refused, apply for 核销",
            l.licence_no
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn licence() -> Licence {
        exlic_client::sample::licence()
    }

    #[test]
    fn guards_each_with_its_reason() {
        let l = licence();
        let own = "913502000728319549";
        assert!(check(Kind::Delete, &l, own, Standing::Valid, false, "20261127").is_ok());
        let e = check(
            Kind::Delete,
            &l,
            "91350100M000100Y43",
            Standing::Valid,
            false,
            "20261127",
        );
        assert!(e.unwrap_err().contains("does not belong"));
        let e = check(Kind::Delete, &l, own, Standing::Valid, false, "20270101");
        assert!(e.unwrap_err().contains("within validity"));
        // A write-off after expiry is fine.
        assert!(check(Kind::WriteOff, &l, own, Standing::Valid, false, "20270101").is_ok());
        let e = check(Kind::WriteOff, &l, own, Standing::Valid, true, "20261127");
        assert!(e.unwrap_err().contains("open"));
        let e = check(
            Kind::WriteOff,
            &l,
            own,
            Standing::Deleted,
            false,
            "20261127",
        );
        assert!(e.unwrap_err().contains("already deleted"));
        assert_eq!(fill(&l).exporter_uscc, own);
        assert!(check_usage(Kind::Delete, &l, 0).is_ok());
        assert!(
            check_usage(Kind::Delete, &l, 1)
                .unwrap_err()
                .contains("used at customs")
        );
        assert!(check_usage(Kind::WriteOff, &l, 3).is_ok());
    }

    #[test]
    fn only_the_exporter_holds_the_licence_not_the_consignor() {
        let consignor = "91350100M000100Y43";
        let mut l = licence();
        l.consignor[2] = consignor.into();
        for kind in [Kind::Delete, Kind::WriteOff] {
            let e = check(kind, &l, consignor, Standing::Valid, false, "20261127");
            assert!(e.unwrap_err().contains("only its 出口商"));
        }
        let own = l.exporter[2].clone();
        assert!(check(Kind::Delete, &l, &own, Standing::Valid, false, "20261127").is_ok());
    }
}
