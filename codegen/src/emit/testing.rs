//! `testing.rs`: typed `MockApi` helpers, one per operation.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{accessor_params, children, docs, id_names, ident, path_param, ty_tokens};
use crate::model::{Api, Resource, ResponseShape};

/// `testing.rs`: one typed mock helper per operation, mirroring the resource accessors, for
/// `crate::testing::MockApi` (included only with the SDK's `testing` feature).
pub fn testing(api: &Api) -> TokenStream {
    let ids = id_names(api);
    let is_id = |name: &str| ids.contains(name);
    let mut out = TokenStream::new();
    let top_level = api.resources.iter().filter(|r| r.key.len() == 1).map(|r| {
        let mock = format_ident!("{}Mock", r.name);
        let accessor = ident(&r.accessor);
        let doc = docs(&format!("Mocks of `client.{}()` operations.", r.accessor));
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
        let children = children(api, resource);
        out.extend(mock_resource_tokens(resource, &children, &is_id));
    }
    out
}

fn mock_resource_tokens(
    resource: &Resource,
    children: &[&Resource],
    is_id: &dyn Fn(&str) -> bool,
) -> TokenStream {
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
        let label = &p.rust;
        quote!(.field(#label, &self.#field))
    });
    let child_accessors = children.iter().map(|child| {
        let child_mock = format_ident!("{}Mock", child.name);
        let accessor = ident(&child.accessor);
        let (args, own) = accessor_params(child, is_id);
        let inherited = resource.scope_params.iter().map(|p| {
            let field = ident(&p.rust);
            quote!(#field: self.#field.clone(),)
        });
        let doc = docs(&format!("Mocks of `.{}(..)` operations.", child.accessor));
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
                ResponseShape::Text => quote!(crate::testing::Text),
                _ => return None,
            };
            let item = op.item_param.as_ref().map(|p| path_param(p, is_id));
            let args = item.iter().map(|(arg, _)| arg);
            let mut template = String::new();
            let mut values = Vec::new();
            for seg in op.path.split('/').filter(|s| !s.is_empty()) {
                template.push('/');
                match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(param) => {
                        template.push_str("{}");
                        let field = ident(&crate::names::field_name(param));
                        let is_item = op.item_param.as_ref().is_some_and(|p| p.wire == param);
                        values.push(if let (true, Some((_, segment))) = (is_item, &item) {
                            segment.clone()
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
