//! ISO 3166-1 alpha-2 country codes as a small copyable value.

use std::fmt;

/// An ISO 3166-1 alpha-2 country code, always two upper-case ASCII letters.
///
/// Existence in the ISO list is checked by the input adapters; the engine only
/// relies on the shape.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Builds a code from two ASCII letters (any case); `None` for anything else.
    pub fn new(code: &str) -> Option<Country> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    /// A dense index in `0..676`, for lookup tables.
    pub fn index(self) -> usize {
        let [a, b] = self.0;
        usize::from(a.saturating_sub(b'A')) * 26 + usize::from(b.saturating_sub(b'A'))
    }

    /// The two ASCII letters.
    pub fn bytes(self) -> [u8; 2] {
        self.0
    }

    /// The code as text, e.g. `"DE"`.
    pub fn as_str(&self) -> &str {
        // INVARIANT: both bytes are ASCII letters (checked in `new`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl serde::Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn shape_is_checked() {
        assert_eq!(Country::new("de").unwrap().as_str(), "DE");
        assert!(Country::new("DEU").is_none());
        assert!(Country::new("D1").is_none());
        assert!(Country::new("").is_none());
        assert!(Country::new("ÄÖ").is_none());
    }
}
