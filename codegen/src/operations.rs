//! Paths → resources and operations; `webhooks` → events.
//!
//! REST-shaped paths (`/campaigns`, `/campaigns/{id}`, `/campaigns/{id}/ads`, `/things/{id}/act`)
//! become a resource tree with conventional method names (`list`, `create`, `get`, `replace`,
//! `update`, `delete`, actions by name). Any other path shape — versions or prefixes before the
//! resource (`/v2/files/{id}.{ext}`), parameters in the middle of a segment, trailing slashes —
//! is grouped under its first tag (or first path segment) with its operation id as method name
//! and every path parameter as an argument. Nothing about the house API is assumed: its envelope,
//! cursor pages and `Idempotency-Key` are recognised by shape where the spec uses them.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToSnakeCase;
use serde_json::Value;

use crate::document::{Document, escape_pointer_token, ref_pointer};
use crate::model::{
    Api, Body, BodyKind, EventDef, Method, Operation, Param, ParamStyle, Resource, ResponseShape,
    Ty, TypeKind, Warning, doc_of,
};
use crate::names::{self, Namespace};
use crate::schema::SchemaView;
use crate::types::TypeBuilder;

/// Builds the whole model from a parsed document.
pub fn build(doc: &Document) -> Api {
    let mut warnings = Vec::new();
    let raw_ops = collect_operations(doc);
    let patch_pointers = patch_body_pointers(doc, &raw_ops);
    let mut types = TypeBuilder::new(doc, patch_pointers);
    types.component_schemas();

    let collections = collection_paths(doc, &raw_ops);
    let mut placed: Vec<(RawOp<'_>, Placement)> = raw_ops
        .into_iter()
        .map(|op| {
            let placement =
                place_rest(&op.path, op.method, &collections).unwrap_or_else(|| place_by_tag(&op));
            (op, placement)
        })
        .collect();
    demote_orphans(&mut placed);

    // Names in `api`: resources first (they are what users type), then builders.
    let mut api_names = Namespace::default();
    let mut resource_names: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut keys: Vec<Vec<String>> = placed.iter().map(|(_, p)| p.key.clone()).collect();
    keys.sort_by_key(|k| k.len());
    keys.dedup();
    let last_counts = keys
        .iter()
        .fold(BTreeMap::<String, usize>::new(), |mut acc, k| {
            if let Some(last) = k.last() {
                *acc.entry(last.clone()).or_default() += 1;
            }
            acc
        });
    for key in &keys {
        let Some(last) = key.last() else { continue };
        let wanted = if key.len() > 1 && last_counts.get(last).copied().unwrap_or(0) > 1 {
            let parent = &key[key.len() - 2];
            format!(
                "{}{}",
                names::type_name(parent.trim_end_matches('s'), "Resource"),
                names::type_name(last, "Resource")
            )
        } else {
            names::type_name(last, "Resource")
        };
        resource_names.insert(key.clone(), api_names.claim(&wanted));
    }

    let mut by_key: BTreeMap<Vec<String>, Resource> = BTreeMap::new();
    let mut operation_ids = Namespace::default();
    for (raw, placement) in placed {
        let builder = api_names.claim(&names::type_name(&raw.id, "Operation"));
        let id = operation_ids.claim(&raw.id);
        let Some(operation) = build_operation(
            doc,
            &mut types,
            &raw,
            &placement,
            id,
            builder,
            &mut warnings,
        ) else {
            continue;
        };
        let scope = placement.scope.clone();
        let resource = by_key
            .entry(placement.key.clone())
            .or_insert_with(|| Resource {
                key: placement.key.clone(),
                name: resource_names
                    .get(&placement.key)
                    .cloned()
                    .unwrap_or_else(|| "Resource".into()),
                accessor: String::new(),
                doc: String::new(),
                accessor_params: Vec::new(),
                scope_params: scope,
                operations: Vec::new(),
            });
        resource.operations.push(operation);
    }

    // Enums of answers by status are named after every builder has its name.
    for op in by_key.values_mut().flat_map(|r| r.operations.iter_mut()) {
        if matches!(op.response, ResponseShape::ByStatus(_)) {
            op.response_type = api_names.claim(&format!("{}Response", op.builder));
        }
    }
    let resources = arrange_resources(doc, by_key);
    let events = events(doc, &mut types, &mut warnings);
    let operations_in_spec = count_operations(doc);
    let (type_defs, mut type_warnings) = types.finish();
    type_warnings.append(&mut warnings);
    Api {
        title: doc.title().to_owned(),
        types: type_defs,
        resources,
        events,
        operations_in_spec,
        warnings: type_warnings,
    }
}

/// One operation as found in the spec.
struct RawOp<'a> {
    path: String,
    method: Method,
    pointer: String,
    op: &'a Value,
    path_item: &'a Value,
    id: String,
}

fn count_operations(doc: &Document) -> usize {
    doc.root
        .get("paths")
        .and_then(Value::as_object)
        .map(|paths| {
            paths
                .values()
                .map(|item| {
                    let item = doc.resolve(item, "").map(|(v, _)| v).unwrap_or(item);
                    Method::ALL
                        .iter()
                        .filter(|m| item.get(m.key()).is_some_and(Value::is_object))
                        .count()
                })
                .sum()
        })
        .unwrap_or(0)
}

fn collect_operations(doc: &Document) -> Vec<RawOp<'_>> {
    let mut out = Vec::new();
    let Some(paths) = doc.root.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let item_pointer = format!("/paths/{}", escape_pointer_token(path));
        // A path item may itself be a `$ref` (to another path item).
        let item = doc
            .resolve(item, &item_pointer)
            .map(|(v, _)| v)
            .unwrap_or(item);
        for method in Method::ALL {
            let Some(op) = item.get(method.key()).filter(|v| v.is_object()) else {
                continue;
            };
            if op.get("x-sdk-runtime") == Some(&Value::Bool(true)) {
                continue;
            }
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{} {}", method.key(), path));
            out.push(RawOp {
                path: path.clone(),
                method,
                pointer: format!("{item_pointer}/{}", method.key()),
                op,
                path_item: item,
                id,
            });
        }
    }
    out
}

/// Schemas sent as PATCH bodies: their optional nullable fields become `Patch<T>`.
fn patch_body_pointers(doc: &Document, ops: &[RawOp<'_>]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for op in ops.iter().filter(|o| o.method == Method::Patch) {
        let Some(body) = op.op.get("requestBody") else {
            continue;
        };
        let Ok((body, _)) = doc.resolve(body, "") else {
            continue;
        };
        for media in body
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            if let Some(reference) = media
                .get("schema")
                .and_then(|s| s.get("$ref"))
                .and_then(Value::as_str)
                && let Ok(pointer) = ref_pointer(reference)
            {
                out.insert(pointer);
            }
        }
    }
    out
}

/// Where an operation lives.
#[derive(Debug, Clone)]
struct Placement {
    key: Vec<String>,
    /// Path parameters the resource holds (wire names), in order.
    scope: Vec<Param>,
    scope_names: Vec<String>,
    item_param: Option<String>,
    default_method: Option<String>,
    /// Grouped by tag: every path parameter is a method argument.
    by_tag: bool,
}

/// A path template split into literal and parameter segments (`None` for a segment that mixes
/// the two, such as `{id}.{ext}`).
fn segments(path: &str) -> Vec<Option<Segment<'_>>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) if !param.contains(['{', '}']) => Some(Segment::Param(param)),
                Some(_) => None,
                None if s.contains(['{', '}']) => None,
                None => Some(Segment::Literal(s)),
            },
        )
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'a> {
    Literal(&'a str),
    Param(&'a str),
}

/// Paths that are collections: a path some other path extends with an item parameter, or whose
/// GET answers a cursor page, or that has one segment.
fn collection_paths(doc: &Document, ops: &[RawOp<'_>]) -> BTreeSet<String> {
    let paths: Vec<&String> = ops.iter().map(|o| &o.path).collect();
    let mut out = BTreeSet::new();
    for op in ops {
        let path = &op.path;
        if paths
            .iter()
            .any(|other| other.len() > path.len() && other.starts_with(&format!("{path}/{{")))
        {
            out.insert(path.clone());
        }
        if segments(path).len() == 1 {
            out.insert(path.clone());
        }
        if op.method == Method::Get && returns_page(doc, op.op) {
            out.insert(path.clone());
        }
    }
    out
}

fn returns_page(doc: &Document, op: &Value) -> bool {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        return false;
    };
    responses.iter().any(|(code, response)| {
        code.starts_with('2')
            && doc
                .resolve(response, "")
                .ok()
                .and_then(|(r, _)| json_schema_of(r))
                .and_then(|s| doc.resolve(s, "").ok())
                .is_some_and(|(schema, _)| {
                    envelope_parts(schema).is_some_and(|(_, meta)| meta_has_cursor(doc, meta))
                })
    })
}

/// The REST placement, when the path has that shape.
fn place_rest(path: &str, method: Method, collections: &BTreeSet<String>) -> Option<Placement> {
    let segs: Vec<Segment<'_>> = segments(path).into_iter().collect::<Option<Vec<_>>>()?;
    if path.ends_with('/') && path.len() > 1 {
        return None;
    }
    let mut key = Vec::new();
    let mut params = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        match (seg, i % 2 == 0) {
            (Segment::Literal(l), true) => key.push(l.to_string()),
            (Segment::Param(p), false) => params.push(p.to_string()),
            _ => return None,
        }
    }
    let placement = |key: Vec<String>,
                     scope_names: Vec<String>,
                     item: Option<String>,
                     default: Option<&str>| Placement {
        key,
        scope: Vec::new(),
        scope_names,
        item_param: item,
        default_method: default.map(str::to_owned),
        by_tag: false,
    };
    match segs.last()? {
        Segment::Param(p) => {
            let default = match method {
                Method::Get => Some("get"),
                Method::Put => Some("replace"),
                Method::Patch => Some("update"),
                Method::Delete => Some("delete"),
                _ => None,
            };
            let scope = params[..params.len() - 1].to_vec();
            Some(placement(key, scope, Some(p.to_string()), default))
        }
        Segment::Literal(last) => {
            let is_action = segs.len() >= 3 && !collections.contains(path);
            if is_action {
                let Some(Segment::Param(p)) = segs.get(segs.len() - 2) else {
                    return None;
                };
                key.pop();
                let scope = params[..params.len() - 1].to_vec();
                let name = names::field_name(last);
                Some(Placement {
                    default_method: Some(name),
                    ..placement(key, scope, Some(p.to_string()), None)
                })
            } else {
                let default = match method {
                    Method::Get => Some("list"),
                    Method::Post => Some("create"),
                    _ => None,
                };
                Some(placement(key, params, None, default))
            }
        }
    }
}

fn place_by_tag(op: &RawOp<'_>) -> Placement {
    let tag = op
        .op
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            segments(&op.path).into_iter().find_map(|s| match s {
                Some(Segment::Literal(l)) => Some(l.to_owned()),
                _ => None,
            })
        })
        .unwrap_or_else(|| "default".to_owned());
    Placement {
        key: vec![names::field_name(&tag)],
        scope: Vec::new(),
        scope_names: Vec::new(),
        item_param: None,
        default_method: None,
        by_tag: true,
    }
}

/// A nested REST resource needs its parent resource, with the same parameter names up the
/// path; an operation whose parent is missing or disagrees is grouped by tag instead. Operations
/// of one resource must also agree on the names of the parameters it holds.
fn demote_orphans(placed: &mut [(RawOp<'_>, Placement)]) {
    loop {
        let mut scopes: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        let mut conflicts = BTreeSet::new();
        for (_, p) in placed.iter().filter(|(_, p)| !p.by_tag) {
            match scopes.get(&p.key) {
                Some(existing) if existing != &p.scope_names => {
                    conflicts.insert(p.key.clone());
                }
                Some(_) => {}
                None => {
                    scopes.insert(p.key.clone(), p.scope_names.clone());
                }
            }
        }
        let mut changed = false;
        for (op, p) in placed.iter_mut() {
            if p.by_tag {
                continue;
            }
            let orphan = p.key.len() > 1 && {
                let parent = &p.key[..p.key.len() - 1];
                match scopes.get(parent) {
                    None => true,
                    Some(parent_scope) => {
                        conflicts.contains(parent)
                            || !p.scope_names.starts_with(parent_scope)
                            || p.scope_names.len() != parent_scope.len() + 1
                    }
                }
            };
            if orphan || conflicts.contains(&p.key) {
                *p = place_by_tag(op);
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_operation(
    doc: &Document,
    types: &mut TypeBuilder<'_>,
    raw: &RawOp<'_>,
    placement: &Placement,
    id: String,
    builder: String,
    warnings: &mut Vec<Warning>,
) -> Option<Operation> {
    let location = raw.pointer.clone();
    let mut warn = |at: &str, message: String| {
        warnings.push(Warning {
            location: at.to_owned(),
            message,
        })
    };
    // Parameters: the path item's, overridden by the operation's of the same name and place.
    let mut params: Vec<(Value, String)> = Vec::new();
    let item_pointer = location
        .rsplit_once('/')
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default();
    for (source, base) in [
        (raw.path_item, item_pointer.as_str()),
        (raw.op, location.as_str()),
    ] {
        for (i, p) in source
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{base}/parameters/{i}");
            let (resolved, _) = match doc.resolve(p, &at) {
                Ok(found) => found,
                Err(message) => {
                    warn(&at, format!("{message}; parameter left out"));
                    continue;
                }
            };
            let key = |v: &Value| {
                (
                    v.get("name").and_then(Value::as_str).map(str::to_owned),
                    v.get("in").and_then(Value::as_str).map(str::to_owned),
                )
            };
            let this = key(resolved);
            params.retain(|(existing, _)| key(existing) != this);
            params.push((resolved.clone(), at));
        }
    }

    // Parameter setters share the builder's impl with its own methods.
    let mut rust_names = Namespace::with_reserved([
        "client",
        "path",
        "body",
        "options",
        "new",
        "timeout",
        "max_attempts",
        "idempotency_key",
        "into_request",
        "send",
        "send_with_meta",
        "pages",
        "stream",
    ]);
    let mut path_params: BTreeMap<String, Param> = BTreeMap::new();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    let mut idempotency_key = false;
    for (p, at) in &params {
        let view = SchemaView::new(p);
        let (Some(name), Some(place)) = (view.str("name"), view.str("in")) else {
            warn(at, "parameter without `name` or `in`; left out".into());
            continue;
        };
        if place == "header" && name.eq_ignore_ascii_case("Idempotency-Key") {
            idempotency_key = true;
            continue;
        }
        if place == "header"
            && ["accept", "content-type", "authorization"]
                .contains(&name.to_ascii_lowercase().as_str())
        {
            // OpenAPI says these are described elsewhere (media types, security schemes).
            continue;
        }
        let hint = format!("{builder}{}", names::type_name(name, "Param"));
        let (ty, style) = match p.get("schema") {
            Some(schema) => {
                let (ty, _) = types.ty(schema, &format!("{at}/schema"), &hint);
                (ty, param_style(&view, place))
            }
            // `content` parameters carry a serialized value (usually JSON): sent as text.
            None if p.get("content").is_some() => (Ty::String, ParamStyle::Form { explode: false }),
            None => (Ty::String, param_style(&view, place)),
        };
        // Only the default `simple` style writes a path list as `a,b`; `label` and `matrix`
        // lists keep the text form (and its warning).
        let simple_path = place == "path" && view.str("style").is_none_or(|s| s == "simple");
        let ty = parameter_type(types, ty, place, simple_path, at, &mut warn);
        let required = place == "path" || view.flag("required");
        let mut doc_text = view.doc();
        if doc_text.is_empty() {
            doc_text = format!("The `{name}` {place} parameter.");
        }
        let param = Param {
            wire: name.to_owned(),
            rust: String::new(),
            ty,
            required,
            doc: doc_text,
            style,
        };
        match place {
            "path" => {
                path_params.insert(name.to_owned(), param);
            }
            "query" => query.push(param),
            "header" => headers.push(param),
            "cookie" => cookies.push(param),
            other => warn(
                at,
                format!("parameters `in: {other}` are not supported; left out"),
            ),
        }
    }

    // Path parameters in path order; ones used but not declared are strings. A name used twice
    // (`/resourceGroups/System.{location}/…/fabricLocations/{location}`) is one parameter.
    let mut ordered: Vec<Param> = Vec::new();
    for name in template_params(&raw.path) {
        if ordered.iter().any(|p| p.wire == name) {
            continue;
        }
        let param = path_params.remove(&name).unwrap_or_else(|| {
            warn(
                &location,
                format!("path parameter `{name}` is not declared; taken as a string"),
            );
            Param {
                wire: name.clone(),
                rust: String::new(),
                ty: Ty::String,
                required: true,
                doc: format!("The `{name}` path parameter."),
                style: ParamStyle::Simple,
            }
        });
        ordered.push(param);
    }
    for (name, _) in path_params {
        warn(
            &location,
            format!("declared path parameter `{name}` is not in the path; left out"),
        );
    }
    let mut name_param = |p: &mut Param| p.rust = rust_names.claim(&names::field_name(&p.wire));
    // Scope parameters keep their plain names (the resource's fields), so claim them first.
    for p in ordered.iter_mut() {
        name_param(p);
    }
    for p in query
        .iter_mut()
        .chain(headers.iter_mut())
        .chain(cookies.iter_mut())
    {
        name_param(p);
    }

    let (item_param, path_args, scope) = if placement.by_tag {
        (None, ordered, Vec::<Param>::new())
    } else {
        let mut ordered = ordered;
        let item = match &placement.item_param {
            Some(name) => match ordered.last() {
                Some(last) if &last.wire == name => ordered.pop(),
                _ => None,
            },
            None => None,
        };
        (item, Vec::new(), ordered)
    };

    let body = request_body(doc, types, raw.op, &location, &builder, &mut warn);
    let (status, response) = success_response(doc, types, raw.op, &location, &builder, &query);
    let accept = accept_header(doc, raw.op, &response);
    let method_name = match (
        raw.op.get("x-sdk-method").and_then(Value::as_str),
        &placement.default_method,
    ) {
        (Some(name), _) => names::field_name(&name.to_snake_case()),
        (None, Some(default)) => default.clone(),
        (None, None) => names::field_name(&raw.id),
    };
    let op = raw.op;
    let mut doc_text = doc_of(
        op.get("summary").and_then(Value::as_str),
        op.get("description").and_then(Value::as_str),
    );
    if doc_text.is_empty() {
        doc_text = format!("`{} {}`.", raw.method.as_str(), raw.path);
    }
    Some(Operation {
        id,
        method_name,
        builder,
        method: raw.method,
        path: raw.path.clone(),
        item_param,
        path_args,
        scope,
        query,
        headers,
        cookies,
        idempotency_key,
        body,
        response,
        accept,
        response_type: String::new(),
        status,
        deprecated: op.get("deprecated") == Some(&Value::Bool(true)),
        doc: doc_text,
    })
}

/// Parameter names in a path template, in order (`/a/{b}.{c}` → `b`, `c`).
pub fn template_params(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    out
}

fn param_style(view: &SchemaView<'_>, place: &str) -> ParamStyle {
    let default_style = match place {
        "query" | "cookie" => "form",
        _ => "simple",
    };
    let style = view.str("style").unwrap_or(default_style);
    let explode = view
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(style == "form");
    match style {
        "form" => ParamStyle::Form { explode },
        "spaceDelimited" => ParamStyle::SpaceDelimited,
        "pipeDelimited" => ParamStyle::PipeDelimited,
        "deepObject" => ParamStyle::DeepObject,
        _ => ParamStyle::Simple,
    }
}

/// Parameters are text on the wire: scalars, enums, ids, and lists or maps of them are typed;
/// other query parameters take any JSON value, written in their style; other path, header and
/// cookie parameters are taken as their text form.
fn parameter_type(
    types: &TypeBuilder<'_>,
    ty: Ty,
    place: &str,
    simple_path: bool,
    at: &str,
    warn: &mut impl FnMut(&str, String),
) -> Ty {
    let scalar = |t: &Ty| is_scalar(types, t);
    let ok = match (&ty, place) {
        (t, _) if scalar(t) => true,
        (Ty::List(item), "query" | "header" | "cookie") => scalar(item),
        // `/mget/{names}` with `names: [a, b]` is `/mget/a,b` (style `simple`).
        (Ty::List(item), "path") => simple_path && scalar(item),
        (Ty::Map(value), "query") => scalar(value),
        _ => false,
    };
    if ok {
        return ty;
    }
    let object = matches!(types.resolve_alias(&ty), Ty::JsonMap | Ty::Map(_))
        || matches!(types.resolve_alias(&ty), Ty::Named(n) if matches!(types.def(n).map(|d| &d.kind), Some(TypeKind::Struct(_))));
    if object && place == "query" {
        return Ty::Map(Box::new(Ty::String));
    }
    if place == "query" {
        // Unions (`anyOf [range object, integer]`), nested lists, free-form values: any JSON,
        // written in the parameter's style (an object as `name[key]=value` with deepObject).
        return Ty::Json;
    }
    if is_scalar_union(types, &ty) {
        // `oneOf [integer, string]` ids and `[string, boolean]` names: every member is text on
        // the wire, so the text the caller writes is exactly what the spec allows.
        return Ty::String;
    }
    warn(
        at,
        "this parameter's schema has no text form the generator knows; taken as a string".into(),
    );
    Ty::String
}

/// A `oneOf`/`anyOf` without a discriminator whose members are all scalars.
fn is_scalar_union(types: &TypeBuilder<'_>, ty: &Ty) -> bool {
    match types.resolve_alias(ty) {
        Ty::Named(n) => match types.def(n).map(|d| &d.kind) {
            Some(TypeKind::Untagged(variants)) => {
                !variants.is_empty() && variants.iter().all(|v| is_scalar(types, &v.ty))
            }
            _ => false,
        },
        _ => false,
    }
}

fn is_scalar(types: &TypeBuilder<'_>, ty: &Ty) -> bool {
    match types.resolve_alias(ty) {
        Ty::String
        | Ty::I32
        | Ty::I64
        | Ty::U64
        | Ty::F64
        | Ty::Bool
        | Ty::DateTime
        | Ty::Date
        | Ty::Uuid => true,
        Ty::Named(n) => matches!(
            types.def(n).map(|d| &d.kind),
            Some(TypeKind::Enum(_) | TypeKind::Id)
        ),
        _ => false,
    }
}

/// The kinds of media types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum MediaKind {
    Json,
    Form,
    Multipart,
    Text,
    Binary,
}

fn media_kind(content_type: &str) -> MediaKind {
    let base = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if base == "application/json" || base.ends_with("+json") || base == "text/json" {
        MediaKind::Json
    } else if base == "application/x-www-form-urlencoded" {
        MediaKind::Form
    } else if base.starts_with("multipart/") {
        MediaKind::Multipart
    } else if base.starts_with("text/") || base.ends_with("/xml") || base.ends_with("+xml") {
        MediaKind::Text
    } else {
        MediaKind::Binary
    }
}

/// The preferred media type of a `content` map.
fn preferred_media(content: &serde_json::Map<String, Value>) -> Option<(&str, &Value, MediaKind)> {
    content
        .iter()
        .map(|(ct, media)| (ct.as_str(), media, media_kind(ct)))
        .min_by_key(|(ct, _, kind)| (*kind, *ct == "*/*"))
        .map(|(ct, media, kind)| {
            // `*/*` with a JSON-looking schema is almost always JSON.
            if ct == "*/*"
                && media
                    .get("schema")
                    .is_some_and(|s| s.get("type").and_then(Value::as_str) != Some("string"))
            {
                (ct, media, MediaKind::Json)
            } else {
                (ct, media, kind)
            }
        })
}

/// The media type a request body is sent as: as for responses, but one raw body (text or
/// binary, which the SDK can stream from a file) is preferred over a multipart form offering
/// the same file as a part.
fn preferred_request_media(
    content: &serde_json::Map<String, Value>,
) -> Option<(&str, &Value, MediaKind)> {
    let (ct, media, kind) = preferred_media(content)?;
    if kind != MediaKind::Multipart {
        return Some((ct, media, kind));
    }
    content
        .iter()
        .map(|(ct, media)| (ct.as_str(), media, media_kind(ct)))
        .filter(|(ct, _, kind)| matches!(kind, MediaKind::Text | MediaKind::Binary) && *ct != "*/*")
        .min_by_key(|(_, _, kind)| *kind)
        .or(Some((ct, media, kind)))
}

fn json_schema_of(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    content
        .iter()
        .find(|(ct, _)| media_kind(ct) == MediaKind::Json)
        .and_then(|(_, media)| media.get("schema"))
}

fn request_body(
    doc: &Document,
    types: &mut TypeBuilder<'_>,
    op: &Value,
    location: &str,
    builder: &str,
    warn: &mut impl FnMut(&str, String),
) -> Option<Body> {
    let at = format!("{location}/requestBody");
    let body = op.get("requestBody")?;
    let (body, body_at) = match doc.resolve(body, &at) {
        Ok(found) => found,
        Err(message) => {
            warn(&at, format!("{message}; request body left out"));
            return None;
        }
    };
    let required = body.get("required") == Some(&Value::Bool(true));
    let content = body.get("content").and_then(Value::as_object)?;
    let (content_type, media, kind) = preferred_request_media(content)?;
    let media_at = format!("{body_at}/content/{}", escape_pointer_token(content_type));
    let hint = format!("{builder}Body");
    let kind = match kind {
        MediaKind::Json => {
            let ty = match media.get("schema") {
                Some(schema) => types.ty(schema, &format!("{media_at}/schema"), &hint).0,
                None => Ty::Json,
            };
            BodyKind::Json(ty)
        }
        MediaKind::Form => {
            let ty = match media.get("schema") {
                Some(schema) => types.ty(schema, &format!("{media_at}/schema"), &hint).0,
                None => Ty::JsonMap,
            };
            BodyKind::Form(ty)
        }
        MediaKind::Multipart => {
            let parts = media
                .get("schema")
                .and_then(|s| doc.resolve(s, "").ok())
                .map(|(s, _)| {
                    SchemaView::new(s)
                        .properties()
                        .into_iter()
                        .map(|(name, prop)| {
                            let binary = doc.resolve(prop, "").ok().is_some_and(|(p, _)| {
                                let v = SchemaView::new(p);
                                matches!(v.format(), Some("binary" | "base64"))
                                    || v.get("contentMediaType").is_some()
                            });
                            format!("`{name}`{}", if binary { " (file)" } else { "" })
                        })
                        .collect()
                })
                .unwrap_or_default();
            BodyKind::Multipart(parts)
        }
        MediaKind::Text => BodyKind::Text,
        MediaKind::Binary => BodyKind::Bytes,
    };
    Some(Body {
        content_type: content_type.to_owned(),
        kind,
        required,
    })
}

/// `data` and `meta` of a house envelope: an object whose properties are exactly those two.
fn envelope_parts(schema: &Value) -> Option<(&Value, &Value)> {
    let view = SchemaView::new(schema);
    let props = view.properties();
    if props.len() != 2 {
        return None;
    }
    let data = props.iter().find(|(k, _)| *k == "data")?.1;
    let meta = props.iter().find(|(k, _)| *k == "meta")?.1;
    Some((data, meta))
}

fn meta_has_cursor(doc: &Document, meta: &Value) -> bool {
    doc.resolve(meta, "").is_ok_and(|(m, _)| {
        SchemaView::new(m)
            .properties()
            .iter()
            .any(|(k, _)| *k == "next_cursor")
    })
}

fn success_response(
    doc: &Document,
    types: &mut TypeBuilder<'_>,
    op: &Value,
    location: &str,
    builder: &str,
    query: &[Param],
) -> (u16, ResponseShape) {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        return (200, ResponseShape::Empty);
    };
    let mut shapes: Vec<(u16, ResponseShape)> = Vec::new();
    let mut ranged = false;
    for (code, response) in responses {
        let status = match code.parse::<u16>() {
            Ok(s) if (200..300).contains(&s) => s,
            _ if code.eq_ignore_ascii_case("2XX") => {
                ranged = true;
                200
            }
            _ => continue,
        };
        let at = format!("{location}/responses/{code}");
        shapes.push((
            status,
            response_shape(doc, types, response, &at, builder, query),
        ));
    }
    if shapes.is_empty()
        && let Some(default) = responses.get("default")
    {
        let at = format!("{location}/responses/default");
        shapes.push((
            200,
            response_shape(doc, types, default, &at, builder, query),
        ));
    }
    let Some((first_status, first)) = shapes.first().cloned() else {
        return (200, ResponseShape::Empty);
    };
    if shapes.iter().all(|(_, s)| *s == first) || ranged {
        return (first_status, first);
    }
    // 200 with a body and 204 without are common: different shapes by status.
    (first_status, ResponseShape::ByStatus(shapes))
}

/// The `Accept` header of an operation whose success answer is not JSON (text or binary): the
/// media types its success responses declare, then the JSON types of its error responses at a
/// lower preference, so a server that negotiates by `Accept` neither refuses the call (406) nor
/// hides its error document. `None` keeps the client's default, `application/json`: for JSON
/// answers, and for media types that cannot be written in a header. (An `Accept` header
/// parameter is ignored, as OpenAPI says: the responses' media types are what it would say.)
fn accept_header(doc: &Document, op: &Value, response: &ResponseShape) -> Option<String> {
    let raw = |shape: &ResponseShape| matches!(shape, ResponseShape::Text | ResponseShape::Bytes);
    let raw_answer = match response {
        ResponseShape::ByStatus(shapes) => shapes.iter().any(|(_, shape)| raw(shape)),
        shape => raw(shape),
    };
    if !raw_answer {
        return None;
    }
    let responses = op.get("responses")?.as_object()?;
    let has_success = responses.keys().any(|code| code.starts_with('2'));
    let (mut wanted, mut errors): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (code, response) in responses {
        let success = code.starts_with('2') || (!has_success && code == "default");
        let Ok((response, _)) = doc.resolve(response, "") else {
            continue;
        };
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            continue;
        };
        for media_type in content.keys().map(|t| t.trim()) {
            let list = if success {
                &mut wanted
            } else if media_kind(media_type) == MediaKind::Json {
                &mut errors
            } else {
                continue;
            };
            if !list.contains(&media_type) {
                list.push(media_type);
            }
        }
    }
    errors.retain(|t| !wanted.contains(t));
    let value = wanted
        .iter()
        .map(|t| (*t).to_owned())
        .chain(errors.iter().map(|t| format!("{t};q=0.9")))
        .collect::<Vec<_>>()
        .join(", ");
    // Visible ASCII and spaces only: what `HeaderValue::from_static` takes.
    let writable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    (!value.is_empty() && writable).then_some(value)
}

fn response_shape(
    doc: &Document,
    types: &mut TypeBuilder<'_>,
    response: &Value,
    at: &str,
    builder: &str,
    query: &[Param],
) -> ResponseShape {
    let Ok((response, response_at)) = doc.resolve(response, at) else {
        return ResponseShape::Empty;
    };
    let Some(content) = response
        .get("content")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
    else {
        return ResponseShape::Empty;
    };
    let Some((content_type, media, kind)) = preferred_media(content) else {
        return ResponseShape::Empty;
    };
    let media_at = format!(
        "{response_at}/content/{}",
        escape_pointer_token(content_type)
    );
    match kind {
        MediaKind::Json => {
            let Some(schema) = media.get("schema") else {
                return ResponseShape::Json(Ty::Json);
            };
            let schema_at = format!("{media_at}/schema");
            let hint = format!("{builder}Response");
            if let Ok((resolved, resolved_at)) = doc.resolve(schema, &schema_at)
                && let Some((data, meta)) = envelope_parts(resolved)
            {
                let data_at = format!("{resolved_at}/properties/data");
                let (data_ty, _) = types.ty(data, &data_at, &format!("{builder}Data"));
                let pages = meta_has_cursor(doc, meta) && query.iter().any(|q| q.wire == "cursor");
                return match data_ty {
                    Ty::List(item) if pages => ResponseShape::List(*item),
                    other => ResponseShape::Single(other),
                };
            }
            let (ty, _) = types.ty(schema, &schema_at, &hint);
            ResponseShape::Json(ty)
        }
        MediaKind::Text | MediaKind::Form => ResponseShape::Text,
        MediaKind::Binary | MediaKind::Multipart => ResponseShape::Bytes,
    }
}

/// Arranges resources parents first, names their accessors and documents them.
fn arrange_resources(doc: &Document, mut by_key: BTreeMap<Vec<String>, Resource>) -> Vec<Resource> {
    let mut order: Vec<Vec<String>> = by_key.keys().cloned().collect();
    order.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
    let tag_docs: BTreeMap<String, String> = doc
        .root
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?;
            let text = t.get("description")?.as_str()?.trim();
            if text.is_empty() {
                return None;
            }
            Some((names::field_name(name), text.to_owned()))
        })
        .collect();
    let mut client_accessors = Namespace::default();
    let mut out: Vec<Resource> = Vec::new();
    for key in order {
        let Some(mut resource) = by_key.remove(&key) else {
            continue;
        };
        let Some(last) = key.last() else { continue };
        let wanted = names::field_name(last);
        let parent_index = (key.len() > 1)
            .then(|| out.iter().position(|r| r.key == key[..key.len() - 1]))
            .flatten();
        resource.accessor = match parent_index {
            None => client_accessors.claim(&wanted),
            Some(_) => wanted,
        };
        let inherited = parent_index.map_or(0, |i| out[i].scope_params.len());
        // The resource holds the scope parameters of its first operation.
        if let Some(first) = resource.operations.first() {
            resource.scope_params = first.scope.clone();
        }
        resource.accessor_params =
            resource.scope_params[inherited.min(resource.scope_params.len())..].to_vec();
        resource.doc = tag_docs.get(last).cloned().unwrap_or_else(|| {
            format!(
                "Operations on {}.",
                key.join(" / ").replace(['_', '-'], " ")
            )
        });
        // Method names: child accessors are claimed when children are attached below; here the
        // operations' own names are made unique.
        let mut methods = Namespace::with_reserved(["client"]);
        for op in &mut resource.operations {
            op.method_name = methods.claim(&op.method_name);
        }
        out.push(resource);
    }
    // Child accessors and method names share the parent's impl block.
    for i in 0..out.len() {
        let children: Vec<String> = out
            .iter()
            .filter(|c| c.key.len() == out[i].key.len() + 1 && c.key.starts_with(&out[i].key))
            .map(|c| c.accessor.clone())
            .collect();
        let taken: BTreeSet<String> = children.iter().map(|c| c.to_owned()).collect();
        let mut ns =
            Namespace::with_reserved(children.iter().map(String::as_str).chain(["client"]));
        for op in &mut out[i].operations {
            if taken.contains(&op.method_name) {
                op.method_name = ns.claim(&format!("{}_op", &op.method_name));
            } else {
                ns.claim(&op.method_name);
            }
        }
    }
    out
}

fn events(
    doc: &Document,
    types: &mut TypeBuilder<'_>,
    warnings: &mut Vec<Warning>,
) -> Vec<EventDef> {
    let mut out = Vec::new();
    let Some(hooks) = doc.root.get("webhooks").and_then(Value::as_object) else {
        return out;
    };
    let mut variants = Namespace::with_reserved(["Unknown"]);
    for (event_type, item) in hooks {
        let at = format!("/webhooks/{}", escape_pointer_token(event_type));
        let item = doc.resolve(item, &at).map(|(v, _)| v).unwrap_or(item);
        let Some(op) = item.get("post") else {
            warnings.push(Warning {
                location: at,
                message: "a webhook is read from its `post` operation; this one has none, left out"
                    .into(),
            });
            continue;
        };
        let Some(schema) = op
            .get("requestBody")
            .and_then(|b| doc.resolve(b, "").ok())
            .and_then(|(b, _)| json_schema_of(b))
        else {
            warnings.push(Warning {
                location: at,
                message: "webhook without a JSON request body; left out".into(),
            });
            continue;
        };
        let variant = variants.claim(&names::type_name(
            &event_type.replace(['.', '-', '/'], "_"),
            "Event",
        ));
        let (ty, _) = types.ty(
            schema,
            &format!("{at}/post/requestBody/content/application~1json/schema"),
            &format!("{variant}Payload"),
        );
        let Ty::Named(payload) = ty else {
            warnings.push(Warning {
                location: at,
                message: "webhook payload is not an object schema; left out of the typed events"
                    .into(),
            });
            continue;
        };
        let field_ok = |name: &str| -> bool {
            types.def(&payload).is_some_and(|d| match &d.kind {
                TypeKind::Struct(s) => s.fields.iter().any(|f| {
                    f.wire == name
                        && f.rust == names::field_name(name)
                        && f.required
                        && !f.nullable
                        && match types.resolve_alias(&f.ty) {
                            Ty::String => true,
                            Ty::Named(n) => matches!(
                                types.def(n).map(|d| &d.kind),
                                Some(TypeKind::Id | TypeKind::Enum(_))
                            ),
                            _ => false,
                        }
                }),
                _ => false,
            })
        };
        let has_id = field_ok("id");
        let has_type = field_ok("type");
        if !has_type {
            warnings.push(Warning {
                location: at.clone(),
                message: "the payload has no required string `type`: `Event::from_slice` cannot recognise this event (it arrives as `Event::Unknown`); decode the payload type directly".into(),
            });
        }
        out.push(EventDef {
            wire: event_type.clone(),
            variant,
            payload,
            doc: doc_of(
                op.get("summary").and_then(Value::as_str),
                op.get("description").and_then(Value::as_str),
            ),
            has_id,
            has_type,
        });
    }
    out
}
