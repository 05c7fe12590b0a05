//! Every `example` of every component schema decodes into its generated type and encodes back
//! to the same JSON (up to `null`s of absent optional fields and number spelling).
//!
//! It runs against the spec the SDK was generated from: the bundled contract, or the one named by
//! `MARKETING_API_OPENAPI` when the SDK was built from another spec (the generator's fixture
//! tests build and run it that way for each fixture).

use marketing_api::models::{__MODEL_NAMES, __roundtrip_example};
use serde_json::Value;

fn spec_text() -> String {
    let path = option_env!("MARKETING_API_OPENAPI")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spec() -> Value {
    marketing_api_openapi::Document::parse(&spec_text())
        .unwrap_or_else(|e| panic!("spec: {e}"))
        .root
}

/// JSON as a value: object members that are `null` dropped (an absent optional field encodes
/// as nothing), numbers compared as numbers (`1` and `1.0` alike).
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), canonical(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| value.clone(), Value::Number),
        other => other.clone(),
    }
}

#[test]
fn every_component_example_roundtrips_through_its_generated_type() {
    let spec = spec();
    let schemas = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, schema) in &schemas {
        let example = schema
            .get("example")
            .or_else(|| schema.get("examples").and_then(|e| e.get(0)));
        let Some(example) = example else { continue };
        assert!(
            __MODEL_NAMES.contains(&name.as_str()),
            "component schema `{name}` has no generated type"
        );
        match __roundtrip_example(name, example.clone()) {
            None => failures.push(format!("{name}: no generated type")),
            Some(Err(error)) => failures.push(format!("{name}: the example does not decode: {error}")),
            Some(Ok(encoded)) if canonical(&encoded) != canonical(example) => failures.push(format!(
                "{name}: the example changed on the way through its type\n    example: {example}\n    encoded: {encoded}"
            )),
            Some(Ok(_)) => checked += 1,
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked > 0
            || schemas
                .values()
                .all(|s| s.get("example").is_none() && s.get("examples").is_none())
    );
    println!("{checked} component examples round-trip");
}
