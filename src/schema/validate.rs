//! Trait validation: run the JSON Schema validator and turn its errors into field-level messages
//! carrying Kratos's message ids.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{json, Value};

/// One problem with submitted traits, located by its instance path.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitError {
    /// JSON pointer inside the validated document, e.g. `/traits/email`.
    pub pointer: String,
    /// Kratos message id (4000002 missing, 4000001 generic, …).
    pub message_id: u32,
    pub text: String,
    pub context: Value,
}

impl TraitError {
    /// The dotted UI node name (`traits.email`) this error belongs to.
    pub fn node_name(&self) -> String {
        self.pointer.trim_start_matches('/').replace('/', ".")
    }
}

pub fn validate(validator: &jsonschema::Validator, traits: &Value) -> Result<(), Vec<TraitError>> {
    let doc = json!({ "traits": traits });
    let errors: Vec<TraitError> = validator.iter_errors(&doc).map(|e| convert(&e)).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn convert(e: &jsonschema::ValidationError<'_>) -> TraitError {
    let mut pointer = e.instance_path().as_str().to_string();
    let (message_id, text, context) = match e.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_string();
            pointer = format!("{pointer}/{name}");
            (
                4000002,
                format!("Property {name} is missing."),
                json!({ "property": name }),
            )
        }
        ValidationErrorKind::MinLength { limit } => {
            let actual = e
                .instance()
                .as_str()
                .map(|s| s.chars().count())
                .unwrap_or(0);
            (
                4000003,
                format!("length must be >= {limit}, but got {actual}"),
                json!({ "min_length": limit, "actual_length": actual }),
            )
        }
        ValidationErrorKind::MaxLength { limit } => {
            let actual = e
                .instance()
                .as_str()
                .map(|s| s.chars().count())
                .unwrap_or(0);
            (
                4000017,
                format!("length must be <= {limit}, but got {actual}"),
                json!({ "max_length": limit, "actual_length": actual }),
            )
        }
        ValidationErrorKind::Pattern { pattern } => (
            4000004,
            format!("does not match pattern {pattern:?}"),
            json!({ "pattern": pattern }),
        ),
        ValidationErrorKind::Format { format } if format == "email" => (
            4000001,
            format!("{} is not valid \"email\"", e.instance()),
            json!({ "reason": format!("{} is not valid \"email\"", e.instance()) }),
        ),
        ValidationErrorKind::Format { format } => (
            4000001,
            format!("{} is not valid {format:?}", e.instance()),
            json!({ "reason": format!("{} is not valid {format:?}", e.instance()) }),
        ),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let actual = type_name(e.instance());
            (
                4000026,
                format!("expected {expected}, but got {actual}"),
                json!({ "allowed_types": [expected], "actual_type": actual }),
            )
        }
        _ => {
            let text = e.to_string();
            (4000001, text.clone(), json!({ "reason": text }))
        }
    };
    TraitError {
        pointer,
        message_id,
        text,
        context,
    }
}

/// The JSON Schema name of a value's type (`object`, `string`, …).
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> jsonschema::Validator {
        let schema: Value = serde_json::from_str(crate::schema::DEFAULT_SCHEMA).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    }

    #[test]
    fn accepts_valid_traits() {
        assert!(validate(&validator(), &json!({"email": "a@example.com"})).is_ok());
    }

    #[test]
    fn names_the_missing_field() {
        let errs = validate(&validator(), &json!({})).unwrap_err();
        assert_eq!(errs[0].message_id, 4000002);
        assert_eq!(errs[0].node_name(), "traits.email");
        assert_eq!(errs[0].text, "Property email is missing.");
    }

    #[test]
    fn rejects_a_bad_email() {
        let errs = validate(&validator(), &json!({"email": "not-an-email"})).unwrap_err();
        assert_eq!(errs[0].node_name(), "traits.email");
        assert!(errs[0].text.contains("email"), "{}", errs[0].text);
    }

    #[test]
    fn rejects_wrong_types_and_extra_fields() {
        let errs = validate(&validator(), &json!({"email": 5})).unwrap_err();
        assert!(errs.iter().any(|e| e.message_id == 4000026));
        assert!(validate(&validator(), &json!({"email": "a@b.co", "x": 1})).is_err());
        assert!(validate(&validator(), &json!("string")).is_err());
    }
}
