//! The authority's sync decisions, pure: whether an enterprise may sync a document (and
//! change it), how far one request reads the enterprise's change feed, and what one page
//! of that feed carries back — which documents, the new cursor, and whether more remains.

use std::collections::HashSet;

use exlic_client::DocId;

/// What the authority knows about a document an enterprise sends a sync message for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocFacts<'a> {
    /// Its owner (a USCC, or the public pseudo-owner), if the replica holds it.
    pub owner: Option<&'a str>,
    /// Whether the owner is the public pseudo-owner every enterprise may read.
    pub public: bool,
    /// Whether only the authority writes it (case, acceptance and unlock documents).
    pub authority_written: bool,
    /// Whether it is a submitted application, frozen until it is returned.
    pub submitted: bool,
}

/// The answer to "may this enterprise sync this document".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A document this enterprise created: the replica starts it empty, owned by it.
    Create,
    /// Sync it.
    Sync,
    /// Answer as if it did not exist: another enterprise's document, or a change to one
    /// frozen to this enterprise (THREATS T2).
    Refuse,
}

/// Whether `asker` may sync a document described by `facts`, carrying changes or not.
pub fn access(asker: &str, facts: DocFacts<'_>, carries_changes: bool) -> Access {
    match facts.owner {
        None => Access::Create,
        Some(o) if o == asker || facts.public => {
            if carries_changes && (facts.authority_written || facts.submitted) {
                Access::Refuse
            } else {
                Access::Sync
            }
        }
        Some(_) => Access::Refuse,
    }
}

/// How far one request reads the feed: at most `max_docs` entries the asker did not
/// write itself, and at most eight times that in all (so a long run of its own changes
/// cannot make one request scan without bound).
#[derive(Debug, Clone)]
pub struct ScanCap {
    max_docs: usize,
    others: usize,
    read: usize,
    /// Whether the cap stopped the scan.
    pub reached: bool,
}

impl ScanCap {
    /// A cap of `max_docs` documents for the asker.
    pub fn new(max_docs: usize) -> Self {
        Self {
            max_docs,
            others: 0,
            read: 0,
            reached: false,
        }
    }

    /// Counts one entry read (`by_asker`: the asker made its latest change); whether to
    /// read another.
    pub fn go_on(&mut self, by_asker: bool) -> bool {
        self.others += usize::from(!by_asker);
        self.read += 1;
        self.reached = self.others > self.max_docs || self.read > 8 * self.max_docs;
        !self.reached
    }
}

/// One entry of the feed as the page sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its position.
    pub seq: u64,
    /// The document.
    pub doc: DocId,
    /// Whether the asker made its latest change.
    pub by_asker: bool,
}

/// What one page of the feed carries back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The documents to send a sync message for, in feed order.
    pub send: Vec<DocId>,
    /// The cursor to hand back.
    pub cursor: u64,
    /// Whether more of the feed remains past `cursor`.
    pub more: bool,
}

/// One page of the feed after `cursor`: `entries` as read (oldest first), `answered` the
/// documents the request itself carried (they already have a reply), `room` replies left,
/// `cap_reached` whether the scan stopped at its cap, and `head` the feed's last seq.
pub fn page(
    cursor: u64,
    entries: &[Entry],
    answered: &HashSet<DocId>,
    mut room: usize,
    cap_reached: bool,
    head: u64,
) -> Page {
    let mut out = Page {
        send: Vec::new(),
        cursor,
        more: false,
    };
    for e in entries {
        // The asker's own latest change, or one answered above: it already has it.
        if e.by_asker || answered.contains(&e.doc) {
            out.cursor = e.seq;
            continue;
        }
        if room == 0 {
            out.more = true;
            break;
        }
        room -= 1;
        out.cursor = e.seq;
        out.send.push(e.doc);
    }
    // Stopping early (no room, or the scan cap) means more remains past the cursor.
    out.more |= cap_reached;
    if !out.more {
        out.cursor = out.cursor.max(head);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "913502000728319549";

    fn facts(owner: Option<&str>) -> DocFacts<'_> {
        DocFacts {
            owner,
            public: false,
            authority_written: false,
            submitted: false,
        }
    }

    #[test]
    fn an_enterprise_syncs_its_own_and_public_documents_and_nothing_else() {
        assert_eq!(access(ME, facts(None), true), Access::Create);
        assert_eq!(access(ME, facts(Some(ME)), true), Access::Sync);
        assert_eq!(access(ME, facts(Some("other")), false), Access::Refuse);
        let public = DocFacts {
            public: true,
            authority_written: true,
            ..facts(Some("*"))
        };
        assert_eq!(access(ME, public, false), Access::Sync, "reads it");
        assert_eq!(access(ME, public, true), Access::Refuse, "never writes it");
    }

    #[test]
    fn frozen_documents_are_read_but_never_changed() {
        for frozen in [
            DocFacts {
                submitted: true,
                ..facts(Some(ME))
            },
            DocFacts {
                authority_written: true,
                ..facts(Some(ME))
            },
        ] {
            assert_eq!(access(ME, frozen, false), Access::Sync);
            assert_eq!(access(ME, frozen, true), Access::Refuse);
        }
    }

    #[test]
    fn the_scan_stops_at_the_cap_of_other_writers_or_of_all_entries() {
        let mut cap = ScanCap::new(2);
        assert!(cap.go_on(false) && cap.go_on(false));
        assert!(!cap.go_on(false) && cap.reached);
        let mut own = ScanCap::new(2);
        let read = (0..100).take_while(|_| own.go_on(true)).count();
        assert_eq!(read, 16, "eight times the cap of the asker's own changes");
        assert!(own.reached);
    }

    fn entry(seq: u64, n: u8, by_asker: bool) -> Entry {
        Entry {
            seq,
            doc: DocId([n; 16]),
            by_asker,
        }
    }

    #[test]
    fn a_page_skips_what_the_asker_has_and_stops_when_full() {
        let entries = [
            entry(3, 1, false),
            entry(4, 2, true),
            entry(5, 3, false),
            entry(6, 4, false),
        ];
        let answered = HashSet::from([DocId([3; 16])]);
        let all = page(2, &entries, &answered, 10, false, 9);
        assert_eq!(all.send, vec![DocId([1; 16]), DocId([4; 16])]);
        assert_eq!((all.cursor, all.more), (9, false), "caught up to the head");

        let full = page(2, &entries, &HashSet::new(), 1, false, 9);
        assert_eq!(full.send, vec![DocId([1; 16])]);
        assert_eq!(
            (full.cursor, full.more),
            (4, true),
            "past the asker's own change"
        );

        let capped = page(2, &entries[..1], &HashSet::new(), 10, true, 9);
        assert_eq!((capped.cursor, capped.more), (3, true));

        let empty = page(7, &[], &HashSet::new(), 10, false, 7);
        assert_eq!((empty.send.len(), empty.cursor, empty.more), (0, 7, false));
    }
}
