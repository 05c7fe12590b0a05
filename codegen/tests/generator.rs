//! The generator on a small fixture spec: snapshots of its output, the error it gives for
//! unsupported constructs, and the point of it all — a spec change becomes new API with no hand
//! edit. Update snapshots with `UPDATE_EXPECT=1 cargo test -p marketing-api-codegen`.

use expect_test::expect_file;
use marketing_api_codegen::{GenerateError, Options, generate, generate_with};

const MINI: &str = include_str!("fixtures/mini.yaml");

#[test]
fn models_snapshot() {
    let generated = generate(MINI).unwrap_or_else(|e| panic!("{e}"));
    expect_file!["snapshots/models.rs"].assert_eq(&generated.models);
}

#[test]
fn api_snapshot() {
    let generated = generate(MINI).unwrap_or_else(|e| panic!("{e}"));
    expect_file!["snapshots/api.rs"].assert_eq(&generated.api);
}

#[test]
fn events_snapshot() {
    let generated = generate(MINI).unwrap_or_else(|e| panic!("{e}"));
    expect_file!["snapshots/webhook_events.rs"].assert_eq(&generated.events);
}

#[test]
fn a_new_operation_and_enum_value_become_new_api_without_a_hand_edit() {
    let before = generate(MINI).unwrap_or_else(|e| panic!("{e}"));
    assert!(!before.api.contains("pub fn inspect("));
    assert!(!before.models.contains("Green"));

    let spec = MINI
        .replace("enum: [red, dark_blue]", "enum: [red, dark_blue, green]")
        .replace(
            "  /widgets/{widget_id}/parts:\n",
            "  /widgets/{widget_id}/inspect:\n    get:\n      operationId: inspectWidget\n      summary: Inspect a widget\n      x-sdk-method: inspect\n      tags: [widgets]\n      parameters:\n        - name: widget_id\n          in: path\n          required: true\n          description: The widget.\n          schema: {$ref: '#/components/schemas/WidgetId'}\n      responses:\n        '200':\n          description: The widget.\n          content:\n            application/json:\n              schema:\n                type: object\n                required: [data, meta]\n                properties:\n                  data: {$ref: '#/components/schemas/Widget'}\n                  meta: {$ref: '#/components/schemas/ResponseMeta'}\n  /widgets/{widget_id}/parts:\n",
        );
    let after = generate(&spec).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        after.api.contains("pub fn inspect("),
        "new method on the resource"
    );
    assert!(
        after.api.contains("pub struct InspectWidget"),
        "new builder"
    );
    assert!(after.models.contains("Green,"), "new enum variant");
    assert!(
        after.models.contains("\"green\" => Self::Green"),
        "new variant decodes"
    );
}

#[test]
fn what_is_not_supported_is_a_warning_naming_its_location_and_strict_mode_refuses_it() {
    let spec = MINI.replace(
        "        weight_grams: {type: integer, format: int64, description: Its weight.}",
        "        weight_grams: {$ref: 'other.yaml#/Weight', description: Its weight.}",
    );
    let lenient = generate(&spec).unwrap_or_else(|e| panic!("{e}"));
    let warning = lenient
        .warnings
        .iter()
        .find(|w| w.location.contains("NewWidget/properties/weight_grams"))
        .map(ToString::to_string);
    assert!(
        warning
            .as_deref()
            .is_some_and(|w| w.contains("another document")),
        "{warning:?} in {:?}",
        lenient.warnings
    );
    assert!(
        lenient
            .models
            .contains("pub weight_grams: Option<serde_json::Value>")
    );
    let strict = generate_with(&spec, &Options::default().strict(true));
    assert!(matches!(strict, Err(GenerateError::Strict(ref w)) if !w.is_empty()));
    assert!(generate_with(MINI, &Options::default().strict(true)).is_ok());
}

/// A path parameter whose schema is a union of scalars (`oneOf [integer, string]` ids, `[string,
/// boolean]` names) has an exact text form: the caller's string. An object in a path has none,
/// and stays a warning.
#[test]
fn a_path_parameter_that_is_a_union_of_scalars_is_text_without_a_warning() {
    let parts_param = "      parameters:\n        - name: widget_id\n          in: path\n          required: true\n          description: The widget.\n          schema: {$ref: '#/components/schemas/WidgetId'}\n      responses:\n        '200':\n          description: A page of parts.";
    assert!(MINI.contains(parts_param), "fixture changed");
    for (schema, warns) in [
        ("{oneOf: [{type: integer}, {type: string}]}", false),
        ("{anyOf: [{type: string}, {type: boolean}]}", false),
        ("{type: object, properties: {a: {type: string}}}", true),
    ] {
        let spec = MINI.replacen(
            parts_param,
            &parts_param.replace("{$ref: '#/components/schemas/WidgetId'}", schema),
            1,
        );
        let generated = generate(&spec).unwrap_or_else(|e| panic!("{schema}: {e}"));
        let warned = generated
            .warnings
            .iter()
            .any(|w| w.location.contains("parts") && w.to_string().contains("no text form"));
        assert_eq!(warned, warns, "{schema}: {:?}", generated.warnings);
        assert!(
            generated
                .api
                .contains("pub fn parts(&self, widget_id: impl Into<String>)"),
            "{schema}: the parameter is text"
        );
    }
}

/// An object with both `properties` and `additionalProperties` (an event's `properties`: some
/// members typed, some sensitive, any other key allowed) is a struct with the named members and a
/// flattened map of the others; a field of that type is set from any JSON object, read into the
/// struct, so callers keep writing `json!({..})` and the named members still get their types.
#[test]
fn an_open_object_is_a_struct_with_a_map_and_is_set_from_any_json_object() {
    let spec = r#"
openapi: 3.1.0
info: {title: Shop, version: 1.0.0}
paths: {}
components:
  schemas:
    Order:
      type: object
      description: An order.
      required: [id]
      properties:
        id: {type: string, description: Id.}
        details: {$ref: '#/components/schemas/OrderDetails', description: Details.}
        tags:
          type: object
          additionalProperties: true
          description: Free-form tags.
    OrderDetails:
      type: object
      description: Named details and any other key.
      additionalProperties: true
      properties:
        total_cents:
          type: integer
          format: int64
          description: Total.
          x-sensitive: {class: financial}
        currency: {type: string, description: Currency.}
"#;
    let generated = generate(spec).unwrap_or_else(|e| panic!("{e}"));
    let models = &generated.models;
    let details = &models[models
        .find("pub struct OrderDetails {")
        .expect("the struct")..];
    let details = &details[..details.find("\n}").expect("its end")];
    assert!(
        details.contains("pub total_cents: Option<crate::Sensitive<i64>>"),
        "{details}"
    );
    assert!(
        details.contains("pub currency: Option<String>"),
        "{details}"
    );
    assert!(
        details.contains("#[serde(flatten)]")
            && details.contains(
                "pub additional_properties: std::collections::BTreeMap<String, serde_json::Value>"
            ),
        "{details}"
    );
    // The open object's field: any JSON object, read into the struct.
    assert!(
        models.contains(
            "pub fn with_details(mut self, value: impl serde::Serialize) -> Result<Self, crate::NotAJsonObject>"
        ),
        "{models}"
    );
    assert!(
        models.contains(
            "let typed: crate::models::OrderDetails = crate::json_object::from_json_object(\"details\", object)?;"
        ),
        "{models}"
    );
    // A free-form map keeps its own setter.
    assert!(
        models.contains("crate::json_object::to_json_object(\"tags\", value)?;"),
        "{models}"
    );
}

/// "One of these, or any other string", in both spellings real specs use, is an enum whose
/// unknown values decode as `Unknown`, not an untagged union of two strings.
#[test]
fn open_enums_in_both_spellings_become_enums() {
    let generated = generate(include_str!("fixtures/everything31.yaml")).expect("generates");
    for (name, variants) in [
        (
            "ValidationProblemErrorsItemCode",
            ["UnknownColumn", "WrongType"],
        ),
        ("ValidationProblemErrorsItemSeverity", ["Error", "Warning"]),
    ] {
        let start = generated
            .models
            .find(&format!("pub enum {name} {{"))
            .unwrap_or_else(|| panic!("no enum {name} in:\n{}", generated.models));
        let body = &generated.models[start..start + generated.models[start..].find("\n}").unwrap()];
        for variant in variants {
            assert!(
                body.contains(&format!("    {variant},")),
                "{name} lacks {variant}: {body}"
            );
        }
        assert!(body.contains("Unknown(String)"), "{body}");
    }
}

#[test]
fn documents_that_are_not_openapi_3_are_refused_with_a_reason() {
    for (text, reason) in [
        ("swagger: '2.0'\n", "Swagger 2.0"),
        ("openapi: 2.5.0\n", "not a supported version"),
        ("[1, 2]", "not a mapping"),
        ("a: [unclosed\n", "does not parse"),
    ] {
        let error = generate(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains(reason), "`{error}` should say `{reason}`");
    }
}

/// Text snapshots of what small fixtures generate, for review (`UPDATE_EXPECT=1` to refresh);
/// `compile_fixtures.rs` is what proves the output compiles.
macro_rules! fixture_snapshot {
    ($test:ident, $fixture:literal, $snapshot:literal) => {
        #[test]
        fn $test() {
            let spec = include_str!(concat!("fixtures/", $fixture));
            let generated = generate(spec).unwrap_or_else(|e| panic!("{e}"));
            let warnings: Vec<String> = generated.warnings.iter().map(ToString::to_string).collect();
            let text = format!(
                "// warnings:\n{}\n// ---- models.rs\n{}\n// ---- api.rs\n{}\n// ---- webhook_events.rs\n{}",
                warnings.iter().map(|w| format!("//   {w}\n")).collect::<String>(),
                generated.models,
                generated.api,
                generated.events
            );
            expect_file![$snapshot].assert_eq(&text);
        }
    };
}

fixture_snapshot!(
    petstore30_snapshot,
    "petstore30.yaml",
    "snapshots/fixtures/petstore30.rs.txt"
);
fixture_snapshot!(
    recursion_snapshot,
    "recursion.yaml",
    "snapshots/fixtures/recursion.rs.txt"
);
fixture_snapshot!(
    nasty_names_snapshot,
    "nasty_names.yaml",
    "snapshots/fixtures/nasty_names.rs.txt"
);
fixture_snapshot!(
    collisions_snapshot,
    "collisions.yaml",
    "snapshots/fixtures/collisions.rs.txt"
);
fixture_snapshot!(
    everything31_snapshot,
    "everything31.yaml",
    "snapshots/fixtures/everything31.rs.txt"
);

/// A spec file that does not parse is refused with its file name and the line at fault, and
/// nothing is written.
#[test]
fn a_broken_spec_file_is_named_with_its_line() {
    let dir = std::env::temp_dir().join(format!("codegen-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("broken.yaml");
    std::fs::write(
        &spec,
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {a: 1\n",
    )
    .expect("write spec");
    let error = marketing_api_codegen::generate_files(&spec, &dir, &Options::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let written = dir.join("models.rs").exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!written, "models.rs written for a broken spec");
    assert!(
        error.starts_with(&format!(
            "{}: openapi spec does not parse: ",
            spec.display()
        )),
        "{error}"
    );
    assert!(error.contains(" at line "), "{error}");
}

#[test]
fn text_and_binary_bodies_stream_both_ways_and_a_raw_body_is_preferred_over_a_form() {
    let spec = MINI.replace(
        "  /widgets/{widget_id}/parts:\n",
        "  /widgets/export:\n    get:\n      operationId: exportWidgets\n      summary: Export widgets as CSV\n      tags: [widgets]\n      responses:\n        '200':\n          description: The widgets.\n          content:\n            text/csv:\n              schema: {type: string}\n    post:\n      operationId: importWidgets\n      summary: Import widgets from CSV\n      tags: [widgets]\n      requestBody:\n        required: true\n        content:\n          multipart/form-data:\n            schema:\n              type: object\n              properties:\n                file: {type: string, format: binary}\n          text/csv:\n            schema: {type: string}\n      responses:\n        '204':\n          description: Imported.\n  /widgets/{widget_id}/parts:\n",
    );
    let generated = generate(&spec).unwrap_or_else(|e| panic!("{e}"));
    let api = &generated.api;
    let builder = |name: &str| {
        let start = api
            .find(&format!("impl {name} {{"))
            .unwrap_or_else(|| panic!("no impl of {name}"));
        let end = api[start..]
            .find("\n}\n")
            .map_or(api.len(), |end| start + end);
        api[start..end].to_owned()
    };
    let export = builder("ExportWidgets");
    assert!(
        export.contains("pub async fn send(self) -> Result<crate::ByteStream, crate::Error>"),
        "a text answer is streamed: {export}"
    );
    assert!(
        export.contains("client.execute_stream(request)"),
        "{export}"
    );
    assert!(
        export.contains("pub async fn text(self) -> Result<String, crate::Error>"),
        "and can still be read whole: {export}"
    );
    assert!(
        api.contains("body: impl Into<crate::upload::Upload>"),
        "a raw body takes bytes, a file, a reader or a stream"
    );
    assert!(
        api.contains("body.into().encode(\"text/csv\")"),
        "the CSV body is preferred over the form offering the same file"
    );
    assert!(!api.contains("crate::multipart::Multipart) -> ImportWidgets"));
}

/// A `$ref` to a union of objects merged with an object in one `allOf`: the variants'
/// properties become optional fields (two variants typing one differently meet at `String`),
/// with no warning; a union of scalars in an `allOf` is still left out, and said to be one.
#[test]
fn a_union_of_objects_inside_all_of_becomes_optional_fields() {
    let generated =
        generate(include_str!("fixtures/quirks.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(generated.warnings.is_empty(), "{:?}", generated.warnings);
    let summary = struct_body(&generated.models, "CheckSummary");
    for field in [
        "pub type_: Option<String>",
        "pub every: Option<String>",
        "pub level: Option<f64>",
        "pub template_name: Option<String>",
    ] {
        assert!(summary.contains(field), "{field} in {summary}");
    }
    assert!(summary.contains("set when the value is a variant that has it"));

    let scalars = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    Amount:
      oneOf: [{type: string}, {type: integer}]
    Priced:
      allOf:
        - {$ref: '#/components/schemas/Amount'}
        - type: object
          properties:
            currency: {type: string}
"#;
    let generated = generate(scalars).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = generated.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("/components/schemas/Priced/allOf/0")
            && warnings[0].contains("a oneOf/anyOf of non-objects inside allOf"),
        "{warnings:?}"
    );
    assert!(generated.models.contains("pub currency: Option<String>"));
}

/// The generated `pub struct name { … }`, fields and all.
fn struct_body<'m>(models: &'m str, name: &str) -> &'m str {
    let start = models
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name}"));
    let end = models[start..]
        .find("\n}")
        .map_or(models.len(), |end| start + end);
    &models[start..end]
}

/// `Cat: allOf [Animal, {…}]` where `Animal: oneOf [Cat, Dog]` (in `quirks.yaml`): a cycle
/// through the union. Cat is one of the variants, so it keeps its own fields and does not take
/// Dog's. An inline union of objects and `null` (`Payment`) gives every variant's fields.
#[test]
fn a_struct_that_is_a_variant_of_the_union_it_includes_keeps_its_own_fields() {
    let generated =
        generate(include_str!("fixtures/quirks.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(generated.warnings.is_empty(), "{:?}", generated.warnings);
    let cat = struct_body(&generated.models, "Cat");
    assert!(cat.contains("pub purrs: bool"), "{cat}");
    assert!(!cat.contains("barks"), "{cat}");
    let dog = struct_body(&generated.models, "Dog");
    assert!(dog.contains("pub barks: Option<bool>"), "{dog}");
    assert!(!dog.contains("purrs"), "{dog}");
    let payment = struct_body(&generated.models, "Payment");
    for field in [
        "pub id: String",
        "pub card: Option<crate::models::PaymentCard>",
        "pub method: Option<String>",
        "pub iban: Option<String>",
    ] {
        assert!(payment.contains(field), "{field} in {payment}");
    }
}

/// A document with no component schemas (converted Postman collections) has an example
/// roundtrip dispatch without arms: it must use its parameters and no unused helper, or the
/// generated SDK warns (`compile_fixtures` builds `inline_only.yaml` with `-D warnings`).
#[test]
fn a_document_without_component_schemas_has_an_armless_roundtrip_dispatch() {
    let generated =
        generate(include_str!("fixtures/inline_only.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(generated.warnings.is_empty(), "{:?}", generated.warnings);
    assert!(
        generated
            .models
            .contains("pub const __MODEL_NAMES: &[&str] = &[];")
    );
    assert!(generated.models.contains("let _ = (schema, json);"));
    assert!(!generated.models.contains("fn roundtrip<"));
    let with_models = generate(MINI).unwrap_or_else(|e| panic!("{e}"));
    assert!(with_models.models.contains("fn roundtrip<"));
    assert!(!with_models.models.contains("let _ = (schema, json);"));
}

/// An array path parameter in the default `simple` style is a typed list written `a,b`, each
/// item escaped on its own; with `label` or `matrix` style it stays text, with a warning.
#[test]
fn an_array_path_parameter_is_a_list_joined_by_commas() {
    let quirks = include_str!("fixtures/quirks.yaml");
    let generated = generate(quirks).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !generated
            .warnings
            .iter()
            .any(|w| w.to_string().contains("no text form")),
        "{:?}",
        generated.warnings
    );
    assert!(
        generated.api.contains("names: Vec<String>"),
        "{}",
        generated.api
    );
    assert!(generated.api.contains("ids: Vec<i64>"));
    assert!(
        generated
            .api
            .contains("crate::codec::path_list_segment(&names)")
    );
    let param = "{name: names, in: path, required: true, schema:";
    assert!(quirks.contains(param), "fixture changed");
    let label = generate(&quirks.replace(
        param,
        "{name: names, in: path, required: true, style: label, schema:",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        label
            .warnings
            .iter()
            .any(|w| w.location.contains("values") && w.to_string().contains("no text form")),
        "{:?}",
        label.warnings
    );
    assert!(!label.api.contains("names: Vec<String>"));
}

/// A path that names one parameter twice takes it once: one argument, converted once, written
/// at both places (it was a second unused argument, a move of the first one twice, and a
/// warning that the declared parameter was not declared).
#[test]
fn a_parameter_used_twice_in_a_path_is_one_argument() {
    let generated =
        generate(include_str!("fixtures/quirks.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !generated
            .warnings
            .iter()
            .any(|w| w.location.contains("fabrics")),
        "{:?}",
        generated.warnings
    );
    let api = &generated.api;
    assert!(
        api.contains("location: impl Into<String>, result: impl Into<String>)"),
        "{api}"
    );
    assert!(!api.contains("location2"));
    assert!(
        api.contains("\"/groups/System.{0}/fabrics/{0}/results/{1}\""),
        "{api}"
    );
    assert_eq!(api.matches("&location.into()").count(), 1);
    // Paths without a repeat keep the plain `{}` template.
    assert!(api.contains("\"/files/{}\""));
}

#[test]
fn an_operation_answering_text_or_bytes_asks_for_its_media_types() {
    let spec = r#"
openapi: 3.0.3
info: {title: Reports, version: '1'}
paths:
  /reports/{id}:
    get:
      operationId: getReport
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: The report.
          content:
            text/csv: {schema: {type: string}}
            application/pdf: {schema: {type: string, format: binary}}
        '404':
          description: Missing.
          content:
            application/problem+json: {schema: {type: object}}
            text/html: {schema: {type: string}}
        default:
          description: Any other error.
          content:
            application/json: {schema: {type: object}}
  /reports/{id}/raw:
    get:
      operationId: getRawReport
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: Accept, in: header, schema: {type: string}}
      responses:
        '200':
          description: The raw bytes (an `Accept` parameter is ignored, as OpenAPI says).
          content: {application/octet-stream: {schema: {type: string, format: binary}}}
  /reports:
    get:
      operationId: listReports
      responses:
        '200':
          description: Report names.
          content: {application/json: {schema: {type: array, items: {type: string}}}}
"#;
    let generated = generate(spec).unwrap_or_else(|e| panic!("{e}"));
    let accepts: Vec<&str> = generated
        .api
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("accept:"))
        .collect();
    // In path order: the report (its success types, then the JSON types of its errors at a
    // lower preference; the HTML error page is not asked for), the raw report (its declared
    // `Accept` parameter ignored), the list (JSON, the client's default).
    assert_eq!(
        accepts,
        [
            r#"accept: Some(http::HeaderValue::from_static("text/csv, application/pdf, application/problem+json;q=0.9, application/json;q=0.9")),"#,
            r#"accept: Some(http::HeaderValue::from_static("application/octet-stream")),"#,
            "accept: None,",
        ],
        "{}",
        generated.api
    );
}
