//! Built-in message templates, overridable file by file from `courier.template_override_path`
//! (`<template>/email.subject.gotmpl` and `<template>/email.body.gotmpl`, the file names Kratos
//! uses). Placeholders are `{{ .Name }}` substitutions of the template data.

use serde_json::Value;

pub struct Rendered {
    pub subject: String,
    pub body: String,
}

fn builtin(template: &str) -> (&'static str, &'static str) {
    match template {
        "recovery_code_valid" => (
            "Recover access to your account",
            "Hi,\n\nplease recover access to your account by entering the following code:\n\n{{ .RecoveryCode }}\n",
        ),
        "recovery_code_invalid" => (
            "Account access attempted",
            "Hi,\n\nyou (or someone else) entered this email address when trying to recover access to an account.\n\nHowever, this email address is not on our database of registered users and therefore the attempt has failed.\n\nIf this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.\n",
        ),
        "recovery_valid" => (
            "Recover access to your account",
            "Hi,\n\nplease recover access to your account by clicking the following link:\n\n{{ .RecoveryURL }}\n",
        ),
        "recovery_invalid" => (
            "Account access attempted",
            "Hi,\n\nyou (or someone else) entered this email address when trying to recover access to an account.\n\nHowever, this email address is not on our database of registered users and therefore the attempt has failed.\n",
        ),
        "verification_code_valid" => (
            "Please verify your email address",
            "Hi,\n\nplease verify your account by entering the following code:\n\n{{ .VerificationCode }}\n\nor clicking the following link:\n\n{{ .VerificationURL }}\n",
        ),
        "verification_code_invalid" => (
            "Someone tried to verify this email address",
            "Hi,\n\nsomeone asked to verify this email address, but we were unable to find an account for this address.\n\nIf this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.\n",
        ),
        "verification_valid" => (
            "Please verify your email address",
            "Hi, please verify your account by clicking the following link:\n\n{{ .VerificationURL }}\n",
        ),
        "verification_invalid" => (
            "Someone tried to verify this email address",
            "Hi,\n\nsomeone asked to verify this email address, but we were unable to find an account for this address.\n",
        ),
        _ => ("", ""),
    }
}

/// Template file path segments Kratos uses for each template type.
fn override_dir(template: &str) -> String {
    match template.rsplit_once('_') {
        Some((name, validity @ ("valid" | "invalid"))) => format!("{name}/{validity}"),
        _ => template.to_string(),
    }
}

pub fn render(override_path: Option<&str>, template: &str, data: &Value) -> Rendered {
    let (mut subject, mut body) = (
        builtin(template).0.to_string(),
        builtin(template).1.to_string(),
    );
    if let Some(root) = override_path {
        let root = root.trim_start_matches("file://");
        let dir = std::path::Path::new(root).join(override_dir(template));
        if let Ok(s) = std::fs::read_to_string(dir.join("email.subject.gotmpl")) {
            subject = s;
        }
        if let Ok(b) = std::fs::read_to_string(dir.join("email.body.gotmpl")) {
            body = b;
        }
    }
    Rendered {
        subject: substitute(subject.trim(), data),
        body: substitute(&body, data),
    }
}

/// Replace `{{ .Name }}` (and `{{.Name}}`) with the string form of `data.Name`.
fn substitute(text: &str, data: &Value) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = rest[start + 2..start + end].trim();
        let value = inner
            .strip_prefix('.')
            .and_then(|name| data.get(name))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default();
        out.push_str(&value);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutes_fields() {
        let r = render(
            None,
            "recovery_code_valid",
            &json!({"RecoveryCode": "123456"}),
        );
        assert!(r.body.contains("123456"));
        assert_eq!(r.subject, "Recover access to your account");
        assert_eq!(
            substitute("a {{.X}} b {{ .Y }} c {{ .Z }}", &json!({"X": 1, "Y": "y"})),
            "a 1 b y c "
        );
        assert_eq!(substitute("open {{ .X", &json!({})), "open {{ .X");
    }

    #[test]
    fn overrides_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("recovery_code/valid");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(
            t.join("email.body.gotmpl"),
            "Your code: {{ .RecoveryCode }}",
        )
        .unwrap();
        let r = render(
            dir.path().to_str(),
            "recovery_code_valid",
            &json!({"RecoveryCode": "9"}),
        );
        assert_eq!(r.body, "Your code: 9");
        assert_eq!(r.subject, "Recover access to your account");
    }
}
