//! Stage 3, emit: `quote!` per kind of item, printed as source by [`crate::print`].
//!
//! The emitted code lives inside the `marketing-api` crate and calls its runtime through a small
//! surface: `crate::Client::{execute_single, execute_empty, execute_page}`,
//! `crate::transport::{OperationInfo, Request}`, `crate::request::RequestOptions`,
//! `crate::codec::{QueryValue, path_segment, encode_body, EncodedBody, WireStrVisitor}`,
//! `crate::pagination::{Pages, Items}`, `crate::{Page, Patch, Response, Error}`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::model::{
    Api, BodyKind, EventDef, Field, FieldRepr, Operation, Param, ParamStyle, Resource,
    ResponseShape, StructDef, TaggedUnion, Ty, TypeDef, TypeKind, UnionVariant, Variant,
};

fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
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

/// `models.rs`: every named schema.
pub fn models(api: &Api) -> TokenStream {
    models_part(api, 0, 1)
}

/// Part `part` of `parts` consecutive pieces of `models.rs` (the last one holds the example
/// dispatch), so a large API can be emitted and formatted on several threads.
pub fn models_part(api: &Api, part: usize, parts: usize) -> TokenStream {
    let ids: std::collections::HashSet<&str> = api
        .types
        .iter()
        .filter(|t| matches!(t.kind, TypeKind::Id))
        .map(|t| t.name.as_str())
        .collect();
    let is_id = |name: &str| ids.contains(name);
    let parts = parts.max(1);
    let chunk = api.types.len().div_ceil(parts);
    let start = (part * chunk).min(api.types.len());
    let end = ((part + 1) * chunk).min(api.types.len());
    let mut out: TokenStream = api.types[start..end]
        .iter()
        .map(|t| match &t.kind {
            TypeKind::Struct(s) => struct_model(t, s, &is_id),
            TypeKind::Enum(variants) => enum_model(t, variants),
            TypeKind::Id => id_model(t),
            TypeKind::Alias(ty) => alias_model(t, ty),
            TypeKind::Tagged(union) => tagged_model(t, union),
            TypeKind::Untagged(variants) => untagged_model(t, variants),
        })
        .collect();
    if part + 1 == parts {
        out.extend(roundtrip_dispatch(api));
    }
    out
}

fn type_docs(t: &TypeDef) -> TokenStream {
    let mut text = t.doc.clone();
    if let Some(example) = &t.example
        && let Ok(json) = serde_json::to_string_pretty(example)
    {
        text.push_str("\n\n# Example\n\n```json\n");
        text.push_str(&json);
        text.push_str("\n```");
    }
    docs(&text)
}

fn struct_model(t: &TypeDef, s: &StructDef, is_id: &dyn Fn(&str) -> bool) -> TokenStream {
    let name = ident(&t.name);
    let doc = type_docs(t);
    let fields = s.fields.iter().map(|f| {
        let field = ident(&f.rust);
        let wire = &f.wire;
        let doc = docs(&f.doc);
        let ty = field_ty(f);
        let rename = (f.rust.trim_start_matches("r#") != f.wire).then(|| quote!(rename = #wire,));
        match f.repr(s.patch) {
            FieldRepr::Plain => {
                let attr = rename.map(|r| quote!(#[serde(#r)]));
                quote! {
                    #doc
                    #attr
                    pub #field: #ty,
                }
            }
            FieldRepr::NullableRequired => quote! {
                #doc
                #[serde(#rename default)]
                pub #field: Option<#ty>,
            },
            FieldRepr::Optional => quote! {
                #doc
                #[serde(#rename default, skip_serializing_if = "Option::is_none")]
                pub #field: Option<#ty>,
            },
            FieldRepr::Patch => quote! {
                #doc
                #[serde(#rename default, skip_serializing_if = "crate::Patch::is_absent")]
                pub #field: crate::Patch<#ty>,
            },
        }
    });
    // Required fields the caller supplies: a `const` field has only one possible value.
    let plain: Vec<&Field> = s
        .fields
        .iter()
        .filter(|f| f.repr(s.patch) == FieldRepr::Plain && f.constant.is_none())
        .collect();
    let ctor_args = plain.iter().map(|f| {
        let field = ident(&f.rust);
        let (ty, _) = arg(&f.ty, is_id);
        quote!(#field: #ty)
    });
    let ctor_fields = s.fields.iter().map(|f| {
        let field = ident(&f.rust);
        match f.repr(s.patch) {
            FieldRepr::Plain if f.constant.is_some() => {
                let value = f.constant.as_deref().unwrap_or_default();
                quote!(#field: String::from(#value))
            }
            FieldRepr::Plain => {
                let (_, convert) = arg(&f.ty, is_id);
                let value = if convert {
                    quote!(#field.into())
                } else {
                    quote!(#field)
                };
                if convert || f.boxed {
                    let value = boxed(f, value);
                    quote!(#field: #value)
                } else {
                    quote!(#field)
                }
            }
            FieldRepr::NullableRequired | FieldRepr::Optional => quote!(#field: None),
            FieldRepr::Patch => quote!(#field: crate::Patch::Absent),
        }
    });
    let setters = s
        .fields
        .iter()
        .filter(|f| f.repr(s.patch) != FieldRepr::Plain)
        .map(|f| {
            let field = ident(&f.rust);
            let bare = f.rust.trim_start_matches("r#").trim_start_matches('_');
            let with = format_ident!("with_{}", bare);
            let (ty, convert) = arg(&f.ty, is_id);
            let value = if convert {
                quote!(value.into())
            } else {
                quote!(value)
            };
            let value = boxed(f, value);
            let set_doc = format!(" Sets `{}`.", f.wire);
            match f.repr(s.patch) {
                FieldRepr::Patch => {
                    let clear = format_ident!("clear_{}", bare);
                    let clear_doc =
                        format!(" Sends `{}: null`, clearing it on the server.", f.wire);
                    quote! {
                        #[doc = #set_doc]
                        pub fn #with(mut self, value: #ty) -> Self {
                            self.#field = crate::Patch::Value(#value);
                            self
                        }
                        #[doc = #clear_doc]
                        pub fn #clear(mut self) -> Self {
                            self.#field = crate::Patch::Null;
                            self
                        }
                    }
                }
                _ => quote! {
                    #[doc = #set_doc]
                    pub fn #with(mut self, value: #ty) -> Self {
                        self.#field = Some(#value);
                        self
                    }
                },
            }
        });
    let debug_fields = s.fields.iter().map(|f| {
        let field = ident(&f.rust);
        let wire = f.rust.trim_start_matches("r#");
        if f.redacted {
            quote!(.field(#wire, &crate::codec::Redacted))
        } else {
            quote!(.field(#wire, &self.#field))
        }
    });
    let additional_name = (1..)
        .map(|n| {
            if n == 1 {
                "additional_properties".to_owned()
            } else {
                format!("additional_properties{n}")
            }
        })
        .find(|candidate| {
            !s.fields
                .iter()
                .any(|f| f.rust.trim_start_matches("r#") == candidate)
        })
        .unwrap_or_default();
    let additional_ident = ident(&additional_name);
    let additional_field = s.additional.as_ref().map(|value| {
        let value = ty_tokens(value);
        quote! {
            /// Properties not named in the schema, by name.
            #[serde(flatten)]
            pub #additional_ident: std::collections::BTreeMap<String, #value>,
        }
    });
    let additional_init = s
        .additional
        .as_ref()
        .map(|_| quote!(#additional_ident: std::collections::BTreeMap::new(),));
    let additional_debug = s
        .additional
        .as_ref()
        .map(|_| quote!(.field(#additional_name, &self.#additional_ident)));
    let name_str = t.name.as_str();
    let default_impl = plain.is_empty().then(|| {
        quote! {
            impl Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }
        }
    });
    let new_doc = if plain.is_empty() {
        " Creates a value with every field unset.".to_string()
    } else {
        format!(
            " Creates a value from its required fields ({}); set the others with the `with_*` methods.",
            plain
                .iter()
                .map(|f| format!("`{}`", f.wire))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    quote! {
        #doc
        #[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
            #additional_field
        }

        impl #name {
            #[doc = #new_doc]
            #[allow(clippy::too_many_arguments)]
            pub fn new(#(#ctor_args),*) -> Self {
                Self { #(#ctor_fields,)* #additional_init }
            }
            #(#setters)*
        }

        #default_impl

        impl std::fmt::Debug for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#name_str) #(#debug_fields)* #additional_debug .finish()
            }
        }
    }
}

/// A field's type, boxed when it closes a cycle.
fn field_ty(f: &Field) -> TokenStream {
    let ty = ty_tokens(&f.ty);
    if f.boxed { quote!(Box<#ty>) } else { ty }
}

/// Wraps a value for a boxed field.
fn boxed(f: &Field, value: TokenStream) -> TokenStream {
    if f.boxed {
        quote!(Box::new(#value))
    } else {
        value
    }
}

fn alias_model(t: &TypeDef, ty: &Ty) -> TokenStream {
    let name = ident(&t.name);
    let doc = type_docs(t);
    let ty = ty_tokens(ty);
    quote! {
        #doc
        pub type #name = #ty;
    }
}

fn tagged_model(t: &TypeDef, union: &TaggedUnion) -> TokenStream {
    let name = ident(&t.name);
    let doc = type_docs(t);
    let tag = &union.tag;
    let defs = union.variants.iter().map(|v| {
        let var = ident(&v.rust);
        let ty = ty_tokens(&v.ty);
        let ty = if v.boxed { quote!(Box<#ty>) } else { ty };
        let doc = format!(" `{tag}: {}`", v.wire.join("` or `"));
        quote!(#[doc = #doc] #var(#ty),)
    });
    let encode = union.variants.iter().map(|v| {
        let var = ident(&v.rust);
        let wire = &v.wire[0];
        quote!(Self::#var(value) => crate::codec::serialize_tagged(serializer, #tag, #wire, value),)
    });
    let decode = union.variants.iter().map(|v| {
        let var = ident(&v.rust);
        let wires = &v.wire;
        let wrap = if v.boxed {
            quote!(|v| Self::#var(Box::new(v)))
        } else {
            quote!(Self::#var)
        };
        quote!(Some(#(#wires)|*) => crate::codec::decode_variant(value).map(#wrap),)
    });
    let tag_doc = format!(" The variant is chosen by the `{tag}` property.");
    quote! {
        #doc
        ///
        #[doc = #tag_doc]
        /// Variants added to the API after this version of the SDK arrive as
        /// [`Unknown`](Self::Unknown) with their JSON.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum #name {
            #(#defs)*
            /// A variant this version of the SDK does not know, as JSON.
            Unknown(serde_json::Value),
        }

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #(#encode)*
                    Self::Unknown(value) => serde::Serialize::serialize(value, serializer),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value: serde_json::Value = serde::Deserialize::deserialize(deserializer)?;
                match value.get(#tag).and_then(serde_json::Value::as_str) {
                    #(#decode)*
                    _ => Ok(Self::Unknown(value)),
                }
            }
        }
    }
}

fn untagged_model(t: &TypeDef, variants: &[UnionVariant]) -> TokenStream {
    let name = ident(&t.name);
    let doc = type_docs(t);
    let defs = variants.iter().map(|v| {
        let var = ident(&v.rust);
        let ty = ty_tokens(&v.ty);
        let ty = if v.boxed { quote!(Box<#ty>) } else { ty };
        let doc = format!(" The value as `{}`.", v.rust);
        quote!(#[doc = #doc] #var(#ty),)
    });
    quote! {
        #doc
        ///
        /// Decoded as the first variant the value fits, in the order listed; a value that fits
        /// none arrives as [`Unknown`](Self::Unknown) with its JSON.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(untagged)]
        #[non_exhaustive]
        pub enum #name {
            #(#defs)*
            /// A value that fits none of the known variants, as JSON.
            Unknown(serde_json::Value),
        }
    }
}

fn enum_model(t: &TypeDef, variants: &[Variant]) -> TokenStream {
    let name = ident(&t.name);
    let doc = type_docs(t);
    let defs = variants.iter().map(|v| {
        let var = ident(&v.rust);
        let doc = format!(" `{}`", v.wire);
        quote!(#[doc = #doc] #var,)
    });
    let to_wire = variants.iter().map(|v| {
        let var = ident(&v.rust);
        let wire = &v.wire;
        quote!(Self::#var => #wire,)
    });
    let from_wire = variants.iter().map(|v| {
        let var = ident(&v.rust);
        let wire = &v.wire;
        quote!(#wire => Self::#var,)
    });
    let known = variants.iter().map(|v| {
        let var = ident(&v.rust);
        quote!(Self::#var)
    });
    quote! {
        #doc
        ///
        /// Values this version of the SDK does not know arrive as
        /// [`Unknown`](Self::Unknown) instead of failing to decode.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#defs)*
            /// A value added to the API after this version of the SDK; holds the wire value.
            Unknown(String),
        }

        impl #name {
            /// Every value this version of the SDK knows.
            pub const KNOWN: &'static [#name] = &[#(#known),*];

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#to_wire)*
                    Self::Unknown(other) => other,
                }
            }

            /// Parses a wire value; values this version does not know become `Unknown`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    #(#from_wire)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for #name {
            fn from(value: &str) -> Self {
                Self::from_wire(value)
            }
        }

        impl AsRef<str> for #name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(crate::codec::WireStrVisitor(Self::from_wire))
            }
        }

        #[cfg(feature = "client")]
        impl crate::codec::QueryValue for #name {
            fn to_query_value(&self) -> String {
                self.as_str().to_owned()
            }
        }
    }
}

fn id_model(t: &TypeDef) -> TokenStream {
    let name = ident(&t.name);
    let doc = type_docs(t);
    quote! {
        #doc
        ///
        /// A distinct type per kind of identifier, so an ad id cannot be passed where a
        /// campaign id is expected.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct #name(String);

        impl #name {
            /// Wraps an identifier received from the API or stored earlier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for #name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for #name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for #name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        #[cfg(feature = "client")]
        impl crate::codec::QueryValue for #name {
            fn to_query_value(&self) -> String {
                self.0.clone()
            }
        }
    }
}

/// `api.rs`: resource accessors and one builder per operation.
pub fn api(api: &Api) -> TokenStream {
    let ids: std::collections::HashSet<&str> = api
        .types
        .iter()
        .filter(|t| matches!(t.kind, TypeKind::Id))
        .map(|t| t.name.as_str())
        .collect();
    let is_id = |name: &str| ids.contains(name);
    let mut out = TokenStream::new();
    let top_level = api.resources.iter().filter(|r| r.key.len() == 1).map(|r| {
        let name = ident(&r.name);
        let accessor = ident(&r.accessor);
        let doc = docs(&r.doc);
        quote! {
            #doc
            pub fn #accessor(&self) -> #name {
                #name { client: self.clone() }
            }
        }
    });
    out.extend(quote! {
        impl crate::Client {
            #(#top_level)*
        }
    });
    for resource in &api.resources {
        let children: Vec<&Resource> = api
            .resources
            .iter()
            .filter(|c| c.key.len() == resource.key.len() + 1 && c.key.starts_with(&resource.key))
            .collect();
        out.extend(resource_tokens(resource, &children, &is_id));
        for op in &resource.operations {
            out.extend(builder_tokens(op, &is_id));
        }
    }
    out
}

fn param_arg(p: &Param) -> TokenStream {
    let name = ident(&p.rust);
    let ty = ty_tokens(&p.ty);
    quote!(#name: &#ty)
}

fn resource_tokens(
    resource: &Resource,
    children: &[&Resource],
    is_id: &dyn Fn(&str) -> bool,
) -> TokenStream {
    let name = ident(&resource.name);
    let doc = docs(&resource.doc);
    // The path parameters a resource holds are kept as their escaped path segments: built once
    // by the accessor, whatever type each level of the path declares for them.
    let scope_fields = resource.scope_params.iter().map(|p| {
        let field = ident(&p.rust);
        quote!(#field: String,)
    });
    let scope_debug = resource.scope_params.iter().map(|p| {
        let field = ident(&p.rust);
        let label = p.rust.trim_start_matches("r#");
        quote!(.field(#label, &self.#field))
    });
    let name_str = &resource.name;
    let child_accessors = children.iter().map(|child| {
        let child_name = ident(&child.name);
        let accessor = ident(&child.accessor);
        let args = child.accessor_params.iter().map(param_arg);
        let inherited = resource
            .scope_params
            .iter()
            .zip(&child.scope_params)
            .map(|(p, c)| {
                let field = ident(&p.rust);
                let child_field = ident(&c.rust);
                quote!(#child_field: self.#field.clone(),)
            });
        let own = child.accessor_params.iter().map(|p| {
            let field = ident(&p.rust);
            quote!(#field: crate::codec::path_segment(#field),)
        });
        let doc = docs(&child.doc);
        quote! {
            #doc
            pub fn #accessor(&self, #(#args),*) -> #child_name {
                #child_name {
                    client: self.client.clone(),
                    #(#inherited)*
                    #(#own)*
                }
            }
        }
    });
    let methods = resource.operations.iter().map(|op| {
        let method = ident(&op.method_name);
        let builder = ident(&op.builder);
        let doc = docs(&op.doc);
        let mut args = Vec::new();
        for p in op.path_args.iter().chain(&op.item_param) {
            args.push(param_arg(p));
        }
        let required: Vec<&Param> = op.query.iter().chain(&op.headers).chain(&op.cookies).filter(|p| p.required).collect();
        for p in &required {
            let field = ident(&p.rust);
            let (ty, _) = arg(&p.ty, is_id);
            args.push(quote!(#field: #ty));
        }
        let body = op.body.as_ref().filter(|b| b.required);
        if let Some(body) = body {
            args.push(body_arg(&body.kind));
        }
        let path = path_expr(op, resource);
        let body_value = body.map(|b| {
            let encode = encode_body(&b.kind, &b.content_type);
            quote!(Some(#encode),)
        });
        let no_body = (op.body.is_some() && body.is_none()).then(|| quote!(None,));
        let required_values = required.iter().map(|p| {
            let field = ident(&p.rust);
            let (_, convert) = arg(&p.ty, is_id);
            if convert { quote!(#field.into(),) } else { quote!(#field,) }
        });
        let deprecated = op.deprecated.then(|| {
            quote!(#[deprecated(note = "deprecated by the API; see the operation docs for its replacement")])
        });
        quote! {
            #doc
            #deprecated
            pub fn #method(&self, #(#args),*) -> #builder {
                #builder::new(self.client.clone(), #path, #body_value #no_body #(#required_values)*)
            }
        }
    });
    quote! {
        #doc
        #[derive(Clone)]
        pub struct #name {
            client: crate::Client,
            #(#scope_fields)*
        }

        impl std::fmt::Debug for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#name_str) #(#scope_debug)* .finish_non_exhaustive()
            }
        }

        impl #name {
            /// The client this resource sends through, so hand-written helpers (such as
            /// `Events::ingest`) can build on the generated operations.
            #[allow(dead_code)]
            pub(crate) fn client(&self) -> &crate::Client {
                &self.client
            }
            #(#child_accessors)*
            #(#methods)*
        }
    }
}

/// The argument a method takes for a request body.
fn body_arg(kind: &BodyKind) -> TokenStream {
    match kind {
        BodyKind::Json(ty) | BodyKind::Form(ty) => {
            let ty = ty_tokens(ty);
            quote!(body: &#ty)
        }
        BodyKind::Text => quote!(body: impl Into<String>),
        BodyKind::Bytes => quote!(body: impl Into<bytes::Bytes>),
        BodyKind::Multipart(_) => quote!(body: crate::multipart::Multipart),
    }
}

/// Encodes the `body` argument into the runtime's encoded body.
fn encode_body(kind: &BodyKind, content_type: &str) -> TokenStream {
    match kind {
        BodyKind::Json(_) if content_type == "application/json" => {
            quote!(crate::codec::encode_body(body))
        }
        BodyKind::Json(_) => quote!(crate::codec::encode_json_as(body, #content_type)),
        BodyKind::Form(_) => quote!(crate::codec::encode_form(body)),
        BodyKind::Text => {
            quote!(crate::codec::EncodedBody::raw(bytes::Bytes::from(body.into()), #content_type))
        }
        BodyKind::Bytes => quote!(crate::codec::EncodedBody::raw(body.into(), #content_type)),
        BodyKind::Multipart(_) => quote!(body.encode()),
    }
}

/// `format!` building the concrete path from the template, whatever its shape.
fn path_expr(op: &Operation, resource: &Resource) -> TokenStream {
    let mut template = String::new();
    let mut values = Vec::new();
    let mut rest = op.path.as_str();
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        template.push_str(&rest[..start].replace('{', "{{").replace('}', "}}"));
        template.push_str("{}");
        let param = &rest[start + 1..start + len];
        let own = op
            .path_args
            .iter()
            .chain(&op.item_param)
            .find(|p| p.wire == param);
        let scope = resource.scope_params.iter().find(|p| p.wire == param);
        values.push(match (own, scope) {
            (Some(p), _) => {
                let field = ident(&p.rust);
                quote!(crate::codec::path_segment(#field))
            }
            (None, Some(p)) => {
                let field = ident(&p.rust);
                quote!(self.#field)
            }
            (None, None) => quote!(""),
        });
        rest = &rest[start + len + 1..];
    }
    template.push_str(&rest.replace('{', "{{").replace('}', "}}"));
    if values.is_empty() {
        let literal = op.path.as_str();
        quote!(String::from(#literal))
    } else {
        quote!(format!(#template, #(#values),*))
    }
}

/// The statement appending one parameter to the query, headers or cookies.
fn push_param(p: &Param, target: &TokenStream, value: TokenStream) -> TokenStream {
    let wire = &p.wire;
    let list = matches!(p.ty, Ty::List(_));
    let map = matches!(p.ty, Ty::Map(_));
    let style = match p.style {
        ParamStyle::Form { explode } => {
            quote!(crate::codec::ParamStyle::Form { explode: #explode })
        }
        ParamStyle::SpaceDelimited => quote!(crate::codec::ParamStyle::SpaceDelimited),
        ParamStyle::PipeDelimited => quote!(crate::codec::ParamStyle::PipeDelimited),
        ParamStyle::DeepObject => quote!(crate::codec::ParamStyle::DeepObject),
        ParamStyle::Simple => quote!(crate::codec::ParamStyle::Simple),
    };
    if p.ty == Ty::Json {
        quote!(crate::codec::push_json(&mut #target, #wire, #style, #value);)
    } else if list {
        quote!(crate::codec::push_list(&mut #target, #wire, #style, #value);)
    } else if map {
        quote!(crate::codec::push_map(&mut #target, #wire, #style, #value);)
    } else {
        quote!(#target.push((std::borrow::Cow::Borrowed(#wire), crate::codec::QueryValue::to_query_value(#value)));)
    }
}

fn builder_tokens(op: &Operation, is_id: &dyn Fn(&str) -> bool) -> TokenStream {
    let builder = ident(&op.builder);
    let builder_str = &op.builder;
    let op_static = format_ident!("OP_{}", heck::AsShoutySnakeCase(&op.builder).to_string());
    let id = &op.id;
    let method = format_ident!("{}", op.method.as_str());
    let path = &op.path;
    let deprecated = op.deprecated;
    let status = op.status;
    let idempotent = op.idempotency_key;
    let doc = docs(&format!(
        "Request builder for `{} {}` (`{}`).\n\n{}\n\nCreate it with the resource method, set options, then call `.send()`.",
        op.method.as_str(),
        op.path,
        op.id,
        op.doc
    ));
    let params: Vec<&Param> = op
        .query
        .iter()
        .chain(&op.headers)
        .chain(&op.cookies)
        .collect();
    let param_fields = params.iter().map(|p| {
        let field = ident(&p.rust);
        let ty = ty_tokens(&p.ty);
        if p.required {
            quote!(#field: #ty,)
        } else {
            quote!(#field: Option<#ty>,)
        }
    });
    let required: Vec<&&Param> = params.iter().filter(|p| p.required).collect();
    let new_args = required.iter().map(|p| {
        let field = ident(&p.rust);
        let ty = ty_tokens(&p.ty);
        quote!(#field: #ty)
    });
    let param_init = params.iter().map(|p| {
        let field = ident(&p.rust);
        if p.required {
            quote!(#field,)
        } else {
            quote!(#field: None,)
        }
    });
    let has_body = op.body.is_some();
    let body_field = has_body.then(|| quote!(body: Option<crate::codec::EncodedBody>,));
    let body_arg_new = has_body.then(|| quote!(body: Option<crate::codec::EncodedBody>,));
    let body_init = has_body.then(|| quote!(body,));
    let body_value = if has_body {
        quote!(self.body)
    } else {
        quote!(None)
    };
    let optional_body_setter = op.body.as_ref().filter(|b| !b.required).map(|b| {
        let arg = body_arg(&b.kind);
        let encode = encode_body(&b.kind, &b.content_type);
        quote! {
            /// Sets the request body (the operation may be sent without one).
            pub fn body(mut self, #arg) -> Self {
                self.body = Some(#encode);
                self
            }
        }
    });
    let body_doc = op.body.as_ref().and_then(|b| match &b.kind {
        BodyKind::Multipart(parts) if !parts.is_empty() => {
            let text = format!(" The multipart form's parts: {}.", parts.join(", "));
            Some(quote!(#[doc = ""] #[doc = #text]))
        }
        _ => None,
    });
    let setters = params.iter().filter(|p| !p.required).map(|p| {
        let field = ident(&p.rust);
        let (ty, convert) = arg(&p.ty, is_id);
        let value = if convert {
            quote!(value.into())
        } else {
            quote!(value)
        };
        let doc = docs(&p.doc);
        quote! {
            #doc
            pub fn #field(mut self, value: #ty) -> Self {
                self.#field = Some(#value);
                self
            }
        }
    });
    let target_query = quote!(query);
    let target_headers = quote!(headers);
    let target_cookies = quote!(cookies);
    let push = |list: &[Param], target: &TokenStream| -> Vec<TokenStream> {
        list.iter()
            .map(|p| {
                let field = ident(&p.rust);
                if p.required {
                    push_param(p, target, quote!(&self.#field))
                } else {
                    let stmt = push_param(p, target, quote!(value));
                    quote! {
                        if let Some(value) = &self.#field {
                            #stmt
                        }
                    }
                }
            })
            .collect()
    };
    let query_push = push(&op.query, &target_query);
    let header_push = push(&op.headers, &target_headers);
    let cookie_push = push(&op.cookies, &target_cookies);
    let cookie_join = (!op.cookies.is_empty()).then(|| {
        quote! {
            let mut cookies: crate::codec::Pairs = Vec::new();
            #(#cookie_push)*
            crate::codec::push_cookies(&mut headers, cookies);
        }
    });
    // `mut` only where something is pushed: no `#[allow(unused_mut)]` in every builder.
    let query_mut = (!op.query.is_empty()).then(|| quote!(mut));
    let headers_mut = (!op.headers.is_empty() || !op.cookies.is_empty()).then(|| quote!(mut));
    let query_new = match op.query.len() {
        0 => quote!(Vec::new()),
        n => quote!(Vec::with_capacity(#n)),
    };
    let idempotency = op.idempotency_key.then(|| {
        quote! {
            /// Sets the `Idempotency-Key` sent with every attempt of this request. Without it
            /// the SDK generates one per call, so retries never create anything twice; set your
            /// own to make a request idempotent across process restarts.
            pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
                self.options.idempotency_key = Some(key.into());
                self
            }
        }
    });
    let (send, extra_items) = send_tokens(op);
    quote! {
        static #op_static: crate::transport::OperationInfo = crate::transport::OperationInfo {
            id: #id,
            method: http::Method::#method,
            path_template: #path,
            deprecated: #deprecated,
            success_status: #status,
            idempotency_key: #idempotent,
        };

        #extra_items

        #doc
        #body_doc
        #[must_use = "a request does nothing until it is sent"]
        #[derive(Clone)]
        pub struct #builder {
            client: crate::Client,
            path: String,
            #body_field
            #(#param_fields)*
            options: crate::request::RequestOptions,
        }

        impl std::fmt::Debug for #builder {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#builder_str)
                    .field("path", &self.path)
                    .field("options", &self.options)
                    .finish_non_exhaustive()
            }
        }

        impl #builder {
            fn new(client: crate::Client, path: String, #body_arg_new #(#new_args),*) -> Self {
                Self {
                    client,
                    path,
                    #body_init
                    #(#param_init)*
                    options: crate::request::RequestOptions::default(),
                }
            }

            #(#setters)*
            #optional_body_setter
            #idempotency

            /// Sets the timeout of each attempt, overriding the client's.
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self.options.timeout = Some(timeout);
                self
            }

            /// Sets the total number of attempts (1 = no retry), overriding the client's policy.
            pub fn max_attempts(mut self, attempts: u32) -> Self {
                self.options.max_attempts = Some(attempts);
                self
            }

            fn into_request(self) -> (crate::Client, crate::transport::Request) {
                let #query_mut query: crate::codec::Pairs = #query_new;
                #(#query_push)*
                let #headers_mut headers: crate::codec::Pairs = Vec::new();
                #(#header_push)*
                #cookie_join
                let request = crate::transport::Request {
                    operation: &#op_static,
                    path: self.path,
                    query,
                    headers,
                    body: #body_value,
                    options: self.options,
                };
                (self.client, request)
            }

            #send
        }
    }
}

/// The type a response shape decodes into (for `ByStatus` variants).
fn shape_payload(shape: &ResponseShape) -> Option<TokenStream> {
    match shape {
        ResponseShape::Empty => None,
        ResponseShape::Single(ty) | ResponseShape::Json(ty) => Some(ty_tokens(ty)),
        ResponseShape::List(ty) => {
            let ty = ty_tokens(ty);
            Some(quote!(Vec<#ty>))
        }
        ResponseShape::Text => Some(quote!(String)),
        ResponseShape::Bytes => Some(quote!(bytes::Bytes)),
        ResponseShape::ByStatus(_) => Some(quote!(serde_json::Value)),
    }
}

/// `send` (and friends) for the operation's response shape, plus any item they need.
fn send_tokens(op: &Operation) -> (TokenStream, TokenStream) {
    match &op.response {
        ResponseShape::Empty => (
            quote! {
                /// Sends the request.
                pub async fn send(self) -> Result<(), crate::Error> {
                    let (client, request) = self.into_request();
                    client.execute_empty(request).await.map(|_| ())
                }

                /// Sends the request and returns the response metadata (request id, headers).
                pub async fn send_with_meta(self) -> Result<crate::Response<()>, crate::Error> {
                    let (client, request) = self.into_request();
                    client.execute_empty(request).await
                }
            },
            TokenStream::new(),
        ),
        ResponseShape::Single(ty) => {
            let ty = ty_tokens(ty);
            (
                quote! {
                    /// Sends the request and returns the entity.
                    pub async fn send(self) -> Result<#ty, crate::Error> {
                        let (client, request) = self.into_request();
                        client.execute_single::<#ty>(request).await.map(|r| r.data)
                    }

                    /// Sends the request and returns the entity with the response metadata.
                    pub async fn send_with_meta(self) -> Result<crate::Response<#ty>, crate::Error> {
                        let (client, request) = self.into_request();
                        client.execute_single::<#ty>(request).await
                    }
                },
                TokenStream::new(),
            )
        }
        ResponseShape::Json(ty) => {
            let ty = ty_tokens(ty);
            (
                quote! {
                    /// Sends the request and returns the decoded body.
                    pub async fn send(self) -> Result<#ty, crate::Error> {
                        let (client, request) = self.into_request();
                        client.execute_json::<#ty>(request).await.map(|r| r.data)
                    }

                    /// Sends the request and returns the decoded body with the response metadata.
                    pub async fn send_with_meta(self) -> Result<crate::Response<#ty>, crate::Error> {
                        let (client, request) = self.into_request();
                        client.execute_json::<#ty>(request).await
                    }
                },
                TokenStream::new(),
            )
        }
        ResponseShape::Text => (
            quote! {
                /// Sends the request and returns the body as text.
                pub async fn send(self) -> Result<String, crate::Error> {
                    let (client, request) = self.into_request();
                    client.execute_text(request).await.map(|r| r.data)
                }

                /// Sends the request and returns the text with the response metadata.
                pub async fn send_with_meta(self) -> Result<crate::Response<String>, crate::Error> {
                    let (client, request) = self.into_request();
                    client.execute_text(request).await
                }
            },
            TokenStream::new(),
        ),
        ResponseShape::Bytes => (
            quote! {
                /// Sends the request and returns the body as a stream of chunks, read as it
                /// arrives (never held whole).
                pub async fn send(self) -> Result<crate::ByteStream, crate::Error> {
                    let (client, request) = self.into_request();
                    client.execute_stream(request).await.map(|r| r.data)
                }

                /// Sends the request and returns the body stream with the response metadata.
                pub async fn send_with_meta(
                    self,
                ) -> Result<crate::Response<crate::ByteStream>, crate::Error> {
                    let (client, request) = self.into_request();
                    client.execute_stream(request).await
                }
            },
            TokenStream::new(),
        ),
        ResponseShape::List(ty) => {
            let ty = ty_tokens(ty);
            (
                quote! {
                    /// Sends the request and returns one page.
                    pub async fn send(self) -> Result<crate::Page<#ty>, crate::Error> {
                        let (client, request) = self.into_request();
                        client.execute_page::<#ty>(request).await
                    }

                    /// A stream of pages, following `next_cursor` with every filter kept.
                    pub fn pages(self) -> crate::pagination::Pages<#ty> {
                        let (client, request) = self.into_request();
                        crate::pagination::Pages::new(client, request)
                    }

                    /// A stream of items across all pages.
                    pub fn stream(self) -> crate::pagination::Items<#ty> {
                        self.pages().items()
                    }
                },
                TokenStream::new(),
            )
        }
        ResponseShape::ByStatus(shapes) => {
            let enum_name = ident(&op.response_type);
            let variants = shapes.iter().map(|(status, shape)| {
                let var = format_ident!("Status{}", status);
                let doc = format!(" The `{status}` answer.");
                match shape_payload(shape) {
                    Some(ty) => quote!(#[doc = #doc] #var(#ty),),
                    None => quote!(#[doc = #doc] #var,),
                }
            });
            let arms = shapes.iter().map(|(status, shape)| {
                let var = format_ident!("Status{}", status);
                let value = match shape {
                    ResponseShape::Empty => quote!(#enum_name::#var),
                    ResponseShape::Single(_) | ResponseShape::List(_) => quote!(#enum_name::#var(crate::codec::decode_envelope_data(&raw.data).map_err(|e| e.with_operation(op))?)),
                    ResponseShape::Json(_) | ResponseShape::ByStatus(_) => quote!(#enum_name::#var(crate::codec::decode_json(&raw.data).map_err(|e| e.with_operation(op))?)),
                    ResponseShape::Text => quote!(#enum_name::#var(String::from_utf8_lossy(&raw.data).into_owned())),
                    ResponseShape::Bytes => quote!(#enum_name::#var(raw.data.clone())),
                };
                quote!(#status => #value,)
            });
            let enum_doc = format!(" The answers of `{}`, by status.", op.id);
            let item = quote! {
                #[doc = #enum_doc]
                #[derive(Debug, Clone)]
                #[non_exhaustive]
                pub enum #enum_name {
                    #(#variants)*
                    /// Another success status, with its body.
                    Other(u16, bytes::Bytes),
                }
            };
            (
                quote! {
                    /// Sends the request and returns the answer for its status.
                    pub async fn send(self) -> Result<#enum_name, crate::Error> {
                        let (client, request) = self.into_request();
                        #[allow(unused_variables)]
                        let op = request.operation.id;
                        let raw = client.execute_raw(request).await?;
                        Ok(match raw.status.as_u16() {
                            #(#arms)*
                            other => #enum_name::Other(other, raw.data.clone()),
                        })
                    }
                },
                item,
            )
        }
    }
}

/// `webhook_events.rs`: the typed event enum.
pub fn events(api: &Api) -> TokenStream {
    let variants = api.events.iter().map(|e: &EventDef| {
        let var = ident(&e.variant);
        let payload = ident(&e.payload);
        let doc = docs(&format!(
            "`{}`{}",
            e.wire,
            if e.doc.is_empty() {
                String::new()
            } else {
                format!(": {}", e.doc)
            }
        ));
        quote!(#doc #var(crate::models::#payload),)
    });
    let dispatch = api.events.iter().filter(|e| e.has_type).map(|e| {
        let var = ident(&e.variant);
        let wire = &e.wire;
        quote!(#wire => Event::#var(serde_json::from_slice(body).map_err(PayloadError::new)?),)
    });
    let types = api.events.iter().map(|e| {
        let var = ident(&e.variant);
        let wire = &e.wire;
        if e.has_type {
            quote!(Event::#var(e) => AsRef::<str>::as_ref(&e.r#type),)
        } else {
            quote!(Event::#var(_) => #wire,)
        }
    });
    let ids = api.events.iter().map(|e| {
        let var = ident(&e.variant);
        quote!(Event::#var(e) => AsRef::<str>::as_ref(&e.id),)
    });
    let id_method = api.events.iter().all(|e| e.has_id).then(|| {
        quote! {
            /// The event id (the `webhook-id` it was delivered with).
            pub fn id(&self) -> &str {
                match self {
                    #(#ids)*
                    Event::Unknown(e) => e.id(),
                }
            }
        }
    });
    let wires = api.events.iter().map(|e| &e.wire);
    // Payload types are re-exported beside `Event`, unless one is named like an item here.
    let mut reexported = std::collections::BTreeSet::new();
    let reexports: Vec<TokenStream> = api
        .events
        .iter()
        .filter(|e| !["Event", "UnknownEvent"].contains(&e.payload.as_str()))
        .filter(|e| reexported.insert(e.payload.clone()))
        .map(|e| {
            let payload = ident(&e.payload);
            quote!(pub use crate::models::#payload;)
        })
        .collect();
    quote! {
        #(#reexports)*

        /// A webhook event, typed by its `type`.
        ///
        /// Event types added to the API after this version of the SDK still verify and arrive as
        /// [`Event::Unknown`] with their raw JSON.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            #(#variants)*
            /// An event type this version of the SDK does not know.
            Unknown(crate::webhooks::UnknownEvent),
        }

        impl Event {
            /// Every event type this version of the SDK knows.
            pub const KNOWN_TYPES: &'static [&'static str] = &[#(#wires),*];

            /// Parses an event body (already verified) into its typed form.
            pub fn from_slice(body: &[u8]) -> Result<Event, crate::webhooks::PayloadError> {
                use crate::webhooks::PayloadError;
                let peek: crate::codec::EventTypePeek<'_> =
                    serde_json::from_slice(body).map_err(PayloadError::new)?;
                Ok(match peek.event_type.as_ref() {
                    #(#dispatch)*
                    _ => Event::Unknown(crate::webhooks::UnknownEvent::from_value(
                        serde_json::from_slice(body).map_err(PayloadError::new)?,
                    )?),
                })
            }

            /// The event type, e.g. `contact.created`.
            pub fn event_type(&self) -> &str {
                match self {
                    #(#types)*
                    Event::Unknown(e) => e.event_type(),
                }
            }

            #id_method
        }
    }
}

/// The roundtrip dispatch appended to `models.rs` (only compiled with the SDK's `testing`
/// feature): schema name → decode into the generated type → encode back. Every named type
/// takes part, so a schema added to the spec is covered by the example tests with no edit.
fn roundtrip_dispatch(api: &Api) -> TokenStream {
    let components: Vec<(&str, &TypeDef)> = api
        .types
        .iter()
        .filter_map(|t| t.origin.as_deref().map(|o| (o, t)))
        .collect();
    let arms = components.iter().map(|(origin, t)| {
        let name = ident(&t.name);
        quote!(#origin => Some(roundtrip::<#name>(json)),)
    });
    let names = components.iter().map(|(origin, _)| *origin);
    quote! {
        /// Every component schema that has a generated model type, by schema name.
        #[cfg(feature = "testing")]
        #[doc(hidden)]
        pub const __MODEL_NAMES: &[&str] = &[#(#names),*];

        /// Decodes `json` into the model type of component schema `schema` and encodes it
        /// back; `None` when no generated type comes from that schema.
        #[cfg(feature = "testing")]
        #[doc(hidden)]
        pub fn __roundtrip_example(
            schema: &str,
            json: serde_json::Value,
        ) -> Option<Result<serde_json::Value, serde_json::Error>> {
            fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(
                json: serde_json::Value,
            ) -> Result<serde_json::Value, serde_json::Error> {
                let typed: T = serde_json::from_value(json)?;
                serde_json::to_value(&typed)
            }
            match schema {
                #(#arms)*
                _ => None,
            }
        }
    }
}

/// `testing.rs`: one typed mock helper per operation, mirroring the resource accessors, for
/// `crate::testing::MockApi` (included only with the SDK's `testing` feature).
pub fn testing(api: &Api) -> TokenStream {
    let mut out = TokenStream::new();
    let top_level = api.resources.iter().filter(|r| r.key.len() == 1).map(|r| {
        let mock = format_ident!("{}Mock", r.name);
        let accessor = ident(&r.accessor);
        let doc = docs(&format!(
            "Mocks of `client.{}()` operations.",
            r.accessor.trim_start_matches("r#")
        ));
        quote! {
            #doc
            pub fn #accessor(&self) -> #mock<'_> {
                #mock { api: self }
            }
        }
    });
    out.extend(quote! {
        impl crate::testing::MockApi {
            #(#top_level)*
        }
    });
    for resource in &api.resources {
        let children: Vec<&Resource> = api
            .resources
            .iter()
            .filter(|c| c.key.len() == resource.key.len() + 1 && c.key.starts_with(&resource.key))
            .collect();
        out.extend(mock_resource_tokens(resource, &children));
    }
    out
}

fn mock_resource_tokens(resource: &Resource, children: &[&Resource]) -> TokenStream {
    let mock = format_ident!("{}Mock", resource.name);
    let mock_str = format!("{}Mock", resource.name);
    let doc = docs(&format!(
        "Mocks of the operations on {}: one helper per operation, named as on the client.",
        resource.key.join(" / ").replace('_', " ")
    ));
    // Scope parameters are kept as already-encoded path segments.
    let scope_fields = resource.scope_params.iter().map(|p| {
        let field = ident(&p.rust);
        quote!(#field: String,)
    });
    let scope_debug = resource.scope_params.iter().map(|p| {
        let field = ident(&p.rust);
        let label = p.rust.trim_start_matches("r#");
        quote!(.field(#label, &self.#field))
    });
    let child_accessors = children.iter().map(|child| {
        let child_mock = format_ident!("{}Mock", child.name);
        let accessor = ident(&child.accessor);
        let args = child.accessor_params.iter().map(param_arg);
        let inherited = resource.scope_params.iter().map(|p| {
            let field = ident(&p.rust);
            quote!(#field: self.#field.clone(),)
        });
        let own = child.accessor_params.iter().map(|p| {
            let field = ident(&p.rust);
            quote!(#field: crate::codec::path_segment(#field),)
        });
        let doc = docs(&format!(
            "Mocks of `.{}(..)` operations.",
            child.accessor.trim_start_matches("r#")
        ));
        quote! {
            #doc
            pub fn #accessor(&self, #(#args),*) -> #child_mock<'a> {
                #child_mock {
                    api: self.api,
                    #(#inherited)*
                    #(#own)*
                }
            }
        }
    });
    // The mock kit knows the house shapes; other operations are mocked with `MockApi::operation`.
    let methods = resource
        .operations
        .iter()
        .filter(|op| op.path_args.is_empty())
        .filter_map(|op| {
            let method = ident(&op.method_name);
            let id = &op.id;
            let kind = match &op.response {
                ResponseShape::Empty => quote!(crate::testing::Empty),
                ResponseShape::Single(ty) => {
                    let ty = ty_tokens(ty);
                    quote!(crate::testing::Single<#ty>)
                }
                ResponseShape::List(ty) => {
                    let ty = ty_tokens(ty);
                    quote!(crate::testing::List<#ty>)
                }
                _ => return None,
            };
            let args = op.item_param.iter().map(param_arg);
            let mut template = String::new();
            let mut values = Vec::new();
            for seg in op.path.split('/').filter(|s| !s.is_empty()) {
                template.push('/');
                match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(param) => {
                        template.push_str("{}");
                        let field = ident(&crate::names::field_name(param));
                        let is_item = op.item_param.as_ref().is_some_and(|p| p.wire == param);
                        values.push(if is_item {
                            quote!(crate::codec::path_segment(#field))
                        } else {
                            quote!(self.#field)
                        });
                    }
                    None => template.push_str(seg),
                }
            }
            let path = if values.is_empty() {
                quote!(String::from(#template))
            } else {
                quote!(format!(#template, #(#values),*))
            };
            let doc = docs(&format!(
                "Mocks `{} {}` (`{}`).",
                op.method.as_str(),
                op.path,
                op.id
            ));
            Some(quote! {
                #doc
                pub fn #method(&self, #(#args),*) -> crate::testing::OperationMock<'a, #kind> {
                    self.api.operation(#id, #path)
                }
            })
        });
    quote! {
        #doc
        pub struct #mock<'a> {
            api: &'a crate::testing::MockApi,
            #(#scope_fields)*
        }

        impl std::fmt::Debug for #mock<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#mock_str) #(#scope_debug)* .finish_non_exhaustive()
            }
        }

        impl<'a> #mock<'a> {
            #(#child_accessors)*
            #(#methods)*
        }
    }
}
