//! YAML text to a JSON tree, on the event parser alone.
//!
//! The generator only ever wants a spec as a [`serde_json::Value`], so it reads the YAML parser's
//! events into one directly: a serde-based YAML deserializer on top (and the error-report and
//! text-encoding crates it brings) would be compiled into every user's clean build for nothing.
//!
//! Scalars resolve as the YAML 1.2 core schema says: plain `null`/`~`/empty, `true`/`false`,
//! integers (decimal, `0x`, `0o`) and floats become JSON values; quoted and block scalars, and
//! anything tagged `!!str`, stay strings. Mapping keys are kept as written (`200:` is the key
//! `"200"`), in document order (with the `preserve_order` feature, which turns on serde_json's;
//! otherwise a map keeps its keys sorted); a repeated key is an error, as JSON Schema tools read it
//! differently. Anchors and aliases are expanded; `<<` merge keys are merged (keys already present
//! win). Infinities and NaN, which JSON cannot hold, stay strings.

use granit_parser::{Event, Parser, ScalarStyle, ScanError};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a YAML text could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// The line it was found on, from 1; `None` for a document with no content at all.
    pub line: Option<usize>,
    /// The column, from 1.
    pub column: Option<usize>,
}

impl YamlError {
    fn at(message: String, marker: &granit_parser::Marker) -> Self {
        Self {
            message,
            line: Some(marker.line()),
            column: Some(marker.col() + 1),
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " at line {line} column {column}"),
            (Some(line), None) => write!(f, " at line {line}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for YamlError {}

/// Parses the first YAML document of `text` into a JSON tree.
///
/// ```
/// let value = marketing_api_openapi::yaml::from_str("a: [1, '2', ~]\n'200': {x: 1.5}\n").unwrap();
/// assert_eq!(value, serde_json::json!({"a": [1, "2", null], "200": {"x": 1.5}}));
/// let error = marketing_api_openapi::yaml::from_str("a: 1\na: 2\n").unwrap_err();
/// assert_eq!((error.line, error.message.as_str()), (Some(2), "duplicate key `a`"));
/// ```
pub fn from_str(text: &str) -> Result<Value, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Value)> = Vec::new();
    let mut root: Option<Value> = None;
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e: ScanError| YamlError::at(e.info(), e.marker()))?;
        let at = |what: &str| YamlError::at(what.to_owned(), &span.start);
        let (value, anchor) = match event {
            Event::StreamStart | Event::DocumentStart(..) | Event::Anchor(..) => continue,
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::UnresolvedAlias(name) => {
                return Err(at(&format!("alias `*{name}` is not defined")));
            }
            Event::Alias(id) => {
                let value = anchors
                    .iter()
                    .rev()
                    .find(|(anchor, _)| *anchor == id)
                    .map(|(_, value)| value.clone())
                    .ok_or_else(|| at("an alias to an unknown anchor"))?;
                (value, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let is_str = tag.as_ref().and_then(|t| t.core_suffix()) == Some("str");
                let value = if style == ScalarStyle::Plain && !is_str {
                    plain_scalar(&text)
                } else {
                    Value::String(text.to_string())
                };
                // A key keeps its text as written, whatever type it would resolve to.
                if let Some(Frame::Mapping {
                    key: key @ None, ..
                }) = stack.last_mut()
                {
                    *key = Some(text.into_owned());
                    if anchor != 0 {
                        anchors.push((anchor, value));
                    }
                    continue;
                }
                (value, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Sequence {
                    items: Vec::new(),
                    anchor,
                });
                continue;
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Mapping {
                    map: Map::new(),
                    key: None,
                    anchor,
                    merges: Vec::new(),
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Sequence { items, anchor }) => (Value::Array(items), anchor),
                _ => return Err(at("unbalanced sequence end")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Mapping {
                    mut map,
                    anchor,
                    merges,
                    ..
                }) => {
                    for merged in merges {
                        for (key, value) in merged {
                            map.entry(key).or_insert(value);
                        }
                    }
                    (Value::Object(map), anchor)
                }
                _ => return Err(at("unbalanced mapping end")),
            },
            // Comments, when another crate in the build turns on the parser's `comments`.
            #[allow(unreachable_patterns)]
            _ => continue,
        };
        if anchor != 0 {
            anchors.push((anchor, value.clone()));
        }
        match stack.last_mut() {
            None => {
                root = Some(value);
            }
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { key: None, .. }) => {
                return Err(at(&format!(
                    "a mapping key must be a scalar, not {}",
                    kind(&value)
                )));
            }
            Some(Frame::Mapping {
                map,
                key: key @ Some(_),
                merges,
                ..
            }) => {
                let name = key.take().unwrap_or_default();
                if name == "<<" {
                    match value {
                        Value::Object(fields) => merges.push(fields),
                        Value::Array(list) if list.iter().all(Value::is_object) => {
                            merges.extend(list.into_iter().filter_map(|v| match v {
                                Value::Object(fields) => Some(fields),
                                _ => None,
                            }))
                        }
                        other => {
                            return Err(at(&format!(
                                "a `<<` merge key takes a mapping, not {}",
                                kind(&other)
                            )));
                        }
                    }
                } else if map.insert(name.clone(), value).is_some() {
                    return Err(at(&format!("duplicate key `{name}`")));
                }
            }
        }
    }
    root.ok_or_else(|| YamlError {
        message: "the document is empty".to_owned(),
        line: None,
        column: None,
    })
}

/// Where the node at a JSON pointer (`/paths/~1pets/get`) starts in a YAML (or JSON) text: its
/// line and column, from 1. `None` when the text has no such node, or stops parsing before it.
///
/// The tree [`from_str`] builds keeps no positions (a spec is read far more often than an error is
/// reported), so an error that knows only a pointer finds its line by reading the text again.
/// Keys taken in through a `<<` merge or an alias have no place of their own and are not found.
///
/// ```
/// let text = "paths:\n  /pets:\n    get:\n      responses: {}\n";
/// assert_eq!(marketing_api_openapi::yaml::line_of(text, "/paths/~1pets/get"), Some((4, 7)));
/// ```
pub fn line_of(text: &str, pointer: &str) -> Option<(usize, usize)> {
    let target: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(crate::pointer::unescape_token)
        .collect();
    // The place of the node being read in each open collection: a key or an item index.
    let mut path: Vec<Place> = Vec::new();
    let at_target = |path: &[Place]| {
        path.len() == target.len()
            && path.iter().zip(&target).all(|(place, token)| match place {
                Place::Key(Some(key)) => key == token,
                Place::Key(None) => false,
                Place::Item(index) => index.to_string() == *token,
            })
    };
    for next in Parser::new_from_str(text) {
        let (event, span) = next.ok()?;
        let start = (span.start.line(), span.start.col() + 1);
        match event {
            Event::Scalar(text, ..) => {
                if let Some(Place::Key(key @ None)) = path.last_mut() {
                    *key = Some(text.into_owned());
                    continue;
                }
                if at_target(&path) {
                    return Some(start);
                }
                next_place(&mut path);
            }
            Event::Alias(_) => {
                if at_target(&path) {
                    return Some(start);
                }
                next_place(&mut path);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if matches!(path.last(), Some(Place::Key(None))) {
                    // A collection as a mapping key: nothing a pointer can name.
                    return None;
                }
                if at_target(&path) {
                    return Some(start);
                }
                path.push(if matches!(event, Event::SequenceStart(..)) {
                    Place::Item(0)
                } else {
                    Place::Key(None)
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                path.pop();
                next_place(&mut path);
            }
            Event::StreamEnd | Event::DocumentEnd => return None,
            _ => {}
        }
    }
    None
}

/// Where [`line_of`] is inside one collection.
enum Place {
    /// In a mapping: the key whose value comes next, once read.
    Key(Option<String>),
    /// In a sequence: the index of the next item.
    Item(usize),
}

/// Moves past the value just read in the innermost collection.
fn next_place(path: &mut [Place]) {
    match path.last_mut() {
        Some(Place::Key(key)) => *key = None,
        Some(Place::Item(index)) => *index += 1,
        None => {}
    }
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
    },
    Mapping {
        map: Map<String, Value>,
        /// The key whose value comes next, once read.
        key: Option<String>,
        anchor: usize,
        /// `<<` merge sources, applied when the mapping ends.
        merges: Vec<Map<String, Value>>,
    },
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
        _ => "a scalar",
    }
}

/// A plain scalar as the YAML 1.2 core schema resolves it.
fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.trim_start_matches('+').parse::<i64>() {
            return Value::Number(n.into());
        }
        if !negative && let Ok(n) = digits.parse::<u64>() {
            return Value::Number(n.into());
        }
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8)] {
        if let Some(rest) = text.strip_prefix(prefix)
            && let Ok(n) = i64::from_str_radix(rest, radix)
        {
            return Value::Number(n.into());
        }
    }
    if is_core_float(text)
        && let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match fraction {
        Some(f) => digits(whole) && digits(f) && !(whole.is_empty() && f.is_empty()),
        None => !whole.is_empty() && digits(whole),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_of_finds_nodes_by_pointer_in_block_flow_and_json() {
        let text = "a:\n  b:\n    - x\n    - {c: 1, 'd/e': [true, {f: g}]}\n  h: ~\ni: [1, 2]\n";
        assert_eq!(line_of(text, ""), Some((1, 1)));
        assert_eq!(line_of(text, "/a/b"), Some((3, 5)));
        assert_eq!(line_of(text, "/a/b/0"), Some((3, 7)));
        assert_eq!(line_of(text, "/a/b/1/c"), Some((4, 11)));
        assert_eq!(line_of(text, "/a/b/1/d~1e/1"), Some((4, 28)));
        assert_eq!(line_of(text, "/a/b/1/d~1e/1/f"), Some((4, 32)));
        assert_eq!(line_of(text, "/a/h"), Some((5, 6)));
        assert_eq!(line_of(text, "/i/1"), Some((6, 8)));
        for missing in ["/a/b/2", "/z", "/a/b/1/c/d", "/i/x"] {
            assert_eq!(line_of(text, missing), None, "{missing}");
        }
        let json = "{\n  \"paths\": {\n    \"/p\": {\"get\": {\"$ref\": \"#/nope\"}}\n  }\n}\n";
        assert_eq!(line_of(json, "/paths/~1p/get"), Some((3, 19)));
        assert_eq!(line_of("a: [1\nb: 2\n", "/b"), None);
    }

    #[test]
    fn scalars_resolve_as_the_core_schema_says() {
        let value = from_str(
            "a: ~\nb: null\nc:\nd: true\ne: False\nf: 12\ng: -3\nh: 0x1F\ni: 1.5e3\nj: .5\n\
             k: '12'\nl: \"true\"\nm: !!str 7\nn: 1.2.3\no: .inf\np: 18446744073709551615\n\
             q: 2026-01-01\nr: +4\n",
        )
        .unwrap();
        assert_eq!(
            value,
            json!({
                "a": null, "b": null, "c": null, "d": true, "e": false, "f": 12, "g": -3,
                "h": 31, "i": 1500.0, "j": 0.5, "k": "12", "l": "true", "m": "7", "n": "1.2.3",
                "o": ".inf", "p": 18446744073709551615u64, "q": "2026-01-01", "r": 4
            })
        );
    }

    // The order is serde_json's: document order with `preserve_order` only.
    #[cfg(feature = "preserve_order")]
    #[test]
    fn keys_keep_their_text_and_order() {
        let value = from_str("z: 1\n200: ok\n'404': no\ntrue: yes\na: 2\n").unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "200", "404", "true", "a"]);
    }

    #[test]
    fn blocks_flows_anchors_and_merges() {
        let text = "base: &b {x: 1, y: [a, b]}\nuse: *b\nmerged:\n  <<: *b\n  x: 2\n\
                    text: |\n  line one\n  line two\nfolded: >\n  one\n  two\n";
        assert_eq!(
            from_str(text).unwrap(),
            json!({
                "base": {"x": 1, "y": ["a", "b"]},
                "use": {"x": 1, "y": ["a", "b"]},
                "merged": {"x": 2, "y": ["a", "b"]},
                "text": "line one\nline two\n",
                "folded": "one two\n"
            })
        );
    }

    #[test]
    fn bad_documents_are_errors_not_panics() {
        for text in [
            "a: [1, 2",
            "a: 1\na: 2\n",
            "? [1]\n: x\n",
            "a: *nope\n",
            "",
            "a: b: c\n",
        ] {
            assert!(from_str(text).is_err(), "{text:?} parsed");
        }
        let error = from_str("a:\n  b: [1, 2\n").unwrap_err();
        assert!(error.line.is_some() && error.column.is_some(), "{error}");
        let error = from_str("").unwrap_err();
        assert_eq!(
            (error.line, error.to_string()),
            (None, "the document is empty".into())
        );
        assert_eq!(from_str("- 1\n- [2]\n").unwrap(), json!([1, [2]]));
    }
}
