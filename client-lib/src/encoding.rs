//! The canonical binary encoding used by every signed format (see `FORMATS.md`).
//!
//! A value is a fixed sequence of fields, each written as:
//! * `u8`, `u32`, `u64`, `i64`: fixed width, big-endian;
//! * bytes and UTF-8 strings: a `u32` big-endian length, then the bytes;
//! * fixed-size byte arrays (hashes, keys, signatures): the raw bytes;
//! * lists: a `u32` big-endian count, then each element.
//!
//! There is exactly one encoding of each value, so hashing or signing the encoding is
//! hashing or signing the value. The [`Reader`] refuses trailing bytes, lengths past the
//! end of input and invalid UTF-8, and checks every length before allocating.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a field.
    #[error("input ends inside field `{0}`")]
    Truncated(&'static str),
    /// Bytes remain after the last field.
    #[error("{0} trailing bytes after the last field")]
    Trailing(usize),
    /// A string field is not UTF-8.
    #[error("field `{0}` is not valid UTF-8")]
    Utf8(&'static str),
    /// A field holds a value the format does not allow.
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Writes fields in canonical form.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// A one-byte field.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// A four-byte big-endian field.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// An eight-byte big-endian field.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// An eight-byte big-endian two's-complement field.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A length-prefixed byte string.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let len = u32::try_from(v.len()).expect("field longer than 4 GiB");
        self.u32(len);
        self.buf.extend_from_slice(v);
        self
    }
    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    /// Raw bytes of a fixed-size field.
    pub fn fixed(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// A list count.
    pub fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).expect("list longer than 2^32"))
    }
    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields written by [`Writer`], refusing anything malformed.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    /// A one-byte field.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }
    /// The leading format-version byte, which must be `expected`.
    pub fn version(&mut self, expected: u8) -> Result<(), DecodeError> {
        if self.u8("version")? == expected {
            Ok(())
        } else {
            Err(DecodeError::Invalid {
                field: "version",
                reason: "unknown format version",
            })
        }
    }
    /// A four-byte big-endian field.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.fixed::<4>(field)?))
    }
    /// An eight-byte big-endian field.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.fixed::<8>(field)?))
    }
    /// An eight-byte big-endian signed field.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.fixed::<8>(field)?))
    }
    /// A fixed-size field.
    pub fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let b = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }
    /// A length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)? as usize;
        if len > max {
            return Err(DecodeError::Invalid {
                field,
                reason: "longer than allowed",
            });
        }
        self.take(len, field)
    }
    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, field: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(field, max)?).map_err(|_| DecodeError::Utf8(field))
    }
    /// A list count of at most `max` elements, each at least `min_elem` bytes long.
    pub fn count(
        &mut self,
        field: &'static str,
        max: usize,
        min_elem: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.u32(field)? as usize;
        if n > max {
            return Err(DecodeError::Invalid {
                field,
                reason: "too many elements",
            });
        }
        if n.saturating_mul(min_elem) > self.rest.len() {
            return Err(DecodeError::Truncated(field));
        }
        Ok(n)
    }
    /// Succeeds only if every byte was read.
    pub fn end(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(self.rest.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let mut w = Writer::new();
        w.u8(1)
            .u32(7)
            .u64(9)
            .i64(-3)
            .str("申请")
            .fixed(&[5; 4])
            .count(2);
        let b = w.finish();
        let mut r = Reader::new(&b);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.u32("b").unwrap(), 7);
        assert_eq!(r.u64("c").unwrap(), 9);
        assert_eq!(r.i64("d").unwrap(), -3);
        assert_eq!(r.str("e", 100).unwrap(), "申请");
        assert_eq!(r.fixed::<4>("f").unwrap(), [5; 4]);
        assert_eq!(r.u32("g").unwrap(), 2);
        r.end().unwrap();

        let mut r = Reader::new(&b[..28]);
        r.fixed::<21>("x").unwrap();
        assert!(matches!(r.str("e", 100), Err(DecodeError::Truncated("e"))));

        let mut r = Reader::new(&[0, 0, 0, 9, 1]);
        assert!(r.str("s", 4).is_err());
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(r.count("l", usize::MAX, 1).is_err());
        assert_eq!(Reader::new(&[1]).end(), Err(DecodeError::Trailing(1)));
    }
}
