//! `marketing-api-openapi`: reads an OpenAPI 3.0/3.1 spec (YAML or JSON) into one JSON tree and
//! gives the three tools of the `marketing-api` project what they read it for.
//!
//! * The SDK's code generator (`marketing-api-codegen`, run by the SDK's build script) reads the
//!   tree leniently: [`Document::parse`], [`Document::resolve`], the [`pointer`](mod@pointer) helpers.
//! * The sandbox server and the SDK's contract tester serve or check HTTP messages against the
//!   spec: [`Document::parse_checked`] (every `$ref` followed up front, a bad one named by pointer
//!   and line), [`Document::operations`] with their [`Parameter`]s, [`ParamType`] to turn
//!   parameter text into JSON, [`PathTemplate`] to route, and with the `validate` feature the
//!   schemas as JSON Schema validators ([`validate`]).
//!
//! ```
//! use marketing_api_openapi::{Document, OpenApiVersion};
//!
//! let doc = Document::parse_checked(
//!     "openapi: 3.1.0\npaths:\n  /pets/{id}:\n    get: {operationId: getPet}\n",
//! )?;
//! assert_eq!(doc.version, OpenApiVersion::V31);
//! let ops = doc.operations().unwrap_or_default();
//! assert_eq!(ops[0].id(), Some("getPet"));
//! assert!(ops[0].template().matches(&marketing_api_openapi::split_path("/pets/p_1")));
//! # Ok::<(), marketing_api_openapi::ParseError>(())
//! ```
//!
//! The crate stays small on purpose: without `validate` it depends on serde_json and a YAML event
//! parser only, and no proc macro, because the SDK's build script compiles it on every clean
//! build.

// docs.rs builds with `--cfg docsrs` and shows the feature each item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod document;
mod operation;
pub mod pointer;
#[cfg(feature = "validate")]
#[cfg_attr(docsrs, doc(cfg(feature = "validate")))]
pub mod validate;
pub mod yaml;

pub use document::{
    Document, MAX_REF_CHAIN, OpenApiVersion, ParseError, RefError, RefErrorKind, ref_pointer,
};
pub use operation::{
    METHODS, Operation, ParamType, Parameter, PathTemplate, first_content, split_path,
};
