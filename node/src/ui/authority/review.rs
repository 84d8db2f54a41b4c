//! Reviewing: the dashboard (counts and the fortnight's figures), the inboxes, the case
//! page with its seal check and the 初审/复审 decision, and the case's attachments.

use super::*;

pub(super) async fn counts(s: &AuthorityState) -> Vec<Value> {
    let c = run(s, |a| a.cases.case_counts()).await.unwrap_or_default();
    INBOXES
        .iter()
        .map(|st| json!({"status": st.code(), "count": c.get(st).copied().unwrap_or(0)}))
        .collect()
}

pub(super) async fn dashboard(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let today = crate::clock::china_date(s.authority.now_ms());
    let since = today
        .checked_sub(jiff::Span::new().days(13))
        .map(crate::clock::china_day_start)
        .unwrap_or(0);
    let figures = run(s, move |a| a.cases.daily_figures(since))
        .await
        .unwrap_or_default();
    let days: Vec<(String, u64, u64)> = (0..14)
        .rev()
        .filter_map(|back| today.checked_sub(jiff::Span::new().days(back)).ok())
        .map(|d| {
            let k = d.strftime("%Y-%m-%d").to_string();
            let (r, i) = figures.get(&k).copied().unwrap_or((0, 0));
            (k, r, i)
        })
        .collect();
    let certs = run(s, |a| a.certificates.count()).await.unwrap_or(0);
    // The chart is a table: a row per day (newest first), each figure printed beside a
    // bar on one scale (the fortnight's largest figure fills a bar), legible on a phone.
    let max = days.iter().map(|d| d.1.max(d.2)).max().unwrap_or(0).max(1);
    let pct = |v: u64| (v * 100).div_ceil(max);
    p.render(
        "authority/dashboard.html",
        json!({
            "counts": counts(s).await,
            "cert_requests": certs,
            "cluster": s.authority.cluster_status(),
            "may_change_replicas": staff.role == Role::Admin,
            "scale": max,
            "days": days.iter().rev().map(|(d, r, i)| json!({
                "day": d, "received": r, "issued": i,
                "received_pct": pct(*r), "issued_pct": pct(*i),
            })).collect::<Vec<_>>(),
        }),
    )
}

pub(super) async fn inbox(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let code = q
        .get("status")
        .cloned()
        .unwrap_or_else(|| "pending_initial".into());
    let Some(status) = ApplicationStatus::from_code(&code) else {
        return p.error(
            StatusCode::BAD_REQUEST,
            "status: an application status code",
        );
    };
    let page: u32 = match q.get("page").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => 1,
        Some(v) => match v.parse() {
            Ok(n) if n >= 1 => n,
            _ => return p.error(StatusCode::BAD_REQUEST, p.t("list.bad_page")),
        },
    };
    let per = crate::api::authority::INBOX_PER_PAGE as usize;
    let offset = (page as usize - 1) * per;
    let en = p.language() == Lang::En;
    let now = s.authority.now_ms();
    let asked = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let filter = crate::store::cases::CaseFilter {
        enterprise: asked("enterprise"),
        commodity: asked("commodity"),
    };
    let filtered = !filter.is_all();
    let shown = json!({"enterprise": asked("enterprise").unwrap_or_default(),
                       "commodity": asked("commodity").unwrap_or_default()});
    let found = run(s, move |a| {
        let (total, rows) = a.review.inbox(status, &filter, offset, per)?;
        let r = a.reference.current();
        let units = &r.data().units;
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(id, c, sum)| {
                let sum = sum.unwrap_or_default();
                let commodity = r
                    .commodity_any_year(&sum.commodity_code)
                    .map(|e| {
                        if en {
                            e.name_en.clone()
                        } else {
                            e.name.clone()
                        }
                    })
                    .unwrap_or_default();
                json!({
                    "id": id.to_string(), "application_no": c.application_no,
                    "revision": c.revision, "received": when(c.received_ms),
                    "age": crate::clock::working_days(c.received_ms, now),
                    "owner": c.owner, "exporter": sum.exporter,
                    "commodity_code": sum.commodity_code, "commodity": commodity,
                    "quantity": sum.quantity,
                    "unit": crate::ui::forms::code_name(units, &sum.unit, en),
                    "amount": sum.amount, "currency": sum.currency,
                })
            })
            .collect();
        Ok((total, rows))
    })
    .await;
    let (total, rows) = match found {
        Ok(r) => r,
        Err(f) => return failed(&p, f),
    };
    p.render(
        "authority/inbox.html",
        json!({"status": code, "counts": counts(s).await, "rows": rows,
               "pager": crate::ui::pager("/cases", &q, page as usize, total),
               "filter": shown, "filtered": filtered}),
    )
}

pub(super) async fn case(ctx: Ctx, Path(id): Path<String>) -> Response {
    case_view(ctx, id, None, None).await
}

/// The case page; `decision_error` is why a decision just made was refused, shown at the
/// decision form with the case still there.
/// The case page; `decision_error` names what was wrong with a decision just posted, and
/// `confirm` (the reason typed) asks the 处长 to confirm issuing before the licence is signed.
pub(super) async fn case_view(
    ctx: Ctx,
    id: String,
    decision_error: Option<String>,
    confirm: Option<String>,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such case");
    };
    let (file, history, reference) = match run(s, move |a| {
        Ok((
            a.cases.case_file(id)?,
            a.staff.audit_trail(Some(id), 500)?,
            a.reference.current(),
        ))
    })
    .await
    {
        Ok((Some(f), h, r)) => (f, h, r),
        Ok((None, _, _)) => return p.error(StatusCode::NOT_FOUND, format!("no case for {id}")),
        Err(f) => return failed(&p, f),
    };
    let (_, finding_errors, finding_warnings) =
        crate::ui::enterprise::error_values(&p, &file.findings);
    let stage = match file.status {
        ApplicationStatus::PendingInitial => Some(Stage::Initial),
        ApplicationStatus::PendingSecond => Some(Stage::Second),
        _ => None,
    };
    let decide = stage.filter(|st| stage_role(*st) == staff.role).map(|st| {
        if st == Stage::Initial {
            "initial"
        } else {
            "second"
        }
    });
    let form = file.form();
    let diff = if file.revisions.len() >= 2 {
        let prev = &file.revisions[file.revisions.len() - 2];
        Some((prev.0, crate::authority::casefile::diff(&prev.1, &form)))
    } else {
        None
    };
    let en = p.language() == Lang::En;
    let units = &reference.data().units;
    let goods: Vec<Value> = form
        .goods
        .iter()
        .map(|g| {
            json!({"spec": g.spec, "unit": forms::code_name(units, &g.unit, en),
                        "quantity": g.quantity, "unit_price": g.unit_price})
        })
        .collect();
    p.render(
        "authority/case.html",
        json!({
            "case": {
                "id": file.id.to_string(), "application_no": file.application_no,
                "status": file.status.code(), "owner": file.owner, "revision": file.revision,
                "received": when(file.received_ms), "licence_no": file.licence_no,
            },
            "seal": {"ok": file.seal.ok, "detail": match file.seal.verified {
                Some((rev, n)) => p
                    .t("case.seal.verified")
                    .replace("{revision}", &rev.to_string())
                    .replace("{n}", &n.to_string()),
                None => file.seal.detail,
            }, "device": file.seal.device,
                     "certificate": file.seal.certificate},
            "decide": decide,
            "decision_error": decision_error,
            "confirm": confirm.map(|reason| json!({"reason": reason})),
            "pending": stage.is_some(),
            "diff_from": diff.as_ref().map(|d| d.0),
            "diff": diff.map(|d| d.1.into_iter().map(|(f, b, a)| json!({
                "field": f, "label": crate::ui::enterprise::label_of(&p, &f), "before": b, "after": a,
            })).collect::<Vec<_>>()),
            "groups": forms::groups(),
            "values": forms::display(&form, reference.data(), p.language() == Lang::En),
            "finding_errors": finding_errors,
            "finding_warnings": finding_warnings,
            "goods": goods,
            "attachments": file.attachments,
            "history": history.iter().rev().map(|h| crate::ui::audit_row(
                p.language(), h.seq, h.at_ms, &h.actor, &h.action, &h.detail, None,
            )).collect::<Vec<_>>(),
        }),
    )
}

pub(super) async fn decide(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such case");
    };
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let stage = match f.get("stage").map(String::as_str) {
        Some("initial") => Stage::Initial,
        Some("second") => Stage::Second,
        _ => {
            return p.error(
                StatusCode::BAD_REQUEST,
                "stage: `initial` (初审) or `second` (复审)",
            );
        }
    };
    if stage_role(stage) != staff.role {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let approve = f.get("approve").map(String::as_str) == Some("true");
    let reason = f.get("reason").cloned().unwrap_or_default();
    // Issuing signs a licence that cannot be taken back (only deleted): the 处长 confirms
    // it on a second step, which works without JavaScript.
    if stage == Stage::Second && approve && f.get("confirm").map(String::as_str) != Some("yes") {
        return case_view(ctx, id.to_string(), None, Some(reason)).await;
    }
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    match run(s, move |a| {
        a.review.decide(id, stage, approve, &reason, &actor)
    })
    .await
    {
        Ok(_) => see_other(&format!("/cases/{id}?msg=flash.decided")),
        Err(f) => {
            let (code, body) = f.parts();
            let message = match body.field.as_deref() {
                Some("reason") => p.t("case.reason_required"),
                _ => body.message.clone(),
            };
            let mut page = case_view(ctx, id.to_string(), Some(message), None).await;
            if page.status() == StatusCode::OK {
                *page.status_mut() = code;
            }
            page
        }
    }
}

pub(super) async fn attachment(ctx: Ctx, Path((id, sha)): Path<(String, String)>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such case");
    };
    match run(&ctx.0.0, move |a| a.cases.case_attachment(id, &sha)).await {
        Ok(Some((a, bytes))) => crate::api::v1::applications::attachment_response(&a.name, bytes),
        Ok(None) => p.error(StatusCode::NOT_FOUND, "no such attachment"),
        Err(f) => failed(&p, f),
    }
}
