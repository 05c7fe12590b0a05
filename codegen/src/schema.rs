//! A lenient, version-normalized view of one JSON Schema object.
//!
//! OpenAPI 3.0 and 3.1 say the same things differently (`nullable: true` vs `type: [T, "null"]`,
//! `example` vs `examples`); this view answers in one form, so the model stage has a single set of
//! rules. Keys of the wrong JSON type read as absent: the model then falls back to a looser Rust
//! type and warns, instead of refusing the spec.

use serde_json::{Map, Value};

/// One schema object (or a boolean schema, which reads as an empty object).
#[derive(Debug, Clone, Copy)]
pub struct SchemaView<'a> {
    object: Option<&'a Map<String, Value>>,
}

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

impl<'a> SchemaView<'a> {
    /// Views a value; anything but an object views as the empty schema.
    pub fn new(value: &'a Value) -> Self {
        SchemaView {
            object: value.as_object(),
        }
    }

    fn map(&self) -> &'a Map<String, Value> {
        self.object.unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// A key's value.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map().get(key)
    }

    /// A string-valued key.
    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    /// `$ref`, if any.
    pub fn reference(&self) -> Option<&'a str> {
        self.str("$ref")
    }

    /// The JSON types named by `type`, without `"null"`.
    pub fn types(&self) -> Vec<&'a str> {
        match self.get("type") {
            Some(Value::String(t)) if t != "null" => vec![t.as_str()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the schema admits `null`: 3.1 `type` lists, 3.0 `nullable`, the common
    /// `x-nullable` extension, or a `null` among the `enum` values.
    pub fn nullable(&self) -> bool {
        let by_type = match self.get("type") {
            Some(Value::String(t)) => t == "null",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
            _ => false,
        };
        by_type
            || self.get("nullable") == Some(&Value::Bool(true))
            || self.get("x-nullable") == Some(&Value::Bool(true))
            || self
                .get("enum")
                .and_then(Value::as_array)
                .is_some_and(|values| values.iter().any(Value::is_null))
    }

    /// Whether the schema is only `null` (`type: "null"`, or `enum: [null]`).
    pub fn is_null_only(&self) -> bool {
        let type_null = match self.get("type") {
            Some(Value::String(t)) => t == "null",
            Some(Value::Array(ts)) => !ts.is_empty() && ts.iter().all(|t| t == "null"),
            _ => false,
        };
        let enum_null = self
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| !values.is_empty() && values.iter().all(Value::is_null));
        type_null || enum_null
    }

    /// `format`.
    pub fn format(&self) -> Option<&'a str> {
        self.str("format")
    }

    /// `title` and `description` as one documentation text.
    pub fn doc(&self) -> String {
        crate::model::doc_of(self.str("title"), self.str("description"))
    }

    /// `properties`, in spec order.
    pub fn properties(&self) -> Vec<(&'a str, &'a Value)> {
        self.get("properties")
            .and_then(Value::as_object)
            .map(|props| props.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    /// `required` names.
    pub fn required(&self) -> Vec<&'a str> {
        self.get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// A list-valued composition keyword (`oneOf`, `anyOf`, `allOf`).
    pub fn list(&self, key: &str) -> Option<&'a Vec<Value>> {
        self.get(key).and_then(Value::as_array)
    }

    /// `enum` values (without `null`).
    pub fn enum_values(&self) -> Option<Vec<&'a Value>> {
        self.get("enum")
            .and_then(Value::as_array)
            .map(|values| values.iter().filter(|v| !v.is_null()).collect())
    }

    /// The values of an *open* string enum — these, or any other string — in either spelling
    /// real specs use: `x-extensible-enum: [..]` on a string, or `anyOf`/`oneOf` of a string
    /// `enum` and a plain string. (Generated enums keep unknown values either way; this makes
    /// the second spelling an enum rather than a union of two strings.)
    pub fn open_enum_values(&self) -> Option<Vec<&'a Value>> {
        let all_strings =
            |values: &[&Value]| !values.is_empty() && values.iter().all(|v| v.is_string());
        if let Some(values) = self.get("x-extensible-enum").and_then(Value::as_array) {
            let values: Vec<&Value> = values.iter().collect();
            if all_strings(&values) && matches!(self.types().as_slice(), [] | ["string"]) {
                return Some(values);
            }
        }
        for key in ["anyOf", "oneOf"] {
            let Some([a, b]) = self.list(key).map(Vec::as_slice) else {
                continue;
            };
            let (a, b) = (SchemaView::new(a), SchemaView::new(b));
            let plain_string = |v: &SchemaView| {
                v.types() == ["string"]
                    && v.reference().is_none()
                    && ["enum", "const", "format"]
                        .iter()
                        .all(|k| v.get(k).is_none())
            };
            for (known, other) in [(&a, &b), (&b, &a)] {
                if let Some(values) = known.enum_values()
                    && all_strings(&values)
                    && matches!(known.types().as_slice(), [] | ["string"])
                    && plain_string(other)
                {
                    return Some(values);
                }
            }
        }
        None
    }

    /// A boolean flag (`readOnly`, `deprecated`, `x-pii`).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some(&Value::Bool(true))
    }

    /// A vendor extension that is on: `true`, or an object of its settings
    /// (`x-sensitive: {class: pii}`).
    pub fn extension_on(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::Bool(true) | Value::Object(_)))
    }

    /// The schema's example: `example`, or the first of `examples` (3.1).
    pub fn example(&self) -> Option<&'a Value> {
        self.get("example").or_else(|| {
            self.get("examples")
                .and_then(Value::as_array)
                .and_then(|list| list.first())
        })
    }

    /// Whether the schema has any keyword that gives it a shape (so it is not "any value").
    pub fn is_empty_schema(&self) -> bool {
        ![
            "type",
            "properties",
            "items",
            "enum",
            "const",
            "oneOf",
            "anyOf",
            "allOf",
            "$ref",
            "additionalProperties",
        ]
        .iter()
        .any(|k| self.map().contains_key(*k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_nullable_spellings_read_the_same() {
        let v30 = json!({"type": "string", "nullable": true});
        let v31 = json!({"type": ["string", "null"]});
        for schema in [&v30, &v31] {
            let view = SchemaView::new(schema);
            assert_eq!(view.types(), vec!["string"]);
            assert!(view.nullable());
            assert!(!view.is_null_only());
        }
        assert!(SchemaView::new(&json!({"type": "null"})).is_null_only());
        assert!(!SchemaView::new(&json!({"type": "string"})).nullable());
    }

    #[test]
    fn wrong_json_types_read_as_absent() {
        let odd = json!({"properties": [1, 2], "required": "name", "type": 7});
        let view = SchemaView::new(&odd);
        assert!(view.properties().is_empty());
        assert!(view.required().is_empty());
        assert!(view.types().is_empty());
        assert!(SchemaView::new(&json!(true)).is_empty_schema());
    }
}
