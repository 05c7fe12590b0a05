//! `api.rs`: the resource tree and one request builder per operation.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{accessor_params, arg, children, docs, id_names, ident, path_param, ty_tokens};
use crate::model::{Api, BodyKind, Operation, Param, ParamStyle, Resource, ResponseShape, Ty};

/// `api.rs`: resource accessors and one builder per operation.
pub fn api(api: &Api) -> TokenStream {
    let ids = id_names(api);
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
        let children = children(api, resource);
        out.extend(resource_tokens(resource, &children, &is_id));
        for op in &resource.operations {
            out.extend(builder_tokens(op, &is_id));
        }
    }
    out
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
        let label = &p.rust;
        quote!(.field(#label, &self.#field))
    });
    let name_str = &resource.name;
    let child_accessors = children.iter().map(|child| {
        let child_name = ident(&child.name);
        let accessor = ident(&child.accessor);
        let (args, own) = accessor_params(child, is_id);
        let inherited = resource
            .scope_params
            .iter()
            .zip(&child.scope_params)
            .map(|(p, c)| {
                let field = ident(&p.rust);
                let child_field = ident(&c.rust);
                quote!(#child_field: self.#field.clone(),)
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
            args.push(path_param(p, is_id).0);
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
        let path = path_expr(op, resource, is_id);
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
        BodyKind::Text | BodyKind::Bytes => quote!(body: impl Into<crate::upload::Upload>),
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
        // Bytes in memory, or streamed from a file, reader or stream as the request is sent.
        BodyKind::Text | BodyKind::Bytes => quote!(body.into().encode(#content_type)),
        BodyKind::Multipart(_) => quote!(body.encode()),
    }
}

/// `format!` building the concrete path from the template, whatever its shape.
fn path_expr(op: &Operation, resource: &Resource, is_id: &dyn Fn(&str) -> bool) -> TokenStream {
    let mut template = String::new();
    let mut values = Vec::new();
    // A parameter used twice in one path is converted once (its argument moves into its
    // segment), and the template names it by position (`{0}`) at each use.
    let mut seen: Vec<&str> = Vec::new();
    let repeats = {
        let names = crate::operations::template_params(&op.path);
        names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n))
    };
    let mut rest = op.path.as_str();
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        template.push_str(&rest[..start].replace('{', "{{").replace('}', "}}"));
        let param = &rest[start + 1..start + len];
        if repeats {
            if let Some(index) = seen.iter().position(|s| *s == param) {
                template.push_str(&format!("{{{index}}}"));
                rest = &rest[start + len + 1..];
                continue;
            }
            template.push_str(&format!("{{{}}}", seen.len()));
            seen.push(param);
        } else {
            template.push_str("{}");
        }
        let own = op
            .path_args
            .iter()
            .chain(&op.item_param)
            .find(|p| p.wire == param);
        let scope = resource.scope_params.iter().find(|p| p.wire == param);
        values.push(match (own, scope) {
            (Some(p), _) => path_param(p, is_id).1,
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
        quote!(crate::codec::push_value(&mut #target, #wire, Some(#value));)
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
                let scalar = p.ty != Ty::Json && !matches!(p.ty, Ty::List(_) | Ty::Map(_));
                if scalar {
                    // One line per scalar, set or not.
                    let wire = &p.wire;
                    let value = if p.required {
                        quote!(Some(&self.#field))
                    } else {
                        quote!(self.#field.as_ref())
                    };
                    quote!(crate::codec::push_value(&mut #target, #wire, #value);)
                } else if p.required {
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
    let accept = match &op.accept {
        Some(value) => quote!(Some(http::HeaderValue::from_static(#value))),
        None => quote!(None),
    };
    quote! {
        static #op_static: crate::transport::OperationInfo = crate::transport::OperationInfo {
            id: #id,
            method: http::Method::#method,
            path_template: #path,
            deprecated: #deprecated,
            idempotency_key: #idempotent,
            accept: #accept,
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
        ResponseShape::Text | ResponseShape::Bytes => {
            let (send_doc, text) = if matches!(op.response, ResponseShape::Text) {
                (
                    "Sends the request and returns the body as a stream of chunks, read as it\narrives (never held whole); `.csv_rows()` parses a CSV body row by row.",
                    quote! {
                        /// Sends the request and returns the whole body as text (for bodies known to
                        /// be small: it is held in memory, up to the client's response size limit).
                        pub async fn text(self) -> Result<String, crate::Error> {
                            let (client, request) = self.into_request();
                            client.execute_text(request).await.map(|r| r.data)
                        }
                    },
                )
            } else {
                (
                    "Sends the request and returns the body as a stream of chunks, read as it\narrives (never held whole).",
                    TokenStream::new(),
                )
            };
            let send_doc = docs(send_doc);
            (
                quote! {
                    #send_doc
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

                    #text
                },
                TokenStream::new(),
            )
        }
        ResponseShape::List(ty) => {
            let ty = ty_tokens(ty);
            (
                quote! {
                    /// Sends the request and returns one page.
                    pub async fn send(self) -> Result<crate::Page<#ty>, crate::Error> {
                        let (client, request) = self.into_request();
                        client.execute_page::<#ty>(request).await.map(|r| r.data)
                    }

                    /// Sends the request and returns one page with the response metadata
                    /// (headers: rate limit, deprecation, …).
                    pub async fn send_with_meta(
                        self,
                    ) -> Result<crate::Response<crate::Page<#ty>>, crate::Error> {
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
