//! Request-body validation with the platform's 422 details (`field`, `message`, `type`, `your_input`).

use crate::error::{ApiError, FieldError};
use serde_json::{Map, Value};

/// Collects field errors while reading a JSON body.
pub struct Body<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

fn err(field: &str, message: String, kind: &'static str, input: Value) -> FieldError {
    FieldError {
        field: format!("body -> {field}"),
        message,
        kind,
        input,
    }
}

impl<'a> Body<'a> {
    pub fn new(value: &'a Value) -> Result<Self, ApiError> {
        match value.as_object() {
            Some(obj) => Ok(Body {
                obj,
                errors: Vec::new(),
            }),
            None => Err(ApiError::Validation(vec![FieldError {
                field: "body".into(),
                message: "Input should be a valid dictionary".into(),
                kind: "dict_type",
                input: value.clone(),
            }])),
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

    pub fn push(&mut self, field: &str, message: String, kind: &'static str, input: Value) {
        self.errors.push(err(field, message, kind, input));
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
        ApiError::Validation(vec![FieldError {
            field: "body".into(),
            message: format!("JSON decode error: {e}"),
            kind: "json_invalid",
            input: Value::Null,
        }])
    })
}
