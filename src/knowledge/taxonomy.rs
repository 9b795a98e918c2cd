//! The Fides data-category taxonomy (fideslang 3.1.4, Apache-2.0), with GDPR
//! Art. 9 and Art. 10 categories marked.

use std::collections::BTreeSet;

/// The embedded data-category table (`fides_key`, `parent_key`, `name`).
pub const DATA_CATEGORIES_TSV: &str =
    include_str!("../../policies/knowledge/fides_data_categories.tsv");

/// Category prefixes that are special (Art. 9) or criminal (Art. 10) data.
const SPECIAL: [&str; 7] = [
    "user.biometric",
    "user.health_and_medical",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.political_opinion",
    "user.demographic.sexual_orientation",
    "user.criminal_history",
];

/// The set of known data-category keys.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    keys: BTreeSet<String>,
}

impl Taxonomy {
    /// The embedded Fides taxonomy.
    pub fn embedded() -> Taxonomy {
        let keys = DATA_CATEGORIES_TSV
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next())
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        Taxonomy { keys }
    }

    /// Whether `key` is a known category (or `none`).
    pub fn contains(&self, key: &str) -> bool {
        key == "none" || self.keys.contains(key)
    }

    /// Whether `key` is special-category or criminal data.
    pub fn is_special(key: &str) -> bool {
        SPECIAL.iter().any(|s| {
            key == *s || key.starts_with(&format!("{s}.")) || key == "user.authorization.biometric"
        })
    }

    /// All keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn loads_and_marks_special() {
        let t = Taxonomy::embedded();
        assert!(t.contains("user.contact.email"));
        assert!(t.contains("none"));
        assert!(!t.contains("user.contact.emial"));
        assert!(Taxonomy::is_special("user.health_and_medical.genetic"));
        assert!(Taxonomy::is_special("user.demographic.religious_belief"));
        assert!(!Taxonomy::is_special("user.demographic.age_range"));
        assert!(t.keys().count() > 80);
    }
}
