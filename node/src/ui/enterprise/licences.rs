//! The enterprise's licences: 查看电子许可证 (list, page, signed file, PDF) and the
//! offline verification page.

use super::*;

/// The key chain `file` is checked against: that of the office whose agency code it
/// names as its issuer, when this enterprise is enrolled with that office; else (and
/// with no file) the home office's.
pub(super) fn trust(s: &AppState, file: Option<&[u8]>) -> Option<exlic_client::certificate::Trust> {
    let issuer = file.and_then(claimed_licence).map(|l| l.agency[0].clone());
    let root = issuer
        .and_then(|a| {
            s.offices
                .iter()
                .find(|o| o.agency_code == a)
                .map(|o| o.root)
        })
        .or(s.authority_key)?;
    s.enterprise.authority_trust(&root).ok()
}

pub(super) async fn licences(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (s, p) = open(ctx).await;
    let no = q.get("no").map(|s| s.trim().to_owned()).unwrap_or_default();
    let all = match apinode::licence_summaries(&s).await {
        Ok(a) => a,
        Err(f) => return failed(&p, f),
    };
    let standings = match run(&s, |e| e.licence_requests.standings()).await {
        Ok(m) => m,
        Err(f) => return failed(&p, f),
    };
    let today = crate::clock::china_date(s.enterprise.now_ms())
        .strftime("%Y%m%d")
        .to_string();
    let rows: Vec<Value> = all
        .into_iter()
        .filter(|l| no.is_empty() || l.licence_no.contains(&no))
        .map(|l| {
            let status = licence_view::listed_standing(
                standings.get(&l.licence_no).copied(),
                &l.expiry,
                &today,
            );
            json!({"licence_no": l.licence_no, "commodity_code": l.commodity_code,
                   "commodity_name": forms::commodity_name(&l.commodity_code, &l.commodity_name, p.language() == Lang::En),
                   "issue_date": crate::ui::licence_form::date(&l.issue_date),
                   "expiry": crate::ui::licence_form::date(&l.expiry), "status": status})
        })
        .collect();
    p.render(
        "enterprise/licences.html",
        json!({"licences": rows, "no": no}),
    )
}

pub(super) async fn licence_bytes(s: &AppState, no: String) -> Result<Option<Vec<u8>>, Failure> {
    let all = run(s, |e| e.replica.licences()).await?;
    Ok(all.into_iter().find(|(n, _)| *n == no).map(|(_, f)| f))
}

/// Renders a licence view (shared with the authority through `licence.html`).
pub fn render_licence(
    p: &Page,
    file: &[u8],
    trust: Option<&exlic_client::certificate::Trust>,
    file_href: &str,
    evidence: &licence_view::Evidence,
    standing_href: &str,
) -> Response {
    let (check, lic) = match trust {
        Some(t) => licence_view::check(file, t),
        None => (
            json!({"ok": false, "detail": p.t("verify.no_trust")}),
            exlic_client::signed::peek(file)
                .ok()
                .and_then(|b| exlic_client::licence::Licence::decode(b).ok()),
        ),
    };
    let Some(l) = lic else {
        return p.error(StatusCode::UNPROCESSABLE_ENTITY, p.t("verify.unreadable"));
    };
    p.render(
        "licence.html",
        json!({
            "lic": {"licence_no": l.licence_no},
            "form": licence_view::form(p, &l),
            "check": check,
            "standing": licence_view::standing(p, &l, evidence, trust),
            "standing_href": standing_href,
            "usage": licence_view::usage(p, evidence),
            "qr_svg": licence_view::qr_svg(&l, file),
            "file_href": file_href,
            "pdf_href": format!("{}/pdf", file_href.trim_end_matches("/file")),
        }),
    )
}

/// What this node knows of licence `no`'s standing.
pub(super) async fn evidence(s: &AppState, no: String) -> licence_view::Evidence {
    let n = no.clone();
    let (statement, recorded) = run(s, move |e| e.licence_requests.standing_evidence(&n))
        .await
        .unwrap_or((None, exlic_client::standing::State::Valid));
    let usage = run(s, move |e| e.licence_requests.usage(&no))
        .await
        .ok()
        .flatten();
    let heard_ms = apinode::sync_status(s)
        .await
        .ok()
        .and_then(|st| st.last_sync_ms);
    licence_view::Evidence {
        statement,
        recorded: Some(recorded),
        heard_ms,
        now_ms: s.enterprise.now_ms(),
        usage,
        flags: Vec::new(),
    }
}

/// The licence a file claims to be, unchecked (to look up what the node knows of it).
pub fn claimed_licence(file: &[u8]) -> Option<exlic_client::licence::Licence> {
    exlic_client::signed::peek(file)
        .ok()
        .and_then(|b| exlic_client::licence::Licence::decode(b).ok())
}

/// The licence number a file claims, unchecked.
pub fn claimed_no(file: &[u8]) -> Option<String> {
    claimed_licence(file).map(|l| l.licence_no)
}

pub(super) async fn licence(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    match licence_bytes(&s, no.clone()).await {
        Ok(Some(f)) => {
            let ev = evidence(&s, no.clone()).await;
            render_licence(
                &p,
                &f,
                trust(&s, Some(&f)).as_ref(),
                &format!("/licences/{no}/file"),
                &ev,
                &format!("/api/v1/licences/{no}/standing"),
            )
        }
        Ok(None) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn licence_file(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    match licence_bytes(&s, no.clone()).await {
        Ok(Some(f)) => {
            crate::api::v1::applications::attachment_response(&format!("{no}.licence"), f)
        }
        Ok(None) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

/// The licence as the node's PDF of the paper form, with its standing as this node knows it.
pub(super) async fn licence_pdf(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    match licence_bytes(&s, no.clone()).await {
        Ok(Some(f)) => {
            let ev = evidence(&s, no).await;
            let trust = trust(&s, Some(&f));
            let l = claimed_licence(&f);
            let standing = l.map(|l| licence_view::standing(&p, &l, &ev, trust.as_ref()));
            let standing = standing.unwrap_or_default();
            licence_view::pdf_response(p, f, standing).await
        }
        Ok(None) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

/// The verification page (every node): upload a licence file, see the offline result.
pub async fn verify_render(
    p: &Page,
    trust: Option<&exlic_client::certificate::Trust>,
    file: Option<&[u8]>,
    evidence: Option<&licence_view::Evidence>,
) -> Response {
    let result = file.map(|f| match trust {
        Some(t) => {
            let (check, lic) = licence_view::check(f, t);
            let mut v = check;
            if let (Some(l), Some(ev)) = (&lic, evidence) {
                v["standing"] = licence_view::standing(p, l, ev, Some(t));
            }
            if let Some(l) = &lic {
                v["form"] = json!(licence_view::form(p, l));
                v["qr_svg"] = json!(licence_view::qr_svg(l, f));
            }
            v
        }
        None => json!({"ok": false, "detail": p.t("verify.no_trust")}),
    });
    p.render(
        "verify.html",
        json!({
            "result": result,
            "trusted_key": trust.map(|t| t.keys().iter().map(|k| hex::encode(k.key)).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
        }),
    )
}

pub(super) async fn verify_page(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    verify_render(&p, trust(&s, None).as_ref(), None, None).await
}

/// Reads the one `file` field of a multipart post.
pub async fn one_file(mp: &mut Multipart) -> Result<Vec<u8>, String> {
    while let Some(f) = mp.next_field().await.map_err(|e| format!("file: {e}"))? {
        if f.name() == Some("file") {
            return f
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| format!("file: {e}"));
        }
    }
    Err("file: no file was sent".into())
}

pub(super) async fn verify_post(ctx: Ctx, mut mp: Multipart) -> Response {
    let (s, p) = open(ctx).await;
    match one_file(&mut mp).await {
        Ok(bytes) => {
            let ev = match claimed_no(&bytes) {
                Some(no) => Some(evidence(&s, no).await),
                None => None,
            };
            let trust = trust(&s, Some(&bytes));
            verify_render(&p, trust.as_ref(), Some(&bytes), ev.as_ref()).await
        }
        Err(m) => p.error(StatusCode::BAD_REQUEST, m),
    }
}
