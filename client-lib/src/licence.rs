//! The electronic export licence (中华人民共和国出口许可证), `exlic/licence/v1`: every box of
//! domain.md §2.1, signed by the issuing authority and verifiable offline by anyone who
//! trusts the authority's key (see [`crate::certificate::Trust`]).

use crate::certificate::{Trust, key_id};
use crate::encoding::{DecodeError, Reader, Writer};
use crate::ids::DocId;
use crate::signed;

/// Signature tag.
pub const TAG: &[u8] = b"exlic/licence/v1";

/// One goods row (boxes 12–17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceLine {
    /// 规格、等级.
    pub spec: String,
    /// 单位.
    pub unit: String,
    /// 数量.
    pub quantity: String,
    /// 单价.
    pub unit_price: String,
    /// 总值.
    pub amount: String,
    /// 总值折美元.
    pub amount_usd: String,
}

/// An issued licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    /// Box 3: 出口许可证号, `YY` + agency code + 6-digit serial.
    pub licence_no: String,
    /// The application it was issued on.
    pub application_id: DocId,
    /// 申请表号.
    pub application_no: String,
    /// Box 1: 出口商, 代码, 统一社会信用代码.
    pub exporter: [String; 3],
    /// Box 2: 发货人, 代码, 统一社会信用代码.
    pub consignor: [String; 3],
    /// Box 4: 有效截止日期 `YYYYMMDD`.
    pub expiry: String,
    /// Box 5: 贸易方式 code.
    pub trade_mode: String,
    /// Box 6: 合同号.
    pub contract_no: String,
    /// Box 7: 报关口岸.
    pub customs_district: String,
    /// Box 8: 进口国(地区).
    pub country: String,
    /// Box 9: 付款方式.
    pub payment_mode: String,
    /// Box 10: 运输方式.
    pub transport_mode: String,
    /// Box 11: 商品编码 and 商品名称.
    pub commodity: [String; 2],
    /// Currency of boxes 15–16.
    pub currency: String,
    /// Boxes 12–17.
    pub lines: Vec<LicenceLine>,
    /// Box 18: 总计 and 总计折美元.
    pub total: [String; 2],
    /// Box 19: 备注.
    pub remarks: String,
    /// 配额年度.
    pub quota_year: u16,
    /// Customs declarations allowed: 1 (一批一证) or up to 12 (非一批一证).
    pub max_uses: u8,
    /// Box 20: 发证机关 code and name.
    pub agency: [String; 2],
    /// Box 21: 发证日期 `YYYYMMDD`.
    pub issue_date: String,
    /// Issued at (authority clock), Unix ms.
    pub issued_at_ms: i64,
    /// The signing authority key.
    pub key_id: [u8; 8],
}

/// Why a licence does not verify; each case its own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LicenceError {
    /// Not a licence file.
    #[error("not a valid licence file: {0}")]
    Malformed(DecodeError),
    /// Signed by a key this verifier does not trust.
    #[error("signed by an unknown authority key")]
    UnknownKey,
    /// The signature does not verify (the licence was altered).
    #[error("the signature does not verify: the licence has been altered")]
    Tampered,
    /// Signed by an authority key after that key was retired or revoked.
    #[error("signed by a retired or revoked authority key")]
    RetiredKey,
}

fn strs<const N: usize>(r: &mut Reader<'_>, f: &'static str) -> Result<[String; N], DecodeError> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for s in out.iter_mut() {
        *s = r.str(f, 400)?.to_owned();
    }
    Ok(out)
}

impl Licence {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .str(&self.licence_no)
            .fixed(self.application_id.as_bytes())
            .str(&self.application_no);
        for s in self.exporter.iter().chain(&self.consignor) {
            w.str(s);
        }
        for s in [
            &self.expiry,
            &self.trade_mode,
            &self.contract_no,
            &self.customs_district,
            &self.country,
            &self.payment_mode,
            &self.transport_mode,
        ] {
            w.str(s);
        }
        for s in &self.commodity {
            w.str(s);
        }
        w.str(&self.currency).count(self.lines.len());
        for l in &self.lines {
            w.str(&l.spec)
                .str(&l.unit)
                .str(&l.quantity)
                .str(&l.unit_price)
                .str(&l.amount)
                .str(&l.amount_usd);
        }
        for s in &self.total {
            w.str(s);
        }
        w.str(&self.remarks)
            .u32(u32::from(self.quota_year))
            .u8(self.max_uses);
        for s in &self.agency {
            w.str(s);
        }
        w.str(&self.issue_date)
            .i64(self.issued_at_ms)
            .fixed(&self.key_id);
        w.finish()
    }

    /// Decodes.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let licence_no = r.str("licence_no", 32)?.to_owned();
        let application_id = DocId(r.fixed("application_id")?);
        let application_no = r.str("application_no", 64)?.to_owned();
        let exporter = strs::<3>(&mut r, "exporter")?;
        let consignor = strs::<3>(&mut r, "consignor")?;
        let [
            expiry,
            trade_mode,
            contract_no,
            customs_district,
            country,
            payment_mode,
            transport_mode,
        ] = strs::<7>(&mut r, "boxes")?;
        let commodity = strs::<2>(&mut r, "commodity")?;
        let currency = r.str("currency", 8)?.to_owned();
        let n = r.count("lines", 200, 24)?;
        let mut lines = Vec::with_capacity(n);
        for _ in 0..n {
            let [spec, unit, quantity, unit_price, amount, amount_usd] =
                strs::<6>(&mut r, "lines")?;
            lines.push(LicenceLine {
                spec,
                unit,
                quantity,
                unit_price,
                amount,
                amount_usd,
            });
        }
        let total = strs::<2>(&mut r, "total")?;
        let remarks = r.str("remarks", 4000)?.to_owned();
        let quota_year = u16::try_from(r.u32("quota_year")?).map_err(|_| DecodeError::Invalid {
            field: "quota_year",
            reason: "out of range",
        })?;
        let max_uses = r.u8("max_uses")?;
        let agency = strs::<2>(&mut r, "agency")?;
        let issue_date = r.str("issue_date", 8)?.to_owned();
        let issued_at_ms = r.i64("issued_at_ms")?;
        let key_id = r.fixed("key_id")?;
        r.end()?;
        Ok(Self {
            licence_no,
            application_id,
            application_no,
            exporter,
            consignor,
            expiry,
            trade_mode,
            contract_no,
            customs_district,
            country,
            payment_mode,
            transport_mode,
            commodity,
            currency,
            lines,
            total,
            remarks,
            quota_year,
            max_uses,
            agency,
            issue_date,
            issued_at_ms,
            key_id,
        })
    }

    /// Signs with the authority key; the result is the licence file.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        debug_assert_eq!(self.key_id, key_id(&key.verifying_key().to_bytes()));
        signed::sign(TAG, &self.encode(), key)
    }

    /// Verifies a licence file against what `trust` holds.
    pub fn verify(file: &[u8], trust: &Trust) -> Result<Self, LicenceError> {
        let payload = signed::peek(file).map_err(|e| match e {
            signed::SignedError::Decode(d) => LicenceError::Malformed(d),
            _ => LicenceError::Tampered,
        })?;
        let claimed = Self::decode(payload).map_err(LicenceError::Malformed)?;
        let k = trust.key(&claimed.key_id).ok_or(LicenceError::UnknownKey)?;
        signed::open(TAG, file, &k.key).map_err(|_| LicenceError::Tampered)?;
        if claimed.issued_at_ms < k.from_ms || claimed.issued_at_ms >= k.until_ms {
            return Err(LicenceError::RetiredKey);
        }
        Ok(claimed)
    }
}

/// Whether `no` has the shape of a licence number: `^\d{2}[A-Z0-9]{2}\d{6}$`.
pub fn valid_licence_no(no: &str) -> bool {
    let b = no.as_bytes();
    b.len() == 10
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2..4]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[4..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::KeyRecord;
    use ed25519_dalek::SigningKey;

    fn sample(key: &SigningKey, at: i64) -> Licence {
        Licence {
            issued_at_ms: at,
            key_id: key_id(&key.verifying_key().to_bytes()),
            ..crate::sample::licence()
        }
    }

    #[test]
    fn licences_verify_offline_and_every_failure_has_its_message() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let trust = Trust::new(k.verifying_key().to_bytes());
        let file = sample(&k, 10).sign(&k);
        assert_eq!(Licence::verify(&file, &trust).unwrap(), sample(&k, 10));
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 1;
            assert!(Licence::verify(&bad, &trust).is_err(), "byte {i}");
        }
        let mut tampered = sample(&k, 10);
        tampered.lines[0].quantity = "2300".into();
        let forged = signed::sign(TAG, &tampered.encode(), &SigningKey::from_bytes(&[9; 32]));
        assert_eq!(
            Licence::verify(&forged, &trust),
            Err(LicenceError::Tampered)
        );
        let other = SigningKey::from_bytes(&[2; 32]);
        assert_eq!(
            Licence::verify(&sample(&other, 10).sign(&other), &trust),
            Err(LicenceError::UnknownKey)
        );
        // A key retired by rollover (or replaced after compromise): licences it signed
        // before still verify, those after do not.
        let mut t2 = trust.clone();
        t2.roll_over(
            &KeyRecord {
                new_key: other.verifying_key().to_bytes(),
                effective_ms: 100,
                key_id: key_id(&k.verifying_key().to_bytes()),
            }
            .sign(&k),
        )
        .unwrap();
        assert!(Licence::verify(&file, &t2).is_ok());
        assert_eq!(
            Licence::verify(&sample(&k, 200).sign(&k), &t2),
            Err(LicenceError::RetiredKey)
        );
        assert!(Licence::verify(&sample(&other, 200).sign(&other), &t2).is_ok());
        assert!(matches!(
            Licence::verify(b"junk", &trust),
            Err(LicenceError::Malformed(_))
        ));
    }

    #[test]
    fn licence_numbers() {
        for ok in ["24AA900009", "19AA400258", "2631000001"] {
            assert!(valid_licence_no(ok), "{ok}");
        }
        for bad in ["24aa900009", "24AA90000", "24-AA-900009", "X4AA900009"] {
            assert!(!valid_licence_no(bad), "{bad}");
        }
    }
}
