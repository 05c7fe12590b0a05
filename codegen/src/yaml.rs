//! YAML text to a JSON tree, on the event parser alone.
//!
//! The generator only ever wants a spec as a [`serde_json::Value`], so it reads the YAML parser's
//! events into one directly: a serde-based YAML deserializer on top (and the error-report and
//! text-encoding crates it brings) would be compiled into every user's clean build for nothing.
//!
//! Scalars resolve as the YAML 1.2 core schema says: plain `null`/`~`/empty, `true`/`false`,
//! integers (decimal, `0x`, `0o`) and floats become JSON values; quoted and block scalars, and
//! anything tagged `!!str`, stay strings. Mapping keys are kept as written (`200:` is the key
//! `"200"`), in document order; a repeated key is an error, as JSON Schema tools read it
//! differently. Anchors and aliases are expanded; `<<` merge keys are merged (keys already present
//! win). Infinities and NaN, which JSON cannot hold, stay strings.

use granit_parser::{Event, Parser, ScalarStyle, ScanError};
use serde_json::{Map, Number, Value};

/// Parses the first YAML document of `text` into a JSON tree.
///
/// ```
/// let value = marketing_api_codegen::yaml::from_str("a: [1, '2', ~]\n'200': {x: 1.5}\n").unwrap();
/// assert_eq!(value, serde_json::json!({"a": [1, "2", null], "200": {"x": 1.5}}));
/// ```
pub fn from_str(text: &str) -> Result<Value, String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Value)> = Vec::new();
    let mut root: Option<Value> = None;
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e: ScanError| e.to_string())?;
        let at = |what: &str| {
            format!(
                "{what} at line {} column {}",
                span.start.line(),
                span.start.col() + 1
            )
        };
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
    root.ok_or_else(|| "the document is empty".to_owned())
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
        assert_eq!(from_str("- 1\n- [2]\n").unwrap(), json!([1, [2]]));
    }
}
