//! The generator on a small fixture spec: snapshots of its output, the error it gives for
//! unsupported constructs, and the point of it all — a spec change becomes new API with no hand
//! edit. Update snapshots with `UPDATE_EXPECT=1 cargo test -p marketing-api-codegen`.

use expect_test::expect_file;
use marketing_api_codegen::{GenerateError, generate};

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
fn unsupported_constructs_fail_with_their_location() {
    let cases = [
        (
            MINI.replace("      description: A part of a widget.\n", "      description: A part of a widget.\n      allOf: []\n"),
            "allOf",
        ),
        (
            MINI.replace("          in: query\n          description: Page size.", "          in: cookie\n          description: Page size."),
            "paths./widgets.get.parameters.limit",
        ),
        (
            MINI.replace("    patch:\n      operationId: updateWidget", "    post:\n      operationId: updateWidget"),
            "paths./widgets/{widget_id}.post",
        ),
        (
            MINI.replace("openapi: 3.1.0", "openapi: 3.0.3"),
            "openapi",
        ),
        (
            MINI.replace("        weight_grams: {type: integer, format: int64, description: Its weight.}", "        weight_grams: {type: object, properties: {g: {type: integer}}, description: Its weight.}"),
            "components.schemas.NewWidget.properties.weight_grams",
        ),
    ];
    for (spec, location) in cases {
        let error = generate(&spec).expect_err(location);
        let text = error.to_string();
        assert!(
            matches!(error, GenerateError::Parse(_) | GenerateError::Model(_)),
            "{text}"
        );
        assert!(text.contains(location), "`{text}` should name `{location}`");
    }
}
