//! The spec's schemas as JSON Schema 2020-12 validators (format validation on), and what they
//! find in a value, located by pointer.
//!
//! Each validator is compiled from a document `{"$defs": <all component schemas>, ...the schema}`
//! with `#/components/schemas/...` references rewritten to `#/$defs/...`, so references resolve
//! without a registry.

use crate::Document;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use jsonschema::Validator;

/// What component references start with in the spec.
const COMPONENT_SCHEMAS: &str = "#/components/schemas/";

/// Rewrites every `#/components/schemas/X` reference in `value` to `#/$defs/X`, the place the
/// component schemas have in a compiled document.
pub fn rewrite_component_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if key == "$ref" {
                    if let Value::String(target) = item
                        && let Some(name) = target.strip_prefix(COMPONENT_SCHEMAS)
                    {
                        *target = format!("#/$defs/{name}");
                    }
                } else {
                    rewrite_component_refs(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_component_refs),
        _ => {}
    }
}

/// A schema the JSON Schema engine refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The engine's reason.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the schema does not compile: {}", self.message)
    }
}

impl std::error::Error for CompileError {}

/// Compiles schemas of one spec, each once: operations share most of theirs (error responses,
/// headers, parameters), and compiling is the slow part of loading a spec.
pub struct Compiler {
    defs: Value,
    cache: HashMap<String, Arc<Validator>>,
}

impl fmt::Debug for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiler")
            .field("compiled", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl Compiler {
    /// A compiler for the schemas of `doc`; `None` when it has no `components.schemas`.
    pub fn new(doc: &Document) -> Option<Self> {
        let mut defs = doc.root.pointer("/components/schemas")?.clone();
        rewrite_component_refs(&mut defs);
        Some(Self {
            defs,
            cache: HashMap::new(),
        })
    }

    /// The component schemas, references rewritten to `#/$defs/...`: what a schema rewritten
    /// with [`rewrite_component_refs`] refers to.
    pub fn defs(&self) -> &Value {
        &self.defs
    }

    /// A validator for `schema` as written in the spec (its references not yet rewritten).
    pub fn compile(&mut self, schema: &Value) -> Result<Arc<Validator>, CompileError> {
        let key = schema.to_string();
        if let Some(validator) = self.cache.get(&key) {
            return Ok(Arc::clone(validator));
        }
        let mut schema = schema.clone();
        rewrite_component_refs(&mut schema);
        let mut document = match schema {
            Value::Object(map) => map,
            // A boolean schema; wrap it so `$defs` has a home.
            other => Map::from_iter([("allOf".to_owned(), Value::Array(vec![other]))]),
        };
        // Only schemas that refer to components need them (most parameters and headers do not).
        if key.contains(COMPONENT_SCHEMAS) {
            document.insert("$defs".into(), self.defs.clone());
        }
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&Value::Object(document))
            .map_err(|e| CompileError {
                message: e.to_string(),
            })?;
        let validator = Arc::new(validator);
        self.cache.insert(key, Arc::clone(&validator));
        Ok(validator)
    }
}

/// One thing a validator found wrong with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The JSON pointer of the value at fault inside the instance (`/events/3`).
    pub pointer: String,
    /// The validator's own description.
    pub message: String,
    /// Which kind of fault, for the ones that name a field.
    pub kind: FindingKind,
}

/// The kinds of [`Finding`] that readers report in their own words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// A required property is missing: its name.
    Required(String),
    /// Properties the schema does not allow (`additionalProperties: false`): their names.
    Unknown(Vec<String>),
    /// Anything else: the message says it.
    Other,
}

impl Finding {
    /// How deep in the instance it is (the number of pointer tokens): the deepest findings
    /// name the field, the `anyOf`/`oneOf` failures around them only repeat it.
    pub fn depth(&self) -> usize {
        self.pointer.matches('/').count()
    }

    /// The place in field notation after `prefix` (see [`crate::pointer::to_field`]).
    pub fn field(&self, prefix: &str) -> String {
        crate::pointer::to_field(prefix, &self.pointer)
    }
}

/// Everything `validator` finds wrong with `instance`, in the validator's order.
pub fn findings(validator: &Validator, instance: &Value) -> Vec<Finding> {
    validator
        .iter_errors(instance)
        .map(|error| Finding {
            pointer: error.instance_path().as_str().to_owned(),
            message: error.to_string(),
            kind: match error.kind() {
                ValidationErrorKind::Required { property } => {
                    FindingKind::Required(property.as_str().unwrap_or_default().to_owned())
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    FindingKind::Unknown(unexpected.clone())
                }
                _ => FindingKind::Other,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: &str = r##"
openapi: 3.1.0
components:
  schemas:
    Thing:
      type: object
      required: [name]
      additionalProperties: false
      properties:
        name: {type: string}
        parts: {type: array, items: {$ref: '#/components/schemas/Part'}}
    Part: {type: object, required: [id], properties: {id: {type: integer}}}
"##;

    #[test]
    fn compiles_component_references_once_and_locates_findings() {
        let doc = Document::parse_checked(SPEC).unwrap();
        let mut compiler = Compiler::new(&doc).unwrap();
        assert_eq!(
            compiler.defs()["Thing"]["properties"]["parts"]["items"]["$ref"],
            "#/$defs/Part"
        );
        let reference = json!({"$ref": "#/components/schemas/Thing"});
        let thing = compiler.compile(&reference).unwrap();
        assert!(Arc::ptr_eq(&thing, &compiler.compile(&reference).unwrap()));
        assert!(findings(&thing, &json!({"name": "a", "parts": [{"id": 1}]})).is_empty());

        let found = findings(&thing, &json!({"extra": 1, "parts": [{"id": "x"}, {}]}));
        let described: Vec<_> = found
            .iter()
            .map(|f| (f.field("thing"), f.kind.clone(), f.depth()))
            .collect();
        assert!(described.contains(&("thing".into(), FindingKind::Required("name".into()), 0)));
        assert!(described.contains(&(
            "thing".into(),
            FindingKind::Unknown(vec!["extra".into()]),
            0
        )));
        assert!(described.contains(&("thing.parts[0].id".into(), FindingKind::Other, 3)));
        assert!(described.contains(&(
            "thing.parts[1]".into(),
            FindingKind::Required("id".into()),
            2
        )));

        // A boolean schema compiles too, and a bad one is an error, not a panic.
        assert!(compiler.compile(&Value::Bool(true)).is_ok());
        let error = compiler.compile(&json!({"type": 12})).unwrap_err();
        assert!(error.to_string().starts_with("the schema does not compile"));
        assert!(Compiler::new(&Document::parse("openapi: 3.1.0\n").unwrap()).is_none());
    }
}
