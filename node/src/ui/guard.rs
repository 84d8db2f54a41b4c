//! The one security middleware of both web UIs and the JSON API (THREATS T10–T12):
//! Host allow-list (DNS rebinding), Origin check on every request that carries one, a
//! CSRF token on every state-changing form, strict cookies and the response headers
//! (CSP, nosniff, frame denial, same-origin referrer only: with `no-referrer`
//! browsers send `Origin: null`, which the Origin check must refuse).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::extract::cookie;

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "exlic_csrf";
/// The language cookie's name.
pub const LANG_COOKIE: &str = "exlic_lang";
/// Most bytes of a form body the guard reads to find the token.
const FORM_LIMIT: usize = 1 << 20;

/// The Content-Security-Policy of every response: nothing from elsewhere, no inline
/// script, no framing, forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 中文 (the default).
    Zh = 0,
    /// English.
    En = 1,
}

impl Lang {
    /// `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// This browser's CSRF token (from its cookie, or new).
#[derive(Debug, Clone)]
pub struct Csrf(pub String);

/// Which hosts and origins a node answers.
#[derive(Debug, Clone)]
pub struct Guard {
    hosts: Vec<String>,
    scheme: &'static str,
}

impl Guard {
    /// Allows the loopback names on `port` plus `extra` (`host:port`, lowercase).
    pub fn new(port: u16, extra: &[String], tls: bool) -> Self {
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        hosts.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
        Self {
            hosts,
            scheme: if tls { "https" } else { "http" },
        }
    }

    fn host_ok(&self, host: &str) -> bool {
        let h = host.to_ascii_lowercase();
        self.hosts.contains(&h)
    }

    fn origin_ok(&self, origin: &str) -> bool {
        origin
            .strip_prefix(self.scheme)
            .and_then(|r| r.strip_prefix("://"))
            .is_some_and(|h| self.host_ok(h))
    }

    /// Whether cookies must be `Secure`.
    pub fn secure(&self) -> bool {
        self.scheme == "https"
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure over TLS.
pub fn set_cookie(name: &str, value: &str, max_age_s: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(a) = max_age_s {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are ASCII tokens")
}

/// A 403: the API's JSON error body under `/api/`, plain text for a browser's page.
fn refuse(api: bool, why: &str) -> Response {
    if api {
        return crate::api::error::Failure::new(StatusCode::FORBIDDEN, "forbidden", why, None)
            .into_response();
    }
    let mut r = (StatusCode::FORBIDDEN, format!("403 Forbidden: {why}\n")).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    let q = req.uri().query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn tokens_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The middleware: refuse foreign hosts and origins and forged forms; set the headers.
pub async fn check(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let refuse = |why: &str| refuse(api, why);
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if !host.as_deref().is_some_and(|h| g.host_ok(h)) {
        return refuse("this Host is not served here (DNS rebinding protection)");
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    if let Some(o) = &origin
        && !g.origin_ok(o)
    {
        return refuse("cross-origin request");
    }
    let cookie_token = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| t.len() == 43 || t.len() == 64)
        .map(str::to_owned);
    let lang = match cookie(req.headers(), LANG_COOKIE) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    };
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // A request that signs in by a session cookie (staff or operator) is a browser's, whatever it
    // says about its origin; API clients send a bearer token instead.
    let by_cookie = (cookie(req.headers(), crate::api::authority::SESSION_COOKIE).is_some()
        || cookie(req.headers(), crate::api::operators::OPERATOR_COOKIE).is_some())
        && !req.headers().contains_key(header::AUTHORIZATION);
    let mut req = req;
    // A browser form (or a browser fetch to the API) must prove it came from our page.
    if writes && (!api || origin.is_some() || by_cookie) {
        if origin.is_none() && !(api && by_cookie) {
            return refuse("a state-changing request from a browser must carry Origin");
        }
        let Some(expected) = cookie_token.as_deref() else {
            return refuse("missing CSRF cookie; reload the page");
        };
        let mut supplied = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| query_param(&req, "_csrf"));
        if supplied.is_none() && is_form(&req) {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
            };
            supplied = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|v| v.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v));
            req = Request::from_parts(parts, Body::from(bytes));
        }
        if !supplied.is_some_and(|s| tokens_match(&s, expected)) {
            return refuse("missing or wrong CSRF token");
        }
    }
    let fresh = cookie_token.is_none();
    let token = cookie_token.unwrap_or_else(|| hex::encode(crate::random::bytes::<32>()));
    req.extensions_mut().insert(Csrf(token.clone()));
    req.extensions_mut().insert(lang);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if g.secure() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if fresh {
        h.append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &token, None, g.secure()),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        let g = Guard::new(8080, &["exlic.example:443".into()], false);
        assert!(g.host_ok("127.0.0.1:8080"));
        assert!(g.host_ok("LOCALHOST:8080"));
        assert!(!g.host_ok("127.0.0.1:8081"));
        assert!(!g.host_ok("evil.example:8080"));
        assert!(g.origin_ok("http://localhost:8080"));
        assert!(!g.origin_ok("https://localhost:8080"));
        assert!(!g.origin_ok("null"));
        assert!(!g.origin_ok("http://evil.example"));
    }

    #[test]
    fn cookies_parse() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; exlic_lang=en"),
        );
        assert_eq!(cookie(&h, "exlic_lang"), Some("en"));
        assert_eq!(cookie(&h, "b"), None);
        assert!(!tokens_match("ab", "abc"));
        assert!(tokens_match("abc", "abc"));
    }
}
