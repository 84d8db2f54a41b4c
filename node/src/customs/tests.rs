//! The customs role over a real redb file with real signatures: licences and feed pages
//! signed by a test office key, declarations through the group commit.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use exlic_client::certificate::key_id;
use exlic_client::invite::CustomsInvite;
use exlic_client::licence::Licence;
use exlic_client::standing::{FeedEntry, FeedPage, State};
use exlic_client::usage::{DeclarationInput, Step, UsageEntry};

use super::*;
use crate::clock::ManualClock;
use crate::store::StoreOptions;

/// 2026-12-01 12:00 China time.
const NOW: i64 = 1_796_097_600_000;

fn office() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn open(dir: &std::path::Path) -> Customs {
    open_at(dir, Arc::new(ManualClock::at(NOW)))
}

fn open_at(dir: &std::path::Path, clock: Arc<ManualClock>) -> Customs {
    let store = Arc::new(Store::open(&dir.join("c.redb"), StoreOptions::default()).unwrap());
    let token = CustomsInvite {
        authority_key: office().verifying_key().to_bytes(),
        addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
        district: "3700".into(),
        district_name: "厦门关区".into(),
        secret: [3; 32],
        expires_at_ms: NOW + 86_400_000,
        agency_code: "AA".into(),
    }
    .to_token(&office());
    initialise(&store, &token).unwrap();
    Customs::open(store, clock, Reference::embedded_shared()).unwrap()
}

/// A licence signed by the office: the sample (citric acid, 23 t, 一批一证) or, with
/// `uses` > 1, wheat under 非一批一证 (100 t, 5% overfill).
fn licence(no: &str, uses: u8) -> (Licence, String) {
    let mut l = exlic_client::sample::licence();
    l.licence_no = no.into();
    l.key_id = key_id(&office().verifying_key().to_bytes());
    l.issued_at_ms = NOW - 86_400_000;
    if uses > 1 {
        l.max_uses = uses;
        l.commodity = ["1001990000".into(), "其他小麦及混合麦".into()];
        l.lines[0].quantity = "100".into();
    }
    let file = hex::encode(l.sign(&office()));
    (l, file)
}

fn declaration(l: &Licence, file: &str, no: u32, quantity: &str) -> DeclarationInput {
    DeclarationInput {
        declaration_no: format!("3700202610{no:08}"),
        item: 1,
        licence: file.into(),
        licence_no: String::new(),
        exporter: l.exporter[2].clone(),
        commodity_code: l.commodity[0].clone(),
        quantity: quantity.into(),
        check_only: false,
    }
}

fn codes(o: &CheckOutcome) -> Vec<&str> {
    o.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn a_single_batch_licence_is_used_once_and_a_retry_deducts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let (l, file) = licence("26AA000001", 1);
    let first = declaration(&l, &file, 1, "23");
    let o = c.declare(&first).unwrap();
    assert!(o.passed, "{o:?}");
    assert_eq!((o.state.as_str(), o.uses, o.max_uses), ("reserved", 1, 1));
    // The same item again: the same answer, nothing counted twice.
    let again = c.declare(&first).unwrap();
    assert_eq!(again, o);
    assert_eq!(c.ledger_position().unwrap(), (1, 0));
    // A second declaration: refused, uses exhausted (and no quantity either).
    let second = c.declare(&declaration(&l, "", 2, "1")).unwrap_err();
    assert!(matches!(second, CustomsError::BadInput { ref field, .. } if field == "licence"));
    let second = c
        .declare(&DeclarationInput {
            licence_no: l.licence_no.clone(),
            ..declaration(&l, "", 2, "1")
        })
        .unwrap();
    assert!(!second.passed);
    assert_eq!(codes(&second), ["uses", "quantity"]);
    // Cancel restores it; confirm of a cancelled item is refused.
    let decl = &first.declaration_no;
    let cancelled = c.step(decl, 1, Step::Cancel, "").unwrap();
    assert_eq!((cancelled.state.as_str(), cancelled.uses), ("cancelled", 0));
    assert!(matches!(
        c.step(decl, 1, Step::Confirm, ""),
        Err(CustomsError::WrongState { .. })
    ));
    let third = c.declare(&declaration(&l, &file, 3, "23")).unwrap();
    assert!(third.passed, "{third:?}");
    let confirmed = c.step(&third_no(3), 1, Step::Confirm, "22.5").unwrap();
    assert_eq!(
        (confirmed.state.as_str(), confirmed.used_quantity.as_str()),
        ("confirmed", "22.5")
    );
    // Every step is one signed, numbered ledger entry under this node's key.
    let entries = c.unreported(&Link::Home, 100).unwrap();
    let steps: Vec<(u64, Step)> = entries
        .iter()
        .map(|e| {
            let e = UsageEntry::verify(e, &c.public_key()).unwrap();
            (e.seq, e.step)
        })
        .collect();
    assert_eq!(
        steps,
        [
            (1, Step::Reserve),
            (2, Step::Cancel),
            (3, Step::Reserve),
            (4, Step::Confirm)
        ]
    );
}

fn third_no(n: u32) -> String {
    format!("3700202610{n:08}")
}

#[test]
fn a_multi_batch_licence_takes_twelve_declarations_and_the_overfill_only() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let (l, file) = licence("26AA000002", 12);
    for n in 1..=12 {
        let o = c.declare(&declaration(&l, &file, n, "5")).unwrap();
        assert!(o.passed, "declaration {n}: {o:?}");
    }
    let thirteenth = c.declare(&declaration(&l, &file, 13, "5")).unwrap();
    assert_eq!(codes(&thirteenth), ["uses"], "quantity is left: 40 of 105");
    assert_eq!(thirteenth.remaining_quantity, "45");
    // Quantity: 60 reserved; 45 more fits the 5% overfill, 45.001 does not.
    let dir2 = tempfile::tempdir().unwrap();
    let c2 = open(dir2.path());
    assert!(c2.declare(&declaration(&l, &file, 1, "60")).unwrap().passed);
    let over = c2.declare(&declaration(&l, &file, 2, "45.001")).unwrap();
    assert_eq!(codes(&over), ["quantity"]);
    assert!(c2.declare(&declaration(&l, &file, 2, "45")).unwrap().passed);
    // An amendment may not push past the ceiling either.
    c2.step(&third_no(1), 1, Step::Confirm, "").unwrap();
    assert!(matches!(
        c2.step(&third_no(1), 1, Step::Adjust, "61"),
        Err(CustomsError::BadInput { ref field, .. }) if field == "quantity"
    ));
    let adjusted = c2.step(&third_no(1), 1, Step::Adjust, "59").unwrap();
    assert_eq!(adjusted.used_quantity, "104");
}

#[test]
fn every_mismatch_is_refused_with_its_reason_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let (l, file) = licence("26AA000003", 1);
    // Another district's licence (一证一关), another exporter and commodity.
    let mut other = l.clone();
    other.customs_district = "2200".into();
    let other_file = hex::encode(other.sign(&office()));
    let o = c
        .declare(&DeclarationInput {
            exporter: "91110000600037341L".into(),
            commodity_code: "1001990000".into(),
            ..declaration(&other, &other_file, 1, "1")
        })
        .unwrap();
    assert_eq!(codes(&o), ["district", "exporter", "commodity"]);
    // A forged licence: the signature.
    let stranger = SigningKey::from_bytes(&[8; 32]);
    let mut claimed = l.clone();
    claimed.key_id = key_id(&stranger.verifying_key().to_bytes());
    let forged = hex::encode(claimed.sign(&stranger));
    assert_eq!(
        codes(&c.declare(&declaration(&l, &forged, 2, "1")).unwrap()),
        ["signature"]
    );
    // Bad input names its field.
    for (field, input) in [
        (
            "declaration_no",
            DeclarationInput {
                declaration_no: "12".into(),
                ..declaration(&l, &file, 3, "1")
            },
        ),
        ("quantity", declaration(&l, &file, 3, "1,5")),
        (
            "commodity_code",
            DeclarationInput {
                commodity_code: "2918".into(),
                ..declaration(&l, &file, 3, "1")
            },
        ),
        (
            "licence",
            DeclarationInput {
                licence: "zz".into(),
                ..declaration(&l, &file, 3, "1")
            },
        ),
    ] {
        match c.declare(&input) {
            Err(CustomsError::BadInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(c.ledger_position().unwrap(), (0, 0), "nothing was recorded");
    assert!(c.licences().unwrap().is_empty());
}

#[test]
fn the_standing_feed_refuses_a_deleted_licence_and_a_forged_page_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let (l, file) = licence("26AA000004", 1);
    let page = |from: u64, to: u64, state: State, key: &SigningKey| {
        FeedPage {
            authority_key: key.verifying_key().to_bytes(),
            from,
            to,
            as_of_ms: NOW - 60_000,
            entries: vec![FeedEntry {
                licence_no: l.licence_no.clone(),
                state,
                since_ms: NOW - 120_000,
            }],
        }
        .sign(key)
    };
    let forged = page(0, 1, State::Valid, &SigningKey::from_bytes(&[8; 32]));
    assert!(c.apply_standing(&Link::Home, &forged, &[]).is_err());
    assert_eq!(c.feed_cursor(&Link::Home).unwrap(), 0);
    assert_eq!(
        c.apply_standing(&Link::Home, &page(0, 1, State::Deleted, &office()), &[])
            .unwrap(),
        1
    );
    // A page that does not start where the last ended is refused.
    assert!(
        c.apply_standing(&Link::Home, &page(5, 6, State::Valid, &office()), &[])
            .is_err()
    );
    let o = c.declare(&declaration(&l, &file, 1, "1")).unwrap();
    assert_eq!(codes(&o), ["standing"]);
    assert_eq!(
        (o.standing.as_str(), o.standing_as_of_ms),
        ("deleted", NOW - 60_000)
    );
    assert_eq!(c.standing_as_of().unwrap(), Some(NOW - 60_000));
}

#[test]
fn a_licence_is_presented_by_the_text_of_its_qr_code() {
    use exlic_client::licence_qr::{full_text, ref_text};
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let (l, file) = licence("26AA000007", 12);
    let bytes = hex::decode(&file).unwrap();
    // A reference to a licence this node does not hold yet asks for the file.
    let by_ref = |n| DeclarationInput {
        licence: ref_text(&l, &bytes),
        ..declaration(&l, &file, n, "1")
    };
    assert_eq!(codes(&c.declare(&by_ref(1)).unwrap()), ["unknown_licence"]);
    // The whole licence in the code, with the newline a scanner types.
    let full = DeclarationInput {
        licence: format!("{}\n", full_text(&bytes)),
        ..declaration(&l, &file, 2, "1")
    };
    assert!(c.declare(&full).unwrap().passed);
    // Now held: the reference finds it, unless its digest names another copy.
    assert!(c.declare(&by_ref(3)).unwrap().passed);
    let other = DeclarationInput {
        licence: ref_text(&l, b"another file"),
        ..declaration(&l, &file, 4, "1")
    };
    assert_eq!(codes(&c.declare(&other).unwrap()), ["unknown_licence"]);
    let damaged = DeclarationInput {
        licence: "EXLIC-LIC1:***".into(),
        ..declaration(&l, &file, 5, "1")
    };
    assert!(matches!(
        c.declare(&damaged),
        Err(CustomsError::BadInput { field, .. }) if field == "licence"
    ));
}

#[test]
fn a_clock_set_back_does_not_make_an_expired_licence_valid_again() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOW));
    let (l, file) = licence("26AA000006", 12);
    {
        let c = open_at(dir.path(), clock.clone());
        // A use recorded on 2026-12-30; then the clock is set back a month.
        clock.set(NOW + 29 * 86_400_000);
        assert!(c.declare(&declaration(&l, &file, 1, "1")).unwrap().passed);
        clock.set(NOW);
        assert!(c.clock_behind_ms().is_some_and(|b| b >= 29 * 86_400_000));
        assert_eq!(c.now_ms(), NOW + 29 * 86_400_000, "the latest time seen");
        assert!(c.declare(&declaration(&l, &file, 2, "1")).unwrap().passed);
        let (_, view) = c.usage_of(&l.licence_no).unwrap().unwrap();
        assert!(
            view.lines.iter().all(|x| x.at_ms >= NOW + 29 * 86_400_000),
            "the ledger's times never go back: {view:?}"
        );
    }
    // The office's signed as-of time is trusted as well, and kept across a restart.
    let c = open_at(dir.path(), clock.clone());
    let page = FeedPage {
        authority_key: office().verifying_key().to_bytes(),
        from: 0,
        to: 1,
        as_of_ms: NOW + 40 * 86_400_000,
        entries: Vec::new(),
    }
    .sign(&office());
    c.apply_standing(&Link::Home, &page, &[]).unwrap();
    assert!(c.clock_behind_ms().is_some_and(|b| b > 39 * 86_400_000));
    let o = c.declare(&declaration(&l, &file, 4, "1")).unwrap();
    assert_eq!(codes(&o), ["expired"]);
    drop(c);
    let c = open_at(dir.path(), clock);
    let o = c.declare(&declaration(&l, &file, 5, "1")).unwrap();
    assert_eq!(codes(&o), ["expired"], "after a restart too");
}

#[test]
fn reservations_survive_a_restart_and_concurrent_declarations_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (l, file) = licence("26AA000005", 12);
    {
        let c = Arc::new(open(dir.path()));
        std::thread::scope(|s| {
            for n in 1..=12u32 {
                let (c, l, file) = (c.clone(), &l, &file);
                s.spawn(move || {
                    let o = c.declare(&declaration(l, file, n, "8")).unwrap();
                    assert!(o.passed, "{o:?}");
                });
            }
        });
        assert_eq!(c.ledger_position().unwrap(), (12, 0));
    }
    let c = open(dir.path());
    let (_, view) = c.usage_of("26AA000005").unwrap().unwrap();
    assert_eq!((view.uses, view.used_quantity.as_str()), (12, "96"));
    let seqs: Vec<u64> = c
        .unreported(&Link::Home, 100)
        .unwrap()
        .iter()
        .map(|e| UsageEntry::verify(e, &c.public_key()).unwrap().seq)
        .collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>(), "numbered without gaps");
}

/// An office's log in a store of its own, served as the office serves it over sync.
struct OfficeLog {
    _dir: tempfile::TempDir,
    store: Store,
    origin: String,
}

impl OfficeLog {
    fn new(origin: &str) -> Self {
        let (dir, store) = Store::temp();
        Self {
            _dir: dir,
            store,
            origin: origin.into(),
        }
    }

    /// Appends `n` entries tagged `tag` and signs a checkpoint of the tree.
    fn grow(&self, n: u64, tag: &str) -> Vec<u8> {
        use crate::store::tlog::{self, OWN};
        use exlic_client::translog::{Entry, EntryKind};
        let w = self.store.write().unwrap();
        let from = tlog::size(&w, OWN).unwrap();
        for i in from..from + n {
            let e = Entry::new(EntryKind::Licence, format!("{tag} {i}").as_bytes());
            tlog::append(&w, OWN, &e, &format!("L{i}")).unwrap();
        }
        let size = tlog::size(&w, OWN).unwrap();
        let head = tlog::head(&w, OWN, size).unwrap();
        let note = exlic_client::translog::sign_checkpoint(&self.origin, head, NOW, &office());
        w.commit().unwrap();
        note
    }

    fn tiles(&self, size: u64, asked: &[exlic_client::protocol::TileRef]) -> Vec<Option<Vec<u8>>> {
        use crate::store::tlog::{self, OWN, TILE_HEIGHT};
        let txn = self.store.read().unwrap();
        asked
            .iter()
            .map(|t| {
                let tile =
                    tlog_tiles::Tile::new(TILE_HEIGHT, t.level, t.index, u32::from(t.width), false);
                tlog::tile(&txn, OWN, &tile, size).unwrap()
            })
            .collect()
    }
}

/// One round of following `note` of a tree of `size`, as the session does it.
fn follow(c: &Customs, office: &OfficeLog, note: &[u8], size: u64) -> log_head::LogStep {
    match c.follow_log(&Link::Home, note, &[], &[], &[]).unwrap() {
        log_head::LogStep::Fetch { size: s, tiles } => {
            assert_eq!(s, size);
            let served = office.tiles(size, &tiles);
            c.follow_log(&Link::Home, note, &tiles, &served, &[])
                .unwrap()
        }
        done => done,
    }
}

#[test]
fn customs_follows_the_office_log_from_tiles_and_keeps_an_alarm_when_it_forks() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    let office_log = OfficeLog::new("exlic.office/AA");
    assert_eq!(c.log_view(&Link::Home).unwrap().head, None);
    // The first checkpoint is taken as it is; the next only once the tiles prove it.
    let first = office_log.grow(300, "licence");
    assert_eq!(
        follow(&c, &office_log, &first, 300),
        log_head::LogStep::Done
    );
    assert_eq!(c.log_view(&Link::Home).unwrap().head.unwrap().0.size, 300);
    let later = office_log.grow(500, "licence");
    assert!(matches!(
        c.follow_log(&Link::Home, &later, &[], &[], &[]).unwrap(),
        log_head::LogStep::Fetch { size: 800, .. }
    ));
    assert_eq!(
        c.log_view(&Link::Home).unwrap().head.unwrap().0.size,
        300,
        "not before the proof"
    );
    assert_eq!(
        follow(&c, &office_log, &later, 800),
        log_head::LogStep::Done
    );
    assert_eq!(c.log_view(&Link::Home).unwrap().head.unwrap().0.size, 800);
    assert_eq!(c.log_view(&Link::Home).unwrap().alarm, None);

    // The office shows another history: the same key, a log whose entries differ.
    let other = OfficeLog::new("exlic.office/AA");
    let forked = other.grow(900, "another licence");
    assert_eq!(follow(&c, &other, &forked, 900), log_head::LogStep::Done);
    let view = c.log_view(&Link::Home).unwrap();
    assert_eq!(view.head.unwrap().0.size, 800, "the head held stays");
    assert_eq!(view.alarm.map(|(h, s, _)| (h, s)), Some((800, 900)));

    // A checkpoint signed by another key, or tiles the office does not serve, prove
    // nothing and change nothing.
    let stranger = exlic_client::translog::sign_checkpoint(
        "exlic.office/AA",
        exlic_client::translog::TreeHead {
            size: 5,
            hash: [1; 32],
        },
        NOW,
        &SigningKey::from_bytes(&[9; 32]),
    );
    assert!(c.follow_log(&Link::Home, &stranger, &[], &[], &[]).is_err());
    let more = office_log.grow(10, "licence");
    let log_head::LogStep::Fetch { tiles, .. } =
        c.follow_log(&Link::Home, &more, &[], &[], &[]).unwrap()
    else {
        panic!("tiles are needed");
    };
    let none = vec![None; tiles.len()];
    assert!(
        c.follow_log(&Link::Home, &more, &tiles, &none, &[])
            .is_err()
    );
    assert_eq!(c.log_view(&Link::Home).unwrap().head.unwrap().0.size, 800);
}

/// A second office (江苏, `32`) whose customs invite for the same district this node
/// takes with `add_office`.
fn second_office() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn invite_of(key: &SigningKey, code: &str, district: &str) -> String {
    CustomsInvite {
        authority_key: key.verifying_key().to_bytes(),
        addrs: vec!["/ip4/127.0.0.1/tcp/2".into()],
        district: district.into(),
        district_name: "厦门关区".into(),
        secret: [4; 32],
        expires_at_ms: NOW + 86_400_000,
        agency_code: code.into(),
    }
    .to_token(key)
}

#[test]
fn a_node_following_two_offices_checks_each_licence_and_standing_under_its_own_office() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let store = Store::open(&dir.path().join("c.redb"), StoreOptions::default()).unwrap();
    // Refused, naming the token, and nothing recorded: another district, the home office
    // again, an invite that names no office.
    for bad_token in [
        invite_of(&second_office(), "32", "2200"),
        invite_of(&office(), "31", "3700"),
        invite_of(&second_office(), "AA", "3700"),
        invite_of(&second_office(), "", "3700"),
    ] {
        let e = add_office(&store, &bad_token).unwrap_err();
        assert!(
            matches!(e, CustomsError::BadInput { ref field, .. } if field == "token"),
            "{e}"
        );
    }
    assert_eq!(
        add_office(&store, &invite_of(&second_office(), "32", "3700")).unwrap(),
        "32"
    );
    assert!(add_office(&store, &invite_of(&second_office(), "32", "3700")).is_err());
    drop(store);
    let c = open(dir.path());
    let other = Link::Other("32".into());
    assert_eq!(
        c.offices()
            .iter()
            .map(|o| o.agency_code.as_str())
            .collect::<Vec<_>>(),
        ["AA", "32"]
    );
    assert_eq!(c.invite_secret(&other).unwrap(), Some([4; 32]));
    assert_eq!(c.invite_secret(&Link::Home).unwrap(), Some([3; 32]));

    // A licence of office 32 verifies under 32's key; one that claims 32 but is signed by
    // the home office does not.
    let signed_by = |no: &str, key: &SigningKey, agency: &str| {
        let mut l = exlic_client::sample::licence();
        l.licence_no = no.into();
        l.agency[0] = agency.into();
        l.key_id = key_id(&key.verifying_key().to_bytes());
        l.issued_at_ms = NOW - 86_400_000;
        let file = hex::encode(l.sign(key));
        (l, file)
    };
    let (l32, f32) = signed_by("2632000001", &second_office(), "32");
    let o = c.declare(&declaration(&l32, &f32, 1, "23")).unwrap();
    assert!(o.passed, "{o:?}");
    let (forged, ff) = signed_by("2632000002", &office(), "32");
    let o = c.declare(&declaration(&forged, &ff, 2, "1")).unwrap();
    assert_eq!(codes(&o), ["signature"]);
    let (laa, faa) = licence("26AA000001", 1);
    assert!(c.declare(&declaration(&laa, &faa, 3, "23")).unwrap().passed);

    // Each office's feed speaks of its own licences only, with its own cursor.
    let page = |key: &SigningKey, no: &str, state: State, as_of: i64| {
        FeedPage {
            authority_key: key.verifying_key().to_bytes(),
            from: 0,
            to: 1,
            as_of_ms: as_of,
            entries: vec![FeedEntry {
                licence_no: no.into(),
                state,
                since_ms: as_of - 1,
            }],
        }
        .sign(key)
    };
    let e = c
        .apply_standing(
            &other,
            &page(&second_office(), "26AA000001", State::Deleted, NOW),
            &[],
        )
        .unwrap_err();
    assert!(e.to_string().contains("not one of its own"), "{e}");
    assert_eq!(c.standing_of(&laa).unwrap().0, State::Valid);
    // The home office's key does not sign 32's feed.
    assert!(
        c.apply_standing(
            &other,
            &page(&office(), "2632000001", State::Deleted, NOW),
            &[]
        )
        .is_err()
    );
    c.apply_standing(
        &other,
        &page(&second_office(), "2632000001", State::Deleted, NOW - 5_000),
        &[],
    )
    .unwrap();
    assert_eq!(c.feed_cursor(&other).unwrap(), 1);
    assert_eq!(c.feed_cursor(&Link::Home).unwrap(), 0);
    assert_eq!(c.standing_of(&l32).unwrap(), (State::Deleted, NOW - 5_000));
    // The standing's age is the oldest office's: none while home has said nothing.
    assert_eq!(c.standing_as_of().unwrap(), None);
    c.apply_standing(
        &Link::Home,
        &page(&office(), "26AA000009", State::Valid, NOW - 9_000),
        &[],
    )
    .unwrap();
    assert_eq!(c.standing_as_of().unwrap(), Some(NOW - 9_000));

    // Every office is sent the whole ledger, each from where it acknowledged.
    assert_eq!(c.ledger_position().unwrap(), (2, 0));
    c.set_reported(&Link::Home, 2).unwrap();
    assert!(c.unreported(&Link::Home, 10).unwrap().is_empty());
    assert_eq!(c.unreported(&other, 10).unwrap().len(), 2);
    assert_eq!(c.ledger_position().unwrap(), (2, 0));
    c.set_reported(&other, 1).unwrap();
    assert_eq!(c.ledger_position().unwrap(), (2, 1));
    assert_eq!(c.ledger_position_at(&other).unwrap(), (2, 1));
}
