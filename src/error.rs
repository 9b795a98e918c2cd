//! Errors about what the user gave us: always the file, the place and what was expected.

use std::fmt;

/// A problem with an input file (inventory, policy, knowledge file, geodb).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct InputError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The field path, e.g. `assets[2].location.region`.
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, e.g. "did you mean `westeurope`?".
    pub hint: Option<String>,
}

impl InputError {
    /// A new error about `file`.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            file: file.into(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the line (and column) of the problem.
    pub fn at(mut self, line: Option<usize>, column: Option<usize>) -> InputError {
        self.line = line;
        self.column = column;
        self
    }

    /// Adds the field path.
    pub fn field(mut self, field: impl Into<String>) -> InputError {
        self.field = Some(field.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> InputError {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> InputError {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// "did you mean `x`?" for the closest candidate, when one is close enough.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = input.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&lower, &c.to_ascii_lowercase());
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    match best {
        Some((s, c)) if s >= 0.8 => Some(format!("did you mean `{c}`?")),
        _ => None,
    }
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn display_names_place_and_hint() {
        let e = InputError::new("inv.yaml", "unknown region `westeuropa`")
            .at(Some(4), Some(13))
            .field("assets[0].location.region")
            .hint("did you mean `westeurope`?");
        assert_eq!(
            e.to_string(),
            "inv.yaml:4:13: assets[0].location.region: unknown region `westeuropa`\n  hint: did you mean `westeurope`?"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("westeuropa", ["westeurope", "eastus"]).as_deref(),
            Some("did you mean `westeurope`?")
        );
        assert_eq!(did_you_mean("zzz", ["westeurope"]), None);
    }

    #[test]
    fn lines() {
        assert_eq!(line_col("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
