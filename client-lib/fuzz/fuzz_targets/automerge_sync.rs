//! The per-document payload of a sync request: an Automerge sync message from a peer,
//! decoded and applied to a seeded document exactly as `node/src/sync/docsync.rs` does
//! (decode, charge the inflate budget, load the content alone as a first sync does, then
//! receive under catch_unwind). A panic inside Automerge is caught there and
//! turned into a refused message; this target reports it so it can be fixed upstream or
//! guarded, and checks the document still saves and loads afterwards.
#![no_main]
use automerge::sync::{Message, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, LoadOptions, OnPartialLoad, ROOT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::decode(data) else { return };
    let mut budget = exlic_client::inflate::Budget::default();
    if msg.changes.iter().any(|c| budget.charge(c).is_err()) {
        return;
    }
    // A first sync: the content loaded on its own, as `docsync::preload` does.
    let joined: Vec<u8> = msg.changes.iter().flatten().copied().collect();
    let _ = std::panic::catch_unwind(|| {
        let strict = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
        AutoCommit::load_with_options(&joined, strict)
    });
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "type", "application").unwrap();
    doc.put(ROOT, "remarks", "seed").unwrap();
    doc.commit();
    let mut state = State::new();
    let _ = doc.sync().generate_sync_message(&mut state);
    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        doc.sync().receive_sync_message(&mut state, msg)
    }));
    if let Ok(Ok(())) = applied {
        let saved = doc.save();
        AutoCommit::load(&saved).expect("a document that took a sync message must reload");
    }
});
