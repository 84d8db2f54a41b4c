//! The 参考数据 screen: the reference release in force (number, date, note, code lists,
//! catalogue years, files) and, for the administrator, publishing a new year's catalogue
//! or new code lists from a file as the next release.

use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Ctx, failed, signed_in};
use crate::api::authority::run;
use crate::authority::staff::Role;
use crate::ui::{Page, see_other, when};

/// The screen.
pub(super) async fn page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    render(&ctx, &p, staff.role == Role::Admin, StatusCode::OK, None).await
}

async fn render(
    ctx: &Ctx,
    p: &Page,
    may_publish: bool,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    match run(&ctx.0.0, |a| a.reference.release()).await {
        Ok(r) => p.render_status(
            status,
            "authority/reference.html",
            json!({
                "release": r.map(|r| json!({
                    "number": r.number,
                    "published": when(r.published_at_ms),
                    "note": crate::ui::release_note(p.language(), &r.note),
                    "codes_version": r.codes_version,
                    "years": r.catalogue_years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", "),
                    "files": r.files.iter().map(|(n, size)| json!({"name": n, "size": size})).collect::<Vec<Value>>(),
                })),
                "may_publish": may_publish,
                "error": error,
            }),
        ),
        Err(f) => failed(p, f),
    }
}

/// Publishes the posted files (administrator).
pub(super) async fn publish(ctx: Ctx, mut mp: Multipart) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let (files, note) = match read_form(&mut mp).await {
        Ok(x) => x,
        Err(m) => return render(&ctx, &p, true, StatusCode::BAD_REQUEST, Some(m)).await,
    };
    let actor = staff.actor();
    match run(&ctx.0.0, move |a| a.reference.publish(files, &note, &actor)).await {
        Ok(_) => see_other("/reference?msg=flash.published"),
        Err(f) => {
            let message = f.parts().1.message.clone();
            render(&ctx, &p, true, StatusCode::BAD_REQUEST, Some(message)).await
        }
    }
}

/// The `file` fields (name and UTF-8 text) and the `note` of the publish form.
async fn read_form(mp: &mut Multipart) -> Result<(Vec<(String, String)>, String), String> {
    let mut files = Vec::new();
    let mut note = String::new();
    while let Some(f) = mp.next_field().await.map_err(|e| format!("file: {e}"))? {
        match f.name() {
            Some("file") => {
                let name = f.file_name().unwrap_or_default().to_owned();
                let bytes = f.bytes().await.map_err(|e| format!("file: {e}"))?;
                if name.is_empty() && bytes.is_empty() {
                    continue;
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| format!("file: {name} is not UTF-8 text"))?;
                files.push((name, text));
            }
            Some("note") => note = f.text().await.map_err(|e| format!("note: {e}"))?,
            _ => {}
        }
    }
    Ok((files, note))
}
