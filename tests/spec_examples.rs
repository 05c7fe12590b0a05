//! Every `example` of every component schema in the spec decodes into its generated type and
//! encodes back to JSON the spec's schema accepts.
//!
//! The schema → type dispatch is generated from the spec (`models::__roundtrip_example`), so a
//! schema added to `openapi.yaml` takes part here with no edit.

use marketing_api::models::{__MODEL_NAMES, __roundtrip_example};
use marketing_api::testing::Contract;

#[test]
fn every_schema_example_roundtrips_through_its_type() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (schema, example) in contract.schema_examples() {
        // The example itself must satisfy its schema, or the rest proves nothing.
        if let Err(violation) = contract.validate_schema(schema, example) {
            failures.push(format!("the example itself is invalid: {violation}"));
            continue;
        }
        let encoded = match __roundtrip_example(schema, example.clone()) {
            None => {
                failures.push(format!("{schema}: no generated model type has this name"));
                continue;
            }
            Some(Err(error)) => {
                failures.push(format!("{schema}: the example does not decode: {error}"));
                continue;
            }
            Some(Ok(encoded)) => encoded,
        };
        if let Err(violation) = contract.validate_schema(schema, &encoded) {
            failures.push(format!(
                "{schema}: re-encoded example is rejected: {violation}\n    encoded: {encoded}"
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("spec examples: {checked} examples round-trip");
}

#[test]
fn every_component_schema_has_an_example_and_a_type() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let with_example: Vec<&str> = contract
        .schema_examples()
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let missing_example: Vec<&str> = contract
        .schema_names()
        .filter(|name| !with_example.contains(name))
        .collect();
    assert!(
        missing_example.is_empty(),
        "component schemas without an example: {missing_example:?}"
    );
    let missing_type: Vec<&str> = contract
        .schema_names()
        .filter(|name| !__MODEL_NAMES.contains(name))
        .collect();
    assert!(
        missing_type.is_empty(),
        "component schemas without a generated type: {missing_type:?}"
    );
}

#[test]
fn a_reencoded_example_that_loses_a_field_is_reported_by_name() {
    let contract = Contract::bundled().expect("the bundled spec compiles");
    let (_, example) = contract
        .schema_examples()
        .iter()
        .find(|(name, _)| name == "Campaign")
        .expect("Campaign has an example");
    let mut broken = example.clone();
    broken
        .as_object_mut()
        .expect("an object")
        .remove("currency");
    let violation = contract
        .validate_schema("Campaign", &broken)
        .expect_err("currency is required");
    assert!(violation.names_field("currency"), "{violation}");
    assert!(
        violation.to_string().starts_with("Campaign: schema"),
        "{violation}"
    );
}
