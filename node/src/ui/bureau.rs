//! The bureau supervisors' screens (监管): sign-in and the national view — the offices
//! followed (how far each log is read and co-signed, halted or not), the monitors'
//! alarms, licences found by number, enterprise or commodity across every office, and
//! licences per day over the last 30 days as a chart and a table.
//!
//! Rules stay in [`Bureau`](crate::bureau::Bureau); the handlers parse and render.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Csrf, Guard, Lang, Page, see_other, when};
use crate::api::bureau::{BureauState, SESSION_COOKIE, end_session, run, session_of, sign_in};
use crate::bureau::{BureauError, Search};

/// The supervisors' routes.
pub fn router(state: BureauState) -> Router {
    Router::new()
        .route("/", get(national))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout))
        .with_state(state)
}

type Ctx = (
    State<BureauState>,
    Extension<Lang>,
    Extension<Csrf>,
    HeaderMap,
    Uri,
);

fn frame(lang: Lang, csrf: &Csrf, uri: &Uri, who: Option<&(String, String)>) -> Page {
    let mut p = Page::new(lang, csrf, uri.path(), "brand.bureau");
    if let Some((login, name)) = who {
        p.staff = Some(json!({"login": login, "name": name, "role": "supervisor"}));
    }
    p
}

/// Days shown in the chart.
const CHART_DAYS: i64 = 30;

/// One day of the chart: its label, its count and the bar's height and place.
fn chart(p: &Page, counts: &BTreeMap<u32, u64>, today_ms: i64) -> Value {
    let max = counts.values().copied().max().unwrap_or(0).max(1);
    let (width, height) = (12u64, 100u64);
    let bars: Vec<Value> = (0..CHART_DAYS)
        .map(|i| {
            let ms = today_ms - (CHART_DAYS - 1 - i) * 86_400_000;
            let d = crate::clock::china_date(ms);
            let key = d.strftime("%Y%m%d").to_string().parse::<u32>().unwrap_or(0);
            let n = counts.get(&key).copied().unwrap_or(0);
            let h = n * height / max;
            json!({
                "x": i as u64 * width,
                "y": height - h,
                "w": width - 2,
                "h": h,
                "n": n,
                "day": d.strftime("%Y-%m-%d").to_string(),
            })
        })
        .collect();
    json!({
        "bars": bars,
        "width": CHART_DAYS as u64 * width,
        "height": height,
        "max": max,
        "label": p.t("bureau.chart_label"),
    })
}

async fn national(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (State(s), Extension(lang), Extension(csrf), headers, uri) = &ctx;
    let Some(who) = session_of(s, headers) else {
        return see_other("/login");
    };
    let p = frame(*lang, csrf, uri, Some(&who));
    let search = Search {
        licence_no: q.get("licence_no").cloned().unwrap_or_default(),
        enterprise: q.get("enterprise").cloned().unwrap_or_default(),
        commodity: q.get("commodity").cloned().unwrap_or_default(),
    };
    let asked = !(search.licence_no.is_empty()
        && search.enterprise.is_empty()
        && search.commodity.is_empty());
    let now = s.bureau.now_ms();
    let from = crate::clock::china_date(now - CHART_DAYS * 86_400_000)
        .strftime("%Y%m%d")
        .to_string()
        .parse::<u32>()
        .unwrap_or(0);
    let q2 = search.clone();
    let facts = run(s, move |b| {
        let found = if asked { Some(b.search(&q2)) } else { None };
        Ok((b.offices()?, b.alarms()?, b.daily(from)?, found))
    })
    .await;
    let (offices, alarms, daily, found) = match facts {
        Ok(f) => f,
        Err(f) => return p.error(f.parts().0, f.parts().1.message.clone()),
    };
    let agency: HashMap<u32, String> = offices
        .iter()
        .map(|(id, o, _)| (*id, o.agency.clone()))
        .collect();
    let mut per_day: BTreeMap<u32, u64> = BTreeMap::new();
    let mut per_office: BTreeMap<u32, u64> = BTreeMap::new();
    for ((day, office), n) in &daily {
        *per_day.entry(*day).or_default() += n;
        *per_office.entry(*office).or_default() += n;
    }
    let (results, more, error) = match found {
        Some(Ok((hits, more))) => (
            hits.into_iter()
                .map(|h| {
                    json!({
                        "licence_no": h.row.licence_no,
                        "agency": h.agency,
                        "index": h.index,
                        "enterprise": h.row.enterprise_name,
                        "uscc": h.row.enterprise_uscc,
                        "commodity": format!("{} {}", h.row.commodity_code, h.row.commodity_name),
                        "issued": when(h.row.issued_at_ms),
                    })
                })
                .collect::<Vec<_>>(),
            more,
            None,
        ),
        Some(Err(BureauError::BadInput { field, .. })) => (
            Vec::new(),
            false,
            Some(format!(
                "{}{}{}",
                p.t(&format!("bureau.field.{field}")),
                if p.language() == Lang::Zh {
                    "："
                } else {
                    ": "
                },
                p.t("bureau.bad_search")
            )),
        ),
        Some(Err(e)) => return p.error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        None => (Vec::new(), false, None),
    };
    let status = if asked && error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    p.render_status(
        status,
        "bureau/national.html",
        json!({
            "offices": offices.iter().map(|(id, o, held)| json!({
                "agency": o.agency,
                "name": o.name,
                "held": held,
                "cosigned": o.cosigned,
                "last_read": (o.last_read_ms > 0).then(|| when(o.last_read_ms)),
                "halted": o.halted,
                "licences_30d": per_office.get(id).copied().unwrap_or(0),
            })).collect::<Vec<_>>(),
            "alarms": alarms.iter().map(|a| json!({
                "at": when(a.at_ms),
                "agency": agency.get(&a.office).cloned().unwrap_or_default(),
                "kind": a.kind,
                "detail": super::detail_parts(
                    p.language(),
                    super::lookup(p.language(), &a.detail_template()),
                    &a.detail,
                ),
            })).collect::<Vec<_>>(),
            "chart": chart(&p, &per_day, now),
            "days": per_day.iter().rev().map(|(d, n)| json!({"day": format!("{}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100), "n": n})).collect::<Vec<_>>(),
            "q": {"licence_no": search.licence_no, "enterprise": search.enterprise, "commodity": search.commodity},
            "asked": asked,
            "results": results,
            "more": more,
            "search_error": error,
        }),
    )
}

async fn login_page(ctx: Ctx) -> Response {
    let (_, Extension(lang), Extension(csrf), _, uri) = &ctx;
    frame(*lang, csrf, uri, None).render("login.html", json!({}))
}

async fn login_post(
    Extension(g): Extension<std::sync::Arc<Guard>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let (State(s), Extension(lang), Extension(csrf), _, uri) = &ctx;
    let p = frame(*lang, csrf, uri, None);
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let login = f.get("login").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let outcome = sign_in(s, login.clone(), password, peer.ip().to_string()).await;
    super::sign_in_answer(&p, outcome, SESSION_COOKIE, g.secure(), login)
}

async fn logout(Extension(g): Extension<std::sync::Arc<Guard>>, ctx: Ctx) -> Response {
    let (State(s), _, _, headers, _) = &ctx;
    if let Some(t) = crate::api::extract::cookie(headers, SESSION_COOKIE) {
        end_session(s, t.to_owned()).await;
    }
    super::signed_out(SESSION_COOKIE, g.secure())
}
