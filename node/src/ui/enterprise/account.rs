//! The enterprise's dealings with its office beyond applications: 手机证书授权,
//! 删证/核销 requests, 企业信息维护, the e-key unlock request, the directory and guides.

use super::*;

pub(super) async fn certificate(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    let info = match run(&s, |e| e.node_info()).await {
        Ok(i) => i,
        Err(f) => return failed(&p, f),
    };
    let now = s.enterprise.now_ms();
    let cert = run(&s, |e| e.certificates.device_certificate())
        .await
        .ok()
        .flatten()
        .map(|(c, r)| apinode::certificate_view(c, r, now));
    let rows = run(&s, |e| e.certificates.requests())
        .await
        .unwrap_or_default();
    let ekey = run(&s, |e| e.ekey.state()).await.ok().map(|k| {
        json!({"locked": k.locked, "failures": k.failures, "unlock_requested": k.unlock_requested})
    });
    let installed = cert.is_some();
    // Newest first, as the manual's 历史信息 list shows them.
    let requests: Vec<Value> = rows
        .into_iter()
        .rev()
        .map(apinode::view)
        .map(|r| {
            let device = match r.status.as_str() {
                "issued" if installed => "done",
                "issued" => "make",
                "refused" => "refused",
                _ => "submitted",
            };
            json!({"seq": r.seq, "time": when(r.created_ms), "kind": r.kind, "mobile": r.mobile,
                   "old_mobile": r.old_mobile, "status": r.status, "outcome": r.outcome,
                   "device": device})
        })
        .collect();
    p.render(
        "enterprise/certificate.html",
        json!({
            "node": {"enterprise_name": info.enterprise_name, "enterprise_uscc": info.enterprise_uscc},
            "cert": cert.map(|c| json!({
                "enterprise_uscc": c.enterprise_uscc, "mobile": c.mobile, "serial": c.serial,
                "key_fingerprint": c.key_fingerprint, "from": when(c.not_before_ms),
                "to": when(c.not_after_ms), "status": c.status,
            })),
            "requests": requests,
            "ekey": ekey,
        }),
    )
}

pub(super) async fn cert_page(
    s: &AppState,
    p: &Page,
    status: StatusCode,
    fields: &HashMap<String, String>,
    step: &str,
    error: Option<Value>,
) -> Response {
    let info = match run(s, |e| e.node_info()).await {
        Ok(i) => i,
        Err(f) => return failed(p, f),
    };
    let kind = fields.get("kind").cloned().unwrap_or_else(|| "new".into());
    if apinode::parse_kind(&kind).is_err() {
        return p.error(
            StatusCode::BAD_REQUEST,
            "kind: one of new, number_change, device_change, renew, revoke",
        );
    }
    // The §6.1 profile shown for confirmation: the accepted version, else the proposal.
    let view = run(s, |e| e.profile.get()).await.unwrap_or_default();
    let shown = view.accepted.or(view.proposed).map(|pr| {
        exlic_client::profile::FIELDS
            .iter()
            .map(|f| match profile_choice(p.language(), f, pr.get(f)) {
                Some(name) => json!({"name": f, "value": name}),
                None => json!({"name": f, "value": pr.get(f), "data": true}),
            })
            .collect::<Vec<_>>()
    });
    p.render_status(
        status,
        "enterprise/cert_request.html",
        json!({
            "profile": shown,
            "node": {"enterprise_name": info.enterprise_name, "enterprise_uscc": info.enterprise_uscc},
            "kind": kind, "step": step, "error": error,
            "mobile": fields.get("mobile").cloned().unwrap_or_default(),
            "old_mobile": fields.get("old_mobile").cloned().unwrap_or_default(),
            "device_key": fields.get("device_key").map(|k| k.trim().to_owned()).unwrap_or_default(),
            "own_key": info.device_public_key,
        }),
    )
}

pub(super) async fn cert_form(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (s, p) = open(ctx).await;
    cert_page(&s, &p, StatusCode::OK, &q, "enter", None).await
}

/// Step `confirm` checks the numbers and shows "提交后信息将不能做更改"; step `submit`
/// signs the request with the e-key (PIN) and queues it for the issuing agency.
pub(super) async fn cert_post(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = match serde_urlencoded::from_bytes(&body) {
        Ok(v) => v,
        Err(e) => return p.error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let kind = match apinode::parse_kind(f.get("kind").map(String::as_str).unwrap_or("")) {
        Ok(k) => k,
        Err(fl) => return failed(&p, fl),
    };
    let mobile = f.get("mobile").cloned().unwrap_or_default();
    let old = f.get("old_mobile").cloned().unwrap_or_default();
    let mobile_ok =
        |m: &str| m.len() == 11 && m.starts_with('1') && m.bytes().all(|b| b.is_ascii_digit());
    let bad = |field: &str, message: String| Some(json!({"field": field, "message": message}));
    // 注销 retires this device's certificate: it authorises no number.
    // 授权/注销其他设备: the other device's key (empty: this device).
    let device_hex = f
        .get("device_key")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let mut device_key = [0u8; 32];
    let device = (!device_hex.is_empty())
        .then(|| hex::decode_to_slice(&device_hex, &mut device_key).map(|()| device_key));
    let err = if matches!(device, Some(Err(_))) {
        bad("device_key", p.t("cert.bad_device_key"))
    } else if kind != exlic_client::cert_request::RequestKind::Revoke && !mobile_ok(&mobile) {
        bad("mobile", p.t("cert.bad_mobile"))
    } else if f.get("kind").map(String::as_str) == Some("number_change") && !mobile_ok(&old) {
        bad("old_mobile", p.t("cert.bad_mobile"))
    } else {
        None
    };
    if err.is_some() {
        return cert_page(&s, &p, StatusCode::UNPROCESSABLE_ENTITY, &f, "enter", err).await;
    }
    if f.get("step").map(String::as_str) != Some("submit") {
        return cert_page(&s, &p, StatusCode::OK, &f, "confirm", None).await;
    }
    let pin = f.get("pin").cloned().unwrap_or_default();
    match run(&s, move |e| {
        e.certificates
            .prepare_request(kind, &mobile, &old, &pin, device.and_then(Result::ok))
    })
    .await
    {
        Ok(_) => see_other("/certificate?msg=flash.cert_prepared"),
        Err(fl) => {
            let (status, body) = fl.parts();
            let e = bad(body.field.as_deref().unwrap_or("pin"), body.message.clone());
            cert_page(&s, &p, status, &f, "confirm", e).await
        }
    }
}

pub(super) fn licence_request_kind(
    q: &HashMap<String, String>,
) -> crate::domain::licence_request::Kind {
    q.get("kind")
        .and_then(|k| crate::domain::licence_request::Kind::parse(k))
        .unwrap_or(crate::domain::licence_request::Kind::Delete)
}

/// 删证申请 / 核销申请: the list, with search by licence number.
pub(super) async fn licence_request_list(
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (s, p) = open(ctx).await;
    let kind = licence_request_kind(&q);
    let no = q.get("no").map(|n| n.trim().to_owned()).unwrap_or_default();
    let (rows, held) = match run(&s, |e| {
        Ok((e.licence_requests.list()?, e.replica.licences()?))
    })
    .await
    {
        Ok(x) => x,
        Err(f) => return failed(&p, f),
    };
    let commodity = |n: &str| {
        held.iter()
            .find(|(h, _)| h == n)
            .and_then(|(_, f)| exlic_client::signed::peek(f).ok())
            .and_then(|b| exlic_client::licence::Licence::decode(b).ok())
            .map(|l| {
                let name = crate::ui::licence_form::commodity_name(&l, p.language() == Lang::En);
                format!("{} {name}", l.commodity[0])
            })
            .unwrap_or_default()
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .filter(|(_, r)| r.kind == kind && (no.is_empty() || r.licence_no.contains(&no)))
        .map(|(id, r)| {
            json!({"id": id.to_string(), "licence_no": r.licence_no, "commodity": commodity(&r.licence_no),
                   "status": r.status.code(), "reason": r.reason, "created": when(r.created_ms)})
        })
        .collect();
    p.render(
        "enterprise/licence_requests.html",
        json!({"kind": kind.code(), "no": no, "rows": rows}),
    )
}

pub(super) fn filled_fields(f: &crate::domain::licence_request::Filled) -> Value {
    json!([
        {"name": "quota_year", "label": "field.quota_year", "value": f.quota_year},
        {"name": "exporter_code", "label": "field.exporter_code", "value": f.exporter_code},
        {"name": "exporter_uscc", "label": "field.exporter_uscc", "value": f.exporter_uscc},
        {"name": "consignor_code", "label": "field.consignor_code", "value": f.consignor_code},
        {"name": "consignor_uscc", "label": "field.consignor_uscc", "value": f.consignor_uscc},
        {"name": "expiry", "label": "field.expiry", "value": f.expiry},
        {"name": "commodity", "label": "field.commodity", "value": f.commodity},
    ])
}

pub(super) async fn licence_request_render(
    s: &AppState,
    p: &Page,
    kind: crate::domain::licence_request::Kind,
    licence_no: String,
    error: Option<String>,
) -> Response {
    let (filled, error) = if licence_no.trim().is_empty() || error.is_some() {
        (None, error)
    } else {
        let n = licence_no.clone();
        match run(s, move |e| e.licence_requests.prefill(kind, &n)).await {
            Ok(f) => (Some(filled_fields(&f)), None),
            Err(f) => (None, Some(f.parts().1.message.clone())),
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    p.render_status(
        status,
        "enterprise/licence_request_form.html",
        json!({"kind": kind.code(), "licence_no": licence_no, "filled": filled, "error": error}),
    )
}

/// 新增: enter the licence number; the read-only fields fill from the held licence.
pub(super) async fn licence_request_form(
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (s, p) = open(ctx).await;
    let no = q.get("licence_no").cloned().unwrap_or_default();
    licence_request_render(&s, &p, licence_request_kind(&q), no, None).await
}

/// 保存.
pub(super) async fn licence_request_save(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let kind = licence_request_kind(&f);
    let no = f.get("licence_no").cloned().unwrap_or_default();
    let n = no.clone();
    match run(&s, move |e| e.licence_requests.request(kind, &n)).await {
        Ok(_) => see_other(&format!(
            "/licence-requests?kind={}&msg=flash.licence_request_saved",
            kind.code()
        )),
        Err(fl) => {
            let m = fl.parts().1.message.clone();
            licence_request_render(&s, &p, kind, no, Some(m)).await
        }
    }
}

pub(super) async fn directory_page(ctx: Ctx, section: &str) -> Response {
    let (s, p) = open(ctx).await;
    let root = s.authority_key.unwrap_or_default();
    match run(&s, move |e| e.replica.directory(&root)).await {
        Ok(d) => p.render(
            "enterprise/directory.html",
            json!({"section": section, "dir": &d,
                   "guides": d.guides.iter().map(|g| json!({"title": g.title,
                       "paragraphs": g.body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>()}))
                       .collect::<Vec<_>>(),
                   "updated": (d.updated_ms > 0).then(|| when(d.updated_ms))}),
        ),
        Err(f) => failed(&p, f),
    }
}

/// 发证机构联系方式 (offline, as last synced).
pub(super) async fn directory(ctx: Ctx) -> Response {
    directory_page(ctx, "contacts").await
}

/// 办事指南 (offline, as last synced).
pub(super) async fn guides(ctx: Ctx) -> Response {
    directory_page(ctx, "guides").await
}

/// 提交: the confirmation "确定要提交申请吗？".
pub(super) async fn cert_submit_page(ctx: Ctx, Path(seq): Path<u64>) -> Response {
    let (s, p) = open(ctx).await;
    let rows = run(&s, |e| e.certificates.requests())
        .await
        .unwrap_or_default();
    match rows.into_iter().find(|r| r.seq == seq).map(apinode::view) {
        Some(r) if r.status == "pending_submit" => p.render(
            "enterprise/cert_submit.html",
            json!({"row": {"seq": r.seq, "kind": r.kind, "mobile": r.mobile, "time": when(r.created_ms)}}),
        ),
        _ => p.error(StatusCode::NOT_FOUND, format!("seq: no request {seq} waits to be submitted")),
    }
}

/// 确认提交: the request goes out on the next sync.
pub(super) async fn cert_submit(ctx: Ctx, Path(seq): Path<u64>) -> Response {
    let (s, p) = open(ctx).await;
    match run(&s, move |e| e.certificates.submit_request(seq)).await {
        Ok(()) => see_other("/certificate?msg=flash.cert_submitted"),
        Err(f) => failed(&p, f),
    }
}

/// The profile form's two groups, as on the manual's 用户基本信息 / 用户联系方式 screen.
/// The fixed choices of the §6.1 profile, as stored (the platform's own values) and by
/// catalogue key: 性别 and 证件类型.
pub(super) const PROFILE_CHOICES: &[(&str, &[(&str, &str)])] = &[
    (
        "applicant_sex",
        &[("男", "profile.sex.male"), ("女", "profile.sex.female")],
    ),
    (
        "id_type",
        &[
            ("身份证", "profile.id.resident"),
            ("护照", "profile.id.passport"),
            ("港澳居民来往内地通行证", "profile.id.hk_macao"),
            ("台湾居民来往大陆通行证", "profile.id.taiwan"),
        ],
    ),
];

/// A profile value that is one of the fixed choices, by its name in `lang`.
pub(super) fn profile_choice(lang: Lang, field: &str, value: &str) -> Option<String> {
    PROFILE_CHOICES
        .iter()
        .find(|(f, _)| *f == field)?
        .1
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, key)| crate::ui::text(lang, key))
}

pub(super) fn profile_groups() -> Value {
    let f = &exlic_client::profile::FIELDS;
    json!([
        {"legend": "profile.group.basic", "fields": f[..10]},
        {"legend": "profile.group.contact", "fields": f[10..]},
    ])
}

pub(super) fn render_profile(
    p: &Page,
    status: StatusCode,
    view: &exlic_client::profile::ProfileView,
    values: &exlic_client::profile::EnterpriseProfile,
    errors: &[exlic_client::error::FieldError],
) -> Response {
    let values: BTreeMap<&str, &str> = exlic_client::profile::FIELDS
        .iter()
        .map(|f| (*f, values.get(f)))
        .collect();
    // In Chinese a problem reads as its rule's words; in English, as found.
    let message = |e: &exlic_client::error::FieldError| match p.language() {
        Lang::Zh => crate::ui::lookup(Lang::Zh, &format!("rule.{}", e.rule))
            .unwrap_or_else(|| e.message.clone()),
        Lang::En => e.message.clone(),
    };
    let by_field: BTreeMap<&str, String> = errors
        .iter()
        .map(|e| (e.field.as_str(), message(e)))
        .collect();
    p.render_status(
        status,
        "enterprise/profile.html",
        json!({
            "view": view, "groups": profile_groups(), "values": values,
            "choices": PROFILE_CHOICES.iter().map(|(f, options)| (*f, options.iter().map(|(v, k)| json!({"value": v, "name": p.t(k)})).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
            "errors": by_field,
            "error_list": errors.iter().map(|e| json!({"field": e.field, "message": message(e), "rule": e.rule})).collect::<Vec<_>>(),
            "accepted_at": (view.accepted_ms > 0).then(|| when(view.accepted_ms)),
        }),
    )
}

/// 企业信息维护.
pub(super) async fn profile_page(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    let (view, info) = match run(&s, |e| Ok((e.profile.get()?, e.node_info()?))).await {
        Ok(x) => x,
        Err(f) => return failed(&p, f),
    };
    let values = view
        .proposed
        .clone()
        .unwrap_or(exlic_client::profile::EnterpriseProfile {
            enterprise_name: info.enterprise_name,
            uscc: info.enterprise_uscc,
            ..Default::default()
        });
    render_profile(&p, StatusCode::OK, &view, &values, &[])
}

pub(super) async fn profile_save(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let g = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let pr = exlic_client::profile::EnterpriseProfile {
        enterprise_name: g("enterprise_name"),
        enterprise_code: g("enterprise_code"),
        uscc: g("uscc"),
        registered_address: g("registered_address"),
        applicant_name: g("applicant_name"),
        applicant_sex: g("applicant_sex"),
        id_type: g("id_type"),
        id_number: g("id_number"),
        login_name: g("login_name"),
        email: g("email"),
        contact_address: g("contact_address"),
        mobile: g("mobile"),
        landline: g("landline"),
        department: g("department"),
        title: g("title"),
        work_address: g("work_address"),
        postcode: g("postcode"),
    };
    let pr2 = pr.clone();
    match run(&s, move |e| e.profile.propose(&pr2)).await {
        Ok(_) => see_other("/profile?msg=flash.profile_saved"),
        Err(fl) => {
            let view = run(&s, |e| e.profile.get()).await.unwrap_or_default();
            let (status, body) = fl.parts();
            let mut errors = body.errors.clone();
            if errors.is_empty() {
                errors.push(exlic_client::error::FieldError {
                    field: body
                        .field
                        .clone()
                        .unwrap_or_else(|| "enterprise_name".into()),
                    rule: body.code.clone(),
                    message: body.message.clone(),
                    severity: Severity::Error,
                });
            }
            render_profile(&p, status, &view, &pr, &errors)
        }
    }
}

/// 申请解锁: asks the issuing office to unlock the locked e-key.
pub(super) async fn unlock_request(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    match run(&s, |e| e.ekey.request_unlock()).await {
        Ok(_) => see_other("/certificate?msg=flash.unlock_requested"),
        Err(f) => failed(&p, f),
    }
}
