//! The server-rendered web UI of both roles: template rendering, the message catalogue,
//! static assets and the page context every screen shares.
//!
//! Templates and texts live in the `exlic-web` crate and are embedded in the binary.
//! Handlers build a [`Page`] (language, CSRF token, navigation, status bar) plus their own
//! values and call [`Page::render`]. Security (Host allow-list, Origin and CSRF checks,
//! cookies, CSP) is one middleware in [`guard`]; no handler re-implements it.

pub mod authority;
pub mod bureau;
pub mod customs;
pub mod enterprise;
pub mod forms;
pub mod gate;
pub mod guard;
pub mod licence_form;
pub mod licence_pdf;
pub mod licence_view;
mod lists;
pub mod qr_scan;

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, State, Value};
use serde::Serialize;

pub use guard::{Csrf, Guard, Lang};
pub use lists::{PER_PAGE, audit_request, audit_row, audit_view, page_number, page_of, pager};

/// The catalogue: key → [Chinese, English].
static CATALOGUE: LazyLock<HashMap<String, [String; 2]>> = LazyLock::new(|| {
    serde_json::from_str(exlic_web::MESSAGES).expect("web/i18n/messages.json is valid")
});

/// `key` in `lang`, if the catalogue has it.
pub fn lookup(lang: Lang, key: &str) -> Option<String> {
    CATALOGUE.get(key).map(|pair| pair[lang as usize].clone())
}

/// A history entry in the page's language: the event by its catalogue name (`event.…`,
/// else the status of that code), and a structured detail (`@key=value;…`, see
/// `store::app_state::AppState::log`) through the event's template `event.….detail`; free
/// text stays as written.
pub fn history_line(lang: Lang, event: &str, detail: &str) -> (String, String) {
    let (name, parts) = history_parts(lang, event, detail);
    (name, joined(parts))
}

/// [`history_line`] with the detail in parts (`(text, is_data)`, see [`detail_parts`]).
pub fn history_parts(lang: Lang, event: &str, detail: &str) -> (String, Vec<(String, bool)>) {
    let name = lookup(lang, &format!("event.{event}"))
        .or_else(|| lookup(lang, &format!("status.{event}")))
        .unwrap_or_else(|| event.to_owned());
    let template = lookup(lang, &format!("event.{event}.detail"));
    (name, detail_parts(lang, template, detail))
}

fn joined(parts: Vec<(String, bool)>) -> String {
    parts.into_iter().map(|(t, _)| t).collect()
}

/// An audit line's action and detail in the page's language: the action by its code's
/// name (`audit.…`; a row from before codes by the code its name stands for, see
/// `store::audit::code_of`), a structured detail through `audit.….detail`.
pub fn audit_line(lang: Lang, action: &str, detail: &str) -> (String, String) {
    let (name, parts) = audit_parts(lang, action, detail);
    (name, joined(parts))
}

/// [`audit_line`] with the detail in parts (`(text, is_data)`, see [`detail_parts`]).
pub fn audit_parts(lang: Lang, action: &str, detail: &str) -> (String, Vec<(String, bool)>) {
    let code = crate::store::audit::code_of(action);
    let name = lookup(lang, &format!("audit.{code}")).unwrap_or_else(|| action.to_owned());
    // The code's own template, else the one for the detail's first value (the gate's
    // `@outcome=…` for every operator action, `@revision=…`, `@reason=…`, …).
    let first = detail
        .strip_prefix('@')
        .and_then(|a| a.split_once('='))
        .map(|(k, _)| k);
    let template = lookup(lang, &format!("audit.{code}.detail"))
        .or_else(|| first.and_then(|k| lookup(lang, &format!("audit.detail.{k}"))));
    (name, detail_parts(lang, template, detail))
}

/// Who acted, in the page's language: the role the actor line starts with (经办人, 盖章员,
/// …, as `Staff::actor`/`Operator::actor` write it) by its name, and the rest (the
/// person's name and login, an address) as written.
pub fn actor_parts(lang: Lang, actor: &str) -> (String, String) {
    const ROLES: [(&str, &str); 5] = [
        ("经办人", "officer"),
        ("处长", "chief"),
        ("管理员", "admin"),
        ("制单员", "drafter"),
        ("盖章员", "sealer"),
    ];
    if actor == "system" {
        return (text(lang, "audit.system"), String::new());
    }
    for (zh, code) in ROLES {
        if let Some(rest) = actor.strip_prefix(zh).and_then(|r| r.strip_prefix(' ')) {
            return (text(lang, &format!("role.{code}")), rest.to_owned());
        }
    }
    (String::new(), actor.to_owned())
}

/// A detail in the page's language, in parts: `(text, is_data)`. Free text is what a
/// person wrote (data); `@key=value;…` goes through the catalogue's `template`, each
/// `{key}` replaced. A person's words (`reason`, `note`) and values that may hold `;`
/// (`values`, `value`, `rules`, `path`) run to the end. Values are data, except those
/// shown by name: `field` by its label, `result`/`outcome`/`role`/`action` by their
/// names, a release `note` the office wrote itself. A page marks the data parts
/// `translate="no"`.
pub fn detail_parts(lang: Lang, template: Option<String>, detail: &str) -> Vec<(String, bool)> {
    let Some(args) = detail.strip_prefix('@') else {
        return if detail.is_empty() {
            Vec::new()
        } else {
            vec![(detail.to_owned(), true)]
        };
    };
    let template = template.unwrap_or_default();
    let mut values: Vec<(String, (String, bool))> = Vec::new();
    let mut rest = args;
    while let Some((k, after)) = rest.split_once('=') {
        let (v, next) = if matches!(k, "reason" | "rules" | "values" | "value" | "note" | "path") {
            (after, "")
        } else {
            after.split_once(';').unwrap_or((after, ""))
        };
        let shown = match k {
            "note" => {
                let n = release_note(lang, v);
                let data = n == v;
                (n, data)
            }
            // A field by its label: field keys stay off the page.
            "field" => (field_label(lang, v), false),
            "result" | "outcome" => (
                lookup(lang, &format!("audit.{k}.{v}")).unwrap_or_else(|| v.to_owned()),
                false,
            ),
            "role" => (text_of_role(lang, v), false),
            "action" => (
                lookup(lang, &format!("audit.{v}")).unwrap_or_else(|| v.to_owned()),
                false,
            ),
            _ => (v.to_owned(), true),
        };
        values.push((k.to_owned(), shown));
        rest = next;
    }
    // Walk the template, replacing each `{key}` by its value.
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut t = template.as_str();
    while let Some(open) = t.find('{') {
        let Some(close) = t[open..].find('}').map(|c| open + c) else {
            break;
        };
        let key = &t[open + 1..close];
        if let Some((_, v)) = values.iter().find(|(k, _)| k == key) {
            out.push((t[..open].to_owned(), false));
            out.push(v.clone());
        } else {
            out.push((t[..=close].to_owned(), false));
        }
        t = &t[close + 1..];
    }
    out.push((t.to_owned(), false));
    // A person's words follow the template when it has no place for them; rule ids stay
    // off the page (the refusal's findings are shown by field, in words, where shown).
    if let Some((_, (reason, _))) = values.iter().find(|(k, _)| k == "reason")
        && !reason.is_empty()
        && !template.contains("{reason}")
    {
        if out.iter().any(|(t, _)| !t.is_empty()) {
            out.push((
                (if lang == Lang::Zh { "：" } else { ": " }).to_owned(),
                false,
            ));
        }
        out.push((reason.clone(), true));
    }
    out.retain(|(t, _)| !t.is_empty());
    out
}

/// `{{ value|data }}`: what a person typed or an office published (a company name, a
/// goods description, a file name), escaped and marked `translate="no"`: it is shown as
/// written in either language, and the language check of every screen leaves it out.
fn user_data(value: Value) -> Value {
    if value.is_none() || value.is_undefined() {
        return Value::from("");
    }
    let s = value.to_string();
    if s.is_empty() {
        return Value::from("");
    }
    let escaped = minijinja::HtmlEscape(&s).to_string();
    Value::from_safe_string(format!(r#"<span translate="no">{escaped}</span>"#))
}

/// A reference release's note in the page's language: the notes the office writes itself
/// when it publishes its own files by name, anyone else's as written.
pub fn release_note(lang: Lang, note: &str) -> String {
    let key = match note {
        "本机构参考数据（首次发布）" => "reference.note.first",
        "本机构参考数据文件已更新" => "reference.note.updated",
        _ => return note.to_owned(),
    };
    text(lang, key)
}

fn text_of_role(lang: Lang, code: &str) -> String {
    lookup(lang, &format!("role.{code}")).unwrap_or_else(|| code.to_owned())
}

/// A form field's label by its path (`goods[1].quantity` → 数量, `contract.buyer_name` →
/// its label); the path itself when the catalogue has no label.
pub fn field_label(lang: Lang, path: &str) -> String {
    let key = match path.strip_prefix("goods[") {
        Some(rest) => format!(
            "field.{}",
            rest.split_once("].").map_or("goods", |(_, c)| c)
        ),
        None => format!("field.{}", path.replace("contract.", "contract_")),
    };
    lookup(lang, &key).unwrap_or_else(|| path.to_owned())
}

/// Looks up `key` in `lang`; a missing key shows itself, so it is seen and fixed.
pub fn text(lang: Lang, key: &str) -> String {
    match CATALOGUE.get(key) {
        Some(pair) => pair[lang as usize].clone(),
        None => key.to_owned(),
    }
}

fn t(state: &State, key: &str) -> String {
    let lang = match state.lookup("lang").as_ref().and_then(Value::as_str) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    };
    text(lang, key)
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in exlic_web::TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env.add_function("t", t);
    env.add_filter("filesize", size_text);
    env.add_filter("data", user_data);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    // An absent value prints as nothing: MiniJinja's default spells it `None`, which then
    // sat in every empty search box.
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            return Ok(());
        }
        minijinja::escape_formatter(out, state, value)
    });
    env
});

/// One navigation entry.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Catalogue key of its label.
    pub label: &'static str,
    /// Whether it is the current section.
    pub current: bool,
}

/// What every page shows: language, CSRF token, navigation and the status bars.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// `zh` or `en`.
    pub lang: &'static str,
    /// The CSRF token forms carry.
    pub csrf: String,
    /// The request path (the language switch returns to it).
    pub path: String,
    /// Catalogue key of the product name in the header.
    pub brand: &'static str,
    /// The navigation.
    pub nav: Vec<NavItem>,
    /// Enterprise: online/offline and what waits to sync.
    pub sync: Option<serde_json::Value>,
    /// Enterprise: the certificate banner.
    pub banner: Option<serde_json::Value>,
    /// Authority: the signed-in staff member.
    pub staff: Option<serde_json::Value>,
    /// A catalogue key of a message after a redirect.
    pub flash: Option<String>,
    /// An argument shown with the flash message.
    pub flash_arg: Option<String>,
    /// A failure shown above the page.
    pub failure: Option<String>,
}

impl Page {
    /// A page for `path` in `lang` with `csrf`.
    pub fn new(lang: Lang, csrf: &Csrf, path: &str, brand: &'static str) -> Self {
        Self {
            lang: lang.code(),
            csrf: csrf.0.clone(),
            path: path.to_owned(),
            brand,
            nav: Vec::new(),
            sync: None,
            banner: None,
            staff: None,
            flash: None,
            flash_arg: None,
            failure: None,
        }
    }

    /// The language.
    pub fn language(&self) -> Lang {
        if self.lang == "en" {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// Translates a catalogue key in this page's language.
    pub fn t(&self, key: &str) -> String {
        text(self.language(), key)
    }

    /// Renders `template` with this page's values merged with `extra`.
    pub fn render(&self, template: &str, extra: serde_json::Value) -> Response {
        self.render_status(StatusCode::OK, template, extra)
    }

    /// Renders with a status code (422 for a form with errors, …).
    pub fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        extra: serde_json::Value,
    ) -> Response {
        let mut ctx = serde_json::to_value(self).expect("page serialises");
        if let (Some(base), serde_json::Value::Object(more)) = (ctx.as_object_mut(), extra) {
            base.extend(more);
        }
        let rendered = ENV
            .get_template(template)
            .and_then(|t| t.render(Value::from_serialize(&ctx)));
        match rendered {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template, error = %format!("{e:#}"), "template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be rendered",
                )
                    .into_response()
            }
        }
    }

    /// An error page.
    pub fn error(&self, status: StatusCode, message: impl Into<String>) -> Response {
        self.render_status(
            status,
            "error.html",
            serde_json::json!({ "status": status.as_u16(), "message": message.into() }),
        )
    }
}

/// Wraps a role's routes with what every UI has: `/static/…`, the language switch, the
/// security [`guard`] (which also covers the JSON API merged into `app`) and gzip for
/// pages, CSS, JS and JSON (not for files already compressed: PDFs, signed files, images).
pub fn shell(app: axum::Router, guard: Guard) -> axum::Router {
    use tower_http::compression::predicate::{NotForContentType, Predicate};
    let compressible = tower_http::compression::DefaultPredicate::new()
        .and(NotForContentType::new("application/pdf"))
        .and(NotForContentType::new("application/octet-stream"));
    app.route("/static/{name}", axum::routing::get(asset))
        .route("/lang", axum::routing::post(switch_lang))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(guard.clone()),
            guard::check,
        ))
        .layer(axum::Extension(std::sync::Arc::new(guard)))
        .layer(tower_http::compression::CompressionLayer::new().compress_when(compressible))
}

/// The enterprise node's whole HTTP surface: the JSON API and the screens behind the
/// operators' [`gate`], inside the [`shell`].
pub fn enterprise_app(state: crate::api::AppState, guard: Guard) -> axum::Router {
    let limit = state.enterprise.settings().attachment_max_bytes;
    let app = crate::api::router(state.clone())
        .merge(enterprise::router(limit).with_state(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state, gate::gate));
    shell(app, guard)
}

/// The language switch: remembers the choice in a cookie and returns to the page.
async fn switch_lang(
    axum::Extension(g): axum::Extension<std::sync::Arc<Guard>>,
    axum::extract::Form(f): axum::extract::Form<HashMap<String, String>>,
) -> Response {
    let lang = if f.get("lang").map(String::as_str) == Some("en") {
        "en"
    } else {
        "zh"
    };
    let back = f
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/".into());
    let mut r = see_other(&back);
    r.headers_mut().append(
        header::SET_COOKIE,
        guard::set_cookie(guard::LANG_COOKIE, lang, Some(365 * 86_400), g.secure()),
    );
    r
}

/// Serves `/static/{name}` from the embedded assets.
pub async fn asset(Path(name): Path<String>) -> Response {
    match exlic_web::ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A redirect after a successful POST (303, so the browser GETs the target).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// The answer to a staff sign-in form (office, customs, bureau): with a session token,
/// the session cookie `cookie` and the way home; otherwise the form again, status 401,
/// with why in the page's language and the name as typed.
pub fn sign_in_answer(
    p: &Page,
    outcome: Result<Result<String, crate::accounts::LoginError>, crate::api::error::Failure>,
    cookie: &str,
    secure: bool,
    login: String,
) -> Response {
    let error = match outcome {
        Ok(Ok(token)) => {
            let mut resp = see_other("/");
            resp.headers_mut().append(
                header::SET_COOKIE,
                guard::set_cookie(cookie, &token, None, secure),
            );
            return resp;
        }
        Ok(Err(crate::accounts::LoginError::Wrong)) => p.t("auth.failed"),
        Ok(Err(crate::accounts::LoginError::Locked(_))) => p.t("auth.locked"),
        Err(f) => f.parts().1.message.clone(),
    };
    p.render_status(
        StatusCode::UNAUTHORIZED,
        "login.html",
        serde_json::json!({"error": error, "login": login}),
    )
}

/// After signing out: session cookie `cookie` cleared, the browser sent to sign in.
pub fn signed_out(cookie: &str, secure: bool) -> Response {
    let mut r = see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        guard::set_cookie(cookie, "", Some(0), secure),
    );
    r
}

/// A file size as people read it: `3.0 KB`, `1.2 MB` (bytes below 1,000).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Milliseconds since the epoch as China time `YYYY-MM-DD HH:MM`.
pub fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(crate::clock::china())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// The `msg` query parameter after a redirect, if it names a catalogue entry.
pub fn flash_from(query: &HashMap<String, String>) -> Option<String> {
    query
        .get("msg")
        .filter(|k| CATALOGUE.contains_key(k.as_str()))
        .cloned()
}

/// Whether the request came over `Accept: text/html` from a browser (else JSON callers).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` key used in a template exists in both languages.
    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size_text(0), "0 B");
        assert_eq!(size_text(999), "999 B");
        assert_eq!(size_text(3018), "3.0 KB");
        assert_eq!(size_text(20 * 1024 * 1024), "21.0 MB");
    }

    #[test]
    fn every_template_key_is_in_the_catalogue() {
        let mut missing = Vec::new();
        for (name, src) in exlic_web::TEMPLATES {
            for (at, _) in src.match_indices("t(\"") {
                // `t(` itself, not the end of another name (`split("…")`).
                if src[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                {
                    continue;
                }
                let key = src[at + 3..].split('"').next().unwrap_or("");
                // `t("status." ~ code)`: a composed key; its prefix must exist.
                let known = if key.ends_with('.') || key.ends_with('_') {
                    CATALOGUE.keys().any(|k| k.starts_with(key))
                } else {
                    CATALOGUE.contains_key(key)
                };
                if !key.is_empty() && !known {
                    missing.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from messages.json: {missing:?}"
        );
        for (k, [zh, en]) in CATALOGUE.iter() {
            assert!(!zh.is_empty() && !en.is_empty(), "{k} lacks a translation");
        }
    }

    #[test]
    fn every_template_compiles() {
        for (name, _) in exlic_web::TEMPLATES {
            ENV.get_template(name).unwrap();
        }
    }

    #[test]
    fn absent_values_render_as_nothing() {
        //! Regression: every empty search box was pre-filled with `None` (MiniJinja's
        //! spelling of an absent value), and a search sent it back as a filter.
        let q = exlic_client::query::ApplicationQuery::default();
        let html = ENV
            .render_str(
                r#"<input value="{{ q.application_no }}"><input value="{{ q.year }}">"#,
                minijinja::context! { q => q },
            )
            .unwrap();
        assert_eq!(html, r#"<input value=""><input value="">"#);
    }

    #[test]
    fn pages_keep_the_filters_and_count_the_rows() {
        let q: HashMap<String, String> = [("no", "26AA"), ("page", "2"), ("msg", "flash.x")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let rows: Vec<u32> = (1..=120).collect();
        let (shown, second) = page_of(rows, "/licences", &q, 2);
        assert_eq!(shown.first(), Some(&51));
        assert_eq!(shown.len(), PER_PAGE);
        assert_eq!(second["pages"], 3);
        assert_eq!(second["total"], 120);
        assert_eq!(second["prev"], "/licences?no=26AA&page=1");
        assert_eq!(second["next"], "/licences?no=26AA&page=3");
        let (last, end) = page_of((1..=120).collect::<Vec<u32>>(), "/licences", &q, 3);
        assert_eq!(last.len(), 20);
        assert!(end["next"].is_null());
        // A page past the end is empty, not an error; an empty list has one page.
        assert!(page_of(Vec::<u32>::new(), "/x", &q, 1).0.is_empty());
        assert_eq!(pager("/x", &q, 1, 0)["pages"], 1);
    }

    #[test]
    fn audit_lines_read_in_the_page_language() {
        //! Regression: the office's audit read `signed in from …`, `revision 1` in Chinese
        //! and 复审通过, 上报 in English.
        for code in crate::store::audit::codes() {
            for lang in [Lang::Zh, Lang::En] {
                assert!(
                    lookup(lang, &format!("audit.{code}")).is_some(),
                    "audit.{code}"
                );
            }
        }
        assert_eq!(
            audit_line(Lang::Zh, "login", "@result=wrong;from=127.0.0.1"),
            ("登录".into(), "密码错误，来自 127.0.0.1".into())
        );
        assert_eq!(
            audit_line(Lang::En, "report", "@revision=1"),
            ("Report".into(), "revision 1".into())
        );
        // A row from before codes reads as its code.
        assert_eq!(
            audit_line(Lang::En, "复审通过", "26AA000001"),
            (
                "Passed second review; licence issued".into(),
                "26AA000001".into()
            )
        );
        assert_eq!(
            audit_line(Lang::Zh, "review.initial.reject", "@reason=单价有误"),
            ("初审不予通过".into(), "单价有误".into())
        );
        assert_eq!(
            audit_line(
                Lang::En,
                "save",
                "@outcome=refused;status=422;method=POST;path=/applications/x"
            ),
            ("Save draft".into(), "not done (422)".into())
        );
        assert_eq!(
            audit_line(
                Lang::Zh,
                "refused",
                "@role=drafter;action=seal;path=/applications/x/seal"
            ),
            ("越权操作被拒绝".into(), "制单员无权执行：保存并盖章".into())
        );
        assert_eq!(
            actor_parts(Lang::En, "经办人 王 (wang) @127.0.0.1"),
            ("Officer".into(), "王 (wang) @127.0.0.1".into())
        );
    }

    #[test]
    fn history_reads_in_the_page_language() {
        //! Regression: the history read created/saved/sealed and "revision 1" in Chinese.
        assert_eq!(
            history_line(Lang::Zh, "sealed", "@revision=2"),
            ("保存并盖章".into(), "第 2 版".into())
        );
        assert_eq!(
            history_line(Lang::En, "sealed", "@revision=2"),
            ("Sealed".into(), "revision 2".into())
        );
        assert_eq!(
            history_line(Lang::Zh, "refused", "@revision=1;reason=单价; 数量=有误"),
            ("发证机构拒收".into(), "第 1 版：单价; 数量=有误".into())
        );
        assert_eq!(
            history_line(Lang::Zh, "issued", "@licence_no=26AA000001").1,
            "许可证号 26AA000001"
        );
        assert_eq!(
            history_line(Lang::Zh, "refused", "@revision=3;rules=V11, V23"),
            ("发证机构拒收".into(), "第 3 版".into()),
            "no rule id on the page"
        );
        assert_eq!(
            history_line(Lang::Zh, "returned", "请补充合同"),
            (
                lookup(Lang::Zh, "status.returned").unwrap(),
                "请补充合同".into()
            )
        );
        for e in [
            "created",
            "saved",
            "attachment added",
            "attachment removed",
            "sealed",
            "reported",
            "unsealed",
            "synced",
            "received",
            "refused",
            "deleted",
        ] {
            for lang in [Lang::Zh, Lang::En] {
                assert!(lookup(lang, &format!("event.{e}")).is_some(), "event.{e}");
            }
        }
    }

    #[test]
    fn values_are_escaped() {
        let p = Page::new(Lang::Zh, &Csrf("x".into()), "/", "brand.enterprise");
        let html = p.error(StatusCode::BAD_REQUEST, "<script>alert(1)</script>");
        let body =
            futures::executor::block_on(axum::body::to_bytes(html.into_body(), 1 << 20)).unwrap();
        let s = String::from_utf8(body.to_vec()).unwrap();
        assert!(s.contains("&lt;script&gt;alert(1)&lt;"));
        assert!(!s.contains("<script>alert"));
    }
}
