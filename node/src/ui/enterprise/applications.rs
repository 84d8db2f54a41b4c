//! The enterprise's applications: the list and 查询, the form (新增, 暂存, 保存并盖章),
//! the application's page, attachments, 上报, 退回暂存, 复制, delete, conflicts.

use super::*;

/// List rows: codes by name, and the licence's standing beside an issued application's
/// status once it is no longer valid (已删证, 已核销).
pub(super) fn summaries(
    p: &Page,
    options: &Value,
    standings: &HashMap<String, crate::domain::licence_request::Standing>,
    items: Vec<exlic_client::application::ApplicationSummary>,
) -> Vec<Value> {
    let en = p.language() == Lang::En;
    items
        .into_iter()
        .map(|a| {
            let standing = a
                .licence_no
                .as_ref()
                .and_then(|n| standings.get(n))
                .filter(|s| **s != crate::domain::licence_request::Standing::Valid)
                .map(|s| s.code());
            json!({
                "id": a.id.to_string(), "status": a.status.code(), "application_no": a.application_no,
                "commodity_name": forms::commodity_name(&a.commodity_code, &a.commodity_name, en),
                "commodity_code": a.commodity_code,
                "quantity": a.quantity,
                "trade_mode": forms::name_of(options, "trade_modes", &a.trade_mode, en),
                "quota_year": a.quota_year,
                "created": when(a.created_at_ms), "licence_no": a.licence_no,
                "contract_no": a.contract_no,
                "standing": standing,
            })
        })
        .collect()
}

pub(super) async fn listing(s: AppState, p: Page, uri: &Uri, full: bool) -> Response {
    let raw: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let kept: Vec<(String, String)> = raw
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && k != "msg" && k != "arg")
        .collect();
    let q: ApplicationQuery = match serde_urlencoded::to_string(&kept)
        .ok()
        .and_then(|s| serde_urlencoded::from_str(&s).ok())
    {
        Some(q) => q,
        None => {
            return p.error(StatusCode::BAD_REQUEST, p.t("list.bad_query"));
        }
    };
    let page_no = q.page.unwrap_or(1).max(1);
    let href = |n: u32| {
        let mut v: Vec<(String, String)> =
            kept.iter().filter(|(k, _)| k != "page").cloned().collect();
        v.push(("page".into(), n.to_string()));
        format!(
            "{}?{}",
            uri.path(),
            serde_urlencoded::to_string(&v).unwrap_or_default()
        )
    };
    let qv = serde_json::to_value(&q).unwrap_or(Value::Null);
    let result = run(&s, move |e| e.applications.query(&q)).await;
    let standings = run(&s, |e| e.licence_requests.standings())
        .await
        .unwrap_or_default();
    let options = forms::options(s.enterprise.reference().data());
    match result {
        Ok(pg) => p.render(
            "enterprise/applications.html",
            json!({
                "heading": if full { "nav.query" } else { "nav.applications" },
                "full_query": full,
                "q": qv,
                "statuses": ApplicationStatus::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
                "page": {"items": summaries(&p, &options, &standings, pg.items), "page": pg.page, "per_page": pg.per_page, "has_more": pg.has_more,
                         "total": pg.total, "pages": pg.total.div_ceil(u64::from(pg.per_page.max(1))).max(1)},
                "options": options,
                "prev_href": href(page_no.saturating_sub(1).max(1)),
                "next_href": href(page_no + 1),
            }),
        ),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn list(ctx: Ctx) -> Response {
    let uri = ctx.4.clone();
    let (s, p) = open(ctx).await;
    listing(s, p, &uri, false).await
}

pub(super) async fn query(ctx: Ctx) -> Response {
    let uri = ctx.4.clone();
    let (s, p) = open(ctx).await;
    listing(s, p, &uri, true).await
}

/// Goods rows for the form: the existing ones plus blanks up to at least three, one spare.
pub(super) fn goods_rows(form: &ApplicationForm, amounts: &[String]) -> Vec<Value> {
    let n = (form.goods.len() + 1).max(3);
    (0..n)
        .map(|i| {
            let g = form.goods.get(i).cloned().unwrap_or_default();
            json!({"i": i, "spec": g.spec, "unit": g.unit, "quantity": g.quantity,
                   "unit_price": g.unit_price, "amount": amounts.get(i).cloned().unwrap_or_default()})
        })
        .collect()
}

/// A field path's label in the page's language (`goods[1].quantity` → 数量 (2)).
pub(crate) fn label_of(p: &Page, field: &str) -> String {
    // The label alone: field keys stay in `href="#f-…"` and the JSON API.
    crate::ui::field_label(p.language(), field)
}

/// A rule's finding as the page says it: in Chinese, the rule's own wording from the
/// catalogue (`rule.V23`, or `rule.V04.W` for its warning); in English, the finding's
/// message with its specifics. Rule ids stay in `title` attributes.
pub(super) fn rule_text(p: &Page, e: &FieldError) -> String {
    if p.language() == Lang::En {
        return e.message.clone();
    }
    let sev = if e.severity == Severity::Error {
        "E"
    } else {
        "W"
    };
    crate::ui::lookup(Lang::Zh, &format!("rule.{}.{sev}", e.rule))
        .or_else(|| crate::ui::lookup(Lang::Zh, &format!("rule.{}", e.rule)))
        .unwrap_or_else(|| e.message.clone())
}

pub(crate) fn error_values(p: &Page, errors: &[FieldError]) -> (Value, Vec<Value>, Vec<Value>) {
    let mut by_field: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let (mut errs, mut warns) = (Vec::new(), Vec::new());
    for e in errors {
        let message = rule_text(p, e);
        let v = json!({"field": e.field, "label": label_of(p, &e.field), "rule": e.rule, "message": message});
        if e.severity == Severity::Error {
            by_field
                .entry(e.field.clone())
                .or_default()
                .push(json!({"rule": e.rule, "message": message}));
            errs.push(v);
        } else {
            warns.push(v);
        }
    }
    (json!(by_field), errs, warns)
}

pub(super) fn app_json(v: &ApplicationView) -> Value {
    json!({
        "id": v.id.to_string(), "status": v.status.code(), "application_no": v.application_no,
        "revision": v.revision, "frozen": v.frozen, "attachments": v.attachments,
        "currency": v.form.currency,
        "commodity_name": v.commodity_name, "totals": v.totals, "licence_no": v.licence_no,
        "commodity_name_en": v.commodity_name.as_deref().map(|n| forms::commodity_name(&v.form.commodity_code, n, true)),
        "heads": v.heads, "office": v.office,
    })
}

/// The fields two devices set while apart, by label, each value with who wrote it.
pub(super) fn conflicts_json(p: &Page, v: &ApplicationView) -> Value {
    json!(
        v.conflicts
            .iter()
            .map(|c| json!({
                "field": c.field, "label": label_of(p, &c.field),
                "values": c.values.iter().enumerate().map(|(i, x)| json!({
                    "value": x.value, "shown": i == 0,
                    "who": if x.mine { p.t("conflict.mine") } else { p.t("conflict.other") },
                    "device": (!x.mine).then(|| x.device[..8.min(x.device.len())].to_owned()),
                })).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}

/// 保留此值: keeps one value of a field in conflict.
pub(super) async fn resolve(ctx: Ctx, Path(id): Path<String>, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let field = f.get("field").cloned().unwrap_or_default();
    let value = f.get("value").cloned().unwrap_or_default();
    match run(&s, move |e| e.applications.resolve(id, &field, &value)).await {
        Ok(_) => see_other(&format!("/applications/{id}?msg=flash.resolved")),
        Err(f) => failed(&p, f),
    }
}

pub(super) fn render_form(
    s: &AppState,
    p: &Page,
    status: StatusCode,
    app: Option<&ApplicationView>,
    form: &ApplicationForm,
    errors: &[FieldError],
) -> Response {
    // Until the form is saved or sealed again, the office's refusal at receipt is what
    // needs fixing, field by field.
    let refused = app
        .and_then(|a| a.refused_at_receipt.as_ref())
        .filter(|_| errors.is_empty());
    let errors = refused.map(|r| r.findings.as_slice()).unwrap_or(errors);
    let (by_field, errs, warns) = error_values(p, errors);
    let amounts = app
        .map(|a| a.totals.line_amounts.clone())
        .unwrap_or_default();
    p.render_status(
        status,
        "enterprise/form.html",
        json!({
            "app": app.map(app_json),
            "conflicts": app.map(|a| conflicts_json(p, a)),
            "action": app.map(|a| format!("/applications/{}", a.id)).unwrap_or_else(|| "/applications".into()),
            "groups": forms::groups(),
            "values": field_paths::flatten(form),
            "goods": goods_rows(form, &amounts),
            "totals": app.map(|a| json!(a.totals)).unwrap_or(json!({})),
            "options": forms::options(s.enterprise.reference().data()),
            "errors": by_field, "error_list": errs, "warning_list": warns,
            "office_refused": refused.map(|r| r.revision),
            "limit_mib": s.enterprise.settings().attachment_max_bytes >> 20,
        }),
    )
}

pub(super) async fn new_form(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    let info = run(&s, |e| e.node_info()).await.ok();
    // The name the issuing office accepted last (企业信息维护), else the enrolled one.
    let accepted = run(&s, |e| e.profile.get())
        .await
        .ok()
        .and_then(|p| p.accepted)
        .map(|p| p.enterprise_name)
        .filter(|n| !n.trim().is_empty());
    let mut form = ApplicationForm::default();
    if let Some(i) = info {
        // The enterprise's own name and code, as the platform pre-fills them.
        let name = accepted.unwrap_or(i.enterprise_name);
        form.exporter_name = name.clone();
        form.exporter_uscc = i.enterprise_uscc.clone();
        form.consignor_name = name;
        form.consignor_uscc = i.enterprise_uscc;
    }
    // The year in force and the online application's one price term (FOB).
    form.quota_year = crate::clock::china_date(s.enterprise.now_ms())
        .year()
        .to_string();
    form.price_term = "FOB".into();
    render_form(&s, &p, StatusCode::OK, None, &form, &[])
}

pub(super) fn posted(body: &Bytes) -> Result<Vec<(String, String)>, String> {
    serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
}

pub(super) async fn create(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let form = match posted(&body).and_then(|v| field_paths::unflatten(&v)) {
        Ok(f) => f,
        Err(m) => return p.error(StatusCode::BAD_REQUEST, m),
    };
    let f2 = form.clone();
    match run(&s, move |e| e.applications.create(&f2)).await {
        Ok(v) => see_other(&format!("/applications/{}/edit?msg=flash.saved", v.id)),
        Err(f) => form_failure(&s, &p, None, &form, f),
    }
}

pub(super) fn form_failure(
    s: &AppState,
    p: &Page,
    app: Option<&ApplicationView>,
    form: &ApplicationForm,
    f: Failure,
) -> Response {
    let (status, body) = f.parts();
    let mut errors = body.errors.clone();
    if errors.is_empty() {
        errors.push(FieldError {
            field: body.field.clone().unwrap_or_else(|| "form".into()),
            rule: body.rule.clone().unwrap_or_else(|| body.code.clone()),
            message: body.message.clone(),
            severity: Severity::Error,
        });
    }
    render_form(s, p, status, app, form, &errors)
}

#[allow(clippy::result_large_err)] // the error is the response to send, once per request
pub(super) fn parse_id(p: &Page, id: &str) -> Result<DocId, Response> {
    id.parse()
        .map_err(|_| p.error(StatusCode::NOT_FOUND, p.t("error.no_such_application")))
}

pub(super) async fn edit(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.get(id)).await {
        Ok(v) if v.frozen => see_other(&format!("/applications/{id}")),
        Ok(v) => render_form(&s, &p, StatusCode::OK, Some(&v), &v.form, &[]),
        Err(f) => failed(&p, f),
    }
}

/// 暂存 (`action=save`) or 保存并盖章 (`action=seal`: saves, then seals).
pub(super) async fn save(ctx: Ctx, Path(id): Path<String>, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let pairs = match posted(&body) {
        Ok(v) => v,
        Err(m) => return p.error(StatusCode::BAD_REQUEST, m),
    };
    let seal = pairs.iter().any(|(k, v)| k == "action" && v == "seal");
    let form = match field_paths::unflatten(&pairs) {
        Ok(f) => f,
        Err(m) => return p.error(StatusCode::BAD_REQUEST, m),
    };
    let f2 = form.clone();
    let saved = match run(&s, move |e| e.applications.save(id, &f2)).await {
        Ok(v) => v,
        Err(f) => {
            let current = run(&s, move |e| e.applications.get(id)).await.ok();
            return form_failure(&s, &p, current.as_ref(), &form, f);
        }
    };
    if !seal {
        return see_other(&format!("/applications/{id}/edit?msg=flash.saved"));
    }
    // The rules first, so a form that cannot be sealed is corrected before the PIN is
    // asked for; then the confirmation page asks for it.
    match run(&s, move |e| e.sealing.check(id)).await {
        Ok(()) => see_other(&format!("/applications/{id}/seal")),
        Err(f) => form_failure(&s, &p, Some(&saved), &form, f),
    }
}

pub(super) fn render_view(
    s: &AppState,
    p: &Page,
    v: &ApplicationView,
    sealed_no: Option<&str>,
    warnings: Vec<Value>,
) -> Response {
    let history: Vec<Value> = v
        .history
        .iter()
        .map(|h| {
            let (event, detail) = crate::ui::history_parts(p.language(), &h.event, &h.detail);
            json!({"at": when(h.at_ms), "event": event, "detail": detail})
        })
        .collect();
    let return_reason = (v.status == ApplicationStatus::Returned
        || v.status == ApplicationStatus::Rejected)
        .then(|| {
            v.history
                .iter()
                .rev()
                .find(|h| !h.detail.is_empty())
                .map(|h| h.detail.clone())
        })
        .flatten();
    // The office's refusal at receipt of the latest revision, each finding linking to its
    // field on the edit page.
    let refusal = v.refused_at_receipt.as_ref().map(|r| {
        let (_, errs, _) = error_values(p, &r.findings);
        json!({"revision": r.revision, "at": when(r.refused_at_ms), "list": errs})
    });
    let opts = forms::options(s.enterprise.reference().data());
    let mut goods_shown = goods_rows(&v.form, &v.totals.line_amounts);
    for r in &mut goods_shown {
        let unit = r["unit"].as_str().unwrap_or_default().to_owned();
        r["unit"] = json!(forms::name_of(
            &opts,
            "units",
            &unit,
            p.language() == Lang::En
        ));
    }
    p.render(
        "enterprise/application.html",
        json!({
            "app": app_json(v),
            "conflicts": conflicts_json(p, v),
            "groups": forms::groups(),
            "values": forms::display(&v.form, s.enterprise.reference().data(), p.language() == Lang::En),
            "goods": goods_shown,
            "history": history,
            "sealed_no": sealed_no,
            "warning_list": warnings,
            "return_reason": return_reason,
            "refusal": refusal,
            "limit_mib": s.enterprise.settings().attachment_max_bytes >> 20,
        }),
    )
}

pub(super) async fn view(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.get(id)).await {
        Ok(v) => render_view(&s, &p, &v, None, Vec::new()),
        Err(f) => failed(&p, f),
    }
}

/// 上传附件: several files in one multipart post.
pub(super) async fn upload(ctx: Ctx, Path(id): Path<String>, mut mp: Multipart) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let limit = s.enterprise.settings().attachment_max_bytes;
    let mut added = 0;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return p.error(StatusCode::BAD_REQUEST, format!("files: {e}")),
        };
        if field.name() != Some("files") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_owned();
        let media = field.content_type().unwrap_or("").to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return p.error(StatusCode::BAD_REQUEST, format!("files: {e}")),
        };
        if name.is_empty() && bytes.is_empty() {
            continue;
        }
        if bytes.len() as u64 > limit {
            return p.error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("{name}: {} {limit} B", p.t("att.too_large")),
            );
        }
        if let Err(f) = run(&s, move |e| e.attachments.add(id, &name, &media, &bytes)).await {
            return failed(&p, f);
        }
        added += 1;
    }
    see_other(&format!(
        "/applications/{id}/edit?msg=flash.uploaded&arg={added}"
    ))
}

pub(super) async fn download(ctx: Ctx, Path((id, sha)): Path<(String, String)>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.attachments.get(id, &sha)).await {
        Ok((a, bytes)) => crate::api::v1::applications::attachment_response(&a.name, bytes),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn remove_attachment(
    ctx: Ctx,
    Path((id, sha)): Path<(String, String)>,
) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.attachments.remove(id, &sha)).await {
        Ok(()) => see_other(&format!("/applications/{id}/edit?msg=flash.removed")),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn report(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.sealing.report(id)).await {
        Ok(_) => see_other(&format!("/applications/{id}?msg=flash.reported")),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn unseal(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.sealing.unseal(id)).await {
        Ok(_) => see_other(&format!("/applications/{id}/edit")),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn copy(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.copy(id)).await {
        Ok(v) => see_other(&format!("/applications/{}/edit?msg=flash.copied", v.id)),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn delete(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.delete(id)).await {
        Ok(()) => see_other("/applications?status=draft&msg=flash.deleted"),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn seal_file(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.sealing.sealed_submission(id)).await {
        Ok(sub) => {
            crate::api::v1::applications::attachment_response(&format!("{id}.seal"), sub.encode())
        }
        Err(f) => failed(&p, f),
    }
}
