//! `marketing-api-codegen`: an OpenAPI 3.0/3.1 → Rust compiler for the `marketing-api` SDK.
//!
//! A small compiler in three stages, each testable on its own:
//!
//! 1. [`document`] parses YAML or JSON into a tree and reads its version; [`schema`] views any
//!    schema in one normalized form (3.0 `nullable` and 3.1 `type: [T, null]` alike).
//! 2. The model ([`model`], filled by [`types`] and [`operations`]) resolves references and
//!    names: types with collision-free Rust names (cycles boxed, inline types named),
//!    resources with their operations, parameters, bodies and responses, webhook events.
//! 3. [`emit`] turns the model into Rust with `quote!`; [`print`](mod@print) writes the tokens as source.
//!
//! What the generator cannot express is not an error: it is skipped or typed loosely (as
//! `serde_json::Value`) and reported as a [`Warning`] naming its location in the spec. With
//! [`Options::strict`] every warning fails generation instead.
//!
//! ```
//! let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mini.yaml")).unwrap();
//! let generated = marketing_api_codegen::generate(&yaml).unwrap();
//! assert!(generated.api.contains("pub struct ListWidgets"));
//! assert!(generated.warnings.is_empty());
//! ```

pub mod document;
pub mod emit;
pub mod model;
pub mod names;
pub mod operations;
pub mod print;
pub mod schema;
pub mod types;
/// The YAML reader the spec goes through (from `marketing-api-openapi`).
pub use marketing_api_openapi::yaml;

use std::path::Path;

pub use model::Warning;

/// Why generation failed.
// `Display` and `Error` are written out rather than derived: a derive macro would put `syn` on
// the build script's critical path for three messages.
#[derive(Debug)]
pub enum GenerateError {
    /// The text is not an OpenAPI 3.0/3.1 document.
    Parse(document::ParseError),
    /// Strict mode, and the spec uses constructs that were skipped or loosened.
    Strict(Vec<Warning>),
    /// Reading the spec or writing output failed.
    Io {
        /// The file involved.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl std::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Parse(error) => error.fmt(f),
            Self::Strict(warnings) => {
                write!(
                    f,
                    "{} construct(s) not supported (strict mode):",
                    warnings.len()
                )?;
                warnings.iter().try_for_each(|w| write!(f, "\n  {w}"))
            }
            Self::Io { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for GenerateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Parse(error) => error.source(),
            Self::Strict(_) => None,
            Self::Io { source, .. } => Some(source),
        }
    }
}

impl From<document::ParseError> for GenerateError {
    fn from(error: document::ParseError) -> Self {
        Self::Parse(error)
    }
}

/// How to generate.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Fail on any warning instead of skipping or loosening what is not supported.
    pub strict: bool,
}

impl Options {
    /// Sets [`Options::strict`].
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// The generated source files and what was left out.
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
    /// What was skipped or typed loosely, with its spec location.
    pub warnings: Vec<Warning>,
    /// Operations the spec declares.
    pub operations_in_spec: usize,
    /// Operations generated.
    pub operations_generated: usize,
    /// Named types generated (one per schema, plus inline objects, enums and unions named after
    /// where they appear); builders and markers are not counted.
    pub types_generated: usize,
}

/// Generates the client sources from the text of a spec (YAML or JSON), leniently.
pub fn generate(text: &str) -> Result<Generated, GenerateError> {
    generate_with(text, &Options::default())
}

/// Generates the client sources from the text of a spec with options.
pub fn generate_with(text: &str, options: &Options) -> Result<Generated, GenerateError> {
    let doc = document::Document::parse(text)?;
    let api = operations::build(&doc);
    if options.strict && !api.warnings.is_empty() {
        return Err(GenerateError::Strict(api.warnings));
    }
    // Emitting and printing are independent per file: the larger ones go to their own threads.
    let (models, api_rs, events, testing) = std::thread::scope(|scope| {
        let join = |handle: std::thread::ScopedJoinHandle<'_, String>| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        let api = &api;
        let models = scope.spawn(|| print::format(emit::models(api)));
        let api_rs = scope.spawn(|| print::format(emit::api(api)));
        let events = print::format(emit::events(api));
        let testing = print::format(emit::testing(api));
        (join(models), join(api_rs), events, testing)
    });
    Ok(Generated {
        models,
        api: api_rs,
        events,
        testing,
        operations_in_spec: api.operations_in_spec,
        operations_generated: api.resources.iter().map(|r| r.operations.len()).sum(),
        types_generated: api.types.len(),
        warnings: api.warnings,
    })
}

/// Reads `spec_path` and writes `models.rs`, `api.rs`, `webhook_events.rs` and `testing.rs`
/// into `out_dir`; returns what was generated (with its warnings).
pub fn generate_files(
    spec_path: &Path,
    out_dir: &Path,
    options: &Options,
) -> Result<Generated, GenerateError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| GenerateError::Io { path, source }
    };
    let text = std::fs::read_to_string(spec_path).map_err(io(spec_path))?;
    // A spec that does not parse names its file, as well as the line.
    let generated = generate_with(&text, options).map_err(|e| match e {
        GenerateError::Parse(error) => GenerateError::Parse(error.in_file(spec_path)),
        other => other,
    })?;
    for (name, text) in [
        ("models.rs", &generated.models),
        ("api.rs", &generated.api),
        ("webhook_events.rs", &generated.events),
        ("testing.rs", &generated.testing),
    ] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(generated)
}
