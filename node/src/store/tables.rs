//! Every redb table of a node, in one place, with the layout of its keys and values.

use redb::{TableDefinition, WriteTransaction};

/// A document id as stored.
pub type Id = [u8; 16];

/// Node-wide settings and counters: device key, number block, next change seq, ….
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// doc id → (kind, chunk count, next chunk number).
pub const DOC_INFO: TableDefinition<Id, (u8, u32, u64)> = TableDefinition::new("doc_info");
/// doc id → compacted Automerge snapshot.
pub const DOC_SNAPSHOT: TableDefinition<Id, &[u8]> = TableDefinition::new("doc_snapshot");
/// (doc id, chunk number) → incremental Automerge changes since the snapshot.
pub const DOC_CHUNK: TableDefinition<(Id, u64), &[u8]> = TableDefinition::new("doc_chunk");
/// change seq → doc id: the node's change feed (each doc appears once, at its last change).
pub const CHANGES: TableDefinition<u64, Id> = TableDefinition::new("changes");
/// doc id → its current change seq.
pub const DOC_SEQ: TableDefinition<Id, u64> = TableDefinition::new("doc_seq");
/// (blob sha256, chunk number) → bytes.
pub const BLOB_CHUNK: TableDefinition<([u8; 32], u32), &[u8]> = TableDefinition::new("blob_chunk");
/// blob sha256 → (size, chunk count).
pub const BLOB_INFO: TableDefinition<[u8; 32], (u64, u32)> = TableDefinition::new("blob_info");
/// doc id → the node's state of an application (status, revision, number, history).
pub const APP_STATE: TableDefinition<Id, &[u8]> = TableDefinition::new("app_state");
/// doc id → its list row (`ApplicationSummary` as JSON).
pub const SUMMARY: TableDefinition<Id, &[u8]> = TableDefinition::new("summary");
/// (created at, Unix ms, doc id); the application date is the China date of that instant.
pub const IDX_DATE: TableDefinition<(i64, Id), ()> = TableDefinition::new("idx_date");
/// (status tag, created at ms, doc id).
pub const IDX_STATUS: TableDefinition<(u8, i64, Id), ()> = TableDefinition::new("idx_status");
/// (commodity code, created at ms, doc id).
pub const IDX_COMMODITY: TableDefinition<(&str, i64, Id), ()> =
    TableDefinition::new("idx_commodity");
/// (trade mode, created at ms, doc id).
pub const IDX_TRADE_MODE: TableDefinition<(&str, i64, Id), ()> =
    TableDefinition::new("idx_trade_mode");
/// (quota year, created at ms, doc id).
pub const IDX_YEAR: TableDefinition<(u16, i64, Id), ()> = TableDefinition::new("idx_year");
/// 申请表号 → doc id.
pub const IDX_APP_NO: TableDefinition<&str, Id> = TableDefinition::new("idx_app_no");
/// (doc id, revision) → sealed submission envelope.
pub const SEALS: TableDefinition<(Id, u32), &[u8]> = TableDefinition::new("seals");
/// outbox seq → (doc id, revision): sealed submissions waiting to be delivered.
pub const OUTBOX: TableDefinition<u64, (Id, u32)> = TableDefinition::new("outbox");

/// (peer key, doc id) → Automerge sync state (shared heads) with that peer.
pub const SYNC_STATE: TableDefinition<([u8; 32], Id), &[u8]> = TableDefinition::new("sync_state");
/// seal hash → signed receipt (both roles).
pub const RECEIPTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("receipts");
/// Enterprise: the office's latest signed refusal at receipt, per application.
pub const REFUSALS: TableDefinition<Id, &[u8]> = TableDefinition::new("refusals");

/// Authority: device key → the enterprise (USCC) it speaks for.
pub const DEVICES: TableDefinition<[u8; 32], &str> = TableDefinition::new("devices");
/// Authority: USCC → (name, master public key).
pub const ENTERPRISES: TableDefinition<&str, (&str, [u8; 32])> =
    TableDefinition::new("enterprises");
/// Authority: sha256(invite secret) → (USCC, name, expires ms, device that spent it or zeros).
pub const INVITES: TableDefinition<[u8; 32], (&str, &str, i64, [u8; 32])> =
    TableDefinition::new("invites");
/// Authority: doc id → the enterprise that owns it.
pub const DOC_OWNER: TableDefinition<Id, &str> = TableDefinition::new("doc_owner");
/// Authority: (USCC, change seq) → (doc id, the device whose change put it there, zeros for
/// the authority): the change feed each enterprise reads.
pub const OWNER_FEED: TableDefinition<(&str, u64), (Id, [u8; 32])> =
    TableDefinition::new("owner_feed_v2");
/// Authority: doc id → its position in its owner's feed.
pub const OWNER_FEED_POS: TableDefinition<Id, u64> = TableDefinition::new("owner_feed_pos");
/// Enterprise: blobs attached here and not yet confirmed uploaded (sha256 → size).
pub const BLOB_UP: TableDefinition<[u8; 32], u64> = TableDefinition::new("blob_up");
/// Enterprise: blobs listed by a synced document and not held here (sha256 → size).
pub const BLOB_DOWN: TableDefinition<[u8; 32], u64> = TableDefinition::new("blob_down");
/// Both roles: (blob sha256, chunk number) → bytes of a transfer not yet complete
/// (an upload at the authority, a fetch at an enterprise).
pub const BLOB_STAGE: TableDefinition<([u8; 32], u32), &[u8]> = TableDefinition::new("blob_stage");
/// Authority: (blob sha256, USCC) → () for every enterprise that uploaded the blob.
pub const BLOB_OWNER: TableDefinition<([u8; 32], &str), ()> = TableDefinition::new("blob_owner");
/// Authority: seal hash → (application id, revision) of every accepted submission.
pub const SUBMISSIONS: TableDefinition<[u8; 32], (Id, u32)> = TableDefinition::new("submissions");
/// A case row: (USCC, 申请表号, revision, status tag, latest seal hash, received ms).
pub type CaseRow<'a> = (&'a str, &'a str, u32, u8, [u8; 32], i64);
/// Authority: application id → its case row.
pub const CASES: TableDefinition<Id, CaseRow<'static>> = TableDefinition::new("cases");
/// Authority: (status tag, received ms, application id) → (): each status's cases in order
/// of receipt, so an inbox is read a page at a time. Derived from [`CASES`].
pub const CASES_BY_STATUS: TableDefinition<(u8, i64, Id), ()> =
    TableDefinition::new("cases_by_status");
/// A case summary: (exporter name, 商品编码, total quantity, unit, total amount, currency).
pub type CaseSummaryRow<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);
/// Authority: application id → what an inbox row shows of its latest revision.
pub const CASE_SUMMARY: TableDefinition<Id, CaseSummaryRow<'static>> =
    TableDefinition::new("case_summary");

/// A certificate row: (USCC, device key, mobile, not before, not after, revoked at or
/// `i64::MAX`).
pub type CertRow<'a> = (&'a str, [u8; 32], &'a str, i64, i64, i64);
/// Authority: serial → certificate row.
pub const CERTS: TableDefinition<u64, CertRow<'static>> = TableDefinition::new("certs");
/// Authority: serial → the signed certificate.
pub const CERT_BYTES: TableDefinition<u64, &[u8]> = TableDefinition::new("cert_bytes");
/// Authority: device key → its newest certificate's serial.
pub const DEVICE_CERT: TableDefinition<[u8; 32], u64> = TableDefinition::new("device_cert");
/// Authority: (enterprise USCC, serial) of every certificate, to find an enterprise's
/// without reading them all.
pub const CERTS_OF: TableDefinition<(&str, u64), ()> = TableDefinition::new("certs_of");
/// Authority: serial → revoked at (ms), for the revoked certificates only (the list).
pub const CERTS_REVOKED: TableDefinition<u64, i64> = TableDefinition::new("certs_revoked");
/// Authority: nonces of certificate requests already carried out.
pub const CERT_NONCES: TableDefinition<[u8; 16], ()> = TableDefinition::new("cert_nonces");

/// A certificate request row: (kind, mobile, old mobile, created ms, status, signed request,
/// outcome text). Status 1 = submitted, waiting for the authority; 2 = issued; 3 = refused.
pub type CertRequestRow<'a> = (u8, &'a str, &'a str, i64, u8, &'a [u8], &'a str);
/// Enterprise: request seq → its row.
pub const CERT_REQUESTS: TableDefinition<u64, CertRequestRow<'static>> =
    TableDefinition::new("cert_requests");

/// Authority: documents only the authority writes (case documents).
pub const AUTHORITY_DOCS: TableDefinition<Id, ()> = TableDefinition::new("authority_docs");
/// Both roles: 许可证号 → the signed licence.
pub const LICENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("licences");
/// Authority: key rollover records in order (index → `KeyRecord` signed by the key before).
pub const KEY_RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("key_records");
/// Customs: another office's key rollover records, (agency code, index) → record (its home
/// office's are in `KEY_RECORDS`).
pub const OFFICE_KEY_RECORDS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("office_key_records");
/// Authority: the audit trail.
pub const AUDIT: TableDefinition<u64, (i64, &str, Id, &str, &str)> = TableDefinition::new("audit");
/// Both roles: 删证/核销 request document id → `licence_request::Record`.
pub const LICENCE_REQUESTS: TableDefinition<Id, &[u8]> = TableDefinition::new("licence_requests");
/// Both roles: 许可证号 → its standing (`domain::licence_request::Standing` tag).
pub const LICENCE_STATE: TableDefinition<&str, u8> = TableDefinition::new("licence_state");
/// Both roles: the office's signed standing statement of each licence (`exlic/standing/v1`),
/// the newest this node holds, by 许可证号.
pub const STANDINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("standings");
/// Authority: USCC → the enterprise's latest profile proposal document.
pub const PROFILE_PROPOSALS: TableDefinition<&str, Id> = TableDefinition::new("profile_proposals");
/// Authority: USCC → the acceptance document it writes for that enterprise.
pub const PROFILE_ACK: TableDefinition<&str, Id> = TableDefinition::new("profile_ack");
/// Authority: USCC → (the enterprise's pending unlock request document, the e-key it names).
pub const UNLOCK_REQS: TableDefinition<&str, (Id, [u8; 32])> = TableDefinition::new("unlock_reqs");
/// Authority: staff login → account record (role, name, Argon2id PHC hash, failures, lock).
pub const STAFF: TableDefinition<&str, &[u8]> = TableDefinition::new("staff");
/// Customs and authority: (许可证号, 报关单号, 项号) → the item's usage row
/// (`usage::ItemRow`): customs' own items, and at the office every item its customs nodes
/// reported.
pub const USAGE_ITEMS: TableDefinition<(&str, &str, u32), &[u8]> =
    TableDefinition::new("usage_items");
/// Customs: (报关单号, 项号) → 许可证号.
pub const DECL_ITEMS: TableDefinition<(&str, u32), &str> = TableDefinition::new("decl_items");
/// Customs: its usage ledger, seq → the signed entry (`exlic/usage/v1`).
pub const USAGE_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("usage_log");
/// Authority: (customs node key, seq) → the signed entry it reported.
pub const USAGE_IN: TableDefinition<([u8; 32], u64), &[u8]> = TableDefinition::new("usage_in");
/// Authority: (许可证号, 报关单号, 项号) → why the office flags that usage.
pub const USAGE_FLAGS: TableDefinition<(&str, &str, u32), &str> =
    TableDefinition::new("usage_flags");
/// Enterprise: 许可证号 → its usage at customs as the office last told it (JSON `UsageView`).
pub const USAGE_VIEWS: TableDefinition<&str, &[u8]> = TableDefinition::new("usage_views");
/// Authority: the standing feed, position → 许可证号 whose standing changed there.
pub const STANDING_LOG: TableDefinition<u64, &str> = TableDefinition::new("standing_log");
/// Customs: 许可证号 → (state tag, since ms, as-of ms) from the office's standing feed.
pub const FEED_STANDING: TableDefinition<&str, (u8, i64, i64)> =
    TableDefinition::new("feed_standing");
/// Authority: customs node key → its district code.
pub const CUSTOMS_NODES: TableDefinition<[u8; 32], &str> = TableDefinition::new("customs_nodes");
/// Authority: customs invite secret hash → (district, district name, expires ms, node key
/// once spent).
pub const CUSTOMS_INVITES: TableDefinition<[u8; 32], (&str, &str, i64, [u8; 32])> =
    TableDefinition::new("customs_invites");
/// Enterprise: 许可证号 → the licence's inclusion proof in its office's log, as the office
/// sent it with the licence (`exlic_client::translog::InclusionProof`).
pub const LICENCE_PROOFS: TableDefinition<&str, &[u8]> = TableDefinition::new("licence_proofs");
/// Transparency logs, each under a log id (an office's own is 0; a bureau keeps a copy of
/// each office's under the office's number): (log, stored hash index, see
/// `tlog_tiles::stored_hash_index`) → hash, every node of the Merkle tree, written once.
pub const TLOG_HASHES: TableDefinition<(u32, u64), [u8; 32]> = TableDefinition::new("tlog_hashes");
/// (log, entry index) → the encoded entry (`exlic_client::translog::Entry`).
pub const TLOG_ENTRIES: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("tlog_entries");
/// (log, entry kind, what it is about: licence number or certificate serial, entry index)
/// → (): where an object's entries are.
pub const TLOG_INDEX: TableDefinition<(u32, u8, &str, u64), ()> =
    TableDefinition::new("tlog_index");
/// (log, tree size) → the signed checkpoint note of that size (every one signed or
/// co-signed).
pub const TLOG_CHECKPOINTS: TableDefinition<(u32, u64), &[u8]> =
    TableDefinition::new("tlog_checkpoints");
/// Bureau: office number (its log id, from 1) → the office as enrolled and followed (JSON
/// `store::bureau::OfficeRow`).
pub const BUREAU_OFFICES: TableDefinition<u32, &[u8]> = TableDefinition::new("bureau_offices");
/// Bureau: alarm number → (raised at ms, office number, kind, detail).
pub const BUREAU_ALARMS: TableDefinition<u64, (i64, u32, &str, &str)> =
    TableDefinition::new("bureau_alarms");
/// Bureau: (许可证号, office number, entry index) → (): every licence of every office.
pub const BUREAU_LICENCES: TableDefinition<(&str, u32, u64), ()> =
    TableDefinition::new("bureau_licences");
/// Bureau: (office number, entry index) → a licence's summary for the national view (JSON
/// `store::bureau::LicenceRow`).
pub const BUREAU_LICENCE_ROWS: TableDefinition<(u32, u64), &[u8]> =
    TableDefinition::new("bureau_licence_rows");
/// Bureau: (what — 1 the exporter's USCC, 2 the commodity code —, its value, office
/// number, entry index) → (): the national view's search.
pub const BUREAU_SEARCH: TableDefinition<(u8, &str, u32, u64), ()> =
    TableDefinition::new("bureau_search");
/// Bureau: (China day YYYYMMDD, office number) → licences issued that day.
pub const BUREAU_DAILY: TableDefinition<(u32, u32), u64> = TableDefinition::new("bureau_daily");

/// Replicated office: the Raft log, index → entry (JSON of `openraft::Entry`).
pub const RAFT_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
/// Replicated office: the Raft state (vote, committed, last purged, applied, membership,
/// the current snapshot), name → JSON.
pub const RAFT_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_state");
/// This store's own facts, which a replica's snapshot neither carries nor replaces: the
/// id of its enterprises' change feed (`feed::epoch`).
pub const LOCAL: TableDefinition<&str, &[u8]> = TableDefinition::new("local");
/// Replicated office: each applied command's reply by its request id, so a retried
/// command is answered again and never applied twice.
pub const RAFT_REPLIES: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("raft_replies");

/// Document kind tags in `DOC_INFO`.
pub mod kind {
    /// 出口许可证申请表.
    pub const APPLICATION: u8 = 1;
    /// A document received from a peer whose type this node does not interpret.
    pub const OTHER: u8 = 255;
}

/// Calls `$f!` with every table of a node, so what must visit them all (creating them,
/// a replica's snapshot) cannot miss one: a new table goes in this list.
macro_rules! every_table {
    ($f:ident) => {
        $f!(
            META,
            KEY_RECORDS,
            OFFICE_KEY_RECORDS,
            RAFT_LOG,
            RAFT_STATE,
            RAFT_REPLIES,
            LOCAL,
            LICENCE_REQUESTS,
            LICENCE_STATE,
            STANDINGS,
            STAFF,
            USAGE_ITEMS,
            DECL_ITEMS,
            USAGE_LOG,
            USAGE_IN,
            USAGE_FLAGS,
            USAGE_VIEWS,
            STANDING_LOG,
            FEED_STANDING,
            CUSTOMS_NODES,
            CUSTOMS_INVITES,
            PROFILE_PROPOSALS,
            PROFILE_ACK,
            UNLOCK_REQS,
            DOC_INFO,
            DOC_SNAPSHOT,
            DOC_CHUNK,
            CHANGES,
            DOC_SEQ,
            BLOB_CHUNK,
            BLOB_INFO,
            APP_STATE,
            SUMMARY,
            IDX_DATE,
            IDX_STATUS,
            IDX_COMMODITY,
            IDX_TRADE_MODE,
            IDX_YEAR,
            IDX_APP_NO,
            SEALS,
            OUTBOX,
            SYNC_STATE,
            RECEIPTS,
            REFUSALS,
            DEVICES,
            ENTERPRISES,
            INVITES,
            DOC_OWNER,
            OWNER_FEED,
            OWNER_FEED_POS,
            BLOB_STAGE,
            BLOB_UP,
            BLOB_DOWN,
            BLOB_OWNER,
            SUBMISSIONS,
            CASES,
            CASES_BY_STATUS,
            CASE_SUMMARY,
            CERTS,
            CERT_BYTES,
            DEVICE_CERT,
            CERT_NONCES,
            CERTS_OF,
            CERTS_REVOKED,
            CERT_REQUESTS,
            AUTHORITY_DOCS,
            LICENCES,
            AUDIT,
            LICENCE_PROOFS,
            BUREAU_OFFICES,
            BUREAU_ALARMS,
            BUREAU_LICENCES,
            BUREAU_DAILY,
            BUREAU_LICENCE_ROWS,
            BUREAU_SEARCH,
            TLOG_HASHES,
            TLOG_ENTRIES,
            TLOG_INDEX,
            TLOG_CHECKPOINTS
        )
    };
}
pub(crate) use every_table;

/// Creates every table, so read transactions never meet a missing one.
pub fn create_all(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    macro_rules! open {
        ($($t:ident),*) => {
            $(txn.open_table($t)?;)*
        };
    }
    every_table!(open);
    Ok(())
}

/// Read access to tables from either kind of transaction.
pub trait Txn {
    /// Opens `def` for reading.
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<impl redb::ReadableTable<K, V> + '_, redb::TableError>;
}

impl Txn for redb::ReadTransaction {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<impl redb::ReadableTable<K, V> + '_, redb::TableError> {
        self.open_table(def)
    }
}

impl Txn for WriteTransaction {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<impl redb::ReadableTable<K, V> + '_, redb::TableError> {
        self.open_table(def)
    }
}
