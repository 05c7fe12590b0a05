//! Every fixture spec generates an SDK that compiles without a warning, and every example in the
//! fixture round-trips through its generated type: the SDK crate is built with
//! `MARKETING_API_OPENAPI` pointing at each fixture (its build script then generates from it) and
//! its `generated_examples` test is run.
//!
//! The builds share one target directory (`<target>/fixture-check`), so the SDK's dependencies
//! are compiled once; each fixture then costs one build of the SDK crate and that test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn build_and_roundtrip(spec: &Path) -> Result<(), String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("fixture-check");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "test",
            "--quiet",
            "--package",
            "marketing-api",
            "--features",
            "testing",
            "--test",
            "generated_examples",
            "--message-format",
            "short",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .env("MARKETING_API_OPENAPI", spec)
        .env("RUSTFLAGS", "-D warnings")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("error") || l.contains("warning"))
            .chain(
                stdout
                    .lines()
                    .filter(|l| l.contains(": ") || l.contains("panicked")),
            )
            .take(60)
            .collect();
        Err(errors.join("\n"))
    }
}

#[test]
fn every_fixture_generates_an_sdk_that_compiles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 9, "fixtures missing: {specs:?}");
    let mut failures = Vec::new();
    for spec in &specs {
        let text = std::fs::read_to_string(spec).unwrap_or_default();
        let generated = marketing_api_codegen::generate(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        assert_eq!(
            generated.operations_generated,
            generated.operations_in_spec,
            "{}: every operation generates",
            spec.display()
        );
        if let Err(errors) = build_and_roundtrip(spec) {
            failures.push(format!("{}:\n{errors}", spec.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
