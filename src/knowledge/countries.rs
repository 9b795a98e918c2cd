//! ISO 3166-1 alpha-2 validation, with the aliases people actually write.

use crate::engine::Country;
use isocountry::CountryCode;

/// Parses a country code: ISO alpha-2 in any case, `EL` for Greece and `UK` for
/// the United Kingdom. On failure, returns a hint for the user.
pub fn parse_country(s: &str) -> Result<Country, Option<String>> {
    let t = s.trim();
    match t.to_ascii_uppercase().as_str() {
        "EL" => return Country::new("GR").ok_or(None),
        "UK" => return Country::new("GB").ok_or(None),
        "IC" => return Country::new("IC").ok_or(None),
        _ => {}
    }
    if t.len() == 2 {
        if let Ok(c) = CountryCode::for_alpha2_caseless(t) {
            return Country::new(c.alpha2()).ok_or(None);
        }
    }
    if t.len() == 3 {
        if let Ok(c) = CountryCode::for_alpha3_caseless(t) {
            return Err(Some(format!(
                "`{t}` is an alpha-3 code; use the alpha-2 code `{}`",
                c.alpha2()
            )));
        }
    }
    let lower = t.to_ascii_lowercase();
    for c in CountryCode::as_array() {
        if c.name().to_ascii_lowercase().starts_with(&lower) && lower.len() >= 4 {
            return Err(Some(format!(
                "use the ISO 3166-1 alpha-2 code: `{}` for {}",
                c.alpha2(),
                c.name()
            )));
        }
    }
    Err(Some(
        "expected an ISO 3166-1 alpha-2 code such as `DE`, `FR`, `US`".into(),
    ))
}

/// The English short name of a country, or the code itself.
pub fn country_name(c: Country) -> String {
    if c.as_str() == "IC" {
        return "Canary Islands".into();
    }
    CountryCode::for_alpha2(c.as_str())
        .map(|cc| cc.name().to_string())
        .unwrap_or_else(|_| c.as_str().to_string())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn aliases_and_hints() {
        assert_eq!(parse_country("de").unwrap().as_str(), "DE");
        assert_eq!(parse_country("EL").unwrap().as_str(), "GR");
        assert_eq!(parse_country("UK").unwrap().as_str(), "GB");
        assert!(parse_country("DEU").unwrap_err().unwrap().contains("`DE`"));
        assert!(parse_country("Germany")
            .unwrap_err()
            .unwrap()
            .contains("`DE`"));
        assert!(parse_country("XX").is_err());
        assert_eq!(country_name(Country::new("PL").unwrap()), "Poland");
    }
}
