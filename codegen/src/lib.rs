//! Generates the `marketing-api` client from `openapi.yaml`.
//!
//! A small compiler in three stages, each testable on its own:
//!
//! 1. [`spec`] parses the YAML into serde structs for the part of OpenAPI 3.1 we support;
//!    anything else is an error naming its location.
//! 2. [`model`] resolves references and names into the form the emitters need: types, resources
//!    with their operations, pagination shape, deprecation, webhook events.
//! 3. [`emit`] turns the model into Rust with `quote!` and formats it with `prettyplease`.
//!
//! ```
//! let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mini.yaml")).unwrap();
//! let generated = marketing_api_codegen::generate(&yaml).unwrap();
//! assert!(generated.api.contains("pub struct ListWidgets"));
//! ```

pub mod emit;
pub mod model;
pub mod spec;

use std::path::Path;

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The YAML could not be parsed into the supported subset of OpenAPI (the message carries the
    /// line and column).
    #[error("openapi spec does not parse: {0}")]
    Parse(#[from] serde_saphyr::Error),
    /// A construct is not supported; the error names its location in the spec.
    #[error("openapi spec is not supported: {0}")]
    Model(#[from] model::ModelError),
    /// Emitted tokens did not form valid Rust (a generator bug).
    #[error("generated code does not parse: {0}")]
    Emit(#[from] syn::Error),
    /// Reading the spec or writing output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The generated source files.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `models.rs`: every schema.
    pub models: String,
    /// `api.rs`: resources and operation builders.
    pub api: String,
    /// `webhook_events.rs`: the typed event enum.
    pub events: String,
    /// `testing.rs`: a typed mock helper per operation (the SDK's `testing` feature).
    pub testing: String,
}

/// Generates the client sources from the text of a spec.
pub fn generate(yaml: &str) -> Result<Generated, GenerateError> {
    let spec = spec::parse(yaml)?;
    let api = model::build(&spec)?;
    Ok(Generated {
        models: emit::format(emit::models(&api))?,
        api: emit::format(emit::api(&api))?,
        events: emit::format(emit::events(&api))?,
        testing: emit::format(emit::testing(&api))?,
    })
}

/// Reads `spec_path` and writes `models.rs`, `api.rs`, `webhook_events.rs` and `testing.rs`
/// into `out_dir`.
pub fn generate_files(spec_path: &Path, out_dir: &Path) -> Result<(), GenerateError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| GenerateError::Io { path, source }
    };
    let yaml = std::fs::read_to_string(spec_path).map_err(io(spec_path))?;
    let generated = generate(&yaml)?;
    for (name, text) in [
        ("models.rs", &generated.models),
        ("api.rs", &generated.api),
        ("webhook_events.rs", &generated.events),
        ("testing.rs", &generated.testing),
    ] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(())
}
