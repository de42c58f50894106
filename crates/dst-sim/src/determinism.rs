//! `dst-sim run --check-determinism`: the harness checks its own promise that a seed is a complete
//! description of the run. Every seed runs twice, each time on a fresh embedded platform of its
//! own (same planted bugs, same fault control): a platform shared with other seeds answers its
//! list read-backs with their rows too, which says nothing about this seed. Each run's whole
//! request/response sequence, in the order the exchanges were recorded, is normalized (UUIDs,
//! timestamps and opaque cursors become placeholders, a UUID numbered by its first appearance so a
//! later reference to the same id still matches; the run's name prefix too) and hashed. Two
//! different hashes are a harness defect, not a platform violation: the report names the seed and
//! the first exchange that differs, with both responses.

use crate::driver::TraceExchange;
use crate::run::{self, Execution, Target};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Whether `run` checks determinism (`--check-determinism`); `Perturbed` is a hidden, test-only
/// mode that drops the last step of every second run, so the report path can be shown to fire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CheckMode {
    #[default]
    Off,
    On,
    Perturbed,
}

/// Characters of a request or response kept in a difference report.
const SHORT: usize = 160;

/// One exchange after normalization: what was asked and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub request: String,
    pub response: String,
}

/// The first exchange at which the two runs of a seed differ.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Difference {
    pub seed: u64,
    /// 0-based position of the exchange in the seed's sequence.
    pub index: usize,
    /// The request of the first run at that position (the second run's when the first ended).
    pub request: String,
    /// The first run's response (`<none>` when its sequence ended before).
    pub first: String,
    /// The second run's response (`<none>` when its sequence ended before).
    pub second: String,
    /// Sequence hashes and lengths of both runs.
    pub hashes: [String; 2],
    pub exchanges: [usize; 2],
}

impl Difference {
    /// The report line (one per seed).
    pub fn line(&self) -> String {
        format!(
            "HARNESS DEFECT (nondeterminism): seed {} ran twice with different request/response sequences (hashes {} / {}, {} / {} exchanges); first difference at exchange {}: {}\n  first run:  {}\n  second run: {}",
            self.seed,
            self.hashes[0],
            self.hashes[1],
            self.exchanges[0],
            self.exchanges[1],
            self.index,
            self.request,
            self.first,
            self.second
        )
    }
}

/// What the check found for one seed (kept in its [`Execution`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeedCheck {
    pub hash: String,
    pub exchanges: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference: Option<Difference>,
}

/// The run's determinism section (`--json`: `determinism`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DeterminismReport {
    pub seeds_checked: u64,
    pub differences: Vec<Difference>,
}

impl DeterminismReport {
    pub fn add(&mut self, c: &SeedCheck) {
        self.seeds_checked += 1;
        if let Some(d) = &c.difference {
            self.differences.push(d.clone());
        }
    }

    pub fn merge(&mut self, other: DeterminismReport) {
        self.seeds_checked += other.seeds_checked;
        self.differences.extend(other.differences);
        self.differences.sort_by_key(|d| d.seed);
    }
}

/// Replaces what legitimately differs between two runs of one seed with placeholders.
pub struct Normalizer {
    prefix: String,
    ids: HashMap<String, usize>,
}

impl Normalizer {
    /// For a run whose generated names start with `prefix`.
    pub fn new(prefix: &str) -> Self {
        Normalizer {
            prefix: prefix.to_string(),
            ids: HashMap::new(),
        }
    }

    /// One exchange, as compared and hashed.
    pub fn exchange(&mut self, e: &TraceExchange) -> Normalized {
        let body = |v: &Option<serde_json::Value>| v.as_ref().map(|b| b.to_string());
        let request = format!(
            "{} {}{}",
            e.method,
            e.path,
            body(&e.request)
                .map(|b| format!(" {b}"))
                .unwrap_or_default()
        );
        let response = match (&e.status, &e.error) {
            (_, Some(err)) => format!("error {err}"),
            (Some(s), None) => format!("{s} {}", body(&e.response).unwrap_or_default()),
            (None, None) => "no answer".to_string(),
        };
        Normalized {
            request: self.text(&request),
            response: self.text(&response),
        }
    }

    /// A text with the prefix, UUIDs, timestamps and cursors replaced.
    pub fn text(&mut self, s: &str) -> String {
        let s = s.replace(&self.prefix, "<prefix>");
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < chars.len() {
            if let Some(len) = uuid_at(&chars[i..]) {
                let id: String = chars[i..i + len].iter().collect::<String>().to_lowercase();
                let next = self.ids.len();
                let n = *self.ids.entry(id).or_insert(next);
                out.push_str(&format!("<id{n}>"));
                i += len;
            } else if let Some(len) = timestamp_at(&chars[i..]) {
                out.push_str("<ts>");
                i += len;
            } else if let Some((key, end)) = cursor_at(&chars[i..]) {
                // an opaque cursor encodes a row's timestamp and id
                out.extend(&chars[i..i + key]);
                out.push_str("<cursor>");
                i += end;
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        out
    }
}

fn uuid_at(c: &[char]) -> Option<usize> {
    (c.len() >= 36
        && c[..36].iter().enumerate().all(|(i, ch)| {
            if [8, 13, 18, 23].contains(&i) {
                *ch == '-'
            } else {
                ch.is_ascii_hexdigit()
            }
        }))
    .then_some(36)
}

/// `YYYY-MM-DDTHH:MM:SS` (or a space for `T`), optional fraction and zone.
fn timestamp_at(c: &[char]) -> Option<usize> {
    const SHAPE: &str = "dddd-dd-ddTdd:dd:dd";
    if c.len() < SHAPE.len() {
        return None;
    }
    let fits = SHAPE.chars().zip(c).all(|(p, ch)| match p {
        'd' => ch.is_ascii_digit(),
        'T' => *ch == 'T' || *ch == ' ',
        p => p == *ch,
    });
    if !fits {
        return None;
    }
    let mut i = SHAPE.len();
    if c.get(i) == Some(&'.') {
        i += 1;
        while c.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
    }
    match c.get(i) {
        Some('Z') => i += 1,
        Some('+' | '-')
            if c.len() >= i + 6 && c[i + 1..i + 6].iter().filter(|ch| **ch == ':').count() == 1 =>
        {
            i += 6
        }
        _ => {}
    }
    Some(i)
}

/// `cursor":"…` or `cursor=…`: the key's length and where the value ends.
fn cursor_at(c: &[char]) -> Option<(usize, usize)> {
    ["cursor\":\"", "cursor="].iter().find_map(|key| {
        let k: Vec<char> = key.chars().collect();
        if c.len() <= k.len() || c[..k.len()] != k[..] {
            return None;
        }
        let end = c[k.len()..]
            .iter()
            .position(|ch| matches!(ch, '"' | '&' | ' '))
            .map_or(c.len(), |p| p + k.len());
        (end > k.len()).then_some((k.len(), end))
    })
}

/// A run's whole sequence: every step's exchanges, then the end-of-seed read-backs.
pub fn sequence(ex: &Execution, prefix: &str) -> Vec<Normalized> {
    let mut n = Normalizer::new(prefix);
    ex.trace
        .iter()
        .flat_map(|s| s.exchanges.iter())
        .chain(ex.end_exchanges.iter())
        .map(|e| n.exchange(e))
        .collect()
}

/// FNV-1a over the normalized sequence, as 16 hex digits.
pub fn hash(seq: &[Normalized]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for e in seq {
        for b in e
            .request
            .bytes()
            .chain([0])
            .chain(e.response.bytes())
            .chain([1])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn short(s: &str) -> String {
    around(s, 0)
}

/// At most [`SHORT`] bytes of `s` from a little before byte `at` (where two responses part), on
/// character boundaries, with `…` where something was cut.
fn around(s: &str, at: usize) -> String {
    let start = s.floor_char_boundary(at.saturating_sub(SHORT / 3));
    let end = s.floor_char_boundary(start + SHORT);
    format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        &s[start..end],
        if end < s.len() { "…" } else { "" }
    )
}

/// The byte where `a` and `b` first differ.
fn parting(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i)
}

/// Compares the two runs of `seed`: equal hashes, or the first differing exchange.
pub fn compare(seed: u64, a: &[Normalized], b: &[Normalized]) -> SeedCheck {
    let (ha, hb) = (hash(a), hash(b));
    let difference = (ha != hb).then(|| {
        let index = a
            .iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let none = || "<none>".to_string();
        let at = match (a.get(index), b.get(index)) {
            (Some(x), Some(y)) => parting(&x.response, &y.response),
            _ => 0,
        };
        Difference {
            seed,
            index,
            request: short(
                &a.get(index)
                    .or(b.get(index))
                    .map(|e| e.request.clone())
                    .unwrap_or_default(),
            ),
            first: a.get(index).map_or_else(none, |e| around(&e.response, at)),
            second: b.get(index).map_or_else(none, |e| around(&e.response, at)),
            hashes: [ha.clone(), hb],
            exchanges: [a.len(), b.len()],
        }
    });
    SeedCheck {
        hash: ha,
        exchanges: a.len(),
        difference,
    }
}

/// Runs `seed` twice against `target` and compares the two sequences; returns the first run
/// (without its bodies, as an ordinary run) with the check in `determinism`.
pub async fn check_seed(target: &Target, seed: u64, steps: usize) -> Execution {
    let perturb = target.determinism == CheckMode::Perturbed;
    let ts = run::transitions_with(seed, steps, target.faults);
    let prefix = format!("dst-s{seed}-t0");
    let mut a = fresh_run(target, &prefix, &ts).await;
    let ts2 = if perturb {
        &ts[..ts.len().saturating_sub(1)]
    } else {
        &ts[..]
    };
    let b = fresh_run(target, &prefix, ts2).await;
    if a.infrastructure.is_some() || b.infrastructure.is_some() {
        // a platform that failed is reported as such (exit 2), not as a difference
        a.infrastructure = a.infrastructure.or(b.infrastructure);
        return a;
    }
    let check = compare(seed, &sequence(&a, &prefix), &sequence(&b, &prefix));
    a.trace.clear();
    a.end_exchanges.clear();
    a.determinism = Some(check);
    a
}

/// `ts` with bodies on a fresh embedded platform like `target`'s, stopped afterwards.
async fn fresh_run(target: &Target, prefix: &str, ts: &[crate::model::Transition]) -> Execution {
    let fresh = match Target::embedded_with(&target.bugs, target.faults).await {
        Ok(t) => t,
        Err(e) => {
            return Execution {
                infrastructure: Some((0, e.to_string())),
                ..Execution::default()
            };
        }
    };
    let ex = run::execute_with(
        &fresh,
        prefix.to_string(),
        ts,
        None,
        true,
        target.keep_going,
    )
    .await;
    if let Some(p) = fresh.embedded {
        p.shutdown().await;
    }
    ex
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ex(prefix: &str, path: &str, status: u16, body: serde_json::Value) -> TraceExchange {
        TraceExchange {
            method: "POST".into(),
            path: path.into(),
            request: Some(json!({"name": format!("{prefix} agent 1")})),
            status: Some(status),
            response: Some(body),
            error: None,
        }
    }

    fn seq(prefix: &str, id: &str, winner: u16) -> Vec<Normalized> {
        let mut n = Normalizer::new(prefix);
        [
            ex(
                prefix,
                "/api/auth/agent",
                200,
                json!({"id": id, "created_at": "2026-12-07T06:15:22.123456Z"}),
            ),
            ex(
                prefix,
                &format!("/api/dwellers/{id}/claim"),
                winner,
                json!({"ok": true}),
            ),
            ex(
                prefix,
                "/api/proposals?cursor=abc123==&limit=5",
                200,
                json!({"next_cursor": "eyJ0Ijo"}),
            ),
        ]
        .iter()
        .map(|e| n.exchange(e))
        .collect()
    }

    #[test]
    fn ids_timestamps_prefixes_and_cursors_are_normalized() {
        let mut n = Normalizer::new("dst-s3-t0");
        let a = "00000000-0000-4000-a000-000000000001";
        let b = "00000000-0000-4000-a000-00000000000F";
        let t = n.text(&format!(
            "{a} dst-s3-t0-a1 {b} {a} at 2026-12-07 06:15:22+00:00, next_cursor\":\"Zm9v\" x"
        ));
        assert_eq!(
            t,
            "<id0> <prefix>-a1 <id1> <id0> at <ts>, next_cursor\":\"<cursor>\" x"
        );
    }

    #[test]
    fn equal_sequences_from_different_runs_hash_the_same() {
        let a = seq("dst-s3-t0", "11111111-1111-4111-a111-111111111111", 200);
        let b = seq("dst-s3-c2", "22222222-2222-4222-a222-222222222222", 200);
        let c = compare(3, &a, &b);
        assert_eq!(c.difference, None, "{c:?}");
        assert_eq!(c.exchanges, 3);
    }

    #[test]
    fn one_differing_exchange_is_reported_with_its_index_request_and_both_responses() {
        let a = seq("dst-s3-t0", "11111111-1111-4111-a111-111111111111", 200);
        let b = seq("dst-s3-c2", "22222222-2222-4222-a222-222222222222", 409);
        let c = compare(3, &a, &b);
        let d = c.difference.expect("a difference");
        assert_eq!(d.seed, 3);
        assert_eq!(d.index, 1);
        assert_eq!(
            d.request,
            "POST /api/dwellers/<id0>/claim {\"name\":\"<prefix> agent 1\"}"
        );
        assert!(d.first.starts_with("200 "), "{d:?}");
        assert!(d.second.starts_with("409 "), "{d:?}");
        assert_ne!(d.hashes[0], d.hashes[1]);
        assert!(d.line().contains("seed 3") && d.line().contains("exchange 1"));
    }

    #[test]
    fn a_shorter_second_run_differs_where_it_ended() {
        let a = seq("dst-s3-t0", "11111111-1111-4111-a111-111111111111", 200);
        let c = compare(4, &a, &a[..2]);
        let d = c.difference.expect("a difference");
        assert_eq!((d.index, d.second.as_str()), (2, "<none>"));
        assert_eq!(d.exchanges, [3, 2]);
    }

    #[test]
    fn long_responses_are_shortened_on_a_char_boundary() {
        let s = "é".repeat(200);
        let t = short(&s);
        assert!(t.len() <= SHORT + '…'.len_utf8());
        assert!(t.ends_with('…'));
    }

    #[test]
    fn a_long_response_is_shown_where_the_two_part() {
        let x = format!("{}\"winner\":1{}", "a".repeat(300), "b".repeat(300));
        let y = format!("{}\"winner\":2{}", "a".repeat(300), "b".repeat(300));
        let a = vec![Normalized {
            request: "GET /x".into(),
            response: x,
        }];
        let b = vec![Normalized {
            request: "GET /x".into(),
            response: y,
        }];
        let d = compare(1, &a, &b).difference.expect("a difference");
        assert!(
            d.first.starts_with('…') && d.first.contains("\"winner\":1"),
            "{d:?}"
        );
        assert!(d.second.contains("\"winner\":2"), "{d:?}");
    }
}
