//! The spec text as a JSON tree, with the OpenAPI version it declares and the means to follow
//! `$ref`s inside it.
//!
//! The tree is kept as [`serde_json::Value`] rather than typed structs on purpose: real specs
//! carry vendor extensions, documentation-only keys and the odd malformed corner, and a typed
//! parse would refuse the whole document for one bad schema. Each reader takes what it needs:
//! the generator skips what it cannot use with a warning naming the JSON pointer, the sandbox and
//! the contract tester compile the schemas as JSON Schema. References are followed on demand
//! ([`Document::resolve`]); [`Document::parse_checked`] follows them all up front.

use crate::pointer::escape_token;
use crate::yaml;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which OpenAPI dialect the document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiVersion {
    /// 3.0.x: `nullable`, boolean `exclusiveMinimum`, `example`.
    V30,
    /// 3.1.x: JSON Schema 2020-12, `type: [T, "null"]`, `webhooks`.
    V31,
}

/// Why a spec could not be read at all (as opposed to parts of it being skipped with a warning).
///
/// Each variant says where: the file when the caller named one ([`ParseError::in_file`]), the
/// line and column when the text tells, the JSON pointer for a reference.
#[derive(Debug)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is neither valid YAML nor valid JSON.
    Syntax {
        /// The file the text came from, if named.
        file: Option<PathBuf>,
        /// What is wrong.
        message: String,
        /// The line, from 1, when known.
        line: Option<usize>,
        /// The column, from 1, when known.
        column: Option<usize>,
    },
    /// The root is not an OpenAPI 3.0/3.1 document.
    NotOpenApi {
        /// The file the text came from, if named.
        file: Option<PathBuf>,
        /// Why not.
        reason: String,
    },
    /// A `$ref` that does not resolve ([`Document::parse_checked`] only).
    Ref {
        /// The file the text came from, if named.
        file: Option<PathBuf>,
        /// The reference, with the pointer of the object that holds it.
        error: RefError,
        /// The line of that object, from 1, when found.
        line: Option<usize>,
        /// Its column, from 1.
        column: Option<usize>,
    },
    /// The file could not be read ([`Document::read`]).
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl ParseError {
    /// The same error, naming `file` as the place of the text.
    #[must_use]
    pub fn in_file(mut self, path: impl AsRef<Path>) -> Self {
        let named = Some(path.as_ref().to_path_buf());
        match &mut self {
            Self::Syntax { file, .. } | Self::NotOpenApi { file, .. } | Self::Ref { file, .. } => {
                *file = named;
            }
            Self::Io { .. } => {}
        }
        self
    }

    /// The file named with [`in_file`](Self::in_file) or [`Document::read`], if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::Syntax { file, .. } | Self::NotOpenApi { file, .. } | Self::Ref { file, .. } => {
                file.as_deref()
            }
            Self::Io { file, .. } => Some(file),
        }
    }

    /// The line the error was found on, from 1, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. } | Self::Ref { line, .. } => *line,
            Self::NotOpenApi { .. } | Self::Io { .. } => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = self.file() {
            write!(f, "{}: ", file.display())?;
        }
        let position = |f: &mut fmt::Formatter<'_>,
                        line: &Option<usize>,
                        column: &Option<usize>| match (line, column) {
            (Some(line), Some(column)) => write!(f, " at line {line} column {column}"),
            (Some(line), None) => write!(f, " at line {line}"),
            _ => Ok(()),
        };
        match self {
            Self::Syntax {
                message,
                line,
                column,
                ..
            } => {
                write!(f, "openapi spec does not parse: {message}")?;
                position(f, line, column)
            }
            Self::NotOpenApi { reason, .. } => {
                write!(f, "not an OpenAPI 3.0 or 3.1 document: {reason}")
            }
            Self::Ref {
                error,
                line,
                column,
                ..
            } => {
                write!(f, "`{}`", error.at)?;
                position(f, line, column)?;
                write!(f, ": {error}")
            }
            Self::Io { source, .. } => write!(f, "cannot read the spec: {source}"),
        }
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Ref { error, .. } => Some(error),
            Self::Io { source, .. } => Some(source),
            Self::Syntax { .. } | Self::NotOpenApi { .. } => None,
        }
    }
}

/// A `$ref` that cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    /// The reference as written (`#/components/schemas/Pet`).
    pub reference: String,
    /// The JSON pointer of the object holding it, as far as the caller told
    /// ([`Document::resolve`] sets the pointer it was given, or the last link of a chain).
    pub at: String,
    /// What is wrong with it.
    pub kind: RefErrorKind,
}

/// What is wrong with a `$ref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefErrorKind {
    /// It names another document (`other.yaml#/Pet`); only references inside this one are read.
    External,
    /// Its fragment is not a JSON pointer (`#Pet`, an anchor).
    NotAPointer,
    /// Nothing in the document is at the pointer.
    Dangling,
    /// More than [`MAX_REF_CHAIN`] references to references: a loop, as far as anyone can tell.
    Loop,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reference = &self.reference;
        match self.kind {
            RefErrorKind::External => write!(
                f,
                "`$ref: {reference}` points into another document; only references inside this one (`#/...`) are supported"
            ),
            RefErrorKind::NotAPointer => write!(
                f,
                "`$ref: {reference}` is not a JSON pointer (anchors are not supported)"
            ),
            RefErrorKind::Dangling => {
                write!(f, "`$ref: {reference}` points at nothing in this document")
            }
            RefErrorKind::Loop => write!(
                f,
                "a chain of more than {MAX_REF_CHAIN} `$ref`s (a reference loop?)"
            ),
        }
    }
}

impl std::error::Error for RefError {}

/// A parsed spec: the tree and its version.
#[derive(Debug)]
pub struct Document {
    /// The whole document.
    pub root: Value,
    /// The declared version.
    pub version: OpenApiVersion,
}

/// How deep a chain of `$ref`s to `$ref`s may go before it is taken for a loop.
pub const MAX_REF_CHAIN: usize = 32;

/// Keys whose values are data, not OpenAPI objects: a `$ref` inside them is text like any other.
/// (`examples` is data in a schema, where it is a list, and Example Objects elsewhere.)
const DATA_KEYS: [&str; 4] = ["example", "default", "const", "enum"];

impl Document {
    /// Parses the text of a spec, YAML or JSON. References are followed on demand
    /// ([`resolve`](Self::resolve)), so one bad `$ref` does not refuse the document; see
    /// [`parse_checked`](Self::parse_checked) for a reader that refuses it.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        // JSON is valid YAML, but the JSON parser is much faster on the multi-megabyte specs
        // real APIs publish.
        let root: Value = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| {
                // The position is kept apart; serde_json's text repeats it at the end.
                let full = e.to_string();
                let suffix = format!(" at line {} column {}", e.line(), e.column());
                ParseError::Syntax {
                    file: None,
                    message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
                    // Lines counted from `trimmed`; the blank lines cut before it are added back.
                    line: Some(e.line() + text_lines_before(text, trimmed)),
                    column: Some(e.column()),
                }
            })?
        } else {
            yaml::from_str(trimmed).map_err(|e| ParseError::Syntax {
                file: None,
                message: e.message,
                line: e.line.map(|l| l + text_lines_before(text, trimmed)),
                column: e.column,
            })?
        };
        let not_openapi = |reason: String| ParseError::NotOpenApi { file: None, reason };
        let Some(object) = root.as_object() else {
            return Err(not_openapi("the document root is not a mapping".into()));
        };
        let version = match object.get("openapi") {
            Some(Value::String(v)) if v.starts_with("3.0") => OpenApiVersion::V30,
            Some(Value::String(v)) if v.starts_with("3.1") => OpenApiVersion::V31,
            Some(other) => {
                return Err(not_openapi(format!(
                    "`openapi: {other}` is not a supported version (expected 3.0.x or 3.1.x)"
                )));
            }
            None if object.contains_key("swagger") => {
                return Err(not_openapi(
                    "Swagger 2.0 documents are not supported: convert to OpenAPI 3 first".into(),
                ));
            }
            None => return Err(not_openapi("no `openapi` version field".into())),
        };
        Ok(Document { root, version })
    }

    /// Parses the text of a spec like [`parse`](Self::parse), then follows every `$ref` in it
    /// (outside example and default values): the first that does not resolve is a
    /// [`ParseError::Ref`] with its pointer and line. For tools that compile the whole spec up
    /// front and would otherwise stumble on the reference later, far from its place.
    ///
    /// ```
    /// use marketing_api_openapi::{Document, ParseError, RefErrorKind};
    ///
    /// let text = "openapi: 3.1.0\ncomponents:\n  schemas:\n    A:\n      $ref: '#/components/schemas/B'\n";
    /// assert!(Document::parse(text).is_ok());
    /// match Document::parse_checked(text) {
    ///     Err(ParseError::Ref { error, line, .. }) => {
    ///         assert_eq!(error.at, "/components/schemas/A");
    ///         assert_eq!(error.kind, RefErrorKind::Dangling);
    ///         assert_eq!(line, Some(5));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn parse_checked(text: &str) -> Result<Document, ParseError> {
        let document = Self::parse(text)?;
        match document.check_refs() {
            Ok(()) => Ok(document),
            Err(error) => {
                let position = yaml::line_of(text, &error.at);
                Err(ParseError::Ref {
                    file: None,
                    line: position.map(|(line, _)| line),
                    column: position.map(|(_, column)| column),
                    error,
                })
            }
        }
    }

    /// Reads and parses the spec in `path` like [`parse_checked`](Self::parse_checked); every
    /// error names the file.
    pub fn read(path: impl AsRef<Path>) -> Result<Document, ParseError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ParseError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse_checked(&text).map_err(|e| e.in_file(path))
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
    ) -> Result<(&'a Value, String), RefError> {
        let mut current = value;
        let mut at = pointer.to_owned();
        for _ in 0..MAX_REF_CHAIN {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                return Ok((current, at));
            };
            let target = ref_pointer(reference).map_err(|e| RefError {
                at: at.clone(),
                ..e
            })?;
            current = self.at(&target).ok_or_else(|| RefError {
                reference: reference.to_owned(),
                at: at.clone(),
                kind: RefErrorKind::Dangling,
            })?;
            at = target;
        }
        Err(RefError {
            reference: current
                .get("$ref")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            at,
            kind: RefErrorKind::Loop,
        })
    }

    /// `value` with its `$ref`s followed, or `value` itself when they do not resolve: for readers
    /// that skip what they cannot use (and checked the references up front, or do not need to).
    pub fn follow<'a>(&'a self, value: &'a Value) -> &'a Value {
        self.resolve(value, "").map_or(value, |(found, _)| found)
    }

    /// Follows every `$ref` of the document (outside example, default, `const` and `enum`
    /// values and `x-` extensions, which are data); the first that does not resolve is the error.
    pub fn check_refs(&self) -> Result<(), RefError> {
        let mut stack: Vec<(&Value, String)> = vec![(&self.root, String::new())];
        while let Some((value, pointer)) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if map.get("$ref").is_some_and(Value::is_string) {
                        self.resolve(value, &pointer)?;
                    }
                    // In reverse, so the stack yields them in document order.
                    for (key, item) in map.iter().rev() {
                        let data = DATA_KEYS.contains(&key.as_str())
                            || key.starts_with("x-")
                            || (key == "examples" && item.is_array());
                        if !data && (item.is_object() || item.is_array()) {
                            stack.push((item, format!("{pointer}/{}", escape_token(key))));
                        }
                    }
                }
                Value::Array(items) => {
                    for (index, item) in items.iter().enumerate().rev() {
                        stack.push((item, format!("{pointer}/{index}")));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `info.title`.
    pub fn title(&self) -> &str {
        self.root
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("API")
    }
}

/// How many lines of `text` come before `rest`, a suffix of it.
fn text_lines_before(text: &str, rest: &str) -> usize {
    text[..text.len() - rest.len()].matches('\n').count()
}

/// The JSON pointer a local `$ref` names (`#/components/schemas/Pet` → `/components/schemas/Pet`).
/// The error's [`at`](RefError::at) is empty: the reference alone does not say where it stands.
pub fn ref_pointer(reference: &str) -> Result<String, RefError> {
    let error = |kind| RefError {
        reference: reference.to_owned(),
        at: String::new(),
        kind,
    };
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(error(RefErrorKind::External));
    };
    // A fragment is URI-encoded (`#/paths/~1pets%7Bid%7D`); the pointer escapes (`~0`, `~1`) stay.
    let decoded = percent_decode(fragment);
    if !decoded.is_empty() && !decoded.starts_with('/') {
        return Err(error(RefErrorKind::NotAPointer));
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
    fn syntax_errors_say_where_in_yaml_and_json() {
        let yaml = Document::parse("\n\nopenapi: 3.1.0\npaths: {a: 1\n").unwrap_err();
        assert!(matches!(yaml, ParseError::Syntax { .. }), "{yaml:?}");
        assert!(yaml.line().is_some_and(|l| l >= 4), "{yaml}");
        let json = Document::parse("\n{\"openapi\": \"3.1.0\",\n \"paths\": }").unwrap_err();
        match &json {
            ParseError::Syntax { line, message, .. } => {
                assert_eq!(*line, Some(3), "{json}");
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let named = json.in_file("spec.json").to_string();
        assert!(
            named.starts_with("spec.json: openapi spec does not parse: "),
            "{named}"
        );
        assert!(named.ends_with(" at line 3 column 11"), "{named}");
    }

    #[test]
    fn checked_documents_name_the_bad_reference() {
        let text = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: 'other.yaml#/R'}\n";
        let error = Document::parse_checked(text).unwrap_err();
        match &error {
            ParseError::Ref {
                error,
                line,
                column,
                ..
            } => {
                assert_eq!(error.kind, RefErrorKind::External);
                assert_eq!(error.at, "/paths/~1a/get/responses/200");
                assert_eq!((*line, *column), (Some(6), Some(16)));
            }
            other => panic!("{other:?}"),
        }
        assert!(error.to_string().starts_with("`/paths/~1a/get/responses/200` at line 6 column 16: `$ref: other.yaml#/R` points into another document"), "{error}");
        // References inside data are not references.
        let data = "openapi: 3.1.0\ncomponents:\n  schemas:\n    A:\n      example: {$ref: nowhere}\n      default: {$ref: nowhere}\n      x-note: {$ref: nowhere}\n      examples: [{$ref: nowhere}]\n";
        assert!(Document::parse_checked(data).is_ok());
        let looped =
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    L: {$ref: '#/components/schemas/L'}\n";
        assert!(matches!(
            Document::parse_checked(looped),
            Err(ParseError::Ref {
                error: RefError {
                    kind: RefErrorKind::Loop,
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn files_are_named_in_errors() {
        let missing = Document::read("/nonexistent/openapi.yaml").unwrap_err();
        assert!(matches!(missing, ParseError::Io { .. }));
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/openapi.yaml: cannot read")
        );
        let bundled = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
        let doc = Document::read(bundled).unwrap();
        assert!(doc.operations().is_some_and(|ops| ops.len() > 30));
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
        let looped = doc.resolve(&l, "/components/schemas/L").unwrap_err();
        assert_eq!(looped.kind, RefErrorKind::Loop);
        assert_eq!(looped.at, "/components/schemas/L");
        let external = serde_json::json!({"$ref": "other.yaml#/A"});
        let error = doc.resolve(&external, "/x").unwrap_err();
        assert_eq!(
            (error.kind, error.at.as_str()),
            (RefErrorKind::External, "/x")
        );
        assert_eq!(
            error.to_string(),
            "`$ref: other.yaml#/A` points into another document; only references inside this one (`#/...`) are supported"
        );
        let anchor = serde_json::json!({"$ref": "#Pet"});
        assert_eq!(
            doc.resolve(&anchor, "").unwrap_err().kind,
            RefErrorKind::NotAPointer
        );
        let dangling = serde_json::json!({"$ref": "#/components/schemas/Nope"});
        assert_eq!(
            doc.resolve(&dangling, "").unwrap_err().kind,
            RefErrorKind::Dangling
        );
        assert_eq!(doc.follow(&dangling), &dangling);
        assert_eq!(doc.follow(&a)["type"], "string");
    }
}
