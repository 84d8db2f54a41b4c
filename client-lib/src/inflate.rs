//! Bounds how far a peer's Automerge content inflates, checked before Automerge sees it.
//!
//! Automerge inflates compressed change chunks and compressed document columns without a
//! limit, so a message of a few kilobytes could claim gigabytes. Every sync request and
//! response gets one [`Budget`] of [`MAX_INFLATED`] bytes; each message's chunks are
//! walked, every compressed part is inflated into nothing with a cap, and its size is
//! charged. Content over budget is refused like any malformed message.

use std::io::Read;

use crate::protocol::MAX_INFLATED;

/// Why content was refused before inflating.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum InflateError {
    /// The bytes are not a sequence of Automerge chunks.
    #[error("not an Automerge chunk")]
    NotAChunk,
    /// A length points past the end.
    #[error("Automerge chunk is truncated")]
    Truncated,
    /// A LEB128 number is too long.
    #[error("bad LEB128 number in an Automerge chunk")]
    BadNumber,
    /// A chunk kind the sync protocol never sends (bundles, unknown kinds).
    #[error("Automerge chunk type {0} is not accepted")]
    ChunkType(u8),
    /// A compressed part does not inflate.
    #[error("compressed Automerge content is corrupt")]
    Corrupt,
    /// The request's content inflates past [`MAX_INFLATED`].
    #[error("compressed Automerge content inflates past {MAX_INFLATED} bytes per request")]
    OverBudget,
}

/// Automerge's chunk magic bytes.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The column-specification bit that marks a DEFLATE-compressed column.
const DEFLATE_BIT: u64 = 0b1000;

/// Inflated bytes still allowed for one request or response.
#[derive(Debug)]
pub struct Budget {
    left: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(MAX_INFLATED as u64)
    }
}

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        Self { left: bytes }
    }

    /// Charges what the compressed parts of `chunks` (a sequence of Automerge chunks)
    /// inflate to. Refuses chunk kinds the sync protocol never sends (bundles) and
    /// anything that does not parse as far as the compressed parts go.
    pub fn charge(&mut self, chunks: &[u8]) -> Result<(), InflateError> {
        let mut c = Cursor { b: chunks, pos: 0 };
        while c.pos < chunks.len() {
            if c.take(4)? != MAGIC {
                return Err(InflateError::NotAChunk);
            }
            c.take(4)?; // checksum: Automerge checks it
            let kind = c.take(1)?[0];
            let len = c.len()?;
            let body = c.take(len)?;
            match kind {
                0 => self.charge_document(body)?,
                1 => {}
                2 => self.inflate(body)?,
                k => return Err(InflateError::ChunkType(k)),
            }
        }
        Ok(())
    }

    /// A document chunk: actors, heads, the change and op column layouts, then the
    /// columns, any of which may be compressed.
    fn charge_document(&mut self, body: &[u8]) -> Result<(), InflateError> {
        let mut c = Cursor { b: body, pos: 0 };
        for _ in 0..c.uleb()? {
            let n = c.len()?;
            c.take(n)?;
        }
        let heads = c.len()?;
        c.take(heads.checked_mul(32).ok_or(InflateError::Truncated)?)?;
        let mut columns = Vec::new();
        for _ in 0..2 {
            for _ in 0..c.uleb()? {
                let spec = c.uleb()?;
                let len = c.len()?;
                columns.push((spec, len));
            }
        }
        for (spec, len) in columns {
            let data = c.take(len)?;
            if spec & DEFLATE_BIT != 0 {
                self.inflate(data)?;
            }
        }
        Ok(())
    }

    fn inflate(&mut self, deflated: &[u8]) -> Result<(), InflateError> {
        let mut decoder = flate2::bufread::DeflateDecoder::new(deflated).take(self.left + 1);
        let n =
            std::io::copy(&mut decoder, &mut std::io::sink()).map_err(|_| InflateError::Corrupt)?;
        if n > self.left {
            return Err(InflateError::OverBudget);
        }
        self.left -= n;
        Ok(())
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], InflateError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or(InflateError::Truncated)?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uleb(&mut self) -> Result<u64, InflateError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(InflateError::BadNumber)
    }

    fn len(&mut self) -> Result<usize, InflateError> {
        usize::try_from(self.uleb()?).map_err(|_| InflateError::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use std::io::Write;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn uleb(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([0; 4]);
        out.push(kind);
        uleb(body.len() as u64, &mut out);
        out.extend(body);
        out
    }

    /// 256 MiB of zeros in about 250 KiB.
    fn bomb() -> Vec<u8> {
        deflate(&vec![0; 256 << 20])
    }

    #[test]
    fn a_real_document_and_its_changes_are_charged_and_accepted() {
        let mut d = automerge::AutoCommit::new();
        for i in 0..40 {
            let t = d
                .put_object(
                    automerge::ROOT,
                    format!("f{i:02}"),
                    automerge::ObjType::Text,
                )
                .unwrap();
            d.splice_text(&t, 0, 0, &"licence text ".repeat(8)).unwrap();
            d.commit();
        }
        let whole = d.save();
        let mut b = Budget::default();
        b.charge(&whole).unwrap();
        assert!(
            b.left < MAX_INFLATED as u64,
            "the compressed columns were inflated"
        );
        let changes = d.save_after(&[]);
        let mut b = Budget::default();
        b.charge(&changes).unwrap();
        b.charge(&[whole, changes].concat()).unwrap();
    }

    #[test]
    fn a_compressed_change_that_inflates_too_far_is_refused() {
        let err = Budget::default().charge(&chunk(2, &bomb())).unwrap_err();
        assert_eq!(err, InflateError::OverBudget);
    }

    #[test]
    fn a_document_column_that_inflates_too_far_is_refused() {
        let data = bomb();
        let mut body = vec![0, 0]; // no actors, no heads
        body.push(1); // one change column, deflated
        uleb(0x10 | DEFLATE_BIT, &mut body);
        uleb(data.len() as u64, &mut body);
        body.push(0); // no op columns
        body.extend(&data);
        let err = Budget::default().charge(&chunk(0, &body)).unwrap_err();
        assert_eq!(err, InflateError::OverBudget);
    }

    #[test]
    fn the_budget_is_shared_by_the_messages_of_one_request() {
        let part = deflate(&vec![7; 40 << 20]);
        let mut b = Budget::default();
        b.charge(&chunk(2, &part)).unwrap();
        assert_eq!(b.charge(&chunk(2, &part)), Err(InflateError::OverBudget));
    }

    #[test]
    fn bundles_truncation_and_garbage_are_refused() {
        let charge = |b: &[u8]| Budget::default().charge(b);
        assert_eq!(
            charge(&chunk(3, &[1, 2, 3])),
            Err(InflateError::ChunkType(3))
        );
        let c = chunk(1, &[1, 2, 3, 4]);
        assert_eq!(charge(&c[..c.len() - 1]), Err(InflateError::Truncated));
        assert_eq!(charge(b"not automerge"), Err(InflateError::NotAChunk));
        assert_eq!(charge(&chunk(2, &[0xff; 16])), Err(InflateError::Corrupt));
    }
}
