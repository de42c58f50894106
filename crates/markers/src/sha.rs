//! Commit SHAs as the push → verify → stop flow passes them along.
//!
//! A [`Sha`] is 7 to 40 hex digits, stored lowercase: a full SHA-1 or an abbreviation of one. Every
//! message of the flow shows the same [`Sha::short`] form, so the SHA the post-push hook names, the
//! one verify-deployment reports and the one the Stop gate blocks on read alike.
//!
//! On disk a `Sha` is its plain string; a push whose commit could not be resolved is written as
//! `""` (see [`optional`]), the shape the marker files have always had.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A commit SHA: 7 to 40 hex digits, lowercase.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha(String);

/// Why a string is not a [`Sha`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a commit SHA (7 to 40 hex digits)")]
pub struct ShaError(pub String);

impl Sha {
    /// Length of [`short`](Self::short). Git's own default abbreviation grows with the repository
    /// (7 digits only while it is small); 12 stays unambiguous in any repository this harness sees.
    pub const SHORT_LEN: usize = 12;
    /// Shortest abbreviation accepted (git's minimum default abbreviation).
    pub const MIN_LEN: usize = 7;
    /// A full SHA-1.
    pub const FULL_LEN: usize = 40;

    /// Parses 7 to 40 hex digits (surrounding whitespace ignored, any case).
    pub fn parse(s: &str) -> Result<Sha, ShaError> {
        let t = s.trim();
        if (Self::MIN_LEN..=Self::FULL_LEN).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Ok(Sha(t.to_ascii_lowercase()))
        } else {
            Err(ShaError(s.to_string()))
        }
    }

    /// The SHA as written (lowercase).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first [`SHORT_LEN`](Self::SHORT_LEN) digits (all of them when shorter), for messages.
    pub fn short(&self) -> &str {
        Self::short_of(&self.0)
    }

    /// The same short form for a SHA another service reported, which may not even be one: its
    /// first [`SHORT_LEN`](Self::SHORT_LEN) bytes, cut on a character boundary.
    pub fn short_of(reported: &str) -> &str {
        &reported[..reported.floor_char_boundary(Self::SHORT_LEN)]
    }

    /// True for a full 40-digit SHA-1.
    pub fn is_full(&self) -> bool {
        self.0.len() == Self::FULL_LEN
    }

    /// Same commit: equal, or one is an abbreviation (a prefix) of the other.
    pub fn matches(&self, other: &Sha) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        if a.len() <= b.len() {
            b.starts_with(a)
        } else {
            a.starts_with(b)
        }
    }

    /// [`matches`](Self::matches) against a SHA as another service reports it; false when `other`
    /// is not a SHA.
    pub fn matches_str(&self, other: &str) -> bool {
        Sha::parse(other).is_ok_and(|o| self.matches(&o))
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha({})", self.0)
    }
}

impl AsRef<str> for Sha {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Sha {
    type Err = ShaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha::parse(s)
    }
}

impl Serialize for Sha {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "markers::sha::optional")]` for an `Option<Sha>` written as `""` when `None`
/// (the marker files' shape for a push whose commit is unknown).
pub mod optional {
    use super::Sha;
    use serde::{Deserialize, Deserializer, Serializer};

    /// `None` as `""`.
    pub fn serialize<S: Serializer>(sha: &Option<Sha>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(sha.as_ref().map_or("", Sha::as_str))
    }

    /// `""` (or only whitespace) as `None`; anything else must be a SHA.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Sha>, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Ok(None);
        }
        Sha::parse(&s).map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Sha;

    const FULL: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn parses_7_to_40_hex_digits_lowercased() {
        assert_eq!(Sha::parse(" ABCDEF0 ").unwrap().as_str(), "abcdef0");
        assert!(Sha::parse(FULL).unwrap().is_full());
        assert!(Sha::parse("abcdef").is_err());
        assert!(Sha::parse(&format!("{FULL}0")).is_err());
        assert!(Sha::parse("abcdefg").is_err());
        assert!(Sha::parse("").is_err());
        assert_eq!(
            Sha::parse("xyz").unwrap_err().to_string(),
            "`xyz` is not a commit SHA (7 to 40 hex digits)"
        );
    }

    #[test]
    fn short_is_twelve_digits() {
        assert_eq!(Sha::parse(FULL).unwrap().short(), "0123456789ab");
        assert_eq!(Sha::parse("0123456").unwrap().short(), "0123456");
        assert_eq!(Sha::short_of("ééééééé"), "éééééé");
    }

    #[test]
    fn matching_is_exact_or_an_abbreviation() {
        let full = Sha::parse(FULL).unwrap();
        let abbrev = Sha::parse("0123456789AB").unwrap();
        assert!(full.matches(&full) && full.matches(&abbrev) && abbrev.matches(&full));
        assert!(!full.matches(&Sha::parse("1123456").unwrap()));
        assert!(!full.matches_str("012345"));
        assert!(!full.matches_str(""));
        assert!(full.matches_str("0123456"));
    }

    #[test]
    fn serde_is_the_plain_string_and_empty_is_none() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct M {
            #[serde(with = "super::optional")]
            sha: Option<Sha>,
            full: Sha,
        }
        let m = M {
            sha: None,
            full: Sha::parse(FULL).unwrap(),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!(r#"{{"sha":"","full":"{FULL}"}}"#));
        assert_eq!(serde_json::from_str::<M>(&json).unwrap(), m);
        let bad = format!(r#"{{"sha":"nope","full":"{FULL}"}}"#);
        assert!(serde_json::from_str::<M>(&bad).is_err());
    }
}
