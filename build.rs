//! Generates the client from the OpenAPI contract into `$OUT_DIR`.
//!
//! The contract is `openapi.yaml` beside this file. `MARKETING_API_OPENAPI=/path/to/spec.yaml`
//! generates the SDK from another OpenAPI 3.0/3.1 document instead (the hand-written helpers
//! for the bundled contract — ingest, the testing kit — are then left out), and
//! `MARKETING_API_CODEGEN_STRICT=1` fails the build on any construct the generator skips. The
//! bundled contract is always generated strictly.
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-env-changed=MARKETING_API_OPENAPI");
    println!("cargo::rerun-if-env-changed=MARKETING_API_CODEGEN_STRICT");
    println!("cargo::rustc-check-cfg=cfg(marketing_api_bundled_spec)");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let custom = std::env::var_os("MARKETING_API_OPENAPI").filter(|p| !p.is_empty());
    let spec = match &custom {
        Some(path) => PathBuf::from(path),
        None => {
            println!("cargo::rustc-cfg=marketing_api_bundled_spec");
            PathBuf::from("openapi.yaml")
        }
    };
    println!("cargo::rerun-if-changed={}", spec.display());
    let strict = custom.is_none()
        || std::env::var("MARKETING_API_CODEGEN_STRICT").is_ok_and(|v| v == "1" || v == "true");
    let options = marketing_api_codegen::Options::default().strict(strict);
    match marketing_api_codegen::generate_files(&spec, &out_dir, &options) {
        Ok(generated) => {
            for warning in &generated.warnings {
                println!("cargo::warning={}: {warning}", spec.display());
            }
            if custom.is_some() {
                println!(
                    "cargo::warning={}: generated {} of {} operations, {} warnings",
                    spec.display(),
                    generated.operations_generated,
                    generated.operations_in_spec,
                    generated.warnings.len()
                );
            }
        }
        // A build script reports through cargo: the message names the spec location.
        Err(error) => {
            for line in error.to_string().lines() {
                println!("cargo::error={}: {line}", spec.display());
            }
        }
    }
}
