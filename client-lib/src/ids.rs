//! Document identifiers: 16 random bytes, written as 32 lowercase hex characters.

use std::fmt;
use std::str::FromStr;

/// The identifier of one Automerge document (an application, a request, a case…).
///
/// Ids are random; secrecy of an id is never relied on for access control.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId(pub [u8; 16]);

/// A string that is not 32 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document id must be 32 lowercase hex characters")]
pub struct DocIdError;

impl DocId {
    /// The id as raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({self})")
    }
}

impl FromStr for DocId {
    type Err = DocIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 32 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(DocIdError);
        }
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| DocIdError)?;
        Ok(DocId(out))
    }
}

impl serde::Serialize for DocId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DocId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for DocId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9a-f]{32}$"))
            .description(Some("Document id: 16 random bytes as lowercase hex"))
            .into()
    }
}
#[cfg(feature = "openapi")]
impl utoipa::ToSchema for DocId {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = DocId([0xab; 16]);
        let s = id.to_string();
        assert_eq!(s.len(), 32);
        assert_eq!(s.parse::<DocId>(), Ok(id));
    }

    #[test]
    fn rejects_bad_text() {
        assert!("abc".parse::<DocId>().is_err());
        assert!("ABABABABABABABABABABABABABABABAB".parse::<DocId>().is_err());
        assert!(
            "zzabababababababababababababababab"[2..]
                .parse::<DocId>()
                .is_ok()
        );
        assert!("gg".repeat(16).parse::<DocId>().is_err());
    }
}
