//! What the target has where platforms legitimately differ, learnt once before any seed runs by
//! requests that change nothing, and what the model and the read-backs do with each.
//!
//! A capability is a difference the rules allow, never a defect: when the target has one, a
//! response that lacks what it promises is a violation like any other (`model-agreement`), so a
//! capability can only make a check stricter than "skip when the field is absent", never silence it.
//!
//! How each is learnt:
//! - [`Capability::AspectReviewApproval`]: what the target declares in `GET /api/platform/health`
//!   (`configuration.aspect_review_approval`, the reference platform's declaration of its design);
//!   without a declaration, an anonymous `POST /api/aspects/<nil uuid>/test-approve`: a platform
//!   without that route answers 404/405 and approves aspects on the critical review's last
//!   resolve; one with it (any other answer: 401, 403, 422) approves aspects only there (the real
//!   platform, which declares nothing), and its review leaves them validating. Nothing is
//!   approved: there is no key and no such aspect.
//! - [`Capability::TestMode`]: `GET /api/platform/health`, `configuration.test_mode_enabled` (the
//!   real platform's report of `DSF_TEST_MODE_ENABLED`); absent or not `true`: off.
//! - the response fields ([`Capability::FeedbackUpvoters`], [`Capability::EventDecisions`],
//!   [`Capability::EventApprovedBy`], [`Capability::EventRejectedBy`]): `GET /openapi.json`, the
//!   response schema of `GET /api/feedback/{id}` and `GET /api/events/{id}`. A field is absent only
//!   when the document describes that response's object with its properties and the field is not
//!   among them. Without a document (the reference platform serves none), or where it leaves the
//!   response open (no schema, no properties, a schema it cannot resolve), the field is taken as
//!   present: unknown means strict. Reading the document changes nothing, and unlike reading a
//!   live feedback or event it needs none to exist yet, and it does not confuse "this platform has
//!   no such field" with "this response lost it" (which is the defect the check looks for).

use api_client::{ApiError, Client, Method};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One legitimate difference between platforms. The reference platform has every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Capability {
    /// The critical review's last resolve (≥ 2 reviewers, every item resolved) approves an aspect
    /// into its world's canon. Absent: the model keeps a fully resolved aspect validating.
    AspectReviewApproval,
    /// `GET /api/feedback/{id}` lists `upvoters`. Present: invariants 3–5 read the list (no
    /// duplicate, not the author, its length is the count). Absent: invariant 3 compares the count
    /// with the successful upvote calls; 4 and 5 rest on the predicted refusals.
    FeedbackUpvoters,
    /// `GET /api/events/{id}` lists the event's `decisions`. Present: exactly one once decided,
    /// none while pending (invariant 15).
    EventDecisions,
    /// `GET /api/events/{id}` names the approver (`approved_by.id`) of an approved event.
    /// Present: it is the agent the model says decided it, never the proposer.
    EventApprovedBy,
    /// `GET /api/events/{id}` names the agent who rejected a rejected event (`rejected_by.id`).
    /// Present: as for the approver.
    EventRejectedBy,
    /// Test mode is on: `POST /api/aspects/{id}/test-approve` approves a validating aspect (the
    /// test-approve rule is sent). Absent: the route answers 403, and the rule is not sent.
    TestMode,
}

crate::vocabulary!(Capability);

impl Capability {
    /// What the model and the read-backs do when the target lacks it (for the run's summary).
    pub fn when_absent(self) -> &'static str {
        match self {
            Capability::AspectReviewApproval => {
                "a fully resolved aspect stays validating (approval is the target's own route)"
            }
            Capability::FeedbackUpvoters => {
                "invariant 3 checks the count against successful upvotes; 4 and 5 through the predicted refusals only"
            }
            Capability::EventDecisions => "invariant 15 does not count decisions",
            Capability::EventApprovedBy => "invariant 15 does not check who approved",
            Capability::EventRejectedBy => "invariant 15 does not check who rejected",
            Capability::TestMode => "test-approve of aspects is not sent (the target answers 403)",
        }
    }

    /// What the target has, in a violation message's words.
    pub fn field(self) -> &'static str {
        match self {
            Capability::AspectReviewApproval => "aspect approval on the last resolve",
            Capability::FeedbackUpvoters => "`upvoters` list",
            Capability::EventDecisions => "`decisions` list",
            Capability::EventApprovedBy => "`approved_by`",
            Capability::EventRejectedBy => "`rejected_by`",
            Capability::TestMode => "test mode",
        }
    }

    /// The response field a schema probe looks for: (route as the document spells it with its
    /// parameter renamed `{}`, JSON pointer of the field in the 200 answer).
    fn schema_field(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Capability::AspectReviewApproval | Capability::TestMode => None,
            Capability::FeedbackUpvoters => Some(("/api/feedback/{}", &["feedback", "upvoters"])),
            Capability::EventDecisions => Some(("/api/events/{}", &["event", "decisions"])),
            Capability::EventApprovedBy => Some(("/api/events/{}", &["event", "approved_by"])),
            Capability::EventRejectedBy => Some(("/api/events/{}", &["event", "rejected_by"])),
        }
    }
}

/// Where the response-field capabilities came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaSource {
    /// The target's `/openapi.json`.
    Openapi,
    /// The target serves no OpenAPI document: every field is taken as present.
    #[default]
    None,
}

/// What the target has, per capability. `--json` prints it as
/// `{"detected": {"<capability>": true|false, …}, "response_schemas": "openapi"|"none"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub detected: BTreeMap<Capability, bool>,
    pub response_schemas: SchemaSource,
}

impl Default for Capabilities {
    /// The reference platform's: every capability.
    fn default() -> Self {
        Capabilities::all()
    }
}

impl Capabilities {
    /// Every capability (the reference platform).
    pub fn all() -> Capabilities {
        Capabilities {
            detected: Capability::all().iter().map(|c| (*c, true)).collect(),
            response_schemas: SchemaSource::None,
        }
    }

    pub fn has(&self, c: Capability) -> bool {
        self.detected.get(&c).copied().unwrap_or(true)
    }

    /// The same set with `c` switched on or off (tests, stand-in targets).
    pub fn with(mut self, c: Capability, on: bool) -> Capabilities {
        self.detected.insert(c, on);
        self
    }

    /// Probes `client`'s target (see the module documentation). Only a transport failure is an
    /// error.
    pub async fn probe(client: &Client) -> Result<Capabilities, ApiError> {
        let anon = client.anonymous();
        let nil = "00000000-0000-0000-0000-000000000000";
        let r = anon
            .send_raw(
                Method::POST,
                &format!("/api/aspects/{nil}/test-approve"),
                Some(&serde_json::json!({})),
            )
            .await?;
        let health = anon
            .send_raw(Method::GET, "/api/platform/health", None)
            .await?;
        let config = |key: &str| {
            (health.status == 200)
                .then(|| health.body.pointer(&format!("/configuration/{key}")))
                .flatten()
                .and_then(Value::as_bool)
        };
        let mut caps = Capabilities::all();
        caps.detected.insert(
            Capability::AspectReviewApproval,
            config("aspect_review_approval").unwrap_or(matches!(r.status, 404 | 405)),
        );
        caps.detected.insert(
            Capability::TestMode,
            config("test_mode_enabled") == Some(true),
        );
        let doc = anon.send_raw(Method::GET, "/openapi.json", None).await?;
        if doc.status == 200 && doc.body.get("paths").is_some_and(Value::is_object) {
            caps.response_schemas = SchemaSource::Openapi;
            for c in Capability::all() {
                if let Some((route, field)) = c.schema_field() {
                    caps.detected.insert(*c, declares(&doc.body, route, field));
                }
            }
        }
        Ok(caps)
    }

    /// The summary's lines: one per capability, with what the model does without it.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "target capabilities (response fields {}):",
            match self.response_schemas {
                SchemaSource::Openapi => "from its /openapi.json",
                SchemaSource::None => "assumed present: it serves no /openapi.json",
            }
        )];
        for (c, on) in &self.detected {
            out.push(if *on {
                format!("  {c:<24} yes")
            } else {
                format!("  {c:<24} no: {}", c.when_absent())
            });
        }
        out
    }
}

/// Whether the OpenAPI document `doc` lets the 200 answer of `GET route` carry `field` (a path of
/// property names): false only when every object on the way is described with its properties and
/// the last one lacks the field.
fn declares(doc: &Value, route: &str, field: &[&str]) -> bool {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return true;
    };
    let Some(op) = paths
        .iter()
        .find(|(p, _)| template(p) == route)
        .and_then(|(_, item)| item.get("get"))
    else {
        return true; // the document does not list the route: it says nothing about it
    };
    let Some(mut schema) = op.pointer("/responses/200/content/application~1json/schema") else {
        return true;
    };
    for name in field {
        let Some(props) = properties(doc, schema, 0) else {
            return true;
        };
        match props.get(*name) {
            Some(s) => schema = s,
            None => return false,
        }
    }
    true
}

/// A route with every `{parameter}` renamed `{}`, so `/api/feedback/{feedback_id}` matches
/// `/api/feedback/{}`.
fn template(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The properties of the object `schema` describes (through `$ref`, and the one non-null member
/// of an `anyOf`/`oneOf`/`allOf`), or `None` when it leaves the object open.
fn properties<'a>(
    doc: &'a Value,
    schema: &'a Value,
    depth: usize,
) -> Option<&'a serde_json::Map<String, Value>> {
    if depth > 16 {
        return None; // a reference cycle: leave it open
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = doc.pointer(r.strip_prefix('#')?)?;
        return properties(doc, target, depth + 1);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(members) = schema.get(key).and_then(Value::as_array) {
            let objects: Vec<&Value> = members
                .iter()
                .filter(|m| m.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            return match objects.as_slice() {
                [one] => properties(doc, one, depth + 1),
                _ => None,
            };
        }
    }
    // an object that admits more properties than it lists says nothing about a missing one
    if schema
        .get("additionalProperties")
        .is_some_and(|a| a != &Value::Bool(false))
    {
        return None;
    }
    schema.get("properties").and_then(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(feedback_props: Value, event_props: Value) -> Value {
        json!({
            "paths": {
                "/api/feedback/{feedback_id}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/GetFeedback"}}}}}}},
                "/api/events/{event_id}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/GetEvent"}}}}}}}
            },
            "components": {"schemas": {
                "GetFeedback": {"type": "object", "properties": {"feedback": {"$ref": "#/components/schemas/FeedbackOut"}}},
                "FeedbackOut": {"type": "object", "properties": feedback_props},
                "GetEvent": {"type": "object", "properties": {"event": {"anyOf": [{"$ref": "#/components/schemas/EventOut"}, {"type": "null"}]}}},
                "EventOut": {"type": "object", "properties": event_props}
            }}
        })
    }

    #[test]
    fn a_described_response_without_the_field_lacks_it() {
        let d = doc(
            json!({"id": {}, "upvote_count": {}}),
            json!({"id": {}, "approved_by": {}}),
        );
        assert!(!declares(&d, "/api/feedback/{}", &["feedback", "upvoters"]));
        assert!(declares(&d, "/api/feedback/{}", &["feedback"]));
        assert!(!declares(&d, "/api/events/{}", &["event", "decisions"]));
        assert!(!declares(&d, "/api/events/{}", &["event", "rejected_by"]));
        assert!(declares(&d, "/api/events/{}", &["event", "approved_by"]));
    }

    #[test]
    fn an_open_or_unknown_response_counts_as_having_the_field() {
        // not described: no route, no schema, additional properties allowed, an unresolvable ref
        let empty = json!({"paths": {}});
        assert!(declares(
            &empty,
            "/api/feedback/{}",
            &["feedback", "upvoters"]
        ));
        let mut open = doc(json!({"id": {}}), json!({}));
        open["components"]["schemas"]["FeedbackOut"]["additionalProperties"] = json!(true);
        assert!(declares(
            &open,
            "/api/feedback/{}",
            &["feedback", "upvoters"]
        ));
        let mut dangling = doc(json!({}), json!({}));
        dangling["components"]["schemas"]
            .as_object_mut()
            .unwrap()
            .remove("EventOut");
        assert!(declares(
            &dangling,
            "/api/events/{}",
            &["event", "decisions"]
        ));
        let no_schema =
            json!({"paths": {"/api/feedback/{id}": {"get": {"responses": {"200": {}}}}}});
        assert!(declares(
            &no_schema,
            "/api/feedback/{}",
            &["feedback", "upvoters"]
        ));
    }

    #[test]
    fn the_reference_set_has_everything_and_prints_it() {
        let all = Capabilities::all();
        assert!(Capability::all().iter().all(|c| all.has(*c)));
        let without = all.clone().with(Capability::FeedbackUpvoters, false);
        assert!(!without.has(Capability::FeedbackUpvoters));
        let text = without.lines().join("\n");
        assert!(
            text.contains("feedback-upvoters        no: invariant 3"),
            "{text}"
        );
        assert!(text.contains("event-decisions          yes"), "{text}");
        let j = serde_json::to_value(&without).unwrap();
        assert_eq!(j["detected"]["feedback-upvoters"], json!(false));
        assert_eq!(j["detected"]["aspect-review-approval"], json!(true));
        assert_eq!(j["response_schemas"], json!("none"));
    }
}
