//! Stage 1, parse: the spec text as a JSON tree, with the OpenAPI version it declares and the
//! means to follow `$ref`s inside it.
//!
//! The reader is shared with the sandbox and the SDK's contract tester and lives in
//! `marketing-api-openapi`; this module names what the model stage uses of it. The model reads the
//! tree leniently through [`crate::schema::SchemaView`], which also normalizes OpenAPI 3.0
//! (`nullable`, boolean `exclusiveMinimum`, `x-nullable`) and 3.1 (`type: [T, "null"]`) into one
//! form, and reports what it cannot use as a warning with the JSON pointer of its location.

pub use marketing_api_openapi::pointer::{escape_token as escape_pointer_token, last_token};
pub use marketing_api_openapi::{
    Document, OpenApiVersion, ParseError, RefError, RefErrorKind, ref_pointer,
};
