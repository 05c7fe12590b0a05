//! `models.rs`: one Rust type per named schema, and the example round-trip dispatch.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{arg, docs, id_names, ident, ty_tokens};
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
    let ids = id_names(api);
    let is_id = |name: &str| ids.contains(name);
    let type_names: std::collections::HashSet<&str> =
        api.types.iter().map(|t| t.name.as_str()).collect();
    let open = open_objects(api);
    let parts = parts.max(1);
    let chunk = api.types.len().div_ceil(parts);
    let start = (part * chunk).min(api.types.len());
    let end = ((part + 1) * chunk).min(api.types.len());
    let mut out: TokenStream = api.types[start..end]
        .iter()
        .map(|t| match &t.kind {
            TypeKind::Struct(s) => struct_model(t, s, &type_names, &open, &is_id),
            TypeKind::Enum(variants) => enum_model(t, variants),
            TypeKind::Id => id_model(t),
            TypeKind::Alias(ty) => alias_model(t, ty),
            TypeKind::Tagged(union) => tagged_model(t, union),
            TypeKind::Untagged(variants) => untagged_model(t, variants),
        })
        .collect();
    if part + 1 == parts {
        out.extend(unset_module(api));
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

/// The structs that are open JSON objects: named properties beside `additionalProperties` of any
/// JSON value (an event's `properties` with its typed, possibly sensitive, members). A field of
/// such a type is set like a free-form object (`json!({..})`, a map, a struct), then read into
/// the struct, so a caller never has to spell out the named members.
fn open_objects(api: &Api) -> std::collections::HashSet<&str> {
    api.types
        .iter()
        .filter(|t| {
            matches!(&t.kind, TypeKind::Struct(s) if !s.fields.is_empty() && s.additional == Some(Ty::Json))
        })
        .map(|t| t.name.as_str())
        .collect()
}

fn struct_model(
    t: &TypeDef,
    s: &StructDef,
    type_names: &std::collections::HashSet<&str>,
    open: &std::collections::HashSet<&str>,
    is_id: &dyn Fn(&str) -> bool,
) -> TokenStream {
    let name = ident(&t.name);
    let doc = type_docs(t);
    let fields = s.fields.iter().map(|f| {
        let field = ident(&f.rust);
        let wire = &f.wire;
        let doc = docs(&f.doc);
        let ty = field_ty(f);
        let rename = (f.rust != f.wire).then(|| quote!(rename = #wire,));
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
        .filter(|f| supplied_by_caller(f, s.patch))
        .collect();
    let setters = s
        .fields
        .iter()
        .filter(|f| f.repr(s.patch) != FieldRepr::Plain)
        .map(|f| {
            let field = ident(&f.rust);
            // `_1st` → `with_1st`, `type_` → `with_type`: no field is named after a bare keyword.
            let bare = f.rust.trim_start_matches('_').trim_end_matches('_');
            let with = format_ident!("with_{}", bare);
            let (ty, convert) = field_arg(f, is_id);
            let value = if convert {
                quote!(value.into())
            } else {
                quote!(value)
            };
            let value = boxed(f, value);
            let set_doc = format!(" Sets `{}`.", f.wire);
            if f.ty == Ty::JsonMap && !f.boxed {
                return json_object_setter(f, s.patch, &with, &set_doc);
            }
            if let Ty::Named(target) = &f.ty
                && open.contains(target.as_str())
                && !f.boxed
            {
                return open_object_setter(f, target, s.patch, &with, &set_doc);
            }
            match f.repr(s.patch) {
                FieldRepr::Patch => {
                    let clear = clear_setter(f, s.patch);
                    quote! {
                        #[doc = #set_doc]
                        pub fn #with(mut self, value: #ty) -> Self {
                            self.#field = crate::Patch::Value(#value);
                            self
                        }
                        #clear
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
        let wire = &f.rust;
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
        .find(|candidate| !s.fields.iter().any(|f| &f.rust == candidate))
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
    // The constructor goes into the type's `impl` block; what it needs besides goes after it.
    let (constructor, constructor_items) = if plain.is_empty() {
        let unset = s.fields.iter().map(|f| unset_field(f, s.patch));
        let new = quote! {
            /// Creates a value with every field unset.
            pub fn new() -> Self {
                Self { #(#unset,)* #additional_init }
            }
        };
        let default = quote! {
            impl Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }
        };
        (new, default)
    } else {
        builder(t, s, &plain, additional_init, type_names, is_id)
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
            #constructor
            #(#setters)*
        }

        #constructor_items

        impl std::fmt::Debug for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#name_str) #(#debug_fields)* #additional_debug .finish()
            }
        }
    }
}

/// Whether the caller must supply the field: it is required, and not a `const` (which has only
/// one possible value).
fn supplied_by_caller(f: &Field, patch: bool) -> bool {
    f.repr(patch) == FieldRepr::Plain && f.constant.is_none()
}

/// The initial value of a field the caller does not supply: a constant's one value, or unset.
fn unset_field(f: &Field, patch: bool) -> TokenStream {
    let field = ident(&f.rust);
    match f.repr(patch) {
        FieldRepr::Plain => {
            let value = f.constant.as_deref().unwrap_or_default();
            quote!(#field: String::from(#value))
        }
        FieldRepr::NullableRequired | FieldRepr::Optional => quote!(#field: None),
        FieldRepr::Patch => quote!(#field: crate::Patch::Absent),
    }
}

/// `models::unset`: one marker type per required field name, held by builders until the field
/// is set. Fields of the same name in different types share a marker.
fn unset_module(api: &Api) -> TokenStream {
    let names: std::collections::BTreeSet<String> = api
        .types
        .iter()
        .filter_map(|t| match &t.kind {
            TypeKind::Struct(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| s.fields.iter().filter(|f| supplied_by_caller(f, s.patch)))
        .map(|f| crate::names::type_name(&f.rust, "Field"))
        .collect();
    if names.is_empty() {
        return TokenStream::new();
    }
    let markers = names.iter().map(|name| {
        let marker = ident(name);
        quote! {
            /// A required field of this name, not set yet.
            #[derive(Debug, Clone, Copy)]
            pub struct #marker;
        }
    });
    quote! {
        /// Markers for required fields a builder has not been given yet (see any type's
        /// `builder()`): a compile error that mentions `unset::Name` means `name` is missing.
        pub mod unset {
            #(#markers)*
        }
    }
}

/// The marker type (in `models::unset`) a builder holds for a required field not set yet.
fn unset_marker(f: &Field) -> TokenStream {
    let marker = ident(&crate::names::type_name(&f.rust, "Field"));
    quote!(crate::models::unset::#marker)
}

/// `Type::builder()` and its builder: one named setter per required field, in any order, and
/// `build()` only once all are set. The builder's type parameters record which are set, so a
/// missing field is a compile error that names it (`unset::Headline`), and a required field
/// added to the spec breaks exactly the calls that do not set it. Each setter moves the other
/// fields across positionally, so the code grows linearly with the number of required fields.
fn builder(
    t: &TypeDef,
    s: &StructDef,
    plain: &[&Field],
    additional_init: Option<TokenStream>,
    type_names: &std::collections::HashSet<&str>,
    is_id: &dyn Fn(&str) -> bool,
) -> (TokenStream, TokenStream) {
    let name = ident(&t.name);
    // `PetBuilder`, unless the spec has a schema of that name: then `PetBuilder2`, …
    let builder = (1..)
        .map(|n| match n {
            1 => format!("{}Builder", t.name),
            n => format!("{}Builder{n}", t.name),
        })
        .find(|candidate| !type_names.contains(candidate.as_str()))
        .map(|name| ident(&name))
        .unwrap_or_else(|| format_ident!("{}Builder", t.name));
    let params: Vec<proc_macro2::Ident> =
        (0..plain.len()).map(|i| format_ident!("F{}", i)).collect();
    let markers: Vec<TokenStream> = plain.iter().map(|f| unset_marker(f)).collect();
    // What a set field holds: the argument converted, not yet boxed.
    let set_types: Vec<TokenStream> = plain.iter().map(|f| value_ty(f)).collect();
    let setters = plain.iter().enumerate().map(|(i, f)| {
        let setter = ident(&f.rust);
        let (arg_ty, convert) = field_arg(f, is_id);
        let value = if convert {
            quote!(value.into())
        } else {
            quote!(value)
        };
        let open: Vec<&proc_macro2::Ident> = params
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| p)
            .collect();
        let before = params.iter().enumerate().map(|(j, p)| {
            if j == i {
                markers[i].clone()
            } else {
                quote!(#p)
            }
        });
        let after = params.iter().enumerate().map(|(j, p)| {
            if j == i {
                set_types[i].clone()
            } else {
                quote!(#p)
            }
        });
        let moved = (0..plain.len()).map(|j| {
            if j == i {
                value.clone()
            } else {
                let index = proc_macro2::Literal::usize_unsuffixed(j);
                quote!(self.#index)
            }
        });
        let doc = docs(&format!("Sets `{}` (required).\n\n{}", f.wire, f.doc));
        quote! {
            impl<#(#open),*> #builder<#(#before),*> {
                #doc
                pub fn #setter(self, value: #arg_ty) -> #builder<#(#after),*> {
                    #builder(#(#moved),*)
                }
            }
        }
    });
    let built = s
        .fields
        .iter()
        .map(|f| match plain.iter().position(|p| p.rust == f.rust) {
            Some(i) => {
                let field = ident(&f.rust);
                let index = proc_macro2::Literal::usize_unsuffixed(i);
                let value = boxed(f, quote!(self.#index));
                quote!(#field: #value)
            }
            None => unset_field(f, s.patch),
        });
    let required = plain
        .iter()
        .map(|f| format!("`{}`", f.wire))
        .collect::<Vec<_>>()
        .join(", ");
    let builder_doc = format!(
        " Starts a [`{}`] from its required fields ({required}): call each one's setter, in any \
         order, then `build()`. `build` exists only once every required field is set, so a \
         missing one is a compile error; the others are set afterwards with the `with_*` methods.",
        t.name
    );
    let type_doc = format!(
        " The builder of a [`{0}`], from [`{0}::builder`]. Its type parameters record which \
         required fields are set: one still shown as `unset::…` has not been.",
        t.name
    );
    let builder_str = builder.to_string();
    let constructor = quote! {
        #[doc = #builder_doc]
        pub fn builder() -> #builder {
            #builder(#(#markers),*)
        }
    };
    let items = quote! {

        #[doc = #type_doc]
        #[derive(Clone)]
        #[must_use = "a builder does nothing until `build()` is called"]
        pub struct #builder<#(#params = #markers),*>(#(#params),*);

        /// Field values are left out: a required field may be a secret.
        impl<#(#params),*> std::fmt::Debug for #builder<#(#params),*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#builder_str).finish_non_exhaustive()
            }
        }

        #(#setters)*

        impl #builder<#(#set_types),*> {
            /// The value, with every optional field unset.
            pub fn build(self) -> #name {
                #name { #(#built,)* #additional_init }
            }
        }
    };
    (constructor, items)
}

/// `clear_<field>()`, which sends `null`, for a field of a PATCH body that may be cleared;
/// nothing for other fields.
fn clear_setter(f: &Field, patch: bool) -> Option<TokenStream> {
    (f.repr(patch) == FieldRepr::Patch).then(|| {
        let field = ident(&f.rust);
        let bare = f.rust.trim_start_matches('_').trim_end_matches('_');
        let clear = format_ident!("clear_{}", bare);
        let clear_doc = format!(" Sends `{}: null`, clearing it on the server.", f.wire);
        quote! {
            #[doc = #clear_doc]
            pub fn #clear(mut self) -> Self {
                self.#field = crate::Patch::Null;
                self
            }
        }
    })
}

/// The setter of a free-form JSON object field: takes anything serializable (a `json!` value, a
/// map, a struct of the user's) and refuses what does not serialize to an object.
fn json_object_setter(
    f: &Field,
    patch: bool,
    with: &proc_macro2::Ident,
    set_doc: &str,
) -> TokenStream {
    let field = ident(&f.rust);
    let wire = &f.wire;
    let store = match f.repr(patch) {
        FieldRepr::Patch => quote!(crate::Patch::Value(object)),
        _ => quote!(Some(object)),
    };
    let doc = format!(
        "{set_doc}\n\nTakes any value that serializes to a JSON object (`json!({{..}})`, a map, a \
         struct deriving `Serialize`); anything else is a [`crate::NotAJsonObject`] error."
    );
    let doc = docs(&doc);
    let clear = clear_setter(f, patch);
    quote! {
        #doc
        pub fn #with(mut self, value: impl serde::Serialize) -> Result<Self, crate::NotAJsonObject> {
            let object = crate::json_object::to_json_object(#wire, value)?;
            self.#field = #store;
            Ok(self)
        }
        #clear
    }
}

/// The setter of a field whose type is an open object ([`open_objects`]): any value that
/// serializes to a JSON object, read into the struct (named members typed, the others kept).
fn open_object_setter(
    f: &Field,
    target: &str,
    patch: bool,
    with: &proc_macro2::Ident,
    set_doc: &str,
) -> TokenStream {
    let field = ident(&f.rust);
    let wire = &f.wire;
    let target_ty = ty_tokens(&f.ty);
    let store = match f.repr(patch) {
        FieldRepr::Patch => quote!(crate::Patch::Value(typed)),
        _ => quote!(Some(typed)),
    };
    let doc = format!(
        "{set_doc}\n\nTakes a [`{target}`] or any value that serializes to a JSON object \
         (`json!({{..}})`, a map, a struct deriving `Serialize`): its named members are read into \
         their types, the other keys kept as they are. A value that is not a JSON object, or whose \
         named members have the wrong type, is a [`crate::NotAJsonObject`] error."
    );
    let doc = docs(&doc);
    let clear = clear_setter(f, patch);
    quote! {
        #doc
        pub fn #with(mut self, value: impl serde::Serialize) -> Result<Self, crate::NotAJsonObject> {
            let object = crate::json_object::to_json_object(#wire, value)?;
            let typed: #target_ty = crate::json_object::from_json_object(#wire, object)?;
            self.#field = #store;
            Ok(self)
        }
        #clear
    }
}

/// A field's type, boxed when it closes a cycle.
fn field_ty(f: &Field) -> TokenStream {
    let ty = value_ty(f);
    if f.boxed { quote!(Box<#ty>) } else { ty }
}

/// The type of a field's value: `Sensitive<T>` for a field marked `x-sensitive`.
fn value_ty(f: &Field) -> TokenStream {
    let ty = ty_tokens(&f.ty);
    if f.sensitive {
        quote!(crate::Sensitive<#ty>)
    } else {
        ty
    }
}

/// A setter's argument type for a field, and whether it is converted with `.into()`: a
/// sensitive field takes the plain value (`"ada@example.com"`) as well as a `Sensitive`.
fn field_arg(f: &Field, is_id: &dyn Fn(&str) -> bool) -> (TokenStream, bool) {
    if f.sensitive {
        let ty = value_ty(f);
        (quote!(impl Into<#ty>), true)
    } else {
        arg(&f.ty, is_id)
    }
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

        /// Every id parameter takes `impl Into<` this type `>`, so an id or a reference to one
        /// fits; a plain string does not (wrap one read from storage with `new`).
        impl From<&#name> for #name {
            fn from(id: &#name) -> Self {
                id.clone()
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
    // A document whose schemas are all inline (common in converted Postman and API Blueprint
    // documents) has no arm: the body is then just `None`, since a `json` parameter and a
    // `roundtrip` helper nothing uses would be compiler warnings in the generated code.
    let body = if components.is_empty() {
        quote! {
            let _ = (schema, json);
            None
        }
    } else {
        quote! {
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
    };
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
            #body
        }
    }
}
