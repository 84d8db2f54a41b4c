//! The enterprise profile (用户基本信息 and 用户联系方式, domain.md §6.1): what a
//! certificate binds. The enterprise maintains it (企业信息维护), the issuing office accepts
//! each proposed version, and the certificate screens show it for confirmation.

use serde::{Deserialize, Serialize};

/// Every field of §6.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnterpriseProfile {
    /// 企业名称.
    pub enterprise_name: String,
    /// 企业代码.
    pub enterprise_code: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 企业注册经营地址.
    pub registered_address: String,
    /// 申请者姓名.
    pub applicant_name: String,
    /// 申请者性别: 男 or 女.
    pub applicant_sex: String,
    /// 证件名称 (e.g. 身份证).
    pub id_type: String,
    /// 证件号码.
    pub id_number: String,
    /// 登录许可证申领系统的用户名.
    pub login_name: String,
    /// 电子邮箱.
    pub email: String,
    /// 联系地址.
    pub contact_address: String,
    /// 联系电话（手机）.
    pub mobile: String,
    /// 联系电话（座机）.
    pub landline: String,
    /// 部门.
    pub department: String,
    /// 职务.
    pub title: String,
    /// 工作地址.
    pub work_address: String,
    /// 邮政编码.
    pub postcode: String,
}

/// The field names in screen order.
pub const FIELDS: [&str; 17] = [
    "enterprise_name",
    "enterprise_code",
    "uscc",
    "registered_address",
    "applicant_name",
    "applicant_sex",
    "id_type",
    "id_number",
    "login_name",
    "email",
    "contact_address",
    "mobile",
    "landline",
    "department",
    "title",
    "work_address",
    "postcode",
];

impl EnterpriseProfile {
    /// A field by name.
    pub fn get(&self, field: &str) -> &str {
        match field {
            "enterprise_name" => &self.enterprise_name,
            "enterprise_code" => &self.enterprise_code,
            "uscc" => &self.uscc,
            "registered_address" => &self.registered_address,
            "applicant_name" => &self.applicant_name,
            "applicant_sex" => &self.applicant_sex,
            "id_type" => &self.id_type,
            "id_number" => &self.id_number,
            "login_name" => &self.login_name,
            "email" => &self.email,
            "contact_address" => &self.contact_address,
            "mobile" => &self.mobile,
            "landline" => &self.landline,
            "department" => &self.department,
            "title" => &self.title,
            "work_address" => &self.work_address,
            "postcode" => &self.postcode,
            _ => "",
        }
    }

    /// Every problem as (field, message): all ★ fields are required; the USCC passes its
    /// GB 32100 check; the mobile is `^1\d{10}$`; the email has one `@` with a dotted
    /// domain; the postcode is 6 digits; 性别 is 男 or 女.
    pub fn validate(&self) -> Vec<(String, String)> {
        self.problems()
            .into_iter()
            .map(|(field, _, message)| (field, message))
            .collect()
    }

    /// [`Self::validate`] with each problem's rule code (`profile.required`,
    /// `profile.too_long`, `profile.uscc`, `profile.mobile`, `profile.email`,
    /// `profile.postcode`, `profile.sex`), by which a UI words it in its language.
    pub fn problems(&self) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        let mut bad =
            |f: &str, code: &'static str, m: &str| out.push((f.to_owned(), code, m.to_owned()));
        for f in FIELDS {
            let v = self.get(f);
            if v.trim().is_empty() && f != "landline" {
                bad(f, "profile.required", "is required");
            } else if v.chars().count() > 200 {
                bad(f, "profile.too_long", "at most 200 characters");
            }
        }
        if !self.uscc.is_empty()
            && let Err(e) = crate::uscc::validate(&self.uscc)
        {
            bad("uscc", "profile.uscc", &e.to_string());
        }
        if !self.mobile.is_empty() && !crate::cert_request::valid_mobile(&self.mobile) {
            bad("mobile", "profile.mobile", "must match ^1\\d{10}$");
        }
        if !self.email.is_empty() {
            let ok = match self.email.split_once('@') {
                Some((user, domain)) => {
                    !user.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !self.email.chars().any(char::is_whitespace)
                }
                None => false,
            };
            if !ok {
                bad(
                    "email",
                    "profile.email",
                    "must be an address such as name@example.com",
                );
            }
        }
        if !self.postcode.is_empty()
            && (self.postcode.len() != 6 || !self.postcode.bytes().all(|b| b.is_ascii_digit()))
        {
            bad("postcode", "profile.postcode", "must be 6 digits");
        }
        if !self.applicant_sex.is_empty() && !matches!(self.applicant_sex.as_str(), "男" | "女") {
            bad("applicant_sex", "profile.sex", "must be 男 or 女");
        }
        out
    }
}

/// A proposed profile and where it stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileView {
    /// The latest version the enterprise proposed.
    pub proposed: Option<EnterpriseProfile>,
    /// When it was proposed, Unix ms.
    pub proposed_ms: i64,
    /// The version the issuing office accepted last.
    pub accepted: Option<EnterpriseProfile>,
    /// When, Unix ms (authority clock).
    pub accepted_ms: i64,
    /// `none`, `pending` (待审核) or `accepted`.
    pub status: String,
}

/// One enterprise's profile at the issuing office (`GET /api/v1/profiles`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileRow {
    /// USCC.
    pub uscc: String,
    /// 企业名称 at enrolment.
    pub name: String,
    /// Proposed and accepted versions.
    pub profile: ProfileView,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> EnterpriseProfile {
        EnterpriseProfile {
            enterprise_name: "厦门示例化工进出口有限公司".into(),
            enterprise_code: "3502960012345".into(),
            uscc: "913502000728319549".into(),
            registered_address: "厦门市思明区".into(),
            applicant_name: "张鑫".into(),
            applicant_sex: "男".into(),
            id_type: "身份证".into(),
            id_number: "350203199001011234".into(),
            login_name: "zhangxin@example.com".into(),
            email: "zhangxin@example.com".into(),
            contact_address: "厦门市思明区".into(),
            mobile: "13800138000".into(),
            landline: String::new(),
            department: "外贸部".into(),
            title: "经理".into(),
            work_address: "厦门市思明区".into(),
            postcode: "361000".into(),
        }
    }

    #[test]
    fn each_rule_names_its_field() {
        assert!(sample().validate().is_empty());
        type Break = fn(&mut EnterpriseProfile);
        let cases: [(&str, Break); 6] = [
            ("uscc", |p| p.uscc = "913502000728319548".into()),
            ("mobile", |p| p.mobile = "23800138000".into()),
            ("email", |p| p.email = "zhang@localhost".into()),
            ("postcode", |p| p.postcode = "36100".into()),
            ("applicant_sex", |p| p.applicant_sex = "M".into()),
            ("applicant_name", |p| p.applicant_name.clear()),
        ];
        for (field, break_it) in cases {
            let mut p = sample();
            break_it(&mut p);
            let errs = p.validate();
            assert_eq!(errs.len(), 1, "{field}: {errs:?}");
            assert_eq!(errs[0].0, field);
        }
    }
}
