//! Issued licences at the office: the list, the e-licence page, its signed file and PDF,
//! its standing, the verification page, and 删证/核销 requests with their decisions.

use super::*;

pub(super) async fn licences(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let no = q.get("no").map(|s| s.trim().to_owned()).unwrap_or_default();
    let page = match crate::ui::page_number(&p, &q) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let part = no.clone();
    let offset = (page - 1) * crate::ui::PER_PAGE;
    let (files, total) = match run(&ctx.0.0, move |a| {
        a.review.licence_page(&part, offset, crate::ui::PER_PAGE)
    })
    .await
    {
        Ok(f) => f,
        Err(f) => return failed(&p, f),
    };
    let today = crate::clock::china_date(ctx.0.0.authority.now_ms())
        .strftime("%Y%m%d")
        .to_string();
    let rows: Vec<Value> = files
        .iter()
        .filter_map(|(n, f, standing)| {
            let l =
                exlic_client::licence::Licence::decode(exlic_client::signed::peek(f).ok()?).ok()?;
            let status = licence_view::listed_standing(Some(*standing), &l.expiry, &today);
            let name = crate::ui::licence_form::commodity_name(&l, p.language() == Lang::En);
            Some(
                json!({"licence_no": n, "commodity": format!("{} {name}", l.commodity[0]),
                        "exporter": l.exporter[0], "issue_date": l.issue_date, "expiry": l.expiry,
                        "status": status}),
            )
        })
        .collect();
    let pager = crate::ui::pager("/licences", &q, page, total);
    p.render(
        "authority/licences.html",
        json!({"licences": rows, "no": no, "pager": pager}),
    )
}

pub(super) fn own_trust(s: &AuthorityState) -> Trust {
    s.authority.trust()
}

/// What the office holds of licence `no`'s standing: it is the source, so as of now.
pub(super) async fn office_evidence(s: &AuthorityState, no: String) -> licence_view::Evidence {
    let n = no.clone();
    let (statement, recorded) = run(s, move |a| a.licence_requests.standing_evidence(&n))
        .await
        .unwrap_or((None, exlic_client::standing::State::Valid));
    let (usage, flags) = run(s, move |a| a.customs.usage_of(&no))
        .await
        .ok()
        .flatten()
        .map(|(u, f)| (Some(u).filter(|u| !u.lines.is_empty()), f))
        .unwrap_or_default();
    let now = s.authority.now_ms();
    licence_view::Evidence {
        statement,
        recorded: Some(recorded),
        heard_ms: Some(now),
        now_ms: now,
        usage,
        flags,
    }
}

pub(super) async fn licence(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (p, f) = match held_licence(&ctx, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let ev = office_evidence(s, no.clone()).await;
    render_licence(
        &p,
        &f,
        Some(&own_trust(s)),
        &format!("/licences/{no}/file"),
        &ev,
        &format!("/licences/{no}/standing"),
    )
}

/// The signed-in page and the signed file of licence `no`; the sign-in page, a 404 naming
/// the number, or the failure otherwise.
pub(super) async fn held_licence(ctx: &Ctx, no: &str) -> Result<(Page, Vec<u8>), Response> {
    let (p, _) = signed_in(ctx)?;
    let n = no.to_owned();
    match run(&ctx.0.0, move |a| a.review.licence(&n)).await {
        Ok(Some(f)) => Ok((p, f)),
        Ok(None) => Err(p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none")))),
        Err(f) => Err(failed(&p, f)),
    }
}

pub(super) async fn licence_file(ctx: Ctx, Path(no): Path<String>) -> Response {
    match held_licence(&ctx, &no).await {
        Ok((_, f)) => {
            crate::api::v1::applications::attachment_response(&format!("{no}.licence"), f)
        }
        Err(r) => r,
    }
}

/// The licence as the office's PDF of the paper form, with its standing now.
pub(super) async fn licence_pdf(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (p, f) = match held_licence(&ctx, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let ev = office_evidence(s, no).await;
    let trust = own_trust(s);
    let standing = crate::ui::enterprise::claimed_licence(&f)
        .map(|l| licence_view::standing(&p, &l, &ev, Some(&trust)))
        .unwrap_or_default();
    licence_view::pdf_response(p, f, standing).await
}

/// The office's newest signed standing statement of a licence, as a file.
pub(super) async fn licence_standing(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let n = no.clone();
    match run(&ctx.0.0, move |a| a.licence_requests.standing_evidence(&n)).await {
        Ok((Some(f), _)) => {
            crate::api::v1::applications::attachment_response(&format!("{no}.standing"), f)
        }
        Ok((None, _)) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn verify_page(ctx: Ctx) -> Response {
    let (State(s), Extension(lang), Extension(csrf), headers, uri) = &ctx;
    let staff = session_of(s, headers);
    let p = frame(*lang, csrf, uri, staff.as_ref());
    verify_render(&p, Some(&own_trust(s)), None, None).await
}

pub(super) async fn verify_post(ctx: Ctx, mut mp: Multipart) -> Response {
    let (State(s), Extension(lang), Extension(csrf), headers, uri) = &ctx;
    let staff = session_of(s, headers);
    let p = frame(*lang, csrf, uri, staff.as_ref());
    match one_file(&mut mp).await {
        Ok(bytes) => {
            let ev = match claimed_no(&bytes) {
                Some(no) => Some(office_evidence(s, no).await),
                None => None,
            };
            verify_render(&p, Some(&own_trust(s)), Some(&bytes), ev.as_ref()).await
        }
        Err(m) => p.error(StatusCode::BAD_REQUEST, m),
    }
}

/// 删证/核销 requests by status (待审核 first), with the decision form for reviewers.
pub(super) async fn licence_request_list(
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    use crate::store::licence_request::Status;
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let code = q.get("status").cloned().unwrap_or_else(|| "pending".into());
    let Some(status) = Status::parse(&code) else {
        return p.error(
            StatusCode::BAD_REQUEST,
            "status: `pending`, `approved` or `rejected`",
        );
    };
    let all = match run(s, |a| a.licence_requests.list(None)).await {
        Ok(a) => a,
        Err(f) => return failed(&p, f),
    };
    let counts: Vec<Value> = [Status::Pending, Status::Approved, Status::Rejected]
        .iter()
        .map(|st| json!({"status": st.code(), "count": all.iter().filter(|(_, r)| r.status == *st).count()}))
        .collect();
    let rows: Vec<Value> = all
        .into_iter()
        .filter(|(_, r)| r.status == status)
        .map(|(id, r)| {
            json!({"id": id.to_string(), "kind": r.kind.code(), "licence_no": r.licence_no,
                   "status": r.status.code(), "owner": r.owner, "created": when(r.created_ms),
                   "reason": r.reason})
        })
        .collect();
    let page = match crate::ui::page_number(&p, &q) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let (rows, pager) = crate::ui::page_of(rows, "/licence-requests", &q, page);
    p.render(
        "authority/licence_requests.html",
        json!({"status": code, "counts": counts, "rows": rows, "pager": pager,
               "may_decide": crate::api::authority::may_decide_licence_requests(&staff).is_ok()}),
    )
}

pub(super) async fn licence_request_decide(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if crate::api::authority::may_decide_licence_requests(&staff).is_err() {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such request");
    };
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let approve = f.get("approve").map(String::as_str) == Some("true");
    let reason = f.get("reason").cloned().unwrap_or_default();
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    match run(&ctx.0.0, move |a| {
        a.licence_requests.decide(id, approve, &reason, &actor)
    })
    .await
    {
        Ok(_) => see_other("/licence-requests?status=pending&msg=flash.decided"),
        Err(f) => failed(&p, f),
    }
}
