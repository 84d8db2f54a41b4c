//! The bureau's monitors over pages an office sends, built here with real signatures
//! and a real log in a second store: catch-up, a fork, a false checkpoint, a licence
//! number seen twice.

use super::*;
use crate::clock::ManualClock;
use crate::store::tlog::OWN;

const NOW: i64 = 1_767_000_000_000;

/// An office's side: its key, its log in a store of its own.
struct Office {
    key: SigningKey,
    store: Store,
    _dir: tempfile::TempDir,
}

impl Office {
    fn new(seed: u8) -> Self {
        let (dir, store) = Store::temp();
        Self {
            key: SigningKey::from_bytes(&[seed; 32]),
            store,
            _dir: dir,
        }
    }

    /// Appends licences numbered `from..to` (`26AA` + serial), signed by the office.
    fn issue(&self, from: u32, to: u32) {
        let w = self.store.write().unwrap();
        for n in from..to {
            let l = Licence {
                licence_no: format!("26AA{n:06}"),
                issued_at_ms: NOW,
                key_id: exlic_client::certificate::key_id(&self.key.verifying_key().to_bytes()),
                ..exlic_client::sample::licence()
            };
            let file = l.sign(&self.key);
            tlog::append(
                &w,
                OWN,
                &Entry::new(EntryKind::Licence, &file),
                &l.licence_no,
            )
            .unwrap();
        }
        w.commit().unwrap();
    }

    /// The page the office would send from `from`: entries and a checkpoint of all.
    fn page(&self, from: u64) -> (Vec<Vec<u8>>, Vec<u8>) {
        let txn = self.store.read().unwrap();
        let size = tlog::size(&txn, OWN).unwrap();
        let head = tlog::head(&txn, OWN, size).unwrap();
        let note = translog::sign_checkpoint(&translog::origin("AA"), head, NOW, &self.key);
        (tlog::entries(&txn, OWN, from, 100_000).unwrap(), note)
    }

    fn root(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }
}

fn bureau() -> (Bureau, tempfile::TempDir) {
    let (dir, store) = Store::temp();
    initialise(&store, "bureau").unwrap();
    let b = Bureau::open(Arc::new(store), Arc::new(ManualClock::at(NOW))).unwrap();
    (b, dir)
}

/// Reads office `id` to the end in pages of at most 1,024, as the link does.
fn follow(b: &Bureau, id: u32, o: &Office) -> PageOutcome {
    loop {
        let from = b.held(id).unwrap();
        let (entries, note) = o.page(from);
        let more = entries.len() > 1024;
        let page: Vec<Vec<u8>> = entries.into_iter().take(1024).collect();
        match b.apply_page(id, from, &page, &note, &[], more).unwrap() {
            PageOutcome::More { from: next } => assert_eq!(next, from + 1024),
            other => return other,
        }
    }
}

/// Enrols `o` with the bureau as office AA (一局); its id.
fn follow_one(b: &Bureau, o: &Office) -> u32 {
    b.add_office("AA", "一局", &o.root(), &["/ip4/127.0.0.1/tcp/1".into()])
        .unwrap()
}

#[test]
fn a_bureau_offline_through_a_thousand_issuances_catches_up_once_each_and_cosigns() {
    let (b, _d) = bureau();
    let o = Office::new(1);
    let id = follow_one(&b, &o);
    o.issue(1, 4);
    assert!(matches!(follow(&b, id, &o), PageOutcome::Cosign(_)));
    // Offline while the office issues 1,000 more.
    o.issue(4, 1_004);
    let PageOutcome::Cosign(note) = follow(&b, id, &o) else {
        panic!("no co-signature after catching up");
    };
    assert_eq!(b.held(id).unwrap(), 1_003);
    // Every licence once, none twice: no alarm.
    assert!(b.alarms().unwrap().is_empty(), "{:?}", b.alarms().unwrap());
    for n in [1u32, 500, 1_003] {
        assert_eq!(b.find_licence(&format!("26AA{n:06}")).unwrap().len(), 1);
    }
    // The co-signature verifies with the bureau required.
    let trust = Trust::new(o.key.verifying_key().to_bytes());
    let w = translog::Witness {
        name: translog::witness_name("bureau"),
        key: b.public_key(),
    };
    let cp = translog::open_checkpoint(&note, &translog::origin("AA"), &trust, Some(&w)).unwrap();
    assert_eq!(cp.head.size, 1_003);
    // Nothing new: nothing to co-sign again.
    assert_eq!(follow(&b, id, &o), PageOutcome::Done);
    // A page that does not start where the bureau is, is refused and changes nothing.
    let (entries, note) = o.page(0);
    assert!(
        b.apply_page(id, 0, &entries[..1], &note, &[], true)
            .is_err()
    );
    assert_eq!(b.held(id).unwrap(), 1_003);
}

#[test]
fn the_national_view_finds_licences_by_number_enterprise_and_commodity_and_names_a_bad_query() {
    let (b, _d) = bureau();
    let o = Office::new(1);
    let id = follow_one(&b, &o);
    o.issue(1, 4);
    follow(&b, id, &o);
    let uscc = exlic_client::sample::licence().exporter[2].clone();
    let q = |no: &str, ent: &str, com: &str| Search {
        licence_no: no.into(),
        enterprise: ent.into(),
        commodity: com.into(),
    };
    let (hits, more) = b.search(&q("26aa000002", "", "")).unwrap();
    assert_eq!((hits.len(), more), (1, false));
    assert_eq!(hits[0].agency, "AA");
    assert_eq!(hits[0].row.commodity_name, "柠檬酸");
    assert_eq!(b.search(&q("", &uscc[..6], "")).unwrap().0.len(), 3);
    assert_eq!(b.search(&q("", "", "2918")).unwrap().0.len(), 3);
    assert_eq!(b.search(&q("", &uscc, "2918")).unwrap().0.len(), 3);
    // The other filter narrows.
    assert!(b.search(&q("", &uscc, "1001")).unwrap().0.is_empty());
    assert!(b.search(&q("", "", "1001")).unwrap().0.is_empty());
    // Nothing given, or something that is no code, is named.
    for (bad_q, field) in [
        (q("", " ", ""), "licence_no"),
        (q("", "91'--", ""), "enterprise"),
        (q("", "", &"9".repeat(11)), "commodity"),
    ] {
        match b.search(&bad_q) {
            Err(BureauError::BadInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{bad_q:?}: {other:?}"),
        }
    }
}

#[test]
fn an_office_that_shows_two_histories_is_refused_a_cosignature_and_halted() {
    let (b, _d) = bureau();
    let o = Office::new(1);
    let id = follow_one(&b, &o);
    o.issue(1, 6);
    assert!(matches!(follow(&b, id, &o), PageOutcome::Cosign(_)));
    // The same office key signs a second history of the same first five entries:
    // entry 3 is another licence.
    let fork = Office::new(1);
    fork.issue(1, 3);
    fork.issue(900, 901);
    fork.issue(4, 8);
    let (entries, note) = fork.page(5);
    assert_eq!(
        b.apply_page(id, 5, &entries, &note, &[], false).unwrap(),
        PageOutcome::Halted
    );
    let alarms = b.alarms().unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0].kind, "fork");
    assert!(alarms[0].detail.contains(";ours="), "{}", alarms[0].detail);
    // Nothing of the forked page was kept, and the office stays halted.
    assert_eq!(b.held(id).unwrap(), 5);
    assert!(b.halted(id).unwrap());
    let (entries, note) = o.page(5);
    assert_eq!(
        b.apply_page(id, 5, &entries, &note, &[], false).unwrap(),
        PageOutcome::Halted
    );
}

#[test]
fn a_checkpoint_not_signed_by_the_office_or_shrinking_raises_an_alarm() {
    let (b, _d) = bureau();
    let o = Office::new(1);
    let id = follow_one(&b, &o);
    o.issue(1, 3);
    let (entries, _) = o.page(0);
    let txn = o.store.read().unwrap();
    let head = tlog::head(&txn, OWN, 2).unwrap();
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let forged = translog::sign_checkpoint(&translog::origin("AA"), head, NOW, &stranger);
    assert_eq!(
        b.apply_page(id, 0, &entries, &forged, &[], false).unwrap(),
        PageOutcome::Halted
    );
    assert_eq!(b.alarms().unwrap()[0].kind, "bad_checkpoint");
    assert_eq!(b.held(id).unwrap(), 0, "nothing of the page is kept");
}

#[test]
fn a_standing_for_a_licence_the_office_never_logged_raises_an_alarm() {
    let (b, _d) = bureau();
    let o = Office::new(1);
    let id = follow_one(&b, &o);
    o.issue(1, 3);
    // A licence the office signed outside its log is used up at customs: its used-up
    // standing is logged, the licence never was. A standing signed by another key is
    // refused too.
    let standing = |no: &str, key: &SigningKey| {
        exlic_client::standing::Standing {
            licence_no: no.into(),
            state: exlic_client::standing::State::UsedUp,
            since_ms: NOW,
            as_of_ms: NOW,
            authority_key: key.verifying_key().to_bytes(),
        }
        .sign(key)
    };
    let w = o.store.write().unwrap();
    for (no, key) in [
        ("26AA000001", o.key.clone()),
        ("26AA000777", o.key.clone()),
        ("26AA000002", SigningKey::from_bytes(&[9; 32])),
    ] {
        let e = Entry::new(EntryKind::Standing, &standing(no, &key));
        tlog::append(&w, OWN, &e, no).unwrap();
    }
    w.commit().unwrap();
    assert!(matches!(follow(&b, id, &o), PageOutcome::Cosign(_)));
    let kinds: Vec<(String, String)> = b
        .alarms()
        .unwrap()
        .into_iter()
        .map(|a| (a.kind, a.detail))
        .collect();
    // Newest first.
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[1].0, "licence_not_logged", "{kinds:?}");
    assert!(kinds[1].1.contains("26AA000777"), "{kinds:?}");
    assert_eq!(kinds[0].0, "bad_standing");
    // Not a fork: the office is still followed.
    assert!(!b.halted(id).unwrap());
}

#[test]
fn the_same_licence_number_from_two_offices_raises_an_alarm() {
    let (b, _d) = bureau();
    let (o1, o2) = (Office::new(1), Office::new(2));
    let one = b
        .add_office("AA", "一局", &o1.root(), &["/ip4/127.0.0.1/tcp/1".into()])
        .unwrap();
    let two = b
        .add_office("AA", "二局", &o2.root(), &["/ip4/127.0.0.1/tcp/2".into()])
        .unwrap();
    o1.issue(1, 3);
    o2.issue(2, 3);
    follow(&b, one, &o1);
    assert!(b.alarms().unwrap().is_empty(), "{:?}", b.alarms().unwrap());
    assert!(b.alarms().unwrap().is_empty());
    assert!(matches!(follow(&b, two, &o2), PageOutcome::Cosign(_)));
    let alarms = b.alarms().unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].kind, "duplicate_licence_no");
    assert!(alarms[0].detail.contains("26AA000002"));
    // Not a fork: the second office is still followed.
    assert!(!b.halted(two).unwrap());
    // A malformed office key or address is refused, naming the field.
    assert!(matches!(
        b.add_office("AA", "", "zz", &["/ip4/127.0.0.1/tcp/3".into()]),
        Err(BureauError::BadInput { field, .. }) if field == "root_key"
    ));
    assert!(matches!(
        b.add_office("AA", "", &o1.root(), &["/ip4/127.0.0.1/tcp/3".into()]),
        Err(BureauError::BadInput { field, .. }) if field == "root_key"
    ));
}
