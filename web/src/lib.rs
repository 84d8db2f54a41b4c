//! `exlic-web`: the web UI's templates, message catalogue and static assets, embedded at
//! compile time so the node serves them with no files beside the binary.
//!
//! Templates are MiniJinja (Jinja2 syntax) with HTML auto-escaping; every visible label is
//! a key into [`MESSAGES`] (`{{ t("key") }}`), which holds the Chinese and English text.

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        /// Every template, by name.
        pub const TEMPLATES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../templates/", $name))),)*
        ];
    };
}

templates![
    "base.html",
    "field.html",
    "error.html",
    "licence.html",
    "licence_form.html",
    "enterprise/conflicts.html",
    "verify.html",
    "standing.html",
    "enterprise/home.html",
    "enterprise/applications.html",
    "enterprise/form.html",
    "enterprise/attachments.html",
    "enterprise/application.html",
    "enterprise/licences.html",
    "enterprise/certificate.html",
    "enterprise/cert_request.html",
    "enterprise/cert_submit.html",
    "enterprise/licence_requests.html",
    "enterprise/licence_request_form.html",
    "enterprise/seal_confirm.html",
    "authority/licence_requests.html",
    "authority/directory.html",
    "authority/profiles.html",
    "authority/unlocks.html",
    "authority/keys.html",
    "authority/reference.html",
    "enterprise/profile.html",
    "enterprise/directory.html",
    "login.html",
    "authority/dashboard.html",
    "authority/inbox.html",
    "authority/case.html",
    "authority/licences.html",
    "authority/invite.html",
    "audit.html",
    "pager.html",
    "authority/cert_requests.html",
    "customs/status.html",
    "customs/check.html",
    "customs/licences.html",
    "bureau/national.html",
];

/// The message catalogue: `{"key": ["中文", "English"], …}`.
pub const MESSAGES: &str = include_str!("../i18n/messages.json");

/// A static asset: path under `/static/`, media type, bytes.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/app.js"),
    ),
];

#[cfg(test)]
mod tests {
    /// Every template file in `templates/` is embedded (a file left out renders nothing).
    #[test]
    fn every_template_file_is_embedded() {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).expect("templates dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else {
                    let rel = p.strip_prefix(base).expect("under base");
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        walk(&base, &base, &mut files);
        for f in files {
            assert!(
                super::TEMPLATES.iter().any(|(n, _)| *n == f),
                "{f} is not in TEMPLATES"
            );
        }
    }
}
