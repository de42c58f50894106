//! Grouping open feedback by likely root cause, without any model, and ordering the groups.
//!
//! 1. **Same route and error code.** An item with both an `endpoint` and an `error_code` is keyed by
//!    the normalized route ([`normalize_route`]: method, host, query and id-like segments removed) and
//!    the code. Items with the same key form one group; different keys never merge.
//! 2. **Text similarity.** Every other item joins the existing group whose most similar member has a
//!    Jaccard similarity of at least the threshold ([`DEFAULT_THRESHOLD`] = 0.5) between their token
//!    sets ([`tokens`]: lowercase alphanumeric words of title + description (+ route), at least three
//!    characters, no numbers, no stop words, a trailing plural `s` dropped), the best group first and
//!    the oldest group on ties; otherwise it starts a group of its own.
//!
//! Items are visited oldest first (then by id), so the grouping is a function of the open set.
//!
//! **Priority** ([`order`]): groups holding a `critical` item first; then more total upvotes; then
//! the most recent report; then the higher severity; then the smallest item id — a total order.

use crate::sanitize;
use crate::when;
use api_client::Feedback;
use api_client::vocab::{FeedbackCategory, FeedbackPriority};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Jaccard similarity from which two reports count as the same problem.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// A report's `priority`: one of the platform's, or `Unknown` for anything else. Ordered most
/// severe first, `Unknown` last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A priority the platform defines.
    Known(FeedbackPriority),
    /// Missing or not one of the platform's priorities.
    Unknown,
}

impl Severity {
    /// The most severe.
    pub const CRITICAL: Severity = Severity::Known(FeedbackPriority::Critical);

    /// Reads a `priority` as agents' reports carry it (case and surrounding space ignored).
    pub fn parse(s: &str) -> Severity {
        s.trim()
            .to_ascii_lowercase()
            .parse()
            .map_or(Severity::Unknown, Severity::Known)
    }

    /// The platform's word, or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Known(p) => p.as_str(),
            Severity::Unknown => "unknown",
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One open report, with what grouping needs already derived.
#[derive(Debug, Clone)]
pub struct Item {
    pub feedback: Feedback,
    pub severity: Severity,
    /// `created_at` as Unix seconds, if it parsed.
    pub created: Option<i64>,
    pub route: Option<String>,
    pub error_code: Option<i64>,
    pub tokens: BTreeSet<String>,
}

impl Item {
    pub fn new(feedback: Feedback) -> Item {
        let route = feedback.endpoint.as_deref().and_then(normalize_route);
        let error_code = feedback.error_code.filter(|c| (100..=599).contains(c));
        let mut text = format!("{}\n{}", feedback.title, feedback.description);
        if let Some(r) = &route {
            text.push(' ');
            text.push_str(r);
        }
        Item {
            severity: Severity::parse(&feedback.priority),
            created: when::parse(&feedback.created_at),
            tokens: tokens(&text),
            route,
            error_code,
            feedback,
        }
    }

    fn key(&self) -> Option<(String, i64)> {
        Some((self.route.clone()?, self.error_code?))
    }
}

/// What holds a group together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupKey {
    /// Same normalized route and error code.
    Route { route: String, error_code: i64 },
    /// Similar text.
    Text,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub key: GroupKey,
    /// Built only from normalized data (a plain route, a known category, counts): safe outside a quote.
    pub title: String,
    /// Oldest first.
    pub items: Vec<Item>,
}

impl Group {
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.items.iter().map(|i| i.feedback.id.clone()).collect();
        ids.sort();
        ids
    }

    pub fn total_upvotes(&self) -> i64 {
        self.items
            .iter()
            .map(|i| i.feedback.upvote_count.max(0))
            .sum()
    }

    pub fn severity(&self) -> Severity {
        self.items
            .iter()
            .map(|i| i.severity)
            .min()
            .unwrap_or(Severity::Unknown)
    }

    pub fn first_seen(&self) -> Option<i64> {
        self.items.iter().filter_map(|i| i.created).min()
    }

    pub fn last_seen(&self) -> Option<i64> {
        self.items.iter().filter_map(|i| i.created).max()
    }

    /// The most common category among the items (ties: alphabetical); `None` for `other`.
    pub fn main_category(&self) -> Option<FeedbackCategory> {
        let mut counts: BTreeMap<&'static str, (usize, Option<FeedbackCategory>)> = BTreeMap::new();
        for i in &self.items {
            let c = category(&i.feedback.category);
            counts.entry(category_name(c)).or_insert((0, c)).0 += 1;
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(a.0)))
            .and_then(|(_, (_, c))| c)
    }

    /// A deterministic suggestion, from the key, the severity and the main category.
    pub fn next_step(&self) -> String {
        let urgent = if self.severity() == Severity::CRITICAL {
            "Fix first. "
        } else {
            ""
        };
        use FeedbackCategory as C;
        let step = match (&self.key, self.main_category()) {
            (GroupKey::Route { route, error_code }, _) if *error_code >= 500 => format!(
                "Reproduce the request to `{route}`, find the HTTP {error_code} in the server logs (Logfire), add a failing regression test, then fix the handler."
            ),
            (GroupKey::Route { route, error_code }, _) => format!(
                "Decide whether `{route}` is right to answer HTTP {error_code}: if the request was valid, fix the check and add a test; if not, make the error's `how_to_fix` and the docs say what to send."
            ),
            (_, Some(C::Documentation)) => "Update the API docs (skill.md / the endpoint's description) and link them from the error message.".into(),
            (_, Some(C::FeatureRequest)) => "Decide in planning whether to build it; not a fix for the fixing agent.".into(),
            (_, Some(C::Performance)) => "Measure the slow endpoint (Logfire spans), find the slow query or call, and add a benchmark before changing it.".into(),
            (_, Some(C::ErrorMessage)) => "Make the error body say what went wrong and how to fix it (`detail.how_to_fix`), with a test on the message.".into(),
            (_, Some(C::ApiUsability)) => "Look at how agents call this in the reports and smooth the API (defaults, clearer fields), keeping it backward compatible.".into(),
            _ => "Reproduce from the quoted reports, write a failing test, then fix.".into(),
        };
        format!("{urgent}{step}")
    }
}

/// One of the platform's feedback categories (case and surrounding space ignored), or `None`.
pub fn category(s: &str) -> Option<FeedbackCategory> {
    s.trim().to_ascii_lowercase().parse().ok()
}

/// A category's wire name; `other` for anything the platform does not define.
pub fn category_name(c: Option<FeedbackCategory>) -> &'static str {
    c.map_or("other", FeedbackCategory::as_str)
}

/// Normalizes an endpoint as agents report it (`POST /api/dwellers/3f2a…/claim?x=1`,
/// `https://host/api/x/`) to a route key (`/api/dwellers/{id}/claim`): no method, scheme, host,
/// query or fragment; lowercase; id-like segments (numbers, UUIDs, long hex, `{…}`, `:name`) become
/// `{id}`; at most 120 characters. `None` when nothing is left or when any other segment has a
/// character outside `[a-z0-9._-]` (then it is not a route, and the report is grouped by its text):
/// so a route shown outside a quote can only ever be a plain path.
pub fn normalize_route(endpoint: &str) -> Option<String> {
    let mut s = sanitize::clean_line(endpoint, 500);
    if let Some((first, rest)) = s.split_once(char::is_whitespace)
        && matches!(
            first.to_ascii_uppercase().as_str(),
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS"
        )
    {
        s = rest.trim().to_string();
    }
    if let Some((_, after)) = s.split_once("://") {
        s = after.find('/').map(|i| after[i..].to_string())?;
    }
    let s = s
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut segments = Vec::new();
    for seg in s.split('/').filter(|seg| !seg.is_empty()) {
        if is_id_segment(seg) {
            segments.push("{id}".to_string());
        } else if seg.len() <= 60
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            segments.push(seg.to_string());
        } else {
            // Not a route (spaces, markup, quotes…): the item is grouped by its text instead.
            return None;
        }
    }
    if segments.is_empty() {
        return None;
    }
    let route = format!("/{}", segments.join("/"));
    Some(route.chars().take(120).collect())
}

fn is_id_segment(seg: &str) -> bool {
    let hexish = seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    (seg.starts_with('{') && seg.ends_with('}'))
        || seg.starts_with(':')
        || seg.chars().all(|c| c.is_ascii_digit())
        || (hexish && seg.len() >= 8 && seg.chars().any(|c| c.is_ascii_digit()))
}

const STOP_WORDS: &[&str] = &[
    "about", "after", "again", "all", "also", "and", "any", "are", "been", "before", "being",
    "but", "can", "could", "did", "does", "each", "even", "for", "from", "get", "got", "had",
    "has", "have", "into", "its", "just", "more", "most", "not", "only", "other", "our", "same",
    "should", "some", "than", "that", "the", "them", "then", "there", "they", "this", "very",
    "was", "were", "what", "when", "which", "while", "will", "with", "would", "you", "your",
];

/// The token set text similarity compares (see the module docs).
pub fn tokens(text: &str) -> BTreeSet<String> {
    let cleaned = sanitize::clean(text, 20_000).to_lowercase();
    cleaned
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() >= 3 && !t.chars().all(|c| c.is_ascii_digit()))
        .filter(|t| !STOP_WORDS.contains(t))
        .map(|t| {
            if t.len() > 4 && t.ends_with('s') && !t.ends_with("ss") {
                t[..t.len() - 1].to_string()
            } else {
                t.to_string()
            }
        })
        .collect()
}

/// Jaccard similarity of two token sets (0 when both are empty).
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// Groups open feedback (see the module docs) and returns the groups in priority order.
pub fn group(feedback: Vec<Feedback>, threshold: f64) -> Vec<Group> {
    let mut items: Vec<Item> = feedback.into_iter().map(Item::new).collect();
    items.sort_by(|a, b| {
        (a.created.unwrap_or(i64::MAX), &a.feedback.id)
            .cmp(&(b.created.unwrap_or(i64::MAX), &b.feedback.id))
    });
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: BTreeMap<(String, i64), usize> = BTreeMap::new();
    let mut unkeyed = Vec::new();
    for item in items {
        match item.key() {
            Some(key) => {
                let idx = *by_key.entry(key.clone()).or_insert_with(|| {
                    groups.push(Group {
                        key: GroupKey::Route {
                            route: key.0.clone(),
                            error_code: key.1,
                        },
                        title: format!("HTTP {} on {}", key.1, key.0),
                        items: Vec::new(),
                    });
                    groups.len() - 1
                });
                groups[idx].items.push(item);
            }
            None => unkeyed.push(item),
        }
    }
    for item in unkeyed {
        let mut best: Option<(usize, f64)> = None;
        for (gi, g) in groups.iter().enumerate() {
            let sim = g
                .items
                .iter()
                .map(|m| jaccard(&m.tokens, &item.tokens))
                .fold(0.0, f64::max);
            if sim >= threshold && best.is_none_or(|(_, b)| sim > b) {
                best = Some((gi, sim));
            }
        }
        match best {
            Some((gi, _)) => groups[gi].items.push(item),
            None => groups.push(Group {
                key: GroupKey::Text,
                title: String::new(),
                items: vec![item],
            }),
        }
    }
    for g in &mut groups {
        if g.key == GroupKey::Text {
            g.title = text_title(g);
        }
    }
    order(&mut groups);
    groups
}

/// A text group's title: its category and size only. The words agents wrote stay in the quotes.
fn text_title(g: &Group) -> String {
    let n = g.items.len();
    format!(
        "Similar {} report{}",
        category_name(g.main_category()),
        if n == 1 { "" } else { "s" }
    )
}

/// Sorts groups into priority order (see the module docs).
pub fn order(groups: &mut [Group]) {
    groups.sort_by(|a, b| {
        let crit = |g: &Group| g.severity() != Severity::CRITICAL;
        crit(a)
            .cmp(&crit(b))
            .then(b.total_upvotes().cmp(&a.total_upvotes()))
            .then(
                b.last_seen()
                    .unwrap_or(i64::MIN)
                    .cmp(&a.last_seen().unwrap_or(i64::MIN)),
            )
            .then(a.severity().cmp(&b.severity()))
            .then(a.ids().first().cmp(&b.ids().first()))
    });
}

/// A fingerprint of the open groups: which items are grouped together, nothing else (upvotes and
/// wording may change without a new report). `sha256:` + 64 hex digits.
pub fn fingerprint(groups: &[Group]) -> String {
    let mut sigs: Vec<String> = groups.iter().map(|g| g.ids().join(",")).collect();
    sigs.sort();
    let mut h = Sha256::new();
    h.update(b"triage-v1\n");
    for s in sigs {
        h.update(s.as_bytes());
        h.update(b"\n");
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn fb(
        id: &str,
        priority: &str,
        title: &str,
        endpoint: Option<&str>,
        code: Option<i64>,
        up: i64,
        created: &str,
    ) -> Feedback {
        Feedback {
            id: id.into(),
            agent_id: "a".into(),
            agent_username: None,
            category: "api_bug".into(),
            priority: priority.into(),
            title: title.into(),
            description: String::new(),
            endpoint: endpoint.map(str::to_string),
            error_code: code,
            status: "new".into(),
            upvote_count: up,
            created_at: created.into(),
            updated_at: None,
            resolved_at: None,
            upvoters: None,
        }
    }

    #[test]
    fn routes_normalize() {
        for (input, want) in [
            (
                "POST /api/dwellers/3f2a9c1e-0b4d-4e5f-8a6b-7c8d9e0f1a2b/claim?x=1",
                Some("/api/dwellers/{id}/claim"),
            ),
            (
                "https://api.example.org/api/Feedback/42/",
                Some("/api/feedback/{id}"),
            ),
            (
                "/api/dwellers/{dweller_id}/act",
                Some("/api/dwellers/{id}/act"),
            ),
            ("/api/x/`rm -rf`<b>", None),
            ("/api/x` ## heading", None),
            ("GET", Some("/get")),
            ("   ", None),
            ("https://host", None),
        ] {
            assert_eq!(normalize_route(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn tokens_drop_noise() {
        let t = tokens("The Claims fail with 500 on dwellers, again!");
        let want: BTreeSet<String> = ["claim", "fail", "dweller"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(t, want);
    }

    #[test]
    fn same_route_and_code_group_and_different_codes_do_not() {
        let g = group(
            vec![
                fb(
                    "a",
                    "high",
                    "claim broke",
                    Some("POST /api/dwellers/11111111-aaaa/claim"),
                    Some(500),
                    1,
                    "2026-01-01T00:00:00Z",
                ),
                fb(
                    "b",
                    "low",
                    "totally different words here",
                    Some("/api/dwellers/22222222-bbbb/claim"),
                    Some(500),
                    0,
                    "2026-01-02T00:00:00Z",
                ),
                fb(
                    "c",
                    "low",
                    "claim broke",
                    Some("/api/dwellers/33333333-cccc/claim"),
                    Some(400),
                    0,
                    "2026-01-03T00:00:00Z",
                ),
            ],
            DEFAULT_THRESHOLD,
        );
        assert_eq!(g.len(), 2);
        let ids: Vec<Vec<String>> = g.iter().map(|g| g.ids()).collect();
        assert!(ids.contains(&vec!["a".to_string(), "b".to_string()]));
        assert!(ids.contains(&vec!["c".to_string()]));
    }

    #[test]
    fn similar_text_groups_and_the_threshold_matters() {
        let items = || {
            vec![
                fb(
                    "x1",
                    "medium",
                    "region creation rejects valid cultural blend text",
                    None,
                    None,
                    0,
                    "2026-01-01T00:00:00Z",
                ),
                fb(
                    "x2",
                    "medium",
                    "region creation rejects valid cultural blend",
                    None,
                    None,
                    0,
                    "2026-01-02T00:00:00Z",
                ),
                fb(
                    "y1",
                    "medium",
                    "story guidance token header missing from docs",
                    None,
                    None,
                    0,
                    "2026-01-03T00:00:00Z",
                ),
            ]
        };
        let g = group(items(), DEFAULT_THRESHOLD);
        assert_eq!(g.len(), 2);
        assert_eq!(g.iter().map(|g| g.items.len()).max(), Some(2));
        // x1 and x2 share 6 of 7 tokens: a threshold above that splits them
        assert_eq!(group(items(), 0.9).len(), 3);
    }

    #[test]
    fn order_is_critical_then_upvotes_then_recency() {
        let g = group(
            vec![
                fb(
                    "low-many",
                    "low",
                    "alpha one",
                    None,
                    None,
                    9,
                    "2026-01-01T00:00:00Z",
                ),
                fb(
                    "crit",
                    "critical",
                    "bravo two",
                    None,
                    None,
                    0,
                    "2026-01-01T00:00:00Z",
                ),
                fb(
                    "old",
                    "medium",
                    "charlie three",
                    None,
                    None,
                    3,
                    "2026-01-01T00:00:00Z",
                ),
                fb(
                    "new",
                    "medium",
                    "delta four",
                    None,
                    None,
                    3,
                    "2026-02-01T00:00:00Z",
                ),
            ],
            DEFAULT_THRESHOLD,
        );
        let firsts: Vec<String> = g.iter().map(|g| g.ids()[0].clone()).collect();
        assert_eq!(firsts, ["crit", "low-many", "new", "old"]);
    }

    #[test]
    fn grouping_and_fingerprint_do_not_depend_on_input_order() {
        let items = vec![
            fb(
                "1",
                "high",
                "claim fails with server error",
                Some("/api/d/1/claim"),
                Some(500),
                2,
                "2026-01-01T00:00:00Z",
            ),
            fb(
                "2",
                "high",
                "claim fails with server error again",
                None,
                None,
                1,
                "2026-01-02T00:00:00Z",
            ),
            fb(
                "3",
                "low",
                "docs typo in region page",
                None,
                None,
                0,
                "2026-01-03T00:00:00Z",
            ),
        ];
        let mut rev = items.clone();
        rev.reverse();
        let a = group(items, DEFAULT_THRESHOLD);
        let b = group(rev, DEFAULT_THRESHOLD);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(
            a.iter().map(|g| g.ids()).collect::<Vec<_>>(),
            b.iter().map(|g| g.ids()).collect::<Vec<_>>()
        );
        // the unkeyed report joined the keyed group by text
        assert_eq!(a[0].ids(), ["1", "2"]);
        assert!(fingerprint(&a).starts_with("sha256:") && fingerprint(&a).len() == 71);
        let fewer = group(
            vec![fb(
                "3",
                "low",
                "docs typo in region page",
                None,
                None,
                0,
                "2026-01-03T00:00:00Z",
            )],
            DEFAULT_THRESHOLD,
        );
        assert_ne!(fingerprint(&a), fingerprint(&fewer));
    }

    #[test]
    fn group_facts() {
        let g = group(
            vec![
                fb(
                    "b",
                    "low",
                    "same words here now",
                    None,
                    None,
                    2,
                    "2026-01-05T00:00:00Z",
                ),
                fb(
                    "a",
                    "critical",
                    "same words here now",
                    None,
                    None,
                    3,
                    "2026-01-01T00:00:00+00:00",
                ),
            ],
            DEFAULT_THRESHOLD,
        );
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].total_upvotes(), 5);
        assert_eq!(g[0].severity(), Severity::CRITICAL);
        assert_eq!(when::show(g[0].first_seen()), "2026-01-01 00:00 UTC");
        assert_eq!(when::show(g[0].last_seen()), "2026-01-05 00:00 UTC");
        assert!(g[0].next_step().starts_with("Fix first."));
    }
}
