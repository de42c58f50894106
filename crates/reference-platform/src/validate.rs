//! Request validation with the platform's 422 details (`field`, `message`, `type`, `your_input`):
//! the JSON body ([`Body`]), path ids, query parameters, and the one field-error builder they share.

use crate::error::{ApiError, FieldError};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::str::FromStr;

/// Collects field errors while reading a JSON body.
pub struct Body<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

/// One failed field. `field` is the full location as the platform names it (`body -> name`,
/// `query -> limit`, `path -> world_id`, `feedback_items -> 0 -> category`).
pub fn field_error(
    field: impl Into<String>,
    message: impl Into<String>,
    kind: &'static str,
    input: Value,
) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        kind,
        input,
    }
}

/// The 422 for one failed field.
pub fn invalid(
    field: impl Into<String>,
    message: impl Into<String>,
    kind: &'static str,
    input: Value,
) -> ApiError {
    ApiError::Validation(vec![field_error(field, message, kind, input)])
}

/// A failed body field.
fn err(field: &str, message: String, kind: &'static str, input: Value) -> FieldError {
    field_error(format!("body -> {field}"), message, kind, input)
}

impl<'a> Body<'a> {
    pub fn new(value: &'a Value) -> Result<Self, ApiError> {
        match value.as_object() {
            Some(obj) => Ok(Body {
                obj,
                errors: Vec::new(),
            }),
            None => Err(invalid(
                "body",
                "Input should be a valid dictionary",
                "dict_type",
                value.clone(),
            )),
        }
    }

    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    /// A string of `min..=max` characters (Unicode scalar values, like pydantic).
    pub fn str(
        &mut self,
        key: &str,
        min: usize,
        max: Option<usize>,
        required: bool,
    ) -> Option<String> {
        match self.raw(key) {
            None => {
                if required {
                    self.errors
                        .push(err(key, "Field required".into(), "missing", Value::Null));
                }
                None
            }
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < min {
                    self.errors.push(err(
                        key,
                        format!("String should have at least {min} characters"),
                        "string_too_short",
                        Value::String(s.clone()),
                    ));
                    None
                } else if max.is_some_and(|m| n > m) {
                    self.errors.push(err(
                        key,
                        format!("String should have at most {} characters", max.unwrap_or(0)),
                        "string_too_long",
                        Value::String(s.clone()),
                    ));
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(other) => {
                self.errors.push(err(
                    key,
                    "Input should be a valid string".into(),
                    "string_type",
                    other.clone(),
                ));
                None
            }
        }
    }

    pub fn int(&mut self, key: &str, min: i64, max: i64, required: bool) -> Option<i64> {
        match self.raw(key) {
            None => {
                if required {
                    self.errors
                        .push(err(key, "Field required".into(), "missing", Value::Null));
                }
                None
            }
            Some(Value::Number(n)) if n.as_i64().is_some() => {
                let v = n.as_i64().unwrap_or_default();
                if v < min {
                    self.errors.push(err(
                        key,
                        format!("Input should be greater than or equal to {min}"),
                        "greater_than_equal",
                        Value::Number(n.clone()),
                    ));
                    None
                } else if v > max {
                    self.errors.push(err(
                        key,
                        format!("Input should be less than or equal to {max}"),
                        "less_than_equal",
                        Value::Number(n.clone()),
                    ));
                    None
                } else {
                    Some(v)
                }
            }
            Some(other) => {
                self.errors.push(err(
                    key,
                    "Input should be a valid integer".into(),
                    "int_type",
                    other.clone(),
                ));
                None
            }
        }
    }

    pub fn float(&mut self, key: &str, min: f64, max: f64, default: f64) -> f64 {
        match self.raw(key) {
            None => default,
            Some(Value::Number(n)) => {
                let v = n.as_f64().unwrap_or(f64::NAN);
                if !(min..=max).contains(&v) {
                    self.errors.push(err(
                        key,
                        format!("Input should be between {min} and {max}"),
                        "value_error",
                        Value::Number(n.clone()),
                    ));
                }
                v
            }
            Some(other) => {
                self.errors.push(err(
                    key,
                    "Input should be a valid number".into(),
                    "float_type",
                    other.clone(),
                ));
                default
            }
        }
    }

    pub fn one_of(&mut self, key: &str, allowed: &[&str], required: bool) -> Option<String> {
        let s = self.str(key, 0, None, required)?;
        if allowed.contains(&s.as_str()) {
            Some(s)
        } else {
            self.errors.push(err(
                key,
                format!("Input should be one of: {}", allowed.join(", ")),
                "enum",
                Value::String(s),
            ));
            None
        }
    }

    /// A list of strings, or nothing when absent (anything else is a 422).
    pub fn str_list(&mut self, key: &str) -> Vec<String> {
        match self.raw(key) {
            None => Vec::new(),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(other) => {
                self.push(
                    key,
                    "Input should be a valid list of strings".into(),
                    "list_type",
                    other.clone(),
                );
                Vec::new()
            }
        }
    }

    /// A value of a closed vocabulary (`api_client::vocab`), whose `FromStr` accepts exactly the
    /// wire strings in `all`.
    pub fn vocab<T: FromStr + AsRef<str>>(
        &mut self,
        key: &str,
        all: &[T],
        required: bool,
    ) -> Option<T> {
        let s = self.str(key, 0, None, required)?;
        match s.parse::<T>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.errors.push(err(
                    key,
                    format!("Input should be one of: {}", wire_list(all)),
                    "enum",
                    Value::String(s),
                ));
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: String, kind: &'static str, input: Value) {
        self.errors.push(err(field, message, kind, input));
    }

    /// Adds failures found outside this body's own checks (items of a list validated on their own).
    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.errors.extend(errors);
    }

    /// Ok when no field failed; otherwise the 422 with every failure.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A vocabulary's wire strings, comma-separated (for error messages).
pub fn wire_list<T: AsRef<str>>(all: &[T]) -> String {
    all.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// `dsf_` + URL-safe characters; what the platform issues.
pub fn valid_key_format(k: &str) -> bool {
    k.starts_with("dsf_")
        && (20..=200).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses bytes as JSON, or the 422 the platform gives for a malformed body.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        invalid(
            "body",
            format!("JSON decode error: {e}"),
            "json_invalid",
            Value::Null,
        )
    })
}

/// A UUID in canonical form (lowercase, hyphenated), or the 422 for `location` (`query -> world_id`).
pub fn uuid(location: impl Into<String>, s: &str) -> Result<String, ApiError> {
    match uuid::Uuid::parse_str(s) {
        Ok(u) => Ok(u.to_string()),
        Err(_) => Err(invalid(
            location,
            "Input should be a valid UUID",
            "uuid_parsing",
            json!(s),
        )),
    }
}

/// Path parameter `field` as a canonical UUID (the location is only formatted for a 422).
pub fn uuid_path(field: &str, s: &str) -> Result<String, ApiError> {
    match uuid::Uuid::parse_str(s) {
        Ok(u) => Ok(u.to_string()),
        Err(_) => uuid(format!("path -> {field}"), s),
    }
}

/// Query parameter `key` as an integer in `min..=max`, `default` when absent.
/// The `limit` of a list from 1 to `max` (`default` when absent), a 422 otherwise. With
/// `negative_fails` (planted bug `negative-limit-500`) a negative limit reaches the database and
/// fails there instead, as an unchecked `limit: int` parameter does.
pub fn list_limit(
    q: &HashMap<String, String>,
    default: i64,
    max: i64,
    negative_fails: bool,
) -> Result<i64, ApiError> {
    match q.get("limit").map(|s| s.parse::<i64>()) {
        Some(Ok(n)) if n < 0 && negative_fails => Err(ApiError::Internal(format!(
            "LIMIT must not be negative: {n}"
        ))),
        _ => query_int(q, "limit", default, 1, max),
    }
}

pub fn query_int(
    q: &HashMap<String, String>,
    key: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    match q.get(key) {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(invalid(
                format!("query -> {key}"),
                format!("Input should be an integer from {min} to {max}"),
                "int_parsing",
                json!(s),
            )),
        },
    }
}
