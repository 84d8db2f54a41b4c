//! Which office each thing goes to, for an enterprise enrolled with several: its home
//! office (the one its node was enrolled from, `[upstream]`) and every other office it
//! enrolled with later (`[[office]]`, `exlic enterprise add-office`).
//!
//! - An application goes to the office the 分级发证目录 names for its commodity: the home
//!   office when the catalogue entry names no office or names it, else the first of this
//!   enterprise's other offices (in the order its config lists them) that the entry
//!   names (else home, where V20 says why not).
//! - A document received from another office goes back only to that office (recorded
//!   when it first arrives), and a 删证/核销 request to the office that issued its
//!   licence; every other document (profile, certificate requests, a draft with no
//!   commodity yet) syncs with the home office.
//! - Each office link keeps its own sync progress, enrolment and device certificate
//!   under keys of its own ([`Link::key`]); the 申请表号 blocks, the e-key unlock and the
//!   reference data in force come from the home office alone.

use exlic_client::DocId;

use super::Result;
use super::device::Device;
use crate::domain::rules;
use crate::store::{Txn, WriteBatch, index, meta_get, meta_put};
use crate::upstream::Link;

const META_DOC_OFFICE: &str = "doc_office.";

fn doc_key(doc: DocId) -> String {
    format!("{META_DOC_OFFICE}{doc}")
}

/// Records that `doc` came from office `agency` (another than home), so it syncs back
/// only with it.
pub(super) fn record(w: &WriteBatch<'_>, doc: DocId, link: &Link) -> Result<()> {
    if let Link::Other(a) = link {
        meta_put(w, &doc_key(doc), a.as_bytes())?;
    }
    Ok(())
}

impl Device {
    /// The agency code of `link`.
    pub(super) fn agency<'a>(&'a self, link: &'a Link) -> &'a str {
        match link {
            Link::Home => &self.identity.agency_code,
            Link::Other(a) => a,
        }
    }

    /// The link to the office of agency `code`: one of this enterprise's other offices,
    /// else home.
    pub(super) fn office_of_agency(&self, code: &str) -> Link {
        if self.identity.other_agencies.iter().any(|a| a == code) {
            Link::Other(code.to_owned())
        } else {
            Link::Home
        }
    }

    /// The office an application of commodity `code` (quota year `year`) goes to.
    pub(super) fn office_for(&self, year: &str, code: &str) -> Link {
        let r = self.reference();
        let entry = rules::parse_year(year)
            .and_then(|y| r.commodity(y, code))
            .or_else(|| r.commodity_any_year(code));
        let Some(e) = entry else {
            return Link::Home;
        };
        if e.agencies.is_empty() || e.agencies.contains(&self.identity.agency_code) {
            return Link::Home;
        }
        self.identity
            .other_agencies
            .iter()
            .find(|a| e.agencies.contains(a))
            .map_or(Link::Home, |a| Link::Other(a.clone()))
    }

    /// The office `doc` syncs with (see the module docs).
    pub(super) fn office_of_doc(&self, txn: &impl Txn, doc: DocId) -> Result<Link> {
        if self.identity.other_agencies.is_empty() {
            return Ok(Link::Home);
        }
        if let Some(a) = meta_get(txn, &doc_key(doc))? {
            return Ok(Link::of(
                &self.identity.agency_code,
                &String::from_utf8_lossy(&a),
            ));
        }
        Ok(match index::get_summary(txn, doc)? {
            Some(s) => self.office_for(&s.quota_year, &s.commodity_code),
            None => Link::Home,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::tests_support::seed_form;

    #[test]
    fn an_application_goes_to_the_office_the_catalogue_names_for_its_commodity() {
        let dir = tempfile::tempdir().unwrap();
        let ent = crate::enterprise::tests::open_as(dir.path(), "32", &["TJ", "AA"]);
        let d = &ent.device;
        let year = "2026";
        // 柠檬酸: the catalogue names no office, so the home office.
        assert_eq!(d.office_for(year, "2918140000"), Link::Home);
        // Wheat: `AA` alone.
        assert_eq!(d.office_for(year, "1001990000"), Link::Other("AA".into()));
        // 钕: AA, TJ, SH or GZ; the first of them this enterprise is enrolled with, in the
        // order its config lists them.
        assert_eq!(d.office_for(year, "2805301100"), Link::Other("TJ".into()));
        // Unknown code: home (where V11 names it).
        assert_eq!(d.office_for(year, "0000000000"), Link::Home);

        // An enterprise of `AA` enrolled with no other: everything goes home, and wheat
        // is its own.
        let dir2 = tempfile::tempdir().unwrap();
        let solo = crate::enterprise::tests::open_as(dir2.path(), "32", &[]);
        assert_eq!(solo.device.office_for(year, "1001990000"), Link::Home);

        // Each office's change feed holds only its own applications.
        let mut wheat = seed_form();
        wheat.commodity_code = "1001990000".into();
        let w = ent.applications.create(&wheat).unwrap().id;
        let c = ent.applications.create(&seed_form()).unwrap().id;
        let home = ent.replica.changed_docs(&Link::Home, 0, 100).unwrap();
        let aa = ent
            .replica
            .changed_docs(&Link::Other("AA".into()), 0, 100)
            .unwrap();
        let ids = |p: &super::super::replica::ChangedPage| -> Vec<DocId> {
            p.docs.iter().map(|(_, d)| *d).collect()
        };
        assert!(ids(&home).contains(&c) && !ids(&home).contains(&w));
        assert!(ids(&aa).contains(&w) && !ids(&aa).contains(&c));
        assert_eq!(home.head, aa.head);
        // The home office acknowledging everything leaves the wheat waiting for `AA`.
        ent.replica
            .set_sync_progress(
                &Link::Home,
                super::super::replica::SyncProgress {
                    feed: 0,
                    acked: home.head,
                    cursor: 0,
                },
            )
            .unwrap();
        assert_eq!(ent.replica.backlog().unwrap().docs_waiting, 1);
        // A page that read `limit` changes says where it stopped, whatever it kept.
        let one = ent
            .replica
            .changed_docs(&Link::Other("TJ".into()), 0, 1)
            .unwrap();
        assert!(one.docs.is_empty() && one.last.is_some());
    }

    #[test]
    fn the_home_office_keeps_the_keys_it_always_had_and_another_gets_its_own() {
        assert_eq!(Link::Home.key("sync.cursor"), "sync.cursor");
        assert_eq!(
            Link::Other("AA".into()).key("sync.cursor"),
            "office.AA.sync.cursor"
        );
        assert_eq!(Link::of("32", "32"), Link::Home);
        assert_eq!(Link::of("32", "AA"), Link::Other("AA".into()));
    }
}
