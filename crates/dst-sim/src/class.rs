//! Violation classes: what makes two violations the same finding.
//!
//! A class is the invariant, the operation (rule, fault kind or `end-of-seed`) and the message's
//! shape. The shape takes out what varies between two hits of one defect: ids, generated names,
//! numbers, and the per-racer lists a concurrent check prints (`statuses [200, 429, 200]`), whose
//! length is the number of racers the seed drew, not a property of the defect. Without that last
//! step one defect split into a class per racer count and per answer mix, and a known-violations
//! file written from one run failed the next run on a class it already listed.

use crate::invariants::{Invariant, Violation};
use serde::{Deserialize, Serialize};

/// A violation class: the invariant, the operation (rule, fault kind or `end-of-seed`) and the
/// message's shape (ids, numbers, generated names and per-racer lists taken out). Seeds that hit
/// one class hit one defect; a run reports each class once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClassKey {
    pub invariant: Invariant,
    pub operation: String,
    pub shape: String,
}

impl ClassKey {
    pub fn of(v: &Violation, operation: &str) -> ClassKey {
        ClassKey {
            invariant: v.invariant,
            operation: operation.to_string(),
            shape: shape(&v.message),
        }
    }

    /// The class as one line: `invariant operation: shape` (the known-violations file's key).
    pub fn key(&self) -> String {
        format!("{} {}: {}", self.invariant, self.operation, self.shape)
    }
}

/// Where a violation message's quoted response body starts (it runs to the message's end). The
/// message keeps the body for the reader; the class shape drops it, since a body holds a request
/// id and the failing value's text, which differ between two hits of one defect.
pub const BODY_MARK: &str = " — body: ";

/// A message with ids (UUIDs), generated names (quoted text with digits) and numbers replaced by
/// placeholders, lists of nothing but placeholders collapsed to `[…]`, a quoted body (from
/// [`BODY_MARK`] on) dropped, at most 200 characters.
pub fn shape(message: &str) -> String {
    let message = message.find(BODY_MARK).map_or(message, |at| &message[..at]);
    let out = collapse_lists(&placeholders(message));
    let end = out.floor_char_boundary(200);
    out[..end].to_string()
}

fn placeholders(message: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = message.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if i + 36 <= chars.len() && is_uuid(&chars[i..i + 36]) {
            out.push_str("<id>");
            i += 36;
        } else if c == '"'
            && let Some(len) = chars[i + 1..].iter().position(|&q| q == '"')
            && chars[i + 1..i + 1 + len].iter().any(char::is_ascii_digit)
        {
            out.push_str("\"<name>\"");
            i += len + 2;
        } else if c.is_ascii_digit() {
            out.push_str("<n>");
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Replaces every innermost `[...]` that holds only placeholders or quoted strings (optionally
/// wrapped in `Some(…)`, or `None`) by `[…]`: a per-racer list whose length and order are the
/// seed's, not the defect's. A list with a bare word in it (a rule name, a field) stays as it is.
fn collapse_lists(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find([']', '[']) {
            Some(close) if after.as_bytes()[close] == b']' => {
                let inner = &after[..close];
                if !inner.trim().is_empty() && only_placeholders(inner) {
                    out.push_str("[…]");
                } else {
                    out.push('[');
                    out.push_str(inner);
                    out.push(']');
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn only_placeholders(inner: &str) -> bool {
    // quoted words are per-racer answers too (`["approved", "rejected", "approved"]`)
    let mut left: String = inner.split('"').step_by(2).collect::<Vec<_>>().join("");
    if inner.matches('"').count() % 2 == 1 {
        left = inner.to_string();
    }
    for token in [
        "\"<name>\"",
        "<name>",
        "<n>",
        "<id>",
        "Some(",
        "None",
        ")",
        "\"",
    ] {
        left = left.replace(token, "");
    }
    left.chars().all(|c| c == ',' || c.is_whitespace())
}

fn is_uuid(c: &[char]) -> bool {
    c.iter().enumerate().all(|(i, ch)| {
        if [8, 13, 18, 23].contains(&i) {
            *ch == '-'
        } else {
            ch.is_ascii_hexdigit()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn ids_names_and_numbers_become_placeholders() {
        assert_eq!(
            shape("approved proposal 0b6c2f43-1a2b-4c3d-8e9f-0123456789ab has 3 worlds"),
            "approved proposal <id> has <n> worlds"
        );
        assert_eq!(
            shape("title \"dst-s1 race 7\" taken"),
            "title \"<name>\" taken"
        );
    }

    #[test]
    fn per_racer_lists_collapse_whatever_their_length_and_mix() {
        let two = shape(
            "2 concurrent CreateProposal requests with one X-Idempotency-Key created 2 proposal(s) (answers [\"200\", \"200\"]): the key did not make it execute once",
        );
        let four = shape(
            "4 concurrent CreateProposal requests with one X-Idempotency-Key created 2 proposal(s) (answers [\"200\", \"429\", \"200\", \"429\"]): the key did not make it execute once",
        );
        assert_eq!(two, four);
        assert!(two.contains("(answers […])"), "{two}");
        assert_eq!(
            shape("told it was added (total_regions answered [Some(3), Some(3), None])"),
            "told it was added (total_regions answered […])"
        );
        assert_eq!(
            shape("statuses [200, 429, 429]; misses [\"Region 2\", \"Region 3\"]"),
            "statuses […]; misses […]"
        );
        assert_eq!(
            shape("decisions [\"approved\", \"rejected\", \"approved\"] by one event"),
            shape("decisions [\"approved\", \"approved\"] by one event"),
        );
    }

    #[test]
    fn lists_with_words_and_empty_lists_stay() {
        assert_eq!(
            shape("rules [approve_event, reject_event] and []"),
            "rules [approve_event, reject_event] and []"
        );
        assert_eq!(shape("a [b [<n>] c"), "a [b […] c");
        assert_eq!(shape("unclosed [<n>, <n>"), "unclosed [<n>, <n>");
    }

    #[test]
    fn a_quoted_body_is_dropped_and_the_error_type_stays() {
        let one = shape(
            "/api/feedback answered 500 (DBAPIError) — body: {\"request_id\":\"abcdefab\",\"debug\":{\"error_message\":\"bad byte 0x00\"}}",
        );
        let two = shape(
            "/api/feedback answered 500 (DBAPIError) — body: {\"request_id\":\"0c1d2e3f\",\"debug\":{\"error_message\":\"lone surrogate\"}}",
        );
        assert_eq!(one, "/api/feedback answered <n> (DBAPIError)");
        assert_eq!(one, two);
        assert_ne!(
            one,
            shape("/api/feedback answered 500 (TypeError) — body: {}"),
            "two error types on one route are two classes"
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let s = shape(&"é".repeat(300));
        assert!(s.len() <= 200 && s.chars().all(|c| c == 'é'));
    }
}
