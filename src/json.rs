//! JSON bodies as Kratos writes them: `<`, `>` and `&` escaped (as Go's encoder does) and a final
//! newline. Shared by the HTTP edge and the session wire format; it knows nothing of either.

/// Encode `body` as Kratos would.
pub fn json_bytes<T: serde::Serialize + ?Sized>(body: &T) -> bytes::Bytes {
    let mut text = serde_json::to_string(body).unwrap_or_else(|_| "null".into());
    if text.contains(['<', '>', '&']) {
        text = text
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
    }
    text.push('\n');
    text.into()
}
