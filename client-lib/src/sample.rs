//! The one sample of each thing: the seed manual's 柠檬酸 export (HS 2918140000, 23 t of
//! anhydrous citric acid at USD 1,250 FOB to Japan, by sea, under a letter of credit) as
//! an application form and as the licence issued on it. The unit and integration tests,
//! the demo and the benchmarks all start from these and change only what they are about.

use crate::DocId;
use crate::application::{ApplicationForm, ContractTable, GoodsLine};
use crate::licence::{Licence, LicenceLine};

/// The sample enterprise's name (企业名称).
pub const NAME: &str = "厦门示例化工进出口有限公司";
/// The sample enterprise's 统一社会信用代码 (a valid check character).
pub const USCC: &str = "913502000728319549";

/// The sample application of enterprise `name`/`uscc` for quota year `year`: every field
/// filled and every rule passed on any day of that year from 15 January on (the contract's
/// signing day), with the reference data embedded in the node.
pub fn application(name: &str, uscc: &str, year: i32) -> ApplicationForm {
    let contract_no = format!("XM{year}CA0096");
    ApplicationForm {
        exporter_name: name.into(),
        exporter_code: uscc.into(),
        exporter_uscc: uscc.into(),
        consignor_name: name.into(),
        consignor_code: uscc.into(),
        consignor_uscc: uscc.into(),
        trade_mode: "general".into(),
        contract_no: contract_no.clone(),
        customs_district: "3700".into(),
        country: "JPN".into(),
        payment_mode: "lc".into(),
        transport_mode: "sea".into(),
        commodity_code: "2918140000".into(),
        currency: "USD".into(),
        price_term: "FOB".into(),
        goods: vec![GoodsLine {
            spec: "无水柠檬酸 BP2013 30-100目".into(),
            unit: "t".into(),
            quantity: "23".into(),
            unit_price: "1250".into(),
        }],
        quota_year: year.to_string(),
        batch_mode: "single".into(),
        remarks: String::new(),
        additional_info: "25kg 纸塑复合袋包装".into(),
        contract: ContractTable {
            contract_no,
            signed_on: format!("{year}-01-15"),
            signed_at: "厦门".into(),
            buyer_name: "Osaka Food Ingredients Co., Ltd.".into(),
            buyer_address: "1-2-3 Umeda, Kita-ku, Osaka".into(),
            buyer_country: "JPN".into(),
            total_amount: "28750".into(),
            currency: "USD".into(),
            delivery_by: format!("{year}-12-28"),
            notes: String::new(),
        },
    }
}

/// The licence 26AA000001 issued on the sample application (quota year 2026, 一批一证),
/// unsigned: `issued_at_ms` and `key_id` are zero for the caller to set to its key.
pub fn licence() -> Licence {
    let party = || [NAME.to_string(), USCC.to_string(), USCC.to_string()];
    Licence {
        licence_no: "26AA000001".into(),
        application_id: DocId([1; 16]),
        application_no: "269999400000560600000".into(),
        exporter: party(),
        consignor: party(),
        expiry: "20261231".into(),
        trade_mode: "general".into(),
        contract_no: "XM2026CA0096".into(),
        customs_district: "3700".into(),
        country: "JPN".into(),
        payment_mode: "lc".into(),
        transport_mode: "sea".into(),
        commodity: ["2918140000".into(), "柠檬酸".into()],
        currency: "USD".into(),
        lines: vec![LicenceLine {
            spec: "无水柠檬酸 BP2013 30-100目".into(),
            unit: "t".into(),
            quantity: "23".into(),
            unit_price: "1250".into(),
            amount: "28750.00".into(),
            amount_usd: "28750.00".into(),
        }],
        total: ["28750.00".into(), "28750.00".into()],
        remarks: String::new(),
        quota_year: 2026,
        max_uses: 1,
        agency: ["AA".into(), "商务部配额许可证事务局".into()],
        issue_date: "20261127".into(),
        issued_at_ms: 0,
        key_id: [0; 8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_licence_is_the_sample_application_issued() {
        let form = application(NAME, USCC, 2026);
        let l = licence();
        assert_eq!(l.contract_no, form.contract_no);
        assert_eq!(l.commodity[0], form.commodity_code);
        assert_eq!(
            l.exporter,
            [form.exporter_name, form.exporter_code, form.exporter_uscc]
        );
        assert_eq!(l.lines[0].spec, form.goods[0].spec);
        assert_eq!(l.lines[0].quantity, form.goods[0].quantity);
        assert_eq!(l.quota_year.to_string(), form.quota_year);
    }
}
