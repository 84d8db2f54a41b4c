//! Lists on every node's screens: the page a query asks for, the pager under a list,
//! and the audit page with its filter form.

use super::*;

/// Rows per page of a list on a staff screen and of the audit trail.
pub const PER_PAGE: usize = 50;

/// Which page of a list `q` asks for (`page`, from 1; absent is 1), or the page saying
/// what is wrong with it.
#[allow(clippy::result_large_err)] // the error is the response to send, once per request
pub fn page_number(p: &Page, q: &HashMap<String, String>) -> Result<usize, Response> {
    match q.get("page").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(1),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(p.error(StatusCode::BAD_REQUEST, p.t("list.bad_page"))),
        },
    }
}

/// What `pager.html` draws under a list: this page of how many, of how many rows, and
/// the links to the pages either side (the same address with `page` changed).
pub fn pager(
    path: &str,
    q: &HashMap<String, String>,
    page: usize,
    total: u64,
) -> serde_json::Value {
    let pages = total.div_ceil(PER_PAGE as u64).max(1) as usize;
    let href = |n: usize| {
        let mut kept: std::collections::BTreeMap<&str, String> = q
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "page" | "msg"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        kept.insert("page", n.to_string());
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&kept).unwrap_or_default()
        )
    };
    serde_json::json!({
        "page": page, "pages": pages, "total": total,
        "prev": (page > 1).then(|| href(page - 1)),
        "next": (page < pages).then(|| href(page + 1)),
    })
}

/// Page `page` of `rows` held in memory, with its [`pager`].
pub fn page_of<T>(
    rows: Vec<T>,
    path: &str,
    q: &HashMap<String, String>,
    page: usize,
) -> (Vec<T>, serde_json::Value) {
    let total = rows.len() as u64;
    let shown = rows
        .into_iter()
        .skip((page - 1).saturating_mul(PER_PAGE))
        .take(PER_PAGE)
        .collect();
    (shown, pager(path, q, page, total))
}

/// One audit row for `audit.html` (and a case's history), in the page's language: the
/// time, who (role by name, the rest as written), the action and its detail.
pub fn audit_row(
    lang: Lang,
    seq: u64,
    at_ms: i64,
    actor: &str,
    action: &str,
    detail: &str,
    href: Option<String>,
) -> serde_json::Value {
    let (role, who) = actor_parts(lang, actor);
    let (action, detail) = audit_parts(lang, action, detail);
    serde_json::json!({
        "seq": seq, "at": when(at_ms), "role": role, "actor": who, "action": action,
        "detail": detail, "href": href,
    })
}

/// What an audit page asks for: its page number and the filter its form sets (actor,
/// action, dates), or the page itself showing which field is wrong, in place.
#[allow(clippy::result_large_err)] // the error is the response to send, once per request
pub fn audit_request(
    p: &Page,
    q: &HashMap<String, String>,
    actions: &[&'static str],
) -> Result<(usize, crate::store::audit::Filter), Response> {
    let page = page_number(p, q)?;
    crate::api::audit::AuditQuery::from_map(q)
        .filter()
        .map(|f| (page, f))
        .map_err(|bad| {
            // The message names the field and its rule in the page's language.
            let message = p.t(&format!("audit.filter.bad.{}", bad.field));
            audit_view(p, q, actions, (&[], 0), |_| None, Some(message))
        })
}

/// The audit page of a node: the filter form holding what was asked (`actions`: the codes
/// this node writes, offered by name), the page of entries with links where `link` gives
/// one, the pager, and `error` above them if the query was refused (400).
pub fn audit_view(
    p: &Page,
    q: &HashMap<String, String>,
    actions: &[&'static str],
    (entries, total): (&[crate::store::audit::AuditEntry], u64),
    link: impl Fn(&crate::store::audit::AuditEntry) -> Option<String>,
    error: Option<String>,
) -> Response {
    let lang = p.language();
    let asked = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let codes = crate::store::audit::EVERYONE.iter().chain(actions);
    let mut options: Vec<(String, &str)> = codes
        .map(|c| (text(lang, &format!("audit.{c}")), *c))
        .collect();
    options.sort();
    let page = page_number(p, q).unwrap_or(1);
    let filtered = ["actor", "action", "from", "to"]
        .iter()
        .any(|k| !asked(k).is_empty());
    p.render_status(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "audit.html",
        serde_json::json!({
            "entries": entries.iter().map(|e| audit_row(
                lang, e.seq, e.at_ms, &e.actor, &e.action, &e.detail, link(e),
            )).collect::<Vec<_>>(),
            "pager": pager("/audit", q, page, total),
            "filter": {"actor": asked("actor"), "action": asked("action"), "from": asked("from"), "to": asked("to")},
            "filtered": filtered,
            "actions": options.iter().map(|(name, code)| serde_json::json!({"code": code, "name": name})).collect::<Vec<_>>(),
            "error": error,
        }),
    )
}
