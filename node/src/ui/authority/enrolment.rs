//! Enterprises and their devices: enrolment invites, device certificates (手机证书授权),
//! 企业信息维护 proposals and e-key unlocks.

use super::*;

pub(super) async fn invite_page(
    p: &Page,
    s: &AuthorityState,
    status: StatusCode,
    extra: Value,
) -> Response {
    let ents = run(s, |a| a.registry.enterprises())
        .await
        .unwrap_or_default();
    let mut v = json!({"enterprises": ents.into_iter().map(|(u, n)| json!({"uscc": u, "name": n})).collect::<Vec<_>>()});
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    p.render_status(status, "authority/invite.html", v)
}

pub(super) async fn invites(ctx: Ctx) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    invite_page(&p, &ctx.0.0, StatusCode::OK, json!({})).await
}

pub(super) async fn invite_post(ctx: Ctx, body: Bytes) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let uscc = f.get("uscc").cloned().unwrap_or_default().trim().to_owned();
    let name = f.get("name").cloned().unwrap_or_default().trim().to_owned();
    let numbers: u64 = match f.get("numbers").map(|n| n.trim().parse()) {
        None => 10_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            return invite_page(
                &p,
                s,
                StatusCode::BAD_REQUEST,
                json!({"error": "numbers: a whole number above 0", "uscc": uscc, "name": name}),
            )
            .await;
        }
    };
    let actor = staff.actor();
    let (u, n) = (uscc.clone(), name.clone());
    match run(s, move |a| {
        let t = a.registry.invite(&u, &n, numbers, 30)?;
        a.staff.record(&actor, DocId([0; 16]), "invite", &u)?;
        Ok(t)
    })
    .await
    {
        Ok(token) => invite_page(&p, s, StatusCode::CREATED, json!({"token": token})).await,
        Err(f) => {
            let msg = f.parts().1.message.clone();
            invite_page(
                &p,
                s,
                StatusCode::BAD_REQUEST,
                json!({"error": msg, "uscc": uscc, "name": name}),
            )
            .await
        }
    }
}

/// 手机证书授权 records: the certificates issued, newest first, by enterprise and standing.
pub(super) async fn certificates(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    use crate::authority::certificates::CertFilter;
    use crate::store::certs::CertStanding;
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let page = match crate::ui::page_number(&p, &q) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let asked = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (uscc, status) = (asked("uscc"), asked("status"));
    let standing = match status.as_str() {
        "" => None,
        code => match CertStanding::parse(code) {
            Some(s) => Some(s),
            None => return p.error(StatusCode::BAD_REQUEST, p.t("cert.filter.bad_status")),
        },
    };
    let filter = CertFilter {
        uscc: Some(uscc.clone()).filter(|u| !u.is_empty()),
        standing,
    };
    let offset = (page - 1) * crate::ui::PER_PAGE;
    let now = ctx.0.0.authority.now_ms();
    match run(&ctx.0.0, move |a| {
        a.certificates.page(&filter, offset, crate::ui::PER_PAGE)
    })
    .await
    {
        Ok((rows, total)) => p.render(
            "authority/cert_requests.html",
            json!({
                "rows": rows.into_iter().map(|c| json!({
                    "seq": c.serial, "time": when(c.not_before_ms), "kind": p.t("cert.req.issued"),
                    "uscc": c.uscc, "mobile": c.mobile,
                    "status": p.t(&format!("cert.status.{}", c.standing_at(now).code())),
                    "detail": format!("{} — {}", when(c.not_before_ms), when(c.not_after_ms)),
                })).collect::<Vec<_>>(),
                "pager": crate::ui::pager("/cert-requests", &q, page, total),
                "filter": {"uscc": uscc, "status": status},
                "filtered": !uscc.is_empty() || !status.is_empty(),
                "statuses": CertStanding::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
            }),
        ),
        Err(f) => failed(&p, f),
    }
}

/// 企业信息维护: each enterprise's proposal beside the accepted version.
pub(super) async fn profiles_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = match run(&ctx.0.0, |a| a.profiles.list()).await {
        Ok(r) => r,
        Err(f) => return failed(&p, f),
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .map(crate::api::authority::profile_row)
        .map(|r| {
            let fields = r.profile.proposed.as_ref().map(|pr| {
                exlic_client::profile::FIELDS
                    .iter()
                    .map(|f| {
                        let acc = r.profile.accepted.as_ref().map(|a| a.get(f)).unwrap_or("");
                        json!({"name": f, "proposed": pr.get(f), "accepted": acc, "changed": acc != pr.get(f)})
                    })
                    .collect::<Vec<_>>()
            });
            json!({"uscc": r.uscc, "name": r.name, "status": r.profile.status, "fields": fields})
        })
        .collect();
    p.render(
        "authority/profiles.html",
        json!({"rows": rows, "may_accept": staff.role == Role::Admin}),
    )
}

/// An administrator's action on one enterprise, then back to `back` with a flash.
pub(super) async fn admin_action(
    ctx: Ctx,
    back: &'static str,
    act: impl FnOnce(&crate::authority::Authority, &str) -> Result<(), crate::authority::AuthorityError>
    + Send
    + 'static,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let actor = staff.actor();
    match run(&ctx.0.0, move |a| act(a, &actor)).await {
        Ok(()) => see_other(&format!("{back}?msg=flash.decided")),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn profile_accept(ctx: Ctx, Path(uscc): Path<String>) -> Response {
    admin_action(ctx, "/profiles", move |a, actor| {
        a.profiles.accept(&uscc, actor)
    })
    .await
}

/// E-key unlock requests.
pub(super) async fn unlocks_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match run(&ctx.0.0, |a| a.unlocks.pending()).await {
        Ok(rows) => p.render(
            "authority/unlocks.html",
            json!({"rows": rows.into_iter().map(|(u, n)| json!({"uscc": u, "name": n})).collect::<Vec<_>>(),
                   "may_approve": staff.role == Role::Admin}),
        ),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn unlock_approve(ctx: Ctx, Path(uscc): Path<String>) -> Response {
    admin_action(ctx, "/unlocks", move |a, actor| {
        a.unlocks.approve(&uscc, actor)
    })
    .await
}
