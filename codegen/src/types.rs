//! Schemas → named Rust types: how every JSON Schema construct maps onto Rust.
//!
//! | schema | Rust |
//! |---|---|
//! | object with `properties` | struct (`#[non_exhaustive]`, `new(required…)` + `with_*`) |
//! | `additionalProperties` beside properties | a flattened `BTreeMap<String, T>` field |
//! | object with only `additionalProperties` | `BTreeMap<String, T>` |
//! | string `enum` | enum with an `Unknown(String)` fallback |
//! | open enum: `x-extensible-enum`, or `anyOf` [string `enum`, string] | the same enum |
//! | `oneOf` + `discriminator` | enum chosen by the tag, unknown tags kept as JSON |
//! | `oneOf`/`anyOf` without one | untagged enum tried in a sound order, then raw JSON |
//! | `allOf` | one struct with the members' properties merged |
//! | `[T, null]`, `nullable`, `anyOf [T, null]` | `Option<T>` |
//! | inline object / enum / union | a named type `ParentField` |
//! | recursion | `Box` on the edges of each cycle |
//! | named array / scalar | `pub type Name = …;` (strings named `…Id`: a typed id newtype) |
//!
//! Types are memoized by the JSON pointer of their schema, so a schema referenced from many
//! places (or from itself) becomes one type.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::document::{Document, escape_pointer_token, last_token, ref_pointer};
use crate::model::{
    Field, StructDef, TaggedUnion, TaggedVariant, Ty, TypeDef, TypeKind, UnionVariant, Variant,
    Warning,
};
use crate::names::{self, Namespace};
use crate::schema::SchemaView;

/// How deep schemas may nest inline before the rest is typed as JSON (a guard against
/// pathological or adversarial specs).
const MAX_INLINE_DEPTH: usize = 64;

/// Builds named types from schemas.
pub struct TypeBuilder<'d> {
    doc: &'d Document,
    defs: Vec<Option<TypeDef>>,
    by_name: HashMap<String, usize>,
    memo: HashMap<String, (Ty, bool)>,
    names: Namespace,
    warnings: Vec<Warning>,
    patch_pointers: BTreeSet<String>,
    depth: usize,
    /// Component schema names of the slots built from one.
    origins: HashMap<usize, String>,
    /// The Rust name reserved for each component schema, by pointer.
    component_names: HashMap<String, String>,
}

impl<'d> TypeBuilder<'d> {
    /// A builder for `doc`; schemas at `patch_pointers` are PATCH bodies.
    pub fn new(doc: &'d Document, patch_pointers: BTreeSet<String>) -> Self {
        TypeBuilder {
            doc,
            defs: Vec::new(),
            by_name: HashMap::new(),
            memo: HashMap::new(),
            names: Namespace::default(),
            warnings: Vec::new(),
            patch_pointers,
            depth: 0,
            origins: HashMap::new(),
            component_names: HashMap::new(),
        }
    }

    /// Records a warning.
    pub fn warn(&mut self, location: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            location: location.to_owned(),
            message: message.into(),
        });
    }

    /// Whether `name` is a typed-id newtype.
    pub fn is_id(&self, name: &str) -> bool {
        self.def(name)
            .is_some_and(|d| matches!(d.kind, TypeKind::Id))
    }

    /// The named type `name`, once built.
    pub fn def(&self, name: &str) -> Option<&TypeDef> {
        self.by_name
            .get(name)
            .and_then(|&i| self.defs.get(i))
            .and_then(Option::as_ref)
    }

    /// Follows a named type through aliases to what it finally is.
    pub fn resolve_alias<'t>(&'t self, ty: &'t Ty) -> &'t Ty {
        let mut current = ty;
        for _ in 0..32 {
            match current {
                Ty::Named(n) => match self.def(n).map(|d| &d.kind) {
                    Some(TypeKind::Alias(inner)) => current = inner,
                    _ => return current,
                },
                _ => return current,
            }
        }
        current
    }

    /// Builds a type for every component schema, in spec order.
    pub fn component_schemas(&mut self) {
        let names: Vec<String> = self
            .doc
            .root
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        // Component names are claimed first, so an inline type named after its parent and field
        // (`SerieBeginAt`) never takes the name of a component.
        let pointers: Vec<String> = names
            .iter()
            .map(|name| format!("/components/schemas/{}", escape_pointer_token(name)))
            .collect();
        for (name, pointer) in names.iter().zip(&pointers) {
            let rust = self.names.claim(&names::type_name(name, "Type"));
            self.component_names.insert(pointer.clone(), rust);
        }
        for pointer in &pointers {
            self.ty_at(pointer);
        }
    }

    /// The Rust type of the schema `schema` found at `pointer`, and whether it admits `null`.
    /// `hint` names the type when the schema is an inline object, enum or union.
    pub fn ty(&mut self, schema: &Value, pointer: &str, hint: &str) -> (Ty, bool) {
        let view = SchemaView::new(schema);
        if let Some(reference) = view.reference() {
            let target = match ref_pointer(reference) {
                Ok(target) => target,
                Err(message) => {
                    self.warn(pointer, format!("{message}; typed as JSON"));
                    return (Ty::Json, true);
                }
            };
            if self.doc.at(&target).is_none() {
                self.warn(
                    pointer,
                    format!("`$ref: {reference}` points at nothing; typed as JSON"),
                );
                return (Ty::Json, true);
            }
            let (ty, nullable) = self.ty_at(&target);
            // 3.1 allows siblings next to `$ref` (`description`, `nullable` in 3.0 dialects).
            return (ty, nullable || view.nullable());
        }
        if let Some(found) = self.memo.get(pointer) {
            return found.clone();
        }
        if self.depth >= MAX_INLINE_DEPTH {
            self.warn(
                pointer,
                format!("schemas nest deeper than {MAX_INLINE_DEPTH} levels; typed as JSON"),
            );
            return (Ty::Json, true);
        }
        self.depth += 1;
        let result = self.inline(schema, pointer, hint);
        self.depth -= 1;
        self.memo.insert(pointer.to_owned(), result.clone());
        result
    }

    /// The type of the schema at a JSON pointer; component schemas become named types.
    fn ty_at(&mut self, pointer: &str) -> (Ty, bool) {
        if let Some(found) = self.memo.get(pointer) {
            return found.clone();
        }
        let Some(schema) = self.doc.at(pointer) else {
            return (Ty::Json, true);
        };
        let is_component = pointer
            .strip_prefix("/components/schemas/")
            .is_some_and(|rest| !rest.contains('/'));
        if !is_component {
            let hint = names::type_name(&last_token(pointer), "Type");
            return self.ty(schema, pointer, &hint);
        }
        let component = last_token(pointer);
        let name = match self.component_names.get(pointer) {
            Some(name) => name.clone(),
            None => self.names.claim(&names::type_name(&component, "Type")),
        };
        self.origins.insert(self.defs.len(), component);
        self.named(schema, pointer, &name)
    }

    /// Reserves a named type before building it, so recursive references find it.
    fn reserve(&mut self, name: &str, pointer: &str, nullable: bool) -> usize {
        let slot = self.defs.len();
        self.defs.push(None);
        self.by_name.insert(name.to_owned(), slot);
        self.memo
            .insert(pointer.to_owned(), (Ty::Named(name.to_owned()), nullable));
        slot
    }

    fn fill(&mut self, slot: usize, name: &str, schema: &Value, kind: TypeKind) {
        let view = SchemaView::new(schema);
        let mut doc = view.doc();
        if doc.is_empty() {
            doc = format!("The `{name}` type of the API.");
        }
        let origin = self.origins.get(&slot).cloned();
        self.defs[slot] = Some(TypeDef {
            name: name.to_owned(),
            origin,
            doc,
            example: view.example().cloned(),
            kind,
        });
    }

    /// Builds the named type `name` for the schema at `pointer`.
    fn named(&mut self, schema: &Value, pointer: &str, name: &str) -> (Ty, bool) {
        let view = SchemaView::new(schema);
        let nullable = view.nullable();
        let slot = self.reserve(name, pointer, nullable);
        let kind = self.kind_of(schema, pointer, name);
        self.fill(slot, name, schema, kind);
        (Ty::Named(name.to_owned()), nullable)
    }

    /// What a named schema is.
    fn kind_of(&mut self, schema: &Value, pointer: &str, name: &str) -> TypeKind {
        let view = SchemaView::new(schema);
        if view.reference().is_some() {
            // `Foo: {$ref: Bar}`: the same type under a second name.
            let (ty, _) = self.ty(schema, pointer, name);
            return TypeKind::Alias(ty);
        }
        if let Some(values) = view.open_enum_values() {
            return self.enumeration(&values, pointer, name);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(members) = view.list(key) {
                return self.union(&view, members, &format!("{pointer}/{key}"), name);
            }
        }
        if let Some(members) = view.list("allOf") {
            return self.all_of(&view, members, pointer, name);
        }
        if let Some(values) = view.enum_values() {
            return self.enumeration(&values, pointer, name);
        }
        let types = view.types();
        let object_like =
            types == ["object"] || (types.is_empty() && (view.get("properties").is_some()));
        if object_like && !view.properties().is_empty() {
            return TypeKind::Struct(self.struct_def(
                &[(schema, pointer.to_owned())],
                pointer,
                name,
            ));
        }
        if types == ["string"]
            && view.format().is_none()
            && view.get("const").is_none()
            && (name.ends_with("Id") || name.ends_with("ID"))
        {
            return TypeKind::Id;
        }
        let (ty, _) = self.shape(schema, pointer, name);
        TypeKind::Alias(ty)
    }

    /// The type of an inline schema.
    fn inline(&mut self, schema: &Value, pointer: &str, hint: &str) -> (Ty, bool) {
        let view = SchemaView::new(schema);
        let nullable = view.nullable();
        if view.open_enum_values().is_some() {
            let name = self.names.claim(hint);
            let (ty, _) = self.named(schema, pointer, &name);
            return (ty, nullable);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(members) = view.list(key) {
                let real: Vec<(usize, &Value)> = members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| !self.is_null_schema(m))
                    .collect();
                let has_null = real.len() < members.len();
                if real.len() == 1 && view.get("discriminator").is_none() {
                    let (index, member) = real[0];
                    let (ty, n) = self.ty(member, &format!("{pointer}/{key}/{index}"), hint);
                    return (ty, n || has_null || nullable);
                }
                if real.is_empty() {
                    return (Ty::Json, true);
                }
                let name = self.names.claim(hint);
                let (ty, _) = self.named(schema, pointer, &name);
                return (ty, nullable || has_null);
            }
        }
        if let Some(members) = view.list("allOf") {
            if let Some((index, only)) = self.sole_meaningful_member(members)
                && view.properties().is_empty()
            {
                let (ty, n) = self.ty(only, &format!("{pointer}/allOf/{index}"), hint);
                return (ty, n || nullable || annotations_say_nullable(members));
            }
            let name = self.names.claim(hint);
            return self.named(schema, pointer, &name);
        }
        if let Some(values) = view.enum_values()
            && !values.is_empty()
            && values.iter().all(|v| v.is_string())
        {
            let name = self.names.claim(hint);
            return self.named(schema, pointer, &name);
        }
        let types = view.types();
        let object_like =
            types == ["object"] || (types.is_empty() && view.get("properties").is_some());
        if object_like && !view.properties().is_empty() {
            let name = self.names.claim(hint);
            return self.named(schema, pointer, &name);
        }
        let (ty, _) = self.shape(schema, pointer, hint);
        (ty, nullable)
    }

    /// A member that only annotates (`description`, `nullable`, `example`…) and has no shape.
    fn is_annotation(&self, member: &Value) -> bool {
        SchemaView::new(member).is_empty_schema()
    }

    /// The one `allOf` member that has a shape, when all the others only annotate.
    fn sole_meaningful_member<'v>(&self, members: &'v [Value]) -> Option<(usize, &'v Value)> {
        let mut meaningful = members
            .iter()
            .enumerate()
            .filter(|(_, m)| !self.is_annotation(m));
        let first = meaningful.next()?;
        meaningful.next().is_none().then_some(first)
    }

    fn is_null_schema(&self, member: &Value) -> bool {
        match self.doc.resolve(member, "") {
            Ok((target, _)) => SchemaView::new(target).is_null_only(),
            Err(_) => false,
        }
    }

    /// Scalars, arrays and maps: the types that need no name of their own.
    fn shape(&mut self, schema: &Value, pointer: &str, hint: &str) -> (Ty, bool) {
        let view = SchemaView::new(schema);
        let nullable = view.nullable();
        if let Some(values) = view.enum_values() {
            let ty = if values.iter().all(|v| v.is_i64() || v.is_u64()) && !values.is_empty() {
                Ty::I64
            } else if values.iter().all(|v| v.is_boolean()) && !values.is_empty() {
                Ty::Bool
            } else if values.iter().all(|v| v.is_string()) {
                Ty::String
            } else {
                Ty::Json
            };
            return (ty, nullable);
        }
        if let Some(constant) = view.get("const") {
            let ty = match constant {
                Value::String(_) => Ty::String,
                Value::Bool(_) => Ty::Bool,
                Value::Number(n) if n.is_i64() => Ty::I64,
                Value::Number(_) => Ty::F64,
                _ => Ty::Json,
            };
            return (ty, nullable);
        }
        let types = view.types();
        let ty = match types.as_slice() {
            ["string"] => match view.format() {
                Some("date-time") => Ty::DateTime,
                Some("date") => Ty::Date,
                Some("uuid") => Ty::Uuid,
                _ => Ty::String,
            },
            ["integer"] => match view.format() {
                Some("int32") => Ty::I32,
                Some("uint64" | "uint32" | "uint") => Ty::U64,
                _ => Ty::I64,
            },
            ["number"] => Ty::F64,
            ["boolean"] => Ty::Bool,
            ["array"] => self.array(&view, pointer, hint),
            ["object"] => self.map(&view, pointer, hint),
            [] if view.get("items").is_some() => self.array(&view, pointer, hint),
            [] if view.get("additionalProperties").is_some() => self.map(&view, pointer, hint),
            [] => Ty::Json,
            _ => Ty::Json,
        };
        (ty, nullable)
    }

    fn array(&mut self, view: &SchemaView<'_>, pointer: &str, hint: &str) -> Ty {
        let Some(items) = view.get("items").filter(|i| i.is_object()) else {
            // `prefixItems` tuples and item-less arrays hold values of any type.
            return Ty::List(Box::new(Ty::Json));
        };
        let item_hint = format!("{hint}Item");
        let (item, nullable) = self.ty(items, &format!("{pointer}/items"), &item_hint);
        if nullable && item != Ty::Json {
            Ty::List(Box::new(Ty::Nullable(Box::new(item))))
        } else {
            Ty::List(Box::new(item))
        }
    }

    fn map(&mut self, view: &SchemaView<'_>, pointer: &str, hint: &str) -> Ty {
        match view.get("additionalProperties") {
            Some(values @ Value::Object(_)) if !SchemaView::new(values).is_empty_schema() => {
                let value_hint = format!("{hint}Value");
                let (value, nullable) = self.ty(
                    values,
                    &format!("{pointer}/additionalProperties"),
                    &value_hint,
                );
                if nullable && value != Ty::Json {
                    Ty::Map(Box::new(Ty::Nullable(Box::new(value))))
                } else {
                    Ty::Map(Box::new(value))
                }
            }
            _ => Ty::JsonMap,
        }
    }

    fn enumeration(&mut self, values: &[&Value], pointer: &str, name: &str) -> TypeKind {
        if values.is_empty() || !values.iter().all(|v| v.is_string()) {
            let (ty, _) = self.shape(self.doc.at(pointer).unwrap_or(&Value::Null), pointer, name);
            return TypeKind::Alias(ty);
        }
        let mut taken = Namespace::with_reserved(["Unknown"]);
        let mut seen = BTreeSet::new();
        let mut variants = Vec::new();
        for value in values {
            let Some(wire) = value.as_str() else { continue };
            if !seen.insert(wire.to_owned()) {
                continue;
            }
            variants.push(Variant {
                wire: wire.to_owned(),
                rust: taken.claim(&names::variant_name(wire)),
            });
        }
        TypeKind::Enum(variants)
    }

    /// Collects the properties of `members` (resolving `$ref`s and nested `allOf`s), later
    /// members overriding earlier ones, and builds the struct.
    fn struct_def(
        &mut self,
        members: &[(&Value, String)],
        pointer: &str,
        owner: &str,
    ) -> StructDef {
        // Each property: wire name, schema, pointer, and whether only union variants named it.
        let mut props: Vec<(String, Value, String, bool)> = Vec::new();
        let mut required: BTreeSet<String> = BTreeSet::new();
        let mut additional: Option<(Value, String)> = None;
        // Unions already expanded into this struct: a variant that refers back to its union
        // (`B: allOf [A, …]` with `A: oneOf [B, C]`) is merged once, not again and again.
        let mut expanded: BTreeSet<String> = BTreeSet::new();
        // Members: schema, pointer, `allOf`/union nesting depth, and whether the member is a
        // variant of a union (its properties are then optional: another variant may be sent).
        let mut stack: Vec<(Value, String, usize, bool)> = members
            .iter()
            .rev()
            .map(|(v, p)| ((*v).clone(), p.clone(), 0, false))
            .collect();
        while let Some((member, member_pointer, depth, variant)) = stack.pop() {
            let (resolved, resolved_pointer) = match self.doc.resolve(&member, &member_pointer) {
                Ok((v, p)) => (v.clone(), p),
                Err(message) => {
                    self.warn(&member_pointer, format!("{message}; member left out"));
                    continue;
                }
            };
            let view = SchemaView::new(&resolved);
            if let Some(nested) = view.list("allOf") {
                if depth > 16 {
                    self.warn(&resolved_pointer, "allOf nests too deep; members left out");
                    continue;
                }
                for (i, m) in nested.iter().enumerate().rev() {
                    stack.push((
                        m.clone(),
                        format!("{resolved_pointer}/allOf/{i}"),
                        depth + 1,
                        variant,
                    ));
                }
            }
            if (view.list("oneOf").is_some() || view.list("anyOf").is_some())
                && view.properties().is_empty()
            {
                match self.object_union_variants(&resolved, &resolved_pointer) {
                    Some(_) if depth > 16 => {
                        self.warn(&resolved_pointer, "unions nest too deep; variants left out");
                    }
                    Some(variants) => {
                        // `Cat: allOf [Animal, …]` with `Animal: oneOf [Cat, Dog]`: the struct is
                        // one of the union's variants, and its own members already say what it
                        // holds; the other variants' fields would only be noise on it.
                        let is_a_variant = variants.iter().any(|(m, at)| {
                            self.doc.resolve(m, at).is_ok_and(|(_, target)| target == pointer)
                        });
                        if !is_a_variant && expanded.insert(resolved_pointer.clone()) {
                            for (m, at) in variants.into_iter().rev() {
                                stack.push((m, at, depth + 1, true));
                            }
                        }
                    }
                    None => self.warn(
                        &resolved_pointer,
                        "a oneOf/anyOf of non-objects inside allOf cannot be merged into one struct; left out",
                    ),
                }
            }
            if !variant {
                for name in view.required() {
                    required.insert(name.to_owned());
                }
            }
            for (wire, prop) in view.properties() {
                let prop_pointer = format!(
                    "{resolved_pointer}/properties/{}",
                    escape_pointer_token(wire)
                );
                match props.iter_mut().find(|(w, _, _, _)| w == wire) {
                    // A property the struct's own members define keeps their definition.
                    Some(existing) if variant && !existing.3 => {}
                    // Two variants name it: one type if they agree, else the common ground.
                    Some(existing) if variant => {
                        if !self.same_schema(&existing.1, prop) {
                            existing.1 = self.common_schema(&existing.1, prop);
                            // Types are remembered by pointer: the merged schema is this
                            // struct's own, not the first variant's.
                            existing.2 =
                                format!("{pointer}/properties/{}", escape_pointer_token(wire));
                        }
                    }
                    Some(existing) => {
                        // A later member restating a property (often only to narrow it) wins,
                        // unless it adds nothing but a description.
                        if !SchemaView::new(prop).is_empty_schema() {
                            *existing = (wire.to_owned(), prop.clone(), prop_pointer, false);
                        }
                    }
                    None => props.push((wire.to_owned(), prop.clone(), prop_pointer, variant)),
                }
            }
            // A variant's open map stays with the variant: the merged struct names the union's
            // properties and keeps its own members' map, if any.
            if !variant
                && let Some(extra) = view.get("additionalProperties")
                && (extra.is_object() || extra == &Value::Bool(true))
            {
                additional = Some((
                    extra.clone(),
                    format!("{resolved_pointer}/additionalProperties"),
                ));
            }
        }
        let mut fields_ns = Namespace::default();
        let mut fields = Vec::new();
        for (wire, prop, prop_pointer, from_variant) in props {
            let hint = format!("{owner}{}", names::type_name(&wire, "Field"));
            let (ty, nullable) = self.ty(&prop, &prop_pointer, &hint);
            let own = SchemaView::new(&prop);
            let target = self
                .doc
                .resolve(&prop, &prop_pointer)
                .map(|(v, _)| v.clone())
                .unwrap_or(Value::Null);
            let target = SchemaView::new(&target);
            let flag = |key: &str| own.flag(key) || target.flag(key);
            let server_or_client_only = flag("readOnly") || flag("writeOnly");
            let mut doc = own.doc();
            if doc.is_empty() {
                doc = target.doc();
            }
            if doc.is_empty() {
                doc = format!("The `{wire}` property.");
            }
            if from_variant {
                doc.push_str("\n\nFrom a `oneOf`/`anyOf` this type includes: set when the value is a variant that has it.");
            }
            let sensitive = own.extension_on("x-sensitive") || target.extension_on("x-sensitive");
            let redacted = flag("x-pii") || flag("x-secret") || sensitive;

            fields.push(Field {
                rust: fields_ns.claim(&names::field_name(&wire)),
                required: required.contains(&wire) && !server_or_client_only,
                wire,
                ty,
                nullable,
                doc,
                redacted,
                sensitive,
                boxed: false,
                constant: None,
            });
        }
        let additional = additional.map(|(schema, at)| {
            if schema == Value::Bool(true) || SchemaView::new(&schema).is_empty_schema() {
                Ty::Json
            } else {
                let (ty, nullable) = self.ty(&schema, &at, &format!("{owner}Value"));
                if nullable && ty != Ty::Json {
                    Ty::Nullable(Box::new(ty))
                } else {
                    ty
                }
            }
        });
        let additional = additional.inspect(|_| {
            fields_ns.claim("additional_properties");
        });
        StructDef {
            fields,
            patch: self.patch_pointers.contains(pointer),
            additional,
        }
    }

    /// The variants of a `oneOf`/`anyOf` whose every variant (`null` aside) is an object, with
    /// their pointers: inside an `allOf` their properties become optional fields of the struct
    /// (which variant an answer is, the fields that came tell). `None` for any other union.
    fn object_union_variants(&self, union: &Value, pointer: &str) -> Option<Vec<(Value, String)>> {
        let view = SchemaView::new(union);
        let (keyword, list) = match (view.list("oneOf"), view.list("anyOf")) {
            (Some(list), _) => ("oneOf", list),
            (None, Some(list)) => ("anyOf", list),
            (None, None) => return None,
        };
        let mut variants = Vec::new();
        for (i, member) in list.iter().enumerate() {
            if self.is_null_schema(member) {
                continue;
            }
            let (target, _) = self.doc.resolve(member, "").ok()?;
            let target = SchemaView::new(target);
            let object = !target.properties().is_empty()
                || target.types() == ["object"]
                || target.list("allOf").is_some()
                || (target.types().is_empty()
                    && (target.list("oneOf").is_some() || target.list("anyOf").is_some()));
            if !object {
                return None;
            }
            variants.push((member.clone(), format!("{pointer}/{keyword}/{i}")));
        }
        (!variants.is_empty()).then_some(variants)
    }

    /// Whether two property schemas say the same (after `$ref`s), annotations aside.
    fn same_schema(&self, a: &Value, b: &Value) -> bool {
        let shape = |v: &Value| {
            let target = self
                .doc
                .resolve(v, "")
                .map_or(Value::Null, |(t, _)| t.clone());
            match target {
                Value::Object(mut map) => {
                    for key in ["description", "title", "example", "examples", "default"] {
                        map.remove(key);
                    }
                    Value::Object(map)
                }
                other => other,
            }
        };
        shape(a) == shape(b)
    }

    /// A schema both of two differing property schemas satisfy: `string` when both are strings
    /// (two variants' discriminator values, say), else any JSON value.
    fn common_schema(&self, a: &Value, b: &Value) -> Value {
        let is_string = |v: &Value| {
            self.doc.resolve(v, "").is_ok_and(|(t, _)| {
                let t = SchemaView::new(t);
                t.types() == ["string"]
                    || t.enum_values()
                        .is_some_and(|vs| !vs.is_empty() && vs.iter().all(|v| v.is_string()))
                    || t.get("const").is_some_and(Value::is_string)
            })
        };
        let nullable = |v: &Value| {
            self.doc
                .resolve(v, "")
                .is_ok_and(|(t, _)| SchemaView::new(t).nullable())
        };
        let description = SchemaView::new(a).doc();
        let mut schema = serde_json::Map::new();
        if is_string(a) && is_string(b) {
            let types = if nullable(a) || nullable(b) {
                serde_json::json!(["string", "null"])
            } else {
                serde_json::json!("string")
            };
            schema.insert("type".to_owned(), types);
        }
        if !description.is_empty() {
            schema.insert("description".to_owned(), Value::String(description));
        }
        Value::Object(schema)
    }

    fn all_of(
        &mut self,
        view: &SchemaView<'_>,
        members: &[Value],
        pointer: &str,
        name: &str,
    ) -> TypeKind {
        // `allOf: [X, {description: …}]` or `[X, {nullable: true}]`: annotations around one type.
        if let Some((index, only)) = self.sole_meaningful_member(members)
            && view.properties().is_empty()
        {
            let (ty, _) = self.ty(only, &format!("{pointer}/allOf/{index}"), name);
            return TypeKind::Alias(ty);
        }
        let non_object: Vec<usize> = members
            .iter()
            .enumerate()
            .filter(|(_, m)| !self.is_annotation(m))
            .filter(|(_, m)| {
                self.doc.resolve(m, "").is_ok_and(|(t, at)| {
                    let v = SchemaView::new(t);
                    !v.is_empty_schema()
                        && v.properties().is_empty()
                        && v.list("allOf").is_none()
                        && v.types() != ["object"]
                        && v.get("additionalProperties").is_none()
                        && self.object_union_variants(t, &at).is_none()
                })
            })
            .map(|(i, _)| i)
            .collect();
        let object_members = members.len() - non_object.len();
        // `allOf: [X]` (usually to attach a description) or only non-object members: the type of
        // the first member.
        if let Some(first) = members.first()
            && view.properties().is_empty()
            && (members.len() == 1 || object_members == 0)
        {
            let (ty, _) = self.ty(first, &format!("{pointer}/allOf/0"), name);
            return TypeKind::Alias(ty);
        }
        if members.is_empty() && view.properties().is_empty() {
            return TypeKind::Alias(Ty::Json);
        }
        for index in &non_object {
            // A union (often a `$ref` to a discriminated `oneOf`) is not "not an object": say
            // what it is, so the warning names the real limitation.
            let union = self.doc.resolve(&members[*index], "").is_ok_and(|(t, _)| {
                let v = SchemaView::new(t);
                v.list("oneOf").is_some() || v.list("anyOf").is_some()
            });
            let message = if union {
                "a oneOf/anyOf of non-objects inside allOf cannot be merged into one struct; left out"
            } else {
                "an allOf member that is not an object cannot be merged into the struct; left out"
            };
            self.warn(&format!("{pointer}/allOf/{index}"), message);
        }
        let schema = self.doc.at(pointer).cloned().unwrap_or(Value::Null);
        let mut parts: Vec<(&Value, String)> = members
            .iter()
            .enumerate()
            .filter(|(i, _)| !non_object.contains(i))
            .map(|(i, m)| (m, format!("{pointer}/allOf/{i}")))
            .collect();
        // The schema's own properties next to `allOf` belong to the struct too.
        let own = serde_json::json!({
            "properties": schema.get("properties").cloned().unwrap_or(Value::Null),
            "required": schema.get("required").cloned().unwrap_or(Value::Null),
        });
        parts.push((&own, pointer.to_owned()));
        TypeKind::Struct(self.struct_def(&parts, pointer, name))
    }

    fn union(
        &mut self,
        view: &SchemaView<'_>,
        members: &[Value],
        pointer: &str,
        name: &str,
    ) -> TypeKind {
        let real: Vec<(usize, &Value)> = members
            .iter()
            .enumerate()
            .filter(|(_, m)| !self.is_null_schema(m))
            .collect();
        let tag = view
            .get("discriminator")
            .and_then(|d| d.get("propertyName"))
            .and_then(Value::as_str);
        if let Some(tag) = tag {
            return self.tagged(view, &real, pointer, name, tag);
        }
        if real.len() == 1 {
            let (index, member) = real[0];
            let (ty, _) = self.ty(member, &format!("{pointer}/{index}"), name);
            return TypeKind::Alias(ty);
        }
        let mut variants: Vec<(u8, usize, Ty)> = Vec::new();
        for (index, member) in real {
            let hint = format!("{name}{}", variant_hint(member, index));
            let (ty, _) = self.ty(member, &format!("{pointer}/{index}"), &hint);
            if variants.iter().any(|(_, _, t)| *t == ty) {
                continue;
            }
            let rank = self.rank(&ty);
            variants.push((rank.0, rank.1, ty));
        }
        // Sound order: the variant that accepts the fewest values is tried first, so a string
        // never shadows a date-time and an all-optional object never shadows a stricter one.
        variants.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut taken = Namespace::with_reserved(["Unknown"]);
        TypeKind::Untagged(
            variants
                .into_iter()
                .map(|(_, _, ty)| UnionVariant {
                    // `Expr::Add(ExprAdd)`, not `Expr::ExprAdd(ExprAdd)`.
                    rust: taken.claim(&{
                        let label = self.variant_label(&ty);
                        match label.strip_prefix(name) {
                            Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => {
                                rest.to_owned()
                            }
                            _ => label,
                        }
                    }),
                    ty,
                    boxed: false,
                })
                .collect(),
        )
    }

    /// Sort key of an untagged variant: (class, required property count).
    fn rank(&self, ty: &Ty) -> (u8, usize) {
        match self.resolve_alias(ty) {
            Ty::Bool => (0, 0),
            Ty::I32 | Ty::I64 | Ty::U64 => (1, 0),
            Ty::F64 => (2, 0),
            Ty::DateTime | Ty::Date | Ty::Uuid => (3, 0),
            Ty::String => (5, 0),
            Ty::List(_) => (6, 0),
            Ty::Named(n) => match self.def(n).map(|d| &d.kind) {
                Some(TypeKind::Enum(_) | TypeKind::Id) => (4, 0),
                Some(TypeKind::Struct(s)) => (7, s.fields.iter().filter(|f| f.required).count()),
                Some(TypeKind::Tagged(_)) => (7, 1),
                _ => (8, 0),
            },
            Ty::Map(_) | Ty::JsonMap => (9, 0),
            Ty::Json | Ty::Nullable(_) => (10, 0),
        }
    }

    fn variant_label(&self, ty: &Ty) -> String {
        match ty {
            Ty::Named(n) => n.clone(),
            Ty::String => "String".into(),
            Ty::I32 | Ty::I64 | Ty::U64 => "Integer".into(),
            Ty::F64 => "Number".into(),
            Ty::Bool => "Boolean".into(),
            Ty::DateTime => "DateTime".into(),
            Ty::Date => "Date".into(),
            Ty::Uuid => "Uuid".into(),
            Ty::List(item) => format!("{}List", self.variant_label(item)),
            Ty::Map(value) => format!("{}Map", self.variant_label(value)),
            Ty::Nullable(inner) => self.variant_label(inner),
            Ty::Json => "Json".into(),
            Ty::JsonMap => "Object".into(),
        }
    }

    fn tagged(
        &mut self,
        view: &SchemaView<'_>,
        members: &[(usize, &Value)],
        pointer: &str,
        name: &str,
        tag: &str,
    ) -> TypeKind {
        let mapping: Vec<(String, String)> = view
            .get("discriminator")
            .and_then(|d| d.get("mapping"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        // A mapping value is a `$ref` or, in 3.0 style, a bare schema name.
        let mapped_pointer = |target: &str| -> Option<String> {
            if target.starts_with('#') {
                ref_pointer(target).ok()
            } else {
                Some(format!(
                    "/components/schemas/{}",
                    escape_pointer_token(target)
                ))
            }
        };
        let mut entries: Vec<(Vec<String>, Value, String)> = Vec::new();
        let mut used_mapping = BTreeSet::new();
        for (index, member) in members {
            let member_pointer = format!("{pointer}/{index}");
            let target = self.doc.resolve(member, &member_pointer).ok();
            let target_pointer = target.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
            let mut wires: Vec<String> = mapping
                .iter()
                .filter(|(_, t)| mapped_pointer(t).as_deref() == Some(target_pointer.as_str()))
                .map(|(k, _)| {
                    used_mapping.insert(k.clone());
                    k.clone()
                })
                .collect();
            if wires.is_empty()
                && let Some((schema, _)) = &target
            {
                wires = tag_values(schema, tag, self.doc);
            }
            if wires.is_empty() && SchemaView::new(member).reference().is_some() {
                // Implicit mapping: the schema name is the tag value.
                wires.push(last_token(&target_pointer));
            }
            if wires.is_empty() {
                self.warn(
                    &member_pointer,
                    format!("no `{tag}` value selects this oneOf member (no mapping, const or enum); it decodes as the unknown variant"),
                );
                continue;
            }
            entries.push((wires, (*member).clone(), member_pointer));
        }
        for (wire, target) in &mapping {
            if used_mapping.contains(wire) {
                continue;
            }
            if let Some(p) = mapped_pointer(target)
                && self.doc.at(&p).is_some()
            {
                let reference = format!("#{p}");
                entries.push((
                    vec![wire.clone()],
                    serde_json::json!({"$ref": reference}),
                    format!(
                        "{pointer}/discriminator/mapping/{}",
                        escape_pointer_token(wire)
                    ),
                ));
            }
        }
        let mut taken = Namespace::with_reserved(["Unknown"]);
        let mut variants = Vec::new();
        for (index, (wires, member, member_pointer)) in entries.into_iter().enumerate() {
            let hint = format!(
                "{name}{}",
                names::type_name(&wires[0], &format!("Variant{index}"))
            );
            let (ty, _) = self.ty(&member, &member_pointer, &hint);
            variants.push(TaggedVariant {
                rust: taken.claim(&names::variant_name(&wires[0])),
                wire: wires,
                ty,
                boxed: false,
            });
        }
        // A variant's tag field has one possible value: its constructor fills it in.
        for variant in &variants {
            if let (Ty::Named(payload), [only]) = (&variant.ty, variant.wire.as_slice())
                && let Some(&slot) = self.by_name.get(payload)
                && let Some(Some(TypeDef {
                    kind: TypeKind::Struct(s),
                    ..
                })) = self.defs.get_mut(slot)
                && let Some(field) = s
                    .fields
                    .iter_mut()
                    .find(|f| f.wire == tag && f.ty == Ty::String && f.required && !f.nullable)
            {
                field.constant = Some(only.clone());
            }
        }
        TypeKind::Tagged(TaggedUnion {
            tag: tag.to_owned(),
            variants,
        })
    }

    /// Finishes the types: breaks cycles with `Box`, turns alias loops into JSON, and hands
    /// over the types and the warnings.
    pub fn finish(mut self) -> (Vec<TypeDef>, Vec<Warning>) {
        let mut defs: Vec<TypeDef> = self.defs.drain(..).flatten().collect();
        break_alias_loops(&mut defs, &mut self.warnings);
        box_cycles(&mut defs);
        (defs, self.warnings)
    }
}

/// Whether an annotation-only `allOf` member says the value may be `null`.
fn annotations_say_nullable(members: &[Value]) -> bool {
    members.iter().any(|m| {
        let view = SchemaView::new(m);
        view.is_empty_schema() && view.nullable()
    })
}

/// The tag values a variant schema declares for itself (`kind: {const: image}` or
/// `kind: {enum: [image]}`), looking into `allOf` members too.
fn tag_values(schema: &Value, tag: &str, doc: &Document) -> Vec<String> {
    tag_values_within(schema, tag, doc, 0)
}

/// [`tag_values`], `depth` levels of `allOf` down (bounded: `allOf` may refer back to itself).
fn tag_values_within(schema: &Value, tag: &str, doc: &Document, depth: usize) -> Vec<String> {
    if depth > 16 {
        return Vec::new();
    }
    let view = SchemaView::new(schema);
    if let Some(prop) = view
        .properties()
        .into_iter()
        .find(|(k, _)| *k == tag)
        .map(|(_, v)| v)
    {
        let prop = doc.resolve(prop, "").map(|(v, _)| v).unwrap_or(prop);
        let p = SchemaView::new(prop);
        if let Some(Value::String(c)) = p.get("const") {
            return vec![c.clone()];
        }
        if let Some(values) = p.enum_values()
            && values.len() == 1
            && let Some(v) = values[0].as_str()
        {
            return vec![v.to_owned()];
        }
    }
    for member in view.list("allOf").into_iter().flatten() {
        if let Ok((m, _)) = doc.resolve(member, "") {
            let found = tag_values_within(m, tag, doc, depth + 1);
            if !found.is_empty() {
                return found;
            }
        }
    }
    Vec::new()
}

fn variant_hint(member: &Value, index: usize) -> String {
    let view = SchemaView::new(member);
    if let Some(title) = view.str("title") {
        return names::type_name(title, &format!("Variant{index}"));
    }
    // An inline object is best named by the property that sets it apart (`{add: [...]}` → `Add`).
    let distinctive = view
        .required()
        .first()
        .copied()
        .or_else(|| view.properties().first().map(|(name, _)| *name));
    match (view.types().as_slice(), distinctive) {
        (["object"] | [], Some(property)) => names::type_name(property, &format!("Variant{index}")),
        ([t], _) => names::type_name(t, &format!("Variant{index}")),
        _ => format!("Variant{index}"),
    }
}

/// Named types directly held (not through a `Vec` or map) by `ty`.
fn direct_names(ty: &Ty, out: &mut Vec<String>) {
    match ty {
        Ty::Named(n) => out.push(n.clone()),
        Ty::Nullable(inner) => direct_names(inner, out),
        _ => {}
    }
}

/// Replaces aliases that refer to themselves (`A = Vec<A>`) with JSON: Rust cannot express them.
fn break_alias_loops(defs: &mut [TypeDef], warnings: &mut Vec<Warning>) {
    let aliases: BTreeMap<String, Ty> = defs
        .iter()
        .filter_map(|d| match &d.kind {
            TypeKind::Alias(ty) => Some((d.name.clone(), ty.clone())),
            _ => None,
        })
        .collect();
    fn mentions(ty: &Ty, out: &mut Vec<String>) {
        match ty {
            Ty::Named(n) => out.push(n.clone()),
            Ty::List(inner) | Ty::Map(inner) | Ty::Nullable(inner) => mentions(inner, out),
            _ => {}
        }
    }
    let mut looping = BTreeSet::new();
    for start in aliases.keys() {
        let mut seen = BTreeSet::new();
        let mut todo = Vec::new();
        if let Some(ty) = aliases.get(start) {
            mentions(ty, &mut todo);
        }
        while let Some(next) = todo.pop() {
            if &next == start {
                looping.insert(start.clone());
                break;
            }
            if seen.insert(next.clone())
                && let Some(ty) = aliases.get(&next)
            {
                mentions(ty, &mut todo);
            }
        }
    }
    for def in defs.iter_mut() {
        if looping.contains(&def.name) {
            def.kind = TypeKind::Alias(Ty::Json);
            warnings.push(Warning {
                location: format!("/components/schemas/{}", def.name),
                message: "a schema that is only an array or map of itself has no Rust type; typed as JSON".into(),
            });
        }
    }
}

/// Marks the by-value edges that lie on a cycle (both ends in one strongly connected component)
/// as boxed, so every recursive type has a finite size.
fn box_cycles(defs: &mut [TypeDef]) {
    let index: HashMap<String, usize> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.clone(), i))
        .collect();
    let edges: Vec<Vec<usize>> = defs
        .iter()
        .map(|d| {
            let mut names = Vec::new();
            match &d.kind {
                TypeKind::Struct(s) => s
                    .fields
                    .iter()
                    .for_each(|f| direct_names(&f.ty, &mut names)),
                TypeKind::Tagged(t) => t
                    .variants
                    .iter()
                    .for_each(|v| direct_names(&v.ty, &mut names)),
                TypeKind::Untagged(vs) => vs.iter().for_each(|v| direct_names(&v.ty, &mut names)),
                TypeKind::Alias(ty) => direct_names(ty, &mut names),
                TypeKind::Enum(_) | TypeKind::Id => {}
            }
            names.iter().filter_map(|n| index.get(n).copied()).collect()
        })
        .collect();
    let component = strongly_connected(&edges);
    let same = |from: usize, ty: &Ty| {
        let mut names = Vec::new();
        direct_names(ty, &mut names);
        names
            .iter()
            .filter_map(|n| index.get(n))
            .any(|&to| component[to] == component[from])
    };
    for (i, def) in defs.iter_mut().enumerate() {
        match &mut def.kind {
            TypeKind::Struct(s) => {
                for f in &mut s.fields {
                    f.boxed = same(i, &f.ty);
                }
            }
            TypeKind::Tagged(t) => {
                for v in &mut t.variants {
                    v.boxed = same(i, &v.ty);
                }
            }
            TypeKind::Untagged(vs) => {
                for v in vs {
                    v.boxed = same(i, &v.ty);
                }
            }
            _ => {}
        }
    }
}

/// Tarjan's algorithm, iterative (specs may have thousands of schemas); returns each node's
/// component number.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<usize> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![usize::MAX; n];
    let mut next_index = 0;
    let mut next_component = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (node, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index[node] == usize::MAX {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = edges[node].get(*edge) {
                *edge += 1;
                if index[next] == usize::MAX {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component[member] = next_component;
                    if member == node {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_found_by_cycles() {
        // 0 → 1 → 2 → 0, 3 → 3, 4 alone.
        let c = strongly_connected(&[vec![1], vec![2], vec![0], vec![3], vec![]]);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
        assert_ne!(c[0], c[3]);
        assert_ne!(c[3], c[4]);
    }
}
