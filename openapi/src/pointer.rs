//! JSON pointers (RFC 6901): building them from keys, reading their tokens, and turning the ones
//! that locate a value inside a request or response into the field notation API errors use.

/// Escapes one key for use in a JSON pointer (`a/b` → `a~1b`).
///
/// ```
/// assert_eq!(marketing_api_openapi::pointer::escape_token("/pets/{id}"), "~1pets~1{id}");
/// ```
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Reads one escaped token of a JSON pointer back as the key it names (`a~1b` → `a/b`).
pub fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The last token of a JSON pointer, unescaped (`/components/schemas/Pet` → `Pet`).
pub fn last_token(pointer: &str) -> String {
    unescape_token(pointer.rsplit('/').next().unwrap_or_default())
}

/// Turns the pointer of a value inside a message (`/events/3/type`) into the field notation of
/// API errors (`events[3].type`), after `prefix` (the place of the whole value, e.g. `events[2]`,
/// or empty).
///
/// ```
/// use marketing_api_openapi::pointer::to_field;
/// assert_eq!(to_field("", "/events/3/type"), "events[3].type");
/// assert_eq!(to_field("events[2]", "/contact_id"), "events[2].contact_id");
/// assert_eq!(to_field("", ""), "");
/// ```
pub fn to_field(prefix: &str, pointer: &str) -> String {
    let mut out = prefix.to_owned();
    for raw in pointer.split('/').skip(1) {
        let segment = unescape_token(raw);
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// `name` as a field under `at` in the notation of [`to_field`] (`at.name`, or `name` at the top).
pub fn join_field(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_fields_read_like_code() {
        for key in ["plain", "a/b", "~0", "~/~1/", ""] {
            assert_eq!(unescape_token(&escape_token(key)), key);
        }
        assert_eq!(last_token("/paths/~1pets~1{id}"), "/pets/{id}");
        assert_eq!(last_token(""), "");
        assert_eq!(to_field("", "/a~1b/0/c"), "a/b[0].c");
        assert_eq!(to_field("body", "/0"), "body[0]");
        assert_eq!(join_field("", "name"), "name");
        assert_eq!(join_field("events[1]", "type"), "events[1].type");
    }
}
