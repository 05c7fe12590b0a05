//! The reader against an independent YAML deserializer, on the generator's fixtures and the
//! bundled contract.

use marketing_api_openapi::{Document, yaml};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn specs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = root.join("codegen/tests/fixtures");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("the generator's fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    specs.push(root.join("openapi.yaml"));
    assert!(specs.len() > 10);
    specs
}

/// Same tree (and, with `preserve_order`, same key order) as serde-saphyr on every spec.
#[test]
fn the_yaml_reader_agrees_with_serde_saphyr() {
    for spec in specs() {
        let text = std::fs::read_to_string(&spec).expect("spec");
        let ours = yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        let theirs: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        assert_eq!(ours, theirs, "{}", spec.display());
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(&ours), keys(&theirs), "{}", spec.display());
    }
}

/// The bundled contract has no reference that does not resolve, and every reference the
/// generator's fixtures hold resolves or is refused with its place.
#[test]
fn checked_reading_accepts_the_contract_and_locates_bad_references() {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let doc = Document::read(&bundled).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = doc
        .operations()
        .expect("paths")
        .iter()
        .filter_map(|op| op.id())
        .collect();
    assert!(ids.contains(&"createCampaign") && ids.contains(&"listContacts"));
    for spec in specs() {
        let text = std::fs::read_to_string(&spec).expect("spec");
        if let Err(error) = Document::parse_checked(&text) {
            // Fixtures that hold bad references on purpose: the error names the place.
            let message = error.to_string();
            assert!(
                error.line().is_some() && message.contains("$ref"),
                "{}: {message}",
                spec.display()
            );
        }
    }
}
