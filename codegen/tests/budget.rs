//! The compile-time budget: how much Rust the generator writes per operation and per schema.
//!
//! Every generated line is compiled on every clean build of every user, and the SDK's build time
//! grows with the spec. These ceilings make growth a decision: a change to the emitters that
//! writes more per operation fails here, and either the ceiling is raised on purpose (with the
//! README's "Build cost" section) or the code moves into the runtime.
//!
//! The figures count non-empty, non-comment lines of `api.rs` (resources and operation builders)
//! per generated operation, and of `models.rs` per generated type (a builder counts as part of
//! its type).

use marketing_api_codegen::generate;

/// Lines of `api.rs` per operation, at most.
const API_LINES_PER_OPERATION: f64 = 90.0;
/// Lines of `models.rs` per schema, at most. Raised from 55 in 0.2 for the typed builders of
/// required fields (about five lines per required field, see `emit::models::builder`).
const MODEL_LINES_PER_SCHEMA: f64 = 65.0;

fn code_lines(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

fn check(name: &str, spec: &str) {
    let generated = generate(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    let operations = generated.operations_generated;
    let schemas = generated.types_generated;
    let api = code_lines(&generated.api) as f64 / operations as f64;
    let models = code_lines(&generated.models) as f64 / schemas as f64;
    println!(
        "{name}: {operations} operations, {api:.1} api lines each; {schemas} schemas, \
         {models:.1} model lines each"
    );
    assert!(
        api <= API_LINES_PER_OPERATION,
        "{name}: {api:.1} generated lines per operation, over the budget of \
         {API_LINES_PER_OPERATION} (codegen/tests/budget.rs)"
    );
    assert!(
        models <= MODEL_LINES_PER_SCHEMA,
        "{name}: {models:.1} generated lines per schema, over the budget of \
         {MODEL_LINES_PER_SCHEMA} (codegen/tests/budget.rs)"
    );
}

#[test]
fn the_bundled_contract_stays_within_the_budget() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    check(
        "openapi.yaml",
        &std::fs::read_to_string(spec).expect("the bundled contract"),
    );
}

#[test]
fn a_large_spec_stays_within_the_budget() {
    check("large.yaml", include_str!("fixtures/large.yaml"));
}

#[test]
fn every_fixture_stays_within_the_budget() {
    for (name, spec) in [
        ("petstore30.yaml", include_str!("fixtures/petstore30.yaml")),
        (
            "everything31.yaml",
            include_str!("fixtures/everything31.yaml"),
        ),
        ("jsonapi.yaml", include_str!("fixtures/jsonapi.yaml")),
        ("house.yaml", include_str!("fixtures/house.yaml")),
        (
            "no_envelope.yaml",
            include_str!("fixtures/no_envelope.yaml"),
        ),
    ] {
        check(name, spec);
    }
}
