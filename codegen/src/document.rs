//! Stage 1, parse: the spec text as a JSON tree, with the OpenAPI version it declares and the
//! means to follow `$ref`s inside it.
//!
//! The tree is kept as [`serde_json::Value`] rather than typed structs on purpose: real specs
//! carry vendor extensions, documentation-only keys and the odd malformed corner, and a typed
//! parse would refuse the whole document for one bad schema. The model stage reads the tree
//! leniently through [`crate::schema::SchemaView`], which also normalizes OpenAPI 3.0 (`nullable`,
//! boolean `exclusiveMinimum`, `x-nullable`) and 3.1 (`type: [T, "null"]`) into one form, and
//! reports what it cannot use as a warning with the JSON pointer of its location.

use serde_json::Value;

/// Which OpenAPI dialect the document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiVersion {
    /// 3.0.x: `nullable`, boolean `exclusiveMinimum`, `example`.
    V30,
    /// 3.1.x: JSON Schema 2020-12, `type: [T, "null"]`, `webhooks`.
    V31,
}

/// Why a spec could not be read at all (as opposed to parts of it being skipped with a warning).
#[derive(Debug)]
pub enum ParseError {
    /// The text is neither valid YAML nor valid JSON.
    Syntax(String),
    /// The root is not an OpenAPI 3.0/3.1 document.
    NotOpenApi(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax(reason) => write!(f, "openapi spec does not parse: {reason}"),
            Self::NotOpenApi(reason) => write!(f, "not an OpenAPI 3.0 or 3.1 document: {reason}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A parsed spec: the tree and its version.
#[derive(Debug)]
pub struct Document {
    /// The whole document.
    pub root: Value,
    /// The declared version.
    pub version: OpenApiVersion,
}

/// How deep a chain of `$ref`s to `$ref`s may go before it is taken for a loop.
const MAX_REF_CHAIN: usize = 32;

impl Document {
    /// Parses the text of a spec, YAML or JSON.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        // JSON is valid YAML, but the JSON parser is much faster on the multi-megabyte specs
        // real APIs publish.
        let root: Value = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| ParseError::Syntax(e.to_string()))?
        } else {
            crate::yaml::from_str(trimmed).map_err(ParseError::Syntax)?
        };
        let Some(object) = root.as_object() else {
            return Err(ParseError::NotOpenApi(
                "the document root is not a mapping".into(),
            ));
        };
        let version = match object.get("openapi") {
            Some(Value::String(v)) if v.starts_with("3.0") => OpenApiVersion::V30,
            Some(Value::String(v)) if v.starts_with("3.1") => OpenApiVersion::V31,
            Some(other) => {
                return Err(ParseError::NotOpenApi(format!(
                    "`openapi: {other}` is not a supported version (expected 3.0.x or 3.1.x)"
                )));
            }
            None if object.contains_key("swagger") => {
                return Err(ParseError::NotOpenApi(
                    "Swagger 2.0 documents are not supported: convert to OpenAPI 3 first".into(),
                ));
            }
            None => return Err(ParseError::NotOpenApi("no `openapi` version field".into())),
        };
        Ok(Document { root, version })
    }

    /// The value at a JSON pointer (`/components/schemas/Pet`), if any.
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(&self.root);
        }
        self.root.pointer(pointer)
    }

    /// Follows `value`'s `$ref` (and refs to refs) to the value it names, with that value's JSON
    /// pointer. A value without `$ref` is returned as it is with `pointer`.
    pub fn resolve<'a>(
        &'a self,
        value: &'a Value,
        pointer: &str,
    ) -> Result<(&'a Value, String), String> {
        let mut current = value;
        let mut at = pointer.to_owned();
        for _ in 0..MAX_REF_CHAIN {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                return Ok((current, at));
            };
            let target = ref_pointer(reference)?;
            current = self
                .at(&target)
                .ok_or_else(|| format!("`$ref: {reference}` points at nothing in this document"))?;
            at = target;
        }
        Err(format!(
            "a chain of more than {MAX_REF_CHAIN} `$ref`s (a reference loop?)"
        ))
    }

    /// `info.title`.
    pub fn title(&self) -> &str {
        self.root
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("API")
    }
}

/// The JSON pointer a local `$ref` names (`#/components/schemas/Pet` → `/components/schemas/Pet`).
pub fn ref_pointer(reference: &str) -> Result<String, String> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(format!(
            "`$ref: {reference}` points into another document; only references inside this one (`#/...`) are supported"
        ));
    };
    // A fragment is URI-encoded (`#/paths/~1pets%7Bid%7D`); the pointer escapes (`~0`, `~1`) stay.
    let decoded = percent_decode(fragment);
    if !decoded.is_empty() && !decoded.starts_with('/') {
        return Err(format!(
            "`$ref: {reference}` is not a JSON pointer (anchors are not supported)"
        ));
    }
    Ok(decoded)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Escapes one key for use in a JSON pointer (`a/b` → `a~1b`).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The last token of a JSON pointer, unescaped (`/components/schemas/Pet` → `Pet`).
pub fn last_token(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace("~1", "/")
        .replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_versions_and_refuses_others() {
        let v30 = Document::parse("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n");
        assert_eq!(v30.map(|d| d.version).ok(), Some(OpenApiVersion::V30));
        let v31 =
            Document::parse(r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}}"#);
        assert_eq!(v31.map(|d| d.version).ok(), Some(OpenApiVersion::V31));
        let swagger = Document::parse("swagger: '2.0'\n")
            .err()
            .map(|e| e.to_string());
        assert!(swagger.is_some_and(|e| e.contains("Swagger 2.0")));
        assert!(Document::parse("- a list\n").is_err());
        assert!(Document::parse("openapi: 4.0.0\n").is_err());
    }

    #[test]
    fn follows_refs_with_escapes_and_stops_loops() {
        let doc = Document::parse(
            r##"{"openapi":"3.1.0","paths":{"/a/{b}":{"x":1}},
                "components":{"schemas":{"A":{"$ref":"#/components/schemas/B"},"B":{"type":"string"},
                "L":{"$ref":"#/components/schemas/L"}}}}"##,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let a = doc.at("/components/schemas/A").cloned().unwrap_or_default();
        let (b, at) = doc
            .resolve(&a, "/components/schemas/A")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b["type"], "string");
        assert_eq!(at, "/components/schemas/B");
        let path_ref = serde_json::json!({"$ref": "#/paths/~1a~1%7Bb%7D"});
        let (p, _) = doc.resolve(&path_ref, "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p["x"], 1);
        let l = doc.at("/components/schemas/L").cloned().unwrap_or_default();
        assert!(doc.resolve(&l, "").is_err());
        let external = serde_json::json!({"$ref": "other.yaml#/A"});
        assert!(doc.resolve(&external, "").is_err());
    }
}
