//! The repository's own spec generates without error.

#[test]
fn the_repository_spec_generates() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml at the workspace root");
    let generated = marketing_api_codegen::generate(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert!(generated.api.contains("pub struct ListCampaigns"));
    assert!(generated.models.contains("pub struct Campaign "));
    assert!(generated.events.contains("ContactCreated"));
}
