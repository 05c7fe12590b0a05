//! `models.rs`: one Rust type per named schema, and the example round-trip dispatch.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{arg, docs, ident, ty_tokens};
use crate::model::{
    Api, Field, FieldRepr, StructDef, TaggedUnion, Ty, TypeDef, TypeKind, UnionVariant, Variant,
};

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
