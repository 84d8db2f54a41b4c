//! The office's own records: the audit trail, the published directory (联系方式与办事指南),
//! the signing keys with their rollover, and a replicated office's replicas (added and
//! removed from the dashboard).

use super::*;
use crate::cluster::membership::{Change, MembershipError};

pub(super) async fn audit(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    use crate::store::audit::OFFICE;
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page, filter) = match crate::ui::audit_request(&p, &q, OFFICE) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let offset = (page - 1) * crate::ui::PER_PAGE;
    match run(&ctx.0.0, move |a| {
        a.staff.audit_page(&filter, offset, crate::ui::PER_PAGE)
    })
    .await
    {
        Ok((entries, total)) => crate::ui::audit_view(
            &p,
            &q,
            OFFICE,
            (&entries, total),
            |e| (e.subject.0 != [0; 16]).then(|| format!("/cases/{}", e.subject)),
            None,
        ),
        Err(f) => failed(&p, f),
    }
}

/// The directory as the edit form shows it: contacts one per line, guides as `## title`
/// blocks.
pub(super) fn directory_text(d: &exlic_client::directory::Directory) -> (String, String) {
    let contacts = d
        .contacts
        .iter()
        .map(|c| format!("{} | {} | {} | {}", c.name, c.address, c.phone, c.note))
        .collect::<Vec<_>>()
        .join("\n");
    let guides = d
        .guides
        .iter()
        .map(|g| format!("## {}\n{}", g.title, g.body))
        .collect::<Vec<_>>()
        .join("\n\n");
    (contacts, guides)
}

/// Parses the edit form back into a directory.
pub(super) fn parse_directory(contacts: &str, guides: &str) -> exlic_client::directory::Directory {
    use exlic_client::directory::{Contact, Directory, Guide};
    let contacts = contacts
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('|').map(|x| x.trim().to_owned());
            Contact {
                name: f.next().unwrap_or_default(),
                address: f.next().unwrap_or_default(),
                phone: f.next().unwrap_or_default(),
                note: f.collect::<Vec<_>>().join(" | "),
            }
        })
        .collect();
    let mut out: Vec<Guide> = Vec::new();
    for line in guides.replace("\r\n", "\n").lines() {
        if let Some(title) = line.strip_prefix("## ") {
            out.push(Guide {
                title: title.trim().to_owned(),
                body: String::new(),
            });
        } else if let Some(g) = out.last_mut() {
            if !g.body.is_empty() || !line.trim().is_empty() {
                g.body.push_str(line);
                g.body.push('\n');
            }
        } else if !line.trim().is_empty() {
            out.push(Guide {
                title: String::new(),
                body: format!("{line}\n"),
            });
        }
    }
    for g in &mut out {
        g.body = g.body.trim_end().to_owned();
    }
    Directory {
        contacts,
        guides: out,
        updated_ms: 0,
    }
}

pub(super) async fn directory_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match run(&ctx.0.0, |a| a.directory.get()).await {
        Ok(d) => {
            let (contacts, guides) = directory_text(&d);
            p.render(
                "authority/directory.html",
                json!({"contacts": contacts, "guides": guides, "may_edit": staff.role == Role::Admin}),
            )
        }
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn directory_post(ctx: Ctx, body: Bytes) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let contacts = f.get("contacts").cloned().unwrap_or_default();
    let guides = f.get("guides").cloned().unwrap_or_default();
    let d = parse_directory(&contacts, &guides);
    let actor = staff.actor();
    match run(&ctx.0.0, move |a| a.directory.put(d, &actor)).await {
        Ok(()) => see_other("/directory?msg=flash.published"),
        Err(fl) => p.render_status(
            StatusCode::BAD_REQUEST,
            "authority/directory.html",
            json!({"contacts": contacts, "guides": guides, "may_edit": true,
                   "error": fl.parts().1.message.clone()}),
        ),
    }
}

/// The signing keys, oldest first, with each rollover record to download.
pub(super) async fn keys_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fmt = |ms: Option<i64>| ms.map(when).unwrap_or_default();
    match run(&ctx.0.0, |a| Ok((a.keys.chain(), a.root_key()))).await {
        Ok((chain, root)) => p.render(
            "authority/keys.html",
            json!({
                "root": hex::encode(root),
                "keys": chain.iter().enumerate().map(|(i, k)| json!({
                    "n": i, "key": k.key, "key_id": k.key_id,
                    "from": fmt(k.from_ms), "until": fmt(k.until_ms),
                    "current": k.until_ms.is_none(),
                })).collect::<Vec<_>>(),
                "may_roll": staff.role == Role::Admin,
            }),
        ),
        Err(f) => failed(&p, f),
    }
}

pub(super) async fn keys_rollover(ctx: Ctx) -> Response {
    admin_action(ctx, "/keys", |a, actor| a.keys.roll(actor).map(|_| ())).await
}

/// Rollover record `n` (1-based: the record that certified key `n`), for `exlic verify
/// --rollover`.
pub(super) async fn key_record(ctx: Ctx, Path(n): Path<usize>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match run(&ctx.0.0, |a| a.keys.records()).await {
        Ok(records) => match n.checked_sub(1).and_then(|i| records.get(i)) {
            Some(r) => crate::api::v1::applications::attachment_response(
                &format!("rollover-{n}.key"),
                r.clone(),
            ),
            None => p.error(StatusCode::NOT_FOUND, format!("{}: {n}", p.t("keys.none"))),
        },
        Err(f) => failed(&p, f),
    }
}

/// Adds a replica from the dashboard's form (administrator).
pub(super) async fn replica_add(ctx: Ctx, body: Bytes) -> Response {
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    // An id that is no number breaks the same rule as 0: a number, 1 or more.
    let id = field("id").parse().unwrap_or(0);
    let change = Change::Add {
        id,
        addr: field("addr"),
    };
    replica_change(ctx, change).await
}

/// Removes a voter (administrator), from its row on the dashboard.
pub(super) async fn replica_remove(ctx: Ctx, Path(id): Path<String>) -> Response {
    let id = id.trim().parse().unwrap_or(0);
    replica_change(ctx, Change::Remove { id }).await
}

/// Makes `change` and goes back to the dashboard's replicas, or says in the page's language
/// which field broke which rule.
async fn replica_change(ctx: Ctx, change: Change) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let a = ctx.0.0.authority.clone();
    match tokio::task::spawn_blocking(move || a.change_replicas(change)).await {
        Ok(Ok(_)) => see_other("/?msg=flash.replicas_changed#cluster"),
        Ok(Err(MembershipError::Refused { field, rule, .. })) => p.error(
            StatusCode::CONFLICT,
            format!(
                "{}: {}",
                p.t(&format!("cluster.field.{field}")),
                p.t(&format!("cluster.rule.{rule}"))
            ),
        ),
        Ok(Err(MembershipError::Unavailable(e))) => {
            tracing::warn!(error = %e, "a replica change was not made");
            p.error(StatusCode::SERVICE_UNAVAILABLE, p.t("cluster.unavailable"))
        }
        Err(e) => p.error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_form_round_trips() {
        let d = parse_directory(
            "事务局 | 北京 | 010-1 | 工作日\n\n厦门特派办 | 厦门 | 0592-2 | ",
            "## 流程\n第一段\n\n第二段\n## 附件\n合同扫描件",
        );
        assert_eq!(d.contacts.len(), 2);
        assert_eq!(d.contacts[1].phone, "0592-2");
        assert_eq!(d.guides.len(), 2);
        assert_eq!(d.guides[0].body, "第一段\n\n第二段");
        let (c, g) = directory_text(&d);
        assert_eq!(parse_directory(&c, &g).guides, d.guides);
        assert_eq!(parse_directory(&c, &g).contacts.len(), 2);
    }
}
