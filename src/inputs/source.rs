//! Finding the line of a value in YAML or JSON text, for semantic errors that
//! serde cannot place (unknown region, bad country code, bad date).

/// The 1-based line where `key` has `value`, searching from the line that holds
/// `anchor` (usually the item's id) and falling back to the whole text.
pub fn find_line(text: &str, anchor: Option<&str>, key: &str, value: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let start = anchor
        .and_then(|a| {
            lines
                .iter()
                .position(|l| is_key_line(l, "id") && has_value(l, a))
        })
        .unwrap_or(0);
    let hit = |l: &&str| is_key_line(l, key) && (value.is_empty() || has_value(l, value));
    lines
        .iter()
        .skip(start)
        .position(hit)
        .map(|i| i + start + 1)
        .or_else(|| lines.iter().position(hit).map(|i| i + 1))
        .or_else(|| {
            (!value.is_empty())
                .then(|| {
                    lines
                        .iter()
                        .skip(start)
                        .position(|l| has_value(l, value))
                        .map(|i| i + start + 1)
                })
                .flatten()
        })
}

/// The 1-based line of every `id` value in `text` (YAML `id: x`, `- id: x`,
/// `{id: x, ...}`, JSON `"id": "x"`), first occurrence kept: one pass for all assets.
pub fn id_lines(text: &str) -> std::collections::HashMap<&str, usize> {
    let mut out = std::collections::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(pos) = rest.find("id") {
            let before = rest.get(..pos).and_then(|s| s.chars().last());
            let after = rest.get(pos + 2..).unwrap_or("");
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.') {
                continue;
            }
            let after = after.strip_prefix('"').unwrap_or(after);
            let Some(value) = after.trim_start().strip_prefix(':') else {
                continue;
            };
            let value = value.trim_start();
            let value = match value.strip_prefix(['"', '\'']) {
                Some(q) => q.split(['"', '\'']).next().unwrap_or(""),
                None => value.split([',', '}', '#']).next().unwrap_or("").trim_end(),
            };
            if !value.is_empty() {
                out.entry(value).or_insert(n + 1);
            }
            break;
        }
    }
    out
}

/// The 1-based line of the `n`-th (1-based) line where `key` has `value`.
pub fn find_nth_line(text: &str, key: &str, value: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| is_key_line(l, key) && has_value(l, value))
        .nth(n.saturating_sub(1))
        .map(|(i, _)| i + 1)
}

fn is_key_line(line: &str, key: &str) -> bool {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    t.starts_with(&format!("{key}:"))
        || t.starts_with(&format!("\"{key}\""))
        || t.contains(&format!(" {key}:"))
        || t.contains(&format!("{{{key}:"))
        || t.contains(&format!("\"{key}\":"))
}

fn has_value(line: &str, value: &str) -> bool {
    line.match_indices(value).any(|(i, _)| {
        let before = line.get(..i).and_then(|s| s.chars().last());
        let after = line.get(i + value.len()..).and_then(|s| s.chars().next());
        let boundary = |c: Option<char>| {
            c.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.'))
        };
        boundary(before) && boundary(after)
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn finds_value_after_anchor() {
        let text = "assets:\n  - id: a\n    location: {provider: aws, region: eu-west-1}\n  - id: b\n    location:\n      provider: azure\n      region: westeuropa\n";
        assert_eq!(find_line(text, Some("b"), "region", "westeuropa"), Some(7));
        assert_eq!(find_line(text, Some("a"), "region", "eu-west-1"), Some(3));
        assert_eq!(find_line(text, None, "provider", "azure"), Some(6));
        let json = "{\"assets\": [\n {\"id\": \"x\",\n  \"location\": {\"country\": \"XX\"}}]}";
        assert_eq!(find_line(json, Some("x"), "country", "XX"), Some(3));
    }

    #[test]
    fn indexes_every_id_once() {
        let text = "sites:\n  - {id: s1, country: PL}\nassets:\n  - id: a\n    kind: bucket_id\n  - name: x\n    id: \"b\"  # quoted\n  - id: a\n";
        let idx = id_lines(text);
        assert_eq!(idx.get("s1"), Some(&2));
        assert_eq!(idx.get("a"), Some(&4), "first occurrence");
        assert_eq!(idx.get("b"), Some(&7));
        assert_eq!(idx.get("bucket"), None);
        let json = "{\"assets\": [\n {\"id\": \"x\", \"kind\": \"db\"},\n {\"id\":\"y\"}]}";
        let idx = id_lines(json);
        assert_eq!((idx.get("x"), idx.get("y")), (Some(&2), Some(&3)));
    }
}
