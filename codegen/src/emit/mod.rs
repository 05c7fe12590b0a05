//! Stage 3, emit: `quote!` per kind of item, printed as source by [`crate::print`]. One module
//! per generated file: [`models`] (`models.rs`), [`api`] (`api.rs`), [`events`]
//! (`webhook_events.rs`) and [`testing`] (`testing.rs`); the helpers they share live here.
//!
//! The emitted code lives inside the `marketing-api` crate and calls its runtime through a small
//! surface: `crate::Client::{execute_single, execute_empty, execute_page}`,
//! `crate::transport::{OperationInfo, Request}`, `crate::request::RequestOptions`,
//! `crate::codec::{QueryValue, path_segment, encode_body, EncodedBody, WireStrVisitor}`,
//! `crate::pagination::{Pages, Items}`, `crate::{Page, Patch, Response, Error}`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use std::collections::HashSet;

use crate::model::{Api, Param, Resource, Ty, TypeKind};

mod api;
mod events;
mod models;
mod testing;

pub use api::api;
pub use events::events;
pub use models::models;
pub use testing::testing;

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

fn docs(text: &str) -> TokenStream {
    let lines = doc_lines(text).into_iter().map(|l| format!(" {l}"));
    quote! { #( #[doc = #lines] )* }
}

/// Spec prose as rustdoc that never compiles as a doc test: fenced blocks without a language
/// (or marked `rust`) become `text`, and indentation that markdown would read as a code block is
/// dropped outside fences.
fn doc_lines(text: &str) -> Vec<String> {
    // A doc comment may not hold a bare carriage return (or other control characters).
    let text: String = text
        .replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\r' => '\n',
            '\n' | '\t' => c,
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let mut in_fence = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if let Some(info) = trimmed.strip_prefix("```") {
                let opening = !in_fence;
                in_fence = !in_fence;
                let info = info.trim();
                return if opening && (info.is_empty() || info.starts_with("rust")) {
                    "```text".to_owned()
                } else {
                    trimmed.to_owned()
                };
            }
            if in_fence {
                line.to_owned()
            } else {
                trimmed.to_owned()
            }
        })
        .collect();
    if in_fence {
        out.push("```".to_owned());
    }
    out
}

fn ty_tokens(ty: &Ty) -> TokenStream {
    match ty {
        Ty::String => quote!(String),
        Ty::I32 => quote!(i32),
        Ty::I64 => quote!(i64),
        Ty::U64 => quote!(u64),
        Ty::F64 => quote!(f64),
        Ty::Bool => quote!(bool),
        Ty::DateTime => quote!(chrono::DateTime<chrono::Utc>),
        Ty::Date => quote!(chrono::NaiveDate),
        Ty::Uuid => quote!(uuid::Uuid),
        Ty::Nullable(inner) => {
            let inner = ty_tokens(inner);
            quote!(Option<#inner>)
        }
        Ty::Json => quote!(serde_json::Value),
        Ty::JsonMap => quote!(serde_json::Map<String, serde_json::Value>),
        Ty::Named(name) => {
            let name = ident(name);
            quote!(crate::models::#name)
        }
        Ty::List(item) => {
            let item = ty_tokens(item);
            quote!(Vec<#item>)
        }
        Ty::Map(value) => {
            let value = ty_tokens(value);
            quote!(std::collections::BTreeMap<String, #value>)
        }
    }
}

/// The argument type and conversion for a value the user hands in.
fn arg(ty: &Ty, is_id: &dyn Fn(&str) -> bool) -> (TokenStream, bool) {
    match ty {
        Ty::String => (quote!(impl Into<String>), true),
        Ty::Named(name) if is_id(name) => {
            let t = ty_tokens(ty);
            (quote!(impl Into<#t>), true)
        }
        other => (ty_tokens(other), false),
    }
}

/// The names of the identifier types (`CampaignId`, …), which every parameter takes as
/// `impl Into<…Id>`: the id itself or a reference to it, never a bare string.
fn id_names(api: &Api) -> HashSet<&str> {
    api.types
        .iter()
        .filter(|t| matches!(t.kind, TypeKind::Id))
        .map(|t| t.name.as_str())
        .collect()
}

/// A path parameter: the method argument, and the expression for its escaped path segment.
/// It follows the same rule as every other argument ([`arg`]).
fn path_param(p: &Param, is_id: &dyn Fn(&str) -> bool) -> (TokenStream, TokenStream) {
    let name = ident(&p.rust);
    let (arg_ty, convert) = arg(&p.ty, is_id);
    let segment = if matches!(p.ty, Ty::List(_)) {
        // Each item escaped on its own, joined by a literal `,` (style `simple`).
        quote!(crate::codec::path_list_segment(&#name))
    } else if convert {
        let ty = ty_tokens(&p.ty);
        quote!(crate::codec::path_segment::<#ty>(&#name.into()))
    } else {
        quote!(crate::codec::path_segment(&#name))
    };
    (quote!(#name: #arg_ty), segment)
}

/// The resources one level below `resource` (`campaigns` → `campaigns/ads`).
fn children<'a>(api: &'a Api, resource: &Resource) -> Vec<&'a Resource> {
    api.resources
        .iter()
        .filter(|c| c.key.len() == resource.key.len() + 1 && c.key.starts_with(&resource.key))
        .collect()
}

/// A child accessor's path parameters: its arguments, and the fields holding their escaped
/// segments (`ads(&self, campaign_id: impl Into<CampaignId>)` → `campaign_id: path_segment(..)`).
fn accessor_params(
    child: &Resource,
    is_id: &dyn Fn(&str) -> bool,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    child
        .accessor_params
        .iter()
        .map(|p| {
            let field = ident(&p.rust);
            let (arg, segment) = path_param(p, is_id);
            (arg, quote!(#field: #segment,))
        })
        .unzip()
}
