//! Whatever the input, the generator answers with code or with an error that says something; it
//! never panics.
//!
//! Three sources of input:
//! - random but structurally plausible OpenAPI documents (3.0 and 3.1) from a small grammar:
//!   hostile names, every schema shape (objects, arrays, enums, `oneOf`/`anyOf`/`allOf` with and
//!   without discriminators, self- and mutually recursive references, both nullable styles, maps),
//!   operations with any path shape, parameters in every location and bodies of many media types;
//! - the fixture specs in `tests/fixtures/`, with keys deleted, values replaced by other JSON
//!   types, names renamed or duplicated and subtrees moved elsewhere; and, separately, with
//!   consistent renames only (a property together with its `required` entry, a schema together
//!   with its references, enum values, operationIds, parameters), which keep a valid spec valid
//!   and so reach the later stages of the generator;
//! - the fixture texts cut short or with bytes spliced in.
//!
//! Inputs the properties have found are kept as plain cases (`known_inputs`), each run in a child
//! process so that a stack overflow is reported like a panic.
//!
//! The runs are deterministic: a fixed seed, no failure persistence. `PROPTEST_CASES` sets the
//! number of cases per property (default 256). A failure prints the offending spec.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Once, OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Running the generator.

thread_local! {
    static IN_GENERATOR: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps panics raised inside the generator off stderr (shrinking provokes many) and records the
/// message and location for the failure report; every other panic goes to the default hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_GENERATOR.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                default(info);
            }
        }));
    });
}

/// How long one generation may take before the case counts as a hang.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// `Ok` when the generator returned code or a non-empty error; otherwise what went wrong.
///
/// The generator runs on its own thread with the 8 MiB stack a build script's main thread has, so
/// that a hang is reported (after [`TIME_LIMIT`]) instead of stalling the suite. A stack overflow
/// cannot be caught: it aborts the test binary. To find the spec that did it, run with
/// `GENERATOR_PROPERTIES_LAST_SPEC=<file>`, and each spec is written there before it is used.
fn run_generator(text: &str) -> Result<(), String> {
    install_panic_hook();
    if let Some(path) = std::env::var_os("GENERATOR_PROPERTIES_LAST_SPEC") {
        std::fs::write(&path, text).expect("GENERATOR_PROPERTIES_LAST_SPEC is writable");
    }
    let (tx, rx) = mpsc::channel();
    let text = text.to_owned();
    thread::Builder::new()
        .name("generate".into())
        .stack_size(8 << 20)
        .spawn(move || {
            IN_GENERATOR.with(|f| f.set(true));
            let outcome =
                panic::catch_unwind(AssertUnwindSafe(|| marketing_api_codegen::generate(&text)));
            IN_GENERATOR.with(|f| f.set(false));
            let verdict = match outcome {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) if !e.to_string().trim().is_empty() => Ok(()),
                Ok(Err(e)) => Err(format!("the generator failed with an empty message: {e:?}")),
                Err(_) => {
                    let what = LAST_PANIC.with(|p| p.borrow_mut().take());
                    Err(format!(
                        "the generator panicked: {}",
                        what.unwrap_or_default()
                    ))
                }
            };
            let _ = tx.send(verdict);
        })
        .expect("spawn a generator thread");
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(verdict) => verdict,
        Err(_) => Err(format!(
            "the generator did not finish within {} s",
            TIME_LIMIT.as_secs()
        )),
    }
}

/// The spec for a failure report: whole when small, else its head.
fn excerpt(text: &str) -> String {
    const MAX: usize = 20_000;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n... ({} bytes in all)", &text[..end], text.len())
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x0A91_C0DE_6E17),
        max_shrink_iters: 4096,
        max_shrink_time: 30_000,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

const FIXTURES: &[(&str, &str)] = &[
    ("mini.yaml", include_str!("fixtures/mini.yaml")),
    ("petstore30.yaml", include_str!("fixtures/petstore30.yaml")),
    (
        "everything31.yaml",
        include_str!("fixtures/everything31.yaml"),
    ),
    (
        "nasty_names.yaml",
        include_str!("fixtures/nasty_names.yaml"),
    ),
    ("recursion.yaml", include_str!("fixtures/recursion.yaml")),
    ("jsonapi.yaml", include_str!("fixtures/jsonapi.yaml")),
    (
        "no_envelope.yaml",
        include_str!("fixtures/no_envelope.yaml"),
    ),
    ("house.yaml", include_str!("fixtures/house.yaml")),
    ("large.yaml", include_str!("fixtures/large.yaml")),
];

/// Index of `large.yaml` in [`FIXTURES`]; it is drawn for about one case in 128, a debug build taking
/// a second or two to generate it.
const LARGE: usize = 8;

fn parsed_fixtures() -> &'static [Value] {
    static PARSED: OnceLock<Vec<Value>> = OnceLock::new();
    PARSED.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|(name, text)| {
                serde_saphyr::from_str::<Value>(text)
                    .unwrap_or_else(|e| panic!("fixture {name} does not parse as YAML: {e}"))
            })
            .collect()
    })
}

fn fixture_index() -> impl Strategy<Value = usize> {
    prop_oneof![
        127 => 0..LARGE,
        1 => Just(LARGE),
    ]
}

#[test]
fn every_fixture_parses_and_the_generator_answers_without_panicking() {
    assert_eq!(FIXTURES[LARGE].0, "large.yaml");
    for ((name, text), value) in FIXTURES.iter().zip(parsed_fixtures()) {
        assert!(
            value.get("openapi").and_then(Value::as_str).is_some(),
            "{name}: no `openapi` version"
        );
        if let Err(why) = run_generator(text) {
            panic!("{name}: {why}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The grammar of random documents.

/// Names that break naive code generators.
#[rustfmt::skip]
const NAMES: &[&str] = &[
    "self", "Self", "type", "crate", "super", "mod", "fn", "async", "await", "match", "ref",
    "box", "dyn", "gen", "r#type", "try", "union", "macro_rules", "$ref", "@type", "@id",
    "1st_place", "123", "0", "-1", "+", "kebab-case-name", "with space", " leading",
    "trailing ", "CamelCase", "camel_case", "camelCase", "CAMEL_CASE", "ünïcödé", "名前",
    "emoji😀", "_", "__", "", "a", "A", "id", "ID", "data", "meta", "links", "Option",
    "Result", "String", "Vec", "Box", "Error", "Client", "Unknown", "Default", "None", "Some",
    "Ok", "Err", "a.b", "a/b", "a~b", "{x}", "x[y]", "page[cursor]", "fields[profile]",
    "null", "true", "false", "tab\tname", "new\nline", "quote\"d", "back\\slash", "semi;colon",
    "%20", "?q=1", "#hash", "widgets", "widget", "Widget", "getWidget", "get_widget",
    "get widget", "logout", "status",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(NAMES).prop_map(String::from),
        3 => "[a-z][a-z0-9_]{0,10}",
        1 => "[A-Za-z0-9_. -]{0,8}",
        1 => "\\PC{0,6}",
        1 => (1usize..4).prop_map(|n| "long_name_".repeat(30 * n)),
    ]
}

const TYPES: &[(&str, &[&str])] = &[
    (
        "string",
        &[
            "",
            "date-time",
            "date",
            "time",
            "uuid",
            "uri",
            "email",
            "binary",
            "byte",
            "decimal",
            "password",
            "ipv4",
            "duration",
            "no-such-format",
        ],
    ),
    (
        "integer",
        &["", "int32", "int64", "uint64", "uint8", "int128", "double"],
    ),
    ("number", &["", "float", "double", "decimal", "int64"]),
    ("boolean", &[""]),
    ("null", &[""]),
    ("object", &[""]),
    ("array", &[""]),
    ("file", &[""]),
];

const ODD_REFS: &[&str] = &[
    "#",
    "#/components/schemas/",
    "#/components/schemas/a~1b",
    "#/components/schemas/%20",
    "#/components/parameters/Nope",
    "#/paths/~1widgets",
    "#/definitions/Swagger2",
    "other.yaml#/components/schemas/Foo",
    "https://example.com/schemas/widget.json",
    "",
];

#[derive(Debug, Clone)]
enum Shape {
    /// `{}`: anything.
    Any,
    Scalar {
        kind: usize,
        format: usize,
        bounds: bool,
    },
    StringEnum(Vec<String>),
    IntEnum(Vec<i64>),
    MixedEnum(Vec<Value>),
    Const(Value),
    /// A reference to the n-th component schema (modulo their number, one past it dangling).
    Ref(usize),
    OddRef(&'static str),
    /// 0: the document version's style; 1: `type: [T, "null"]`; 2: `anyOf` with null;
    /// 3: `nullable: true`.
    Nullable(Box<Shape>, u8),
    Array(Box<Shape>),
    Object {
        props: Vec<(String, Shape, bool)>,
        additional: Additional,
    },
    Map(Box<Shape>),
    OneOf {
        members: Vec<Shape>,
        discriminator: Option<(String, Vec<(String, usize)>)>,
    },
    AnyOf(Vec<Shape>),
    AllOf(Vec<Shape>),
    /// Documentation and validation keywords around a shape (a bit set).
    Decorated(Box<Shape>, u16),
}

#[derive(Debug, Clone)]
enum Additional {
    Absent,
    True,
    False,
    Schema(Box<Shape>),
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..1000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        name().prop_map(Value::from),
    ]
}

fn leaf() -> impl Strategy<Value = Shape> {
    prop_oneof![
        1 => Just(Shape::Any),
        6 => (0..TYPES.len(), 0usize..16, any::<bool>())
            .prop_map(|(kind, format, bounds)| Shape::Scalar { kind, format, bounds }),
        2 => vec(name(), 0..6).prop_map(Shape::StringEnum),
        1 => vec(prop_oneof![-2i64..3, any::<i64>()], 0..5).prop_map(Shape::IntEnum),
        1 => vec(json_scalar(), 0..5).prop_map(Shape::MixedEnum),
        1 => json_scalar().prop_map(Shape::Const),
        4 => (0usize..64).prop_map(Shape::Ref),
        1 => select(ODD_REFS).prop_map(Shape::OddRef),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    leaf().prop_recursive(4, 40, 6, |inner| {
        let additional = prop_oneof![
            3 => Just(Additional::Absent),
            1 => Just(Additional::True),
            1 => Just(Additional::False),
            1 => inner.clone().prop_map(|s| Additional::Schema(Box::new(s))),
        ];
        prop_oneof![
            2 => (inner.clone(), 0u8..4).prop_map(|(s, style)| Shape::Nullable(Box::new(s), style)),
            2 => inner.clone().prop_map(|s| Shape::Array(Box::new(s))),
            5 => (vec((name(), inner.clone(), any::<bool>()), 0..7), additional)
                .prop_map(|(props, additional)| Shape::Object { props, additional }),
            1 => inner.clone().prop_map(|s| Shape::Map(Box::new(s))),
            2 => (
                vec(inner.clone(), 0..4),
                option::of((name(), vec((name(), 0usize..64), 0..4))),
            )
                .prop_map(|(members, discriminator)| Shape::OneOf { members, discriminator }),
            1 => vec(inner.clone(), 0..4).prop_map(Shape::AnyOf),
            1 => vec(inner.clone(), 0..4).prop_map(Shape::AllOf),
            2 => (inner, any::<u16>()).prop_map(|(s, bits)| Shape::Decorated(Box::new(s), bits)),
        ]
    })
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param(String),
    /// Two parameters in one segment: `{a}.{b}`, `{a}-{b}`.
    Pair(String, String, &'static str),
    /// A literal with a parameter inside: `files{id}`.
    Mixed(String, String),
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    location: &'static str,
    shape: Shape,
    required: Option<bool>,
    style: Option<&'static str>,
    explode: Option<bool>,
    /// `content` instead of `schema`.
    as_content: bool,
}

/// Media types with their schemas, as in a `content` object.
type Media = Vec<(&'static str, Shape)>;

#[derive(Debug, Clone)]
struct Response {
    status: &'static str,
    content: Media,
    headers: Vec<(String, Shape)>,
}

#[derive(Debug, Clone)]
struct Operation {
    method: &'static str,
    path: Vec<Segment>,
    trailing_slash: bool,
    operation_id: Option<String>,
    summary: Option<String>,
    tags: Vec<String>,
    params: Vec<Param>,
    /// Whether to declare the path's parameters (a spec may forget them).
    declare_path_params: bool,
    /// The request body's media types and its `required`.
    body: Option<(Media, Option<bool>)>,
    responses: Vec<Response>,
    deprecated: bool,
    extensions: bool,
}

#[derive(Debug, Clone)]
struct Document {
    /// A clean document is valid OpenAPI (hostile names and all); a dirty one also has dangling
    /// and odd references, unknown methods, parameter locations, styles and status codes,
    /// keywords of the other OpenAPI version and missing top-level sections.
    clean: bool,
    version: &'static str,
    schemas: Vec<(String, Shape)>,
    operations: Vec<Operation>,
    webhooks: Vec<(String, Shape)>,
    /// Omit `info`, `paths` or `components` now and then.
    omit: u8,
}

const VERSIONS: &[&str] = &[
    "3.0.3", "3.1.0", "3.0.0", "3.1.1", "3.0", "2.0", "4.0.0", "",
];
/// The versions most documents get.
const MAIN_VERSIONS: &[&str] = &["3.0.3", "3.1.0"];
const SEPARATORS: &[&str] = &[".", "-", "_", ""];
/// Bytes that confuse YAML parsers, spliced into fixture texts.
const SPLICES: &[&str] = &[
    "\t",
    ":",
    "- ",
    "{",
    "[",
    "'",
    "\"",
    "&a ",
    "*a",
    "!!binary ",
    "? ",
    "\n  x: 1\n",
    "\u{feff}",
    "\0",
    "\n---\n",
    "<<: *a\n",
    "%YAML 1.2\n",
];
const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "GET", "query",
];
const LOCATIONS: &[&str] = &["query", "header", "cookie", "path", "body", "querystring"];
const STYLES: &[&str] = &[
    "form",
    "simple",
    "deepObject",
    "spaceDelimited",
    "pipeDelimited",
    "label",
    "matrix",
    "bogus",
];
const MEDIA_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.api+json",
    "application/problem+json",
    "application/merge-patch+json",
    "text/plain",
    "text/csv",
    "text/html",
    "application/octet-stream",
    "multipart/form-data",
    "multipart/mixed",
    "application/x-www-form-urlencoded",
    "application/xml",
    "image/png",
    "*/*",
    "application/*",
    "",
];
const STATUSES: &[&str] = &[
    "200", "201", "202", "203", "204", "206", "2XX", "301", "304", "400", "401", "404", "409",
    "422", "429", "4XX", "500", "5XX", "default", "999", "ok",
];

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        4 => name().prop_map(Segment::Literal),
        3 => name().prop_map(Segment::Param),
        1 => (name(), name(), select(SEPARATORS))
            .prop_map(|(a, b, sep)| Segment::Pair(a, b, sep)),
        1 => (name(), name()).prop_map(|(a, b)| Segment::Mixed(a, b)),
    ]
}

fn param() -> impl Strategy<Value = Param> {
    (
        name(),
        select(LOCATIONS),
        shape(),
        option::of(any::<bool>()),
        option::of(select(STYLES)),
        option::of(any::<bool>()),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(name, location, shape, required, style, explode, as_content)| Param {
                name,
                location,
                shape,
                required,
                style,
                explode,
                as_content,
            },
        )
}

fn media() -> impl Strategy<Value = Media> {
    vec((select(MEDIA_TYPES), shape()), 0..3)
}

fn response() -> impl Strategy<Value = Response> {
    (select(STATUSES), media(), vec((name(), shape()), 0..2)).prop_map(
        |(status, content, headers)| Response {
            status,
            content,
            headers,
        },
    )
}

fn operation() -> impl Strategy<Value = Operation> {
    (
        (
            select(METHODS),
            vec(segment(), 0..5),
            prop::bool::weighted(0.1),
            option::of(name()),
            option::of(name()),
            vec(name(), 0..3),
        ),
        (
            vec(param(), 0..5),
            prop::bool::weighted(0.9),
            option::of((media(), option::of(any::<bool>()))),
            vec(response(), 0..4),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (method, path, trailing_slash, operation_id, summary, tags),
                (params, declare_path_params, body, responses, deprecated, extensions),
            )| Operation {
                method,
                path,
                trailing_slash,
                operation_id,
                summary,
                tags,
                params,
                declare_path_params,
                body,
                responses,
                deprecated,
                extensions,
            },
        )
}

fn document() -> impl Strategy<Value = Document> {
    (
        prop::bool::weighted(0.75),
        prop_oneof![8 => select(MAIN_VERSIONS), 1 => select(VERSIONS)],
        vec((name(), shape()), 0..10),
        vec(operation(), 0..7),
        vec((name(), shape()), 0..3),
        prop_oneof![9 => Just(0u8), 1 => any::<u8>()],
    )
        .prop_map(
            |(clean, version, schemas, operations, webhooks, omit)| Document {
                clean,
                version,
                schemas,
                operations,
                webhooks,
                omit,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Rendering a document as JSON.

struct Render<'a> {
    clean: bool,
    v31: bool,
    schema_names: &'a [String],
    /// In a clean document, while rendering component `i`, a reference not nested in a property,
    /// items or map values points below `i`, so that no schema is an alias or composition of
    /// itself (`A: {$ref: A}`, `A: {allOf: [{$ref: A}]}`); nested references may point anywhere.
    unnested_below: Cell<Option<usize>>,
}

/// `name` with the characters a component name may not have replaced (`^[a-zA-Z0-9._-]+$`).
fn component_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "Unnamed".to_owned()
    } else {
        cleaned
    }
}

/// `name` without the characters that would change a path template's meaning (and, for a
/// parameter, that path-matching tools treat specially).
fn template_safe(name: &str, parameter: bool) -> String {
    name.chars()
        .filter(|c| {
            !"{}/?#%".contains(*c)
                && (!parameter || c.is_ascii_alphanumeric() || "_-.".contains(*c))
        })
        .collect()
}

impl Render<'_> {
    fn schema_ref(&self, n: usize) -> Value {
        if self.clean {
            if self.schema_names.is_empty() {
                return json!({ "type": "string" });
            }
            let candidates = match self.unnested_below.get() {
                Some(0) => return json!({ "type": "string" }),
                Some(below) => below,
                None => self.schema_names.len(),
            };
            let name = &self.schema_names[n % candidates];
            return json!({ "$ref": format!("#/components/schemas/{}", pointer_escape(name)) });
        }
        let name = if self.schema_names.is_empty()
            || n % (self.schema_names.len() + 1) == self.schema_names.len()
        {
            "NoSuchSchema"
        } else {
            &self.schema_names[n % (self.schema_names.len() + 1)]
        };
        json!({ "$ref": format!("#/components/schemas/{}", pointer_escape(name)) })
    }

    /// A schema in a nested position (property, items, map values), where references may form
    /// cycles.
    fn nested(&self, shape: &Shape) -> Value {
        let saved = self.unnested_below.replace(None);
        let s = self.schema(shape);
        self.unnested_below.set(saved);
        s
    }

    fn schema(&self, shape: &Shape) -> Value {
        match shape {
            Shape::Any => json!({}),
            Shape::Scalar {
                kind,
                format,
                bounds,
            } => {
                let (mut ty, formats) = TYPES[*kind];
                if self.clean && (ty == "file" || ty == "null" && !self.v31) {
                    ty = "string";
                }
                let mut s = Map::new();
                s.insert("type".into(), ty.into());
                let format = formats[format % formats.len()];
                if !format.is_empty() {
                    s.insert("format".into(), format.into());
                }
                if *bounds {
                    match ty {
                        "integer" | "number" if self.v31 => {
                            s.insert("exclusiveMinimum".into(), 0.into());
                            s.insert("maximum".into(), 100.into());
                        }
                        "integer" | "number" => {
                            s.insert("minimum".into(), 0.into());
                            s.insert("exclusiveMinimum".into(), true.into());
                            s.insert("maximum".into(), 100.into());
                            s.insert("exclusiveMaximum".into(), false.into());
                        }
                        "string" => {
                            s.insert("minLength".into(), 1.into());
                            s.insert("maxLength".into(), 64.into());
                            s.insert("pattern".into(), "^[a-z_]+$".into());
                        }
                        "array" => {
                            s.insert("items".into(), json!({}));
                            s.insert("minItems".into(), 1.into());
                            s.insert("uniqueItems".into(), true.into());
                        }
                        _ if self.clean => {}
                        _ => {
                            s.insert("default".into(), Value::Null);
                        }
                    }
                }
                Value::Object(s)
            }
            Shape::StringEnum(values) => {
                json!({ "type": "string", "enum": self.enum_values(values.iter().map(|v| json!(v))) })
            }
            Shape::IntEnum(values) => {
                json!({ "type": "integer", "enum": self.enum_values(values.iter().map(|v| json!(v))) })
            }
            Shape::MixedEnum(values) => json!({ "enum": self.enum_values(values.iter().cloned()) }),
            Shape::Const(value) if self.v31 => json!({ "const": value }),
            Shape::Const(value) => json!({ "enum": [value] }),
            Shape::Ref(n) => self.schema_ref(*n),
            Shape::OddRef(_) if self.clean => json!({ "type": "string" }),
            Shape::OddRef(r) => json!({ "$ref": r }),
            Shape::Nullable(inner, style) => {
                let mut s = self.schema(inner);
                let style = match style {
                    _ if self.clean && !self.v31 => 3,
                    0 | 3 if self.v31 && self.clean => 1,
                    0 if self.v31 => 1,
                    0 => 3,
                    other => *other,
                };
                match (style, s.get("type").cloned()) {
                    (1, Some(Value::String(t))) if t != "null" => {
                        s["type"] = json!([t, "null"]);
                        s
                    }
                    (1 | 2, _) => json!({ "anyOf": [s, { "type": "null" }] }),
                    _ => {
                        if let Value::Object(map) = &mut s {
                            map.insert("nullable".into(), true.into());
                        }
                        s
                    }
                }
            }
            Shape::Array(items) => json!({ "type": "array", "items": self.nested(items) }),
            Shape::Object { props, additional } => {
                let mut properties = Map::new();
                let mut required = Vec::new();
                for (name, shape, req) in props {
                    properties.insert(name.clone(), self.nested(shape));
                    if *req && !(self.clean && required.contains(&Value::from(name.as_str()))) {
                        required.push(Value::from(name.as_str()));
                    }
                }
                let mut s = json!({ "type": "object", "properties": properties });
                if !required.is_empty() {
                    s["required"] = Value::Array(required);
                }
                match additional {
                    Additional::Absent => {}
                    Additional::True => s["additionalProperties"] = true.into(),
                    Additional::False => s["additionalProperties"] = false.into(),
                    Additional::Schema(a) => s["additionalProperties"] = self.nested(a),
                }
                s
            }
            Shape::Map(values) => {
                json!({ "type": "object", "additionalProperties": self.nested(values) })
            }
            Shape::OneOf { members, .. } | Shape::AnyOf(members) | Shape::AllOf(members)
                if self.clean && members.is_empty() =>
            {
                json!({ "type": "object" })
            }
            Shape::OneOf {
                members,
                discriminator,
            } => {
                let mut s =
                    json!({ "oneOf": members.iter().map(|m| self.schema(m)).collect::<Vec<_>>() });
                if let Some((property, mapping)) = discriminator {
                    let mut d = json!({ "propertyName": property });
                    if !mapping.is_empty() {
                        let mapping: Map<String, Value> = mapping
                            .iter()
                            .map(|(k, n)| (k.clone(), self.schema_ref(*n)["$ref"].clone()))
                            .filter(|(_, r)| !self.clean || r.is_string())
                            .collect();
                        d["mapping"] = Value::Object(mapping);
                    }
                    s["discriminator"] = d;
                }
                s
            }
            Shape::AnyOf(members) => {
                json!({ "anyOf": members.iter().map(|m| self.schema(m)).collect::<Vec<_>>() })
            }
            Shape::AllOf(members) => {
                json!({ "allOf": members.iter().map(|m| self.schema(m)).collect::<Vec<_>>() })
            }
            Shape::Decorated(inner, bits) => {
                let mut s = self.schema(inner);
                let Value::Object(map) = &mut s else { return s };
                let bit = |n: u16| bits & (1 << n) != 0;
                if bit(0) {
                    map.insert(
                        "description".into(),
                        "A thing.\n\nWith *markdown* and `code` and */ and \"quotes\".".into(),
                    );
                }
                if bit(1) {
                    map.insert("title".into(), "Title".into());
                }
                if bit(2) {
                    map.insert("readOnly".into(), true.into());
                }
                if bit(3) {
                    map.insert("writeOnly".into(), true.into());
                }
                if bit(4) {
                    map.insert("deprecated".into(), true.into());
                }
                if bit(5) && !self.clean {
                    map.insert("example".into(), json!({ "a": [1, null, "x"] }));
                }
                if bit(6) && self.v31 && !self.clean {
                    map.insert("examples".into(), json!([1, "two", null]));
                }
                if bit(7) && !self.clean {
                    map.insert("default".into(), json!("default"));
                }
                if bit(8) {
                    map.insert("x-pii".into(), true.into());
                    map.insert("x-vendor-thing".into(), json!({ "nested": [1, 2] }));
                }
                if bit(9) {
                    map.insert("xml".into(), json!({ "name": "thing", "wrapped": true }));
                }
                if bit(10) {
                    map.insert(
                        "externalDocs".into(),
                        json!({ "url": "https://example.com/docs" }),
                    );
                }
                if bit(11) && !self.clean && !map.contains_key("$ref") {
                    // 3.1 allows siblings next to $ref; 3.0 ignores them.
                    map.insert("$ref".into(), "#/components/schemas/NoSuchSchema".into());
                }
                if bit(12) {
                    map.insert("not".into(), json!({ "type": "string" }));
                }
                if bit(13) && self.v31 {
                    map.insert(
                        "prefixItems".into(),
                        json!([{ "type": "string" }, { "type": "integer" }]),
                    );
                }
                if bit(14) && (self.v31 || !self.clean) {
                    map.insert("type".into(), json!(["string", "integer", "null"]));
                }
                if bit(15) && (self.v31 || !self.clean) {
                    map.insert("$defs".into(), json!({ "Local": { "type": "string" } }));
                }
                s
            }
        }
    }

    /// Enum values; in a clean document at least one, and no duplicates.
    fn enum_values(&self, values: impl Iterator<Item = Value>) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        for v in values {
            if !self.clean || !out.contains(&v) {
                out.push(v);
            }
        }
        if self.clean && out.is_empty() {
            out.push("value".into());
        }
        out
    }

    fn content(&self, media: &[(&str, Shape)]) -> Value {
        let mut content = Map::new();
        for (media_type, shape) in media {
            let media_type = match *media_type {
                "" if self.clean => "application/json",
                other => other,
            };
            let mut entry = json!({ "schema": self.schema(shape) });
            if media_type == "multipart/form-data" {
                entry["encoding"] =
                    json!({ "file": { "contentType": "application/octet-stream" } });
            }
            content.insert(media_type.to_owned(), entry);
        }
        Value::Object(content)
    }

    fn operation(&self, op: &Operation) -> (String, Value) {
        let mut path = String::new();
        let mut path_params: Vec<String> = Vec::new();
        // In a clean document, a parameter name is usable in a template and unique.
        let mut param = |p: &str| {
            let mut p = if self.clean {
                template_safe(p, true)
            } else {
                p.to_owned()
            };
            if self.clean && (p.is_empty() || path_params.contains(&p)) {
                p = format!("{p}_{}", path_params.len());
            }
            path_params.push(p.clone());
            format!("{{{p}}}")
        };
        for segment in &op.path {
            path.push('/');
            let literal = |l: &str| {
                if self.clean {
                    template_safe(l, false)
                } else {
                    l.to_owned()
                }
            };
            match segment {
                Segment::Literal(l) => path.push_str(&literal(l)),
                Segment::Param(p) => path.push_str(&param(p)),
                Segment::Pair(a, b, sep) => {
                    let a = param(a);
                    path.push_str(&format!("{a}{sep}{}", param(b)));
                }
                Segment::Mixed(l, p) => path.push_str(&format!("{}{}", literal(l), param(p))),
            }
        }
        if path.is_empty() || op.trailing_slash {
            path.push('/');
        }

        let mut o = Map::new();
        if let Some(id) = &op.operation_id {
            o.insert("operationId".into(), id.as_str().into());
        }
        if let Some(summary) = &op.summary {
            o.insert("summary".into(), summary.as_str().into());
        }
        if !op.tags.is_empty() {
            o.insert("tags".into(), json!(op.tags));
        }
        if op.deprecated {
            o.insert("deprecated".into(), true.into());
        }
        if op.extensions {
            o.insert("x-rate-limit".into(), json!({ "burst": "10/s" }));
            o.insert("x-operation-aliases".into(), json!(["alias"]));
        }
        let mut params = Vec::new();
        if op.declare_path_params || self.clean {
            for p in &path_params {
                params.push(json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }));
            }
        }
        let mut seen: Vec<(String, &str)> =
            path_params.iter().map(|p| (p.clone(), "path")).collect();
        for p in &op.params {
            let mut location = p.location;
            if self.clean {
                if !["query", "header", "cookie", "path"].contains(&location)
                    || location == "path" && !path_params.contains(&p.name)
                {
                    location = "query";
                }
                if seen.iter().any(|(n, l)| *n == p.name && *l == location) {
                    continue;
                }
                seen.push((p.name.clone(), location));
            }
            let mut v = json!({ "name": p.name, "in": location });
            if let Some(required) = p.required {
                v["required"] = required.into();
            }
            let allowed: &[&str] = match location {
                "path" => &["simple", "label", "matrix"],
                "query" => &["form", "spaceDelimited", "pipeDelimited", "deepObject"],
                "header" => &["simple"],
                _ => &["form"],
            };
            let styled = !self.clean || !p.as_content;
            if let Some(style) = p
                .style
                .filter(|s| styled && (!self.clean || allowed.contains(s)))
            {
                v["style"] = style.into();
            }
            if let Some(explode) = p.explode.filter(|_| styled) {
                v["explode"] = explode.into();
            }
            if p.as_content {
                v["content"] = json!({ "application/json": { "schema": self.schema(&p.shape) } });
            } else {
                v["schema"] = self.schema(&p.shape);
            }
            params.push(v);
        }
        if !params.is_empty() {
            o.insert("parameters".into(), Value::Array(params));
        }
        if let Some((media, required)) = &op.body {
            let mut body = json!({ "content": self.content(media) });
            if let Some(required) = required {
                body["required"] = (*required).into();
            }
            o.insert("requestBody".into(), body);
        }
        let mut responses = Map::new();
        for r in &op.responses {
            let mut v = json!({ "description": "A response." });
            if !r.content.is_empty() {
                v["content"] = self.content(&r.content);
            }
            if !r.headers.is_empty() {
                let headers: Map<String, Value> = r
                    .headers
                    .iter()
                    .map(|(n, s)| (n.clone(), json!({ "schema": self.schema(s) })))
                    .collect();
                v["headers"] = Value::Object(headers);
            }
            let status = match r.status {
                "999" | "ok" if self.clean => "200",
                other => other,
            };
            responses.insert(status.to_owned(), v);
        }
        if responses.is_empty() && self.clean {
            responses.insert("default".into(), json!({ "description": "Anything." }));
        }
        o.insert("responses".into(), Value::Object(responses));
        (path, Value::Object(o))
    }

    fn document(doc: &Document) -> Value {
        let clean = doc.clean;
        let version = if clean && !MAIN_VERSIONS.contains(&doc.version) {
            "3.1.0"
        } else {
            doc.version
        };
        let omit = if clean { 0 } else { doc.omit };
        let schema_names: Vec<String> = doc
            .schemas
            .iter()
            .map(|(n, _)| if clean { component_name(n) } else { n.clone() })
            .collect();
        let r = Render {
            clean,
            v31: version.starts_with("3.1"),
            schema_names: &schema_names,
            unnested_below: Cell::new(None),
        };
        let mut d = Map::new();
        d.insert("openapi".into(), version.into());
        if omit & 1 == 0 {
            d.insert(
                "info".into(),
                json!({ "title": "Generated", "version": "1.0.0", "x-logo": { "url": "https://example.com/logo.png" } }),
            );
        }
        let mut paths = Map::new();
        let mut operation_ids = Vec::new();
        for (i, op) in doc.operations.iter().enumerate() {
            let (path, mut value) = r.operation(op);
            let mut method = op.method;
            if clean {
                if !METHODS[..8].contains(&method) {
                    method = METHODS[i % 8];
                }
                if let Some(id) = value.get("operationId").and_then(Value::as_str) {
                    if operation_ids.iter().any(|seen| seen == id) {
                        value["operationId"] = format!("{id}_{i}").into();
                    }
                    operation_ids.push(value["operationId"].as_str().unwrap().to_owned());
                }
            }
            let item = paths.entry(path).or_insert_with(|| json!({}));
            if let Value::Object(item) = item {
                item.insert(method.to_owned(), value);
            }
        }
        if omit & 2 == 0 {
            d.insert("paths".into(), Value::Object(paths));
        }
        if !doc.webhooks.is_empty() && r.v31 {
            let webhooks: Map<String, Value> = doc
                .webhooks
                .iter()
                .map(|(name, shape)| {
                    (
                        name.clone(),
                        json!({ "post": {
                            "requestBody": { "content": { "application/json": { "schema": r.schema(shape) } } },
                            "responses": { "200": { "description": "Accepted." } }
                        } }),
                    )
                })
                .collect();
            d.insert("webhooks".into(), Value::Object(webhooks));
        }
        let schemas: Map<String, Value> = doc
            .schemas
            .iter()
            .zip(&schema_names)
            .enumerate()
            .map(|(i, ((_, shape), name))| {
                r.unnested_below.set(clean.then_some(i));
                let s = r.schema(shape);
                r.unnested_below.set(None);
                (name.clone(), s)
            })
            .collect();
        if omit & 4 == 0 {
            d.insert(
                "components".into(),
                json!({
                    "schemas": schemas,
                    "securitySchemes": { "key": { "type": "apiKey", "in": "header", "name": "X-Key" } }
                }),
            );
        }
        Value::Object(d)
    }
}

fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

// ---------------------------------------------------------------------------------------------
// Mutating fixtures.

#[derive(Debug, Clone)]
enum Replacement {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    EmptyArray,
    EmptyObject,
    /// The node wrapped in an array.
    Wrapped,
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Removes a key of an object (or an item of an array) somewhere.
    Delete { node: usize, child: usize },
    /// Replaces a value with one of another JSON type.
    Replace {
        node: usize,
        child: usize,
        with: Replacement,
    },
    /// Moves a value to another key of the same object (a rename).
    Rename {
        node: usize,
        child: usize,
        to: String,
    },
    /// Copies a value to another key of the same object (a duplicate under a new name).
    Duplicate {
        node: usize,
        child: usize,
        to: String,
    },
    /// Copies one subtree over another anywhere in the document.
    Graft { from: usize, to: usize },
    /// Renames a schema property, and the schema's `required` entry for it: the document stays
    /// as valid as it was.
    RenameProperty {
        node: usize,
        child: usize,
        to: String,
    },
    /// Renames a component schema and every reference to it.
    RenameSchema { which: usize, to: String },
    /// Replaces a value of an `enum` with a string.
    RenameEnumValue {
        node: usize,
        child: usize,
        to: String,
    },
    /// Sets an operation's `operationId`.
    RenameOperation { which: usize, to: String },
    /// Renames a query, header or cookie parameter.
    RenameParameter { which: usize, to: String },
}

/// One step of a path into a JSON document.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The paths of every node for which `pred(key it sits under, node)` holds, in document order.
fn find(v: &Value, pred: &dyn Fn(Option<&str>, &Value) -> bool) -> Vec<Vec<Step>> {
    fn walk(
        v: &Value,
        key: Option<&str>,
        path: &mut Vec<Step>,
        pred: &dyn Fn(Option<&str>, &Value) -> bool,
        out: &mut Vec<Vec<Step>>,
    ) {
        if pred(key, v) {
            out.push(path.clone());
        }
        match v {
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(c, None, path, pred, out);
                    path.pop();
                }
            }
            Value::Object(o) => {
                for (k, c) in o {
                    path.push(Step::Key(k.clone()));
                    walk(c, Some(k), path, pred, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, None, &mut Vec::new(), pred, &mut out);
    out
}

fn at_mut<'a>(mut v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    for step in path {
        v = match step {
            Step::Key(k) => &mut v[k.as_str()],
            Step::Index(i) => &mut v[*i],
        };
    }
    v
}

/// Replaces every string equal to `from` (references, discriminator mappings) with `to`.
fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(a) => a.iter_mut().for_each(|c| replace_strings(c, from, to)),
        Value::Object(o) => o.values_mut().for_each(|c| replace_strings(c, from, to)),
        _ => {}
    }
}

fn replacement() -> impl Strategy<Value = Replacement> {
    prop_oneof![
        Just(Replacement::Null),
        any::<bool>().prop_map(Replacement::Bool),
        prop_oneof![-1i64..3, any::<i64>()].prop_map(Replacement::Int),
        (-1e9f64..1e9).prop_map(Replacement::Float),
        name().prop_map(Replacement::Text),
        Just(Replacement::EmptyArray),
        Just(Replacement::EmptyObject),
        Just(Replacement::Wrapped),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any::<usize>()).prop_map(|(node, child)| Mutation::Delete { node, child }),
        3 => (any::<usize>(), any::<usize>(), replacement())
            .prop_map(|(node, child, with)| Mutation::Replace { node, child, with }),
        2 => (any::<usize>(), any::<usize>(), name())
            .prop_map(|(node, child, to)| Mutation::Rename { node, child, to }),
        2 => (any::<usize>(), any::<usize>(), name())
            .prop_map(|(node, child, to)| Mutation::Duplicate { node, child, to }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(from, to)| Mutation::Graft { from, to }),
        6 => rename(),
    ]
}

/// Mutations that change names only, consistently, so that a valid document stays valid.
fn rename() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>(), name())
            .prop_map(|(node, child, to)| Mutation::RenameProperty { node, child, to }),
        2 => (any::<usize>(), name()).prop_map(|(which, to)| Mutation::RenameSchema { which, to }),
        2 => (any::<usize>(), any::<usize>(), name())
            .prop_map(|(node, child, to)| Mutation::RenameEnumValue { node, child, to }),
        2 => (any::<usize>(), name()).prop_map(|(which, to)| Mutation::RenameOperation { which, to }),
        1 => (any::<usize>(), name()).prop_map(|(which, to)| Mutation::RenameParameter { which, to }),
    ]
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// The `k`-th node in document order (the root is 0); `k` must be below `count(v)`.
fn nth(v: &Value, k: usize) -> &Value {
    if k == 0 {
        return v;
    }
    let mut k = k - 1;
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Array(a) => Box::new(a.iter()),
        Value::Object(o) => Box::new(o.values()),
        _ => unreachable!("node index out of range"),
    };
    for c in children {
        let n = count(c);
        if k < n {
            return nth(c, k);
        }
        k -= n;
    }
    unreachable!("node index out of range")
}

fn nth_mut(v: &mut Value, k: usize) -> &mut Value {
    if k == 0 {
        return v;
    }
    let mut k = k - 1;
    let children: Box<dyn Iterator<Item = &mut Value>> = match v {
        Value::Array(a) => Box::new(a.iter_mut()),
        Value::Object(o) => Box::new(o.values_mut()),
        _ => unreachable!("node index out of range"),
    };
    for c in children {
        let n = count(c);
        if k < n {
            return nth_mut(c, k);
        }
        k -= n;
    }
    unreachable!("node index out of range")
}

/// Picks the `node`-th container (objects and arrays only), so that every mutation has a child
/// to act on.
fn nth_container(v: &mut Value, node: usize) -> Option<&mut Value> {
    fn containers(v: &Value, out: &mut Vec<usize>, at: &mut usize) {
        let here = *at;
        *at += 1;
        match v {
            Value::Array(a) if !a.is_empty() => {
                out.push(here);
                a.iter().for_each(|c| containers(c, out, at));
            }
            Value::Object(o) if !o.is_empty() => {
                out.push(here);
                o.values().for_each(|c| containers(c, out, at));
            }
            Value::Array(_) | Value::Object(_) => {}
            _ => {}
        }
    }
    let mut all = Vec::new();
    containers(v, &mut all, &mut 0);
    if all.is_empty() {
        return None;
    }
    let k = all[node % all.len()];
    Some(nth_mut(v, k))
}

fn replacement_value(with: &Replacement, old: Value) -> Value {
    match with {
        Replacement::Null => Value::Null,
        Replacement::Bool(b) => (*b).into(),
        Replacement::Int(i) => (*i).into(),
        Replacement::Float(f) => (*f).into(),
        Replacement::Text(t) => t.as_str().into(),
        Replacement::EmptyArray => json!([]),
        Replacement::EmptyObject => json!({}),
        Replacement::Wrapped => json!([old]),
    }
}

fn apply(doc: &mut Value, m: &Mutation) {
    match m {
        Mutation::RenameProperty { node, child, to } => {
            let maps = find(doc, &|key, v| {
                key == Some("properties") && v.as_object().is_some_and(|o| !o.is_empty())
            });
            let Some(path) = maps.get(node % maps.len().max(1)) else {
                return;
            };
            let properties = at_mut(doc, path).as_object_mut().unwrap();
            let from = properties
                .keys()
                .nth(child % properties.len())
                .cloned()
                .unwrap();
            let value = properties.remove(&from).unwrap();
            properties.insert(to.clone(), value);
            let schema = at_mut(doc, &path[..path.len() - 1]);
            if let Some(Value::Array(required)) = schema.get_mut("required") {
                for r in required
                    .iter_mut()
                    .filter(|r| r.as_str() == Some(from.as_str()))
                {
                    *r = to.as_str().into();
                }
            }
        }
        Mutation::RenameSchema { which, to } => {
            let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") else {
                return;
            };
            if schemas.is_empty() {
                return;
            }
            let from = schemas.keys().nth(which % schemas.len()).cloned().unwrap();
            let value = schemas.remove(&from).unwrap();
            schemas.insert(to.clone(), value);
            replace_strings(
                doc,
                &format!("#/components/schemas/{}", pointer_escape(&from)),
                &format!("#/components/schemas/{}", pointer_escape(to)),
            );
        }
        Mutation::RenameEnumValue { node, child, to } => {
            let enums = find(doc, &|key, v| {
                key == Some("enum") && v.as_array().is_some_and(|a| !a.is_empty())
            });
            let Some(path) = enums.get(node % enums.len().max(1)) else {
                return;
            };
            let values = at_mut(doc, path).as_array_mut().unwrap();
            let i = child % values.len();
            values[i] = to.as_str().into();
        }
        Mutation::RenameOperation { which, to } => {
            let operations = find(doc, &|_, v| {
                v.get("operationId").is_some_and(Value::is_string)
            });
            let Some(path) = operations.get(which % operations.len().max(1)) else {
                return;
            };
            at_mut(doc, path)["operationId"] = to.as_str().into();
        }
        Mutation::RenameParameter { which, to } => {
            let params = find(doc, &|_, v| {
                v.get("name").is_some_and(Value::is_string)
                    && v.get("in")
                        .and_then(Value::as_str)
                        .is_some_and(|l| l != "path")
            });
            let Some(path) = params.get(which % params.len().max(1)) else {
                return;
            };
            at_mut(doc, path)["name"] = to.as_str().into();
        }
        Mutation::Graft { from, to } => {
            let total = count(doc);
            let subtree = nth(doc, from % total).clone();
            if count(&subtree) > 20_000 {
                return;
            }
            *nth_mut(doc, to % total) = subtree;
        }
        Mutation::Delete { node, child } => match nth_container(doc, *node) {
            Some(Value::Object(o)) => {
                let key = o.keys().nth(child % o.len()).cloned().unwrap();
                o.remove(&key);
            }
            Some(Value::Array(a)) => {
                a.remove(child % a.len());
            }
            _ => {}
        },
        Mutation::Replace { node, child, with } => match nth_container(doc, *node) {
            Some(Value::Object(o)) => {
                let key = o.keys().nth(child % o.len()).cloned().unwrap();
                let old = o.remove(&key).unwrap();
                o.insert(key, replacement_value(with, old));
            }
            Some(Value::Array(a)) => {
                let i = child % a.len();
                let old = std::mem::take(&mut a[i]);
                a[i] = replacement_value(with, old);
            }
            _ => {}
        },
        Mutation::Rename { node, child, to } | Mutation::Duplicate { node, child, to } => {
            let duplicate = matches!(m, Mutation::Duplicate { .. });
            match nth_container(doc, *node) {
                Some(Value::Object(o)) => {
                    let key = o.keys().nth(child % o.len()).cloned().unwrap();
                    let value = if duplicate {
                        o[&key].clone()
                    } else {
                        o.remove(&key).unwrap()
                    };
                    o.insert(to.clone(), value);
                }
                Some(Value::Array(a)) => {
                    let i = child % a.len();
                    let value = a[i].clone();
                    a.push(value);
                }
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The properties.

// ---------------------------------------------------------------------------------------------
// Inputs the properties have found, kept as plain cases (failure persistence is off, and a change
// to the strategies changes which cases the fixed seed draws).

/// `mini.yaml` with its optional `Widget.tags` property renamed.
fn mini_with_property(name: &str) -> String {
    let mini = FIXTURES[0].1;
    let line = "        tags: {type: array, items: {type: string}, description: Free-form tags.}\n";
    assert!(mini.contains(line));
    mini.replace(line, &line.replacen("tags", &format!("{name:?}"), 1))
}

/// Specs that once made the generator panic or overflow its stack, with what they show.
fn known_inputs() -> Vec<(&'static str, String)> {
    let mini = FIXTURES[0].1;
    vec![
        ("a property named `self`", mini_with_property("self")),
        ("a property named ``", mini_with_property("")),
        ("a property named `123`", mini_with_property("123")),
        (
            "a property named `1st_place`",
            mini_with_property("1st_place"),
        ),
        (
            "a query parameter named `_`",
            mini.replace("        - name: color\n", "        - name: _\n"),
        ),
        (
            "an enum value ` 9.`",
            mini.replace("enum: [red, dark_blue]", "enum: [red, ' 9.']"),
        ),
        (
            "a schema named `1st_place`",
            mini.replace("WidgetColor", "1st_place"),
        ),
        (
            "a property that is an empty `allOf`",
            r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
                "components": {"schemas": {"self": {"type": "object",
                "properties": {"self": {"allOf": []}}}}}}"#
                .to_owned(),
        ),
        (
            "a discriminated `oneOf` whose member is an `allOf` cycle",
            r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
                "components": {"schemas": {
                  "Shape": {"oneOf": [{"$ref": "#/components/schemas/A"}],
                            "discriminator": {"propertyName": "kind"}},
                  "A": {"allOf": [{"$ref": "#/components/schemas/B"}]},
                  "B": {"allOf": [{"$ref": "#/components/schemas/A"}]}}}}"##
                .to_owned(),
        ),
    ]
}

/// Set to the index of a known input, `known_input_in_a_child_process` runs that one only.
const KNOWN_INPUT_VAR: &str = "GENERATOR_PROPERTIES_KNOWN_INPUT";

/// Runs every known input in a child process (this test binary, filtered to
/// `known_input_in_a_child_process`), so that a stack overflow, which aborts a process, is one
/// failure among the others instead of the end of the test run.
#[test]
fn inputs_that_once_made_the_generator_panic() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut failures = Vec::new();
    for (index, (what, _)) in known_inputs().iter().enumerate() {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "known_input_in_a_child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(KNOWN_INPUT_VAR, index.to_string())
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let why = stdout
                .lines()
                .chain(stderr.lines())
                .find(|l| l.contains("the generator") || l.contains("overflowed its stack"))
                .unwrap_or("the child process failed");
            failures.push(format!("{what}: {why}"));
        } else if !stdout.contains("known input answered") {
            failures.push(format!("{what}: the child process did not run the input"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Only does something inside [`inputs_that_once_made_the_generator_panic`]'s child processes.
#[test]
fn known_input_in_a_child_process() {
    let Ok(index) = std::env::var(KNOWN_INPUT_VAR) else {
        return;
    };
    let index: usize = index.parse().expect("an index");
    let (_, spec) = &known_inputs()[index];
    if let Err(why) = run_generator(spec) {
        panic!("{why}");
    }
    println!("known input answered");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_documents_never_make_the_generator_panic(doc in document()) {
        let text = serde_json::to_string_pretty(&Render::document(&doc)).unwrap();
        if let Err(why) = run_generator(&text) {
            prop_assert!(false, "{why}\n--- spec ---\n{}", excerpt(&text));
        }
    }

    #[test]
    fn mutated_fixtures_never_make_the_generator_panic(
        fixture in fixture_index(),
        mutations in vec(mutation(), 1..6),
    ) {
        let mut doc = parsed_fixtures()[fixture].clone();
        for m in &mutations {
            apply(&mut doc, m);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap();
        if let Err(why) = run_generator(&text) {
            prop_assert!(
                false,
                "{why}\n--- {} after {mutations:?} ---\n{}",
                FIXTURES[fixture].0,
                excerpt(&text)
            );
        }
    }

    #[test]
    fn renamed_fixtures_never_make_the_generator_panic(
        fixture in fixture_index(),
        renames in vec(rename(), 1..5),
    ) {
        let mut doc = parsed_fixtures()[fixture].clone();
        for m in &renames {
            apply(&mut doc, m);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap();
        if let Err(why) = run_generator(&text) {
            prop_assert!(
                false,
                "{why}\n--- {} after {renames:?} ---\n{}",
                FIXTURES[fixture].0,
                excerpt(&text)
            );
        }
    }

    #[test]
    fn damaged_fixture_texts_never_make_the_generator_panic(
        fixture in 0..LARGE,
        cut in any::<usize>(),
        splice in option::of((any::<usize>(), select(SPLICES))),
    ) {
        let (name, text) = FIXTURES[fixture];
        let mut text = text.to_owned();
        let mut at = cut % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        match splice {
            Some((pos, insert)) => {
                let mut pos = pos % (text.len() + 1);
                while !text.is_char_boundary(pos) {
                    pos -= 1;
                }
                text.insert_str(pos, insert);
            }
            None => text.truncate(at),
        }
        if let Err(why) = run_generator(&text) {
            prop_assert!(false, "{why}\n--- {name}, damaged ---\n{}", excerpt(&text));
        }
    }
}
