//! The `ory.sh/kratos` extension of identity schemas: which traits are login identifiers, which are
//! verifiable addresses, which are recovery addresses.

use serde_json::Value;

/// One step from the traits object down to an annotated trait.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Property(String),
    /// Every element of an array.
    Items,
}

/// One annotated trait, as declared in the schema.
#[derive(Debug, Clone, Default)]
pub struct TraitExtension {
    pub path: Vec<Step>,
    pub password_identifier: bool,
    pub webauthn_identifier: bool,
    pub passkey_display_name: bool,
    pub totp_account_name: bool,
    pub code_identifier: bool,
    /// `email` or `sms` for code credentials.
    pub code_via: Option<String>,
    /// `email` or `sms`: the trait becomes a verifiable address.
    pub verification_via: Option<String>,
    /// `email` or `sms`: the trait becomes a recovery address.
    pub recovery_via: Option<String>,
    /// The trait's JSON `format` (`email`, `tel`, …).
    pub format: Option<String>,
}

/// A value found in an identity's traits for an annotated trait.
pub struct TraitValue<'a> {
    pub ext: &'a TraitExtension,
    pub value: String,
}

impl TraitExtension {
    /// Dotted form used in UI node names and messages: `email`, `emails.*`.
    pub fn dotted(&self) -> String {
        self.path
            .iter()
            .map(|s| match s {
                Step::Property(p) => p.as_str(),
                Step::Items => "*",
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Walk the `traits` sub-schema and collect every `ory.sh/kratos` annotation.
pub fn collect(traits: &Value) -> Result<Vec<TraitExtension>, String> {
    let mut out = Vec::new();
    walk(traits, &mut Vec::new(), &mut out, 0)?;
    Ok(out)
}

fn walk(
    node: &Value,
    path: &mut Vec<Step>,
    out: &mut Vec<TraitExtension>,
    depth: usize,
) -> Result<(), String> {
    if depth > 32 {
        return Err("the traits schema nests deeper than 32 levels".into());
    }
    let Some(obj) = node.as_object() else {
        return Ok(());
    };
    if let Some(ext) = obj.get("ory.sh/kratos") {
        out.push(parse(ext, path, obj.get("format").and_then(Value::as_str))?);
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            path.push(Step::Property(name.clone()));
            walk(child, path, out, depth + 1)?;
            path.pop();
        }
    }
    if let Some(items) = obj.get("items") {
        path.push(Step::Items);
        walk(items, path, out, depth + 1)?;
        path.pop();
    }
    Ok(())
}

fn parse(ext: &Value, path: &[Step], format: Option<&str>) -> Result<TraitExtension, String> {
    let flag = |ptr: &str| ext.pointer(ptr).and_then(Value::as_bool).unwrap_or(false);
    let text = |ptr: &str| ext.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    let via = |ptr: &str| -> Result<Option<String>, String> {
        match text(ptr) {
            None => Ok(None),
            Some(v) if v == "email" || v == "sms" => Ok(Some(v)),
            Some(v) => Err(format!(
                "ory.sh/kratos{ptr} must be \"email\" or \"sms\", got {v:?}"
            )),
        }
    };
    Ok(TraitExtension {
        path: path.to_vec(),
        password_identifier: flag("/credentials/password/identifier"),
        webauthn_identifier: flag("/credentials/webauthn/identifier"),
        passkey_display_name: flag("/credentials/passkey/display_name"),
        totp_account_name: flag("/credentials/totp/account_name"),
        code_identifier: flag("/credentials/code/identifier"),
        code_via: via("/credentials/code/via")?,
        verification_via: via("/verification/via")?,
        recovery_via: via("/recovery/via")?,
        format: format.map(str::to_string),
    })
}

/// The string values present in `traits` for each annotated trait (arrays expand to every element).
pub fn values<'a>(exts: &'a [TraitExtension], traits: &Value) -> Vec<TraitValue<'a>> {
    let mut out = Vec::new();
    for ext in exts {
        let mut found = Vec::new();
        gather(traits, &ext.path, &mut found);
        for v in found {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            out.push(TraitValue { ext, value });
        }
    }
    out
}

fn gather<'v>(node: &'v Value, path: &[Step], out: &mut Vec<&'v Value>) {
    match path.split_first() {
        None => out.push(node),
        Some((Step::Property(p), rest)) => {
            if let Some(child) = node.get(p) {
                gather(child, rest, out);
            }
        }
        Some((Step::Items, rest)) => {
            if let Some(items) = node.as_array() {
                for item in items {
                    gather(item, rest, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn traits_schema() -> Value {
        json!({
          "type": "object",
          "properties": {
            "email": {"type": "string", "format": "email", "ory.sh/kratos": {
              "credentials": {"password": {"identifier": true}, "code": {"identifier": true, "via": "email"}},
              "verification": {"via": "email"}, "recovery": {"via": "email"}}},
            "username": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}},
            "phones": {"type": "array", "items": {"type": "string", "format": "tel",
              "ory.sh/kratos": {"verification": {"via": "sms"}}}},
            "name": {"type": "object", "properties": {"first": {"type": "string"}}}
          }
        })
    }

    #[test]
    fn collects_annotations_with_paths() {
        let exts = collect(&traits_schema()).unwrap();
        assert_eq!(exts.len(), 3);
        let email = exts.iter().find(|e| e.dotted() == "email").unwrap();
        assert!(email.password_identifier && email.code_identifier);
        assert_eq!(email.code_via.as_deref(), Some("email"));
        assert_eq!(email.verification_via.as_deref(), Some("email"));
        assert_eq!(email.recovery_via.as_deref(), Some("email"));
        assert_eq!(email.format.as_deref(), Some("email"));
        let phones = exts.iter().find(|e| e.dotted() == "phones.*").unwrap();
        assert_eq!(phones.verification_via.as_deref(), Some("sms"));
        assert!(!phones.password_identifier);
    }

    #[test]
    fn rejects_unknown_via() {
        let schema = json!({"type":"object","properties":{"e":{"type":"string",
            "ory.sh/kratos":{"verification":{"via":"pigeon"}}}}});
        assert!(collect(&schema).unwrap_err().contains("pigeon"));
    }

    #[test]
    fn gathers_values_including_arrays() {
        let exts = collect(&traits_schema()).unwrap();
        let traits = json!({"email": "A@b.c", "username": "neo", "phones": ["+1", "+2"], "name": {"first": "x"}});
        let vals: Vec<(String, String)> = values(&exts, &traits)
            .into_iter()
            .map(|v| (v.ext.dotted(), v.value))
            .collect();
        assert!(vals.contains(&("email".into(), "A@b.c".into())));
        assert!(vals.contains(&("username".into(), "neo".into())));
        assert!(vals.contains(&("phones.*".into(), "+1".into())));
        assert!(vals.contains(&("phones.*".into(), "+2".into())));
    }

    #[test]
    fn missing_traits_give_no_values() {
        let exts = collect(&traits_schema()).unwrap();
        assert!(values(&exts, &json!({})).is_empty());
    }
}
