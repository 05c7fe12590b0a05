//! Dynamic audiences on the wire: rules checked with every fault named by JSON pointer, cycles
//! refused (including ones an update would close), membership computed as contacts, attributes,
//! events and other audiences change, static-only operations refused, previews.

mod common;

use common::{Api, error, json};
use marketing_api_sandbox::Sandbox;
use serde_json::{Value, json};

async fn contact(api: &Api, email: &str, attributes: Value) -> String {
    let body = json(
        api.post(
            "/contacts",
            json!({"email": email, "attributes": attributes}),
        )
        .await,
        201,
    )
    .await;
    body["data"]["id"].as_str().expect("an id").to_owned()
}

async fn dynamic(api: &Api, name: &str, rule: Value) -> Value {
    let body = json(
        api.post(
            "/audiences",
            json!({"name": name, "kind": "dynamic", "rule": rule}),
        )
        .await,
        201,
    )
    .await;
    body["data"].clone()
}

async fn member_ids(api: &Api, audience: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/audiences/{audience}/contacts?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let body = json(api.get(&path).await, 200).await;
        for c in body["data"].as_array().expect("a list") {
            ids.push(c["id"].as_str().expect("an id").to_owned());
        }
        match body["meta"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

fn pointers(body: &Value) -> Vec<(String, String)> {
    body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| {
            (
                d["pointer"].as_str().expect("a pointer").to_owned(),
                d["code"].as_str().expect("a code").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn audiences_are_static_unless_they_say_otherwise() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let api = Api::new(&sandbox);
    let created = json(
        api.post("/audiences", json!({"name": "Curated"})).await,
        201,
    )
    .await;
    assert_eq!(created["data"]["kind"], "static");
    assert!(created["data"]["rule"].is_null());

    let no_rule = api
        .post("/audiences", json!({"name": "x", "kind": "dynamic"}))
        .await;
    error(
        no_rule,
        400,
        "invalid_request_error",
        "missing_field",
        Some("rule"),
    )
    .await;
    let rule = json!({"type": "field", "field": "status", "operator": "eq", "value": "subscribed"});
    let static_rule = api
        .post(
            "/audiences",
            json!({"name": "x", "kind": "static", "rule": rule}),
        )
        .await;
    error(
        static_rule,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("rule"),
    )
    .await;

    // A static audience has no rule to change.
    let id = created["data"]["id"].as_str().expect("id");
    let patch = api
        .patch(&format!("/audiences/{id}"), json!({"rule": rule}))
        .await;
    error(
        patch,
        409,
        "conflict_error",
        "audience_kind_mismatch",
        Some("rule"),
    )
    .await;
}

#[tokio::test]
async fn every_fault_of_a_rule_is_named_by_its_pointer() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let api = Api::new(&sandbox);
    let rule = json!({"type": "all", "all": [
        {"type": "field", "field": "status", "operator": "eq", "value": "subscribed"},
        {"type": "field", "field": "created_at", "operator": "contains", "value": "2026"},
        {"type": "not", "not": {"type": "field", "field": "favourite_colour", "operator": "eq", "value": "red"}},
        {"type": "membership", "audience_id": "aud_nothere"},
        {"type": "field", "field": "attributes.plan", "operator": "exists", "value": true},
        {"type": "field", "field": "created_at", "operator": "gt", "value": "last tuesday"},
        {"type": "event", "event_type": "purchase", "property": {"key": "sku", "operator": "in", "value": []}}
    ]});
    let answer = api
        .post(
            "/audiences",
            json!({"name": "Broken", "kind": "dynamic", "rule": rule}),
        )
        .await;
    let body = error(
        answer,
        422,
        "invalid_request_error",
        "invalid_rule",
        Some("rule"),
    )
    .await;
    assert_eq!(
        pointers(&body),
        [
            ("/rule/all/1/operator", "unsupported_operator"),
            ("/rule/all/2/not/field", "unknown_field"),
            ("/rule/all/3/audience_id", "unknown_audience"),
            ("/rule/all/4/value", "invalid_value"),
            ("/rule/all/5/value", "invalid_value"),
            ("/rule/all/6/property/value", "invalid_value"),
        ]
        .map(|(p, c)| (p.to_owned(), c.to_owned()))
    );
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("/rule/all/1/operator") && message.contains("5 more"),
        "{message}"
    );

    // The preview checks a rule the same way.
    let preview = api
        .post(
            "/audiences/preview",
            json!({"rule": {"type": "field", "field": "nope", "operator": "exists"}}),
        )
        .await;
    let body = error(
        preview,
        422,
        "invalid_request_error",
        "invalid_rule",
        Some("rule"),
    )
    .await;
    assert_eq!(
        pointers(&body),
        [("/rule/field".to_owned(), "unknown_field".to_owned())]
    );
    assert_eq!(sandbox.contact_count(), 0);
}

fn nested(depth: usize) -> Value {
    let mut rule = json!({"type": "field", "field": "status", "operator": "exists"});
    for _ in 1..depth {
        rule = json!({"type": "not", "not": rule});
    }
    rule
}

#[tokio::test]
async fn depth_is_limited_to_eight_levels() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let api = Api::new(&sandbox);
    dynamic(&api, "Eight levels", nested(8)).await;
    let answer = api
        .post(
            "/audiences",
            json!({"name": "Nine", "kind": "dynamic", "rule": nested(9)}),
        )
        .await;
    let body = error(
        answer,
        422,
        "invalid_request_error",
        "invalid_rule",
        Some("rule"),
    )
    .await;
    let ninth = format!("/rule{}", "/not".repeat(8));
    assert_eq!(pointers(&body), [(ninth, "too_deep".to_owned())]);
}

#[tokio::test]
async fn cycles_between_audiences_are_refused_with_their_path() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let api = Api::new(&sandbox);
    let everyone = json!({"type": "field", "field": "email", "operator": "exists"});
    let a = dynamic(&api, "A", everyone.clone()).await;
    let a_id = a["id"].as_str().expect("id");
    let b = dynamic(
        &api,
        "B",
        json!({"type": "membership", "audience_id": a_id}),
    )
    .await;
    let b_id = b["id"].as_str().expect("id");
    let c = dynamic(
        &api,
        "C",
        json!({"type": "any", "any": [everyone, {"type": "membership", "audience_id": b_id}]}),
    )
    .await;
    let c_id = c["id"].as_str().expect("id");

    // A → C → B → A: the update that would close the cycle is refused, A keeps its rule.
    let closing = json!({"type": "all", "all": [
        {"type": "field", "field": "status", "operator": "eq", "value": "subscribed"},
        {"type": "not", "not": {"type": "membership", "audience_id": c_id}}
    ]});
    let answer = api
        .patch(&format!("/audiences/{a_id}"), json!({"rule": closing}))
        .await;
    let body = error(
        answer,
        422,
        "invalid_request_error",
        "invalid_rule",
        Some("rule"),
    )
    .await;
    assert_eq!(
        pointers(&body),
        [(
            "/rule/all/1/not/audience_id".to_owned(),
            "cyclic_rule".to_owned()
        )]
    );
    // Referring to itself is the shortest cycle.
    let answer = api
        .patch(
            &format!("/audiences/{a_id}"),
            json!({"rule": {"type": "membership", "audience_id": a_id}}),
        )
        .await;
    let body = error(
        answer,
        422,
        "invalid_request_error",
        "invalid_rule",
        Some("rule"),
    )
    .await;
    assert_eq!(
        pointers(&body),
        [("/rule/audience_id".to_owned(), "cyclic_rule".to_owned())]
    );
    let kept = json(api.get(&format!("/audiences/{a_id}")).await, 200).await;
    assert_eq!(kept["data"]["rule"], a["rule"]);

    // An audience a rule refers to cannot be deleted.
    let answer = api.delete(&format!("/audiences/{a_id}")).await;
    error(
        answer,
        409,
        "conflict_error",
        "audience_in_use",
        Some("audience_id"),
    )
    .await;
    let answer = api.delete(&format!("/audiences/{c_id}")).await;
    assert_eq!(answer.status(), 204);
}

#[tokio::test]
async fn membership_follows_attributes_events_and_other_audiences() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let api = Api::new(&sandbox);
    let ada = contact(
        &api,
        "ada@example.com",
        json!({"country": "GB", "ltv": 500}),
    )
    .await;
    let bob = contact(&api, "bob@example.com", json!({"country": "FR"})).await;
    let cy = contact(&api, "Cy@Example.com", json!({"country": "GB"})).await;

    let vip = json(api.post("/audiences", json!({"name": "VIP"})).await, 201).await;
    let vip_id = vip["data"]["id"].as_str().expect("id").to_owned();
    json(
        api.post(
            &format!("/audiences/{vip_id}/contacts"),
            json!({"contact_ids": [bob]}),
        )
        .await,
        200,
    )
    .await;

    let rule = json!({"type": "any", "any": [
        {"type": "all", "all": [
            {"type": "field", "field": "attributes.country", "operator": "in", "value": ["GB", "IE"]},
            {"type": "event", "event_type": "purchase", "min_count": 2, "within_days": 30,
             "property": {"key": "category", "operator": "eq", "value": "shoes"}}
        ]},
        {"type": "membership", "audience_id": vip_id}
    ]});
    let segment = dynamic(&api, "Shoe buyers or VIP", rule).await;
    let id = segment["id"].as_str().expect("id").to_owned();
    assert_eq!(segment["contact_count"], 1);
    assert_eq!(member_ids(&api, &id, 10).await, std::slice::from_ref(&bob));

    // Ada buys shoes twice (and a hat, which does not count): she joins.
    let now = chrono::Utc::now();
    let purchase = |category: &str, days_ago: i64| {
        json!({"type": "purchase", "contact_id": ada, "value_cents": 100,
               "occurred_at": (now - chrono::Duration::days(days_ago)).to_rfc3339(),
               "properties": {"category": category}})
    };
    json(
        api.post(
            "/events",
            json!({"events": [purchase("shoes", 1), purchase("hats", 2)]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(member_ids(&api, &id, 10).await, std::slice::from_ref(&bob));
    json(
        api.post("/events", json!({"events": [purchase("shoes", 3)]}))
            .await,
        200,
    )
    .await;
    assert_eq!(member_ids(&api, &id, 10).await, [ada.clone(), bob.clone()]);
    // A purchase older than the window does not help Cy.
    let old = json!({"events": [
        {"type": "purchase", "contact_id": cy, "occurred_at": (now - chrono::Duration::days(40)).to_rfc3339(), "properties": {"category": "shoes"}},
        {"type": "purchase", "contact_id": cy, "occurred_at": (now - chrono::Duration::days(45)).to_rfc3339(), "properties": {"category": "shoes"}}
    ]});
    json(api.post("/events", old).await, 200).await;
    assert_eq!(member_ids(&api, &id, 10).await, [ada.clone(), bob.clone()]);

    // Ada moves to France: she leaves. Bob leaves the curated audience: he leaves too.
    json(
        api.patch(
            &format!("/contacts/{ada}"),
            json!({"attributes": {"country": "FR"}}),
        )
        .await,
        200,
    )
    .await;
    let answer = api
        .delete(&format!("/audiences/{vip_id}/contacts/{bob}"))
        .await;
    assert_eq!(answer.status(), 204);
    assert!(member_ids(&api, &id, 10).await.is_empty());
    let got = json(api.get(&format!("/audiences/{id}")).await, 200).await;
    assert_eq!(got["data"]["contact_count"], 0);

    // The contacts list's audience filter and a contact's export agree with the rule.
    json(
        api.patch(
            &format!("/contacts/{ada}"),
            json!({"attributes": {"country": "IE"}}),
        )
        .await,
        200,
    )
    .await;
    let filtered = json(api.get(&format!("/contacts?audience_id={id}")).await, 200).await;
    assert_eq!(filtered["data"][0]["id"], ada.as_str());
    assert_eq!(filtered["meta"]["total_count"], 1);
    let export = json(
        api.post(&format!("/contacts/{ada}/export"), json!({}))
            .await,
        200,
    )
    .await;
    let audiences: Vec<&str> = export["data"]["audiences"]
        .as_array()
        .expect("audiences")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(audiences, [id.as_str()]);

    // Hand-made membership changes are for static audiences.
    let add = api
        .post(
            &format!("/audiences/{id}/contacts"),
            json!({"contact_ids": [cy]}),
        )
        .await;
    error(
        add,
        409,
        "conflict_error",
        "audience_kind_mismatch",
        Some("audience_id"),
    )
    .await;
    let remove = api.delete(&format!("/audiences/{id}/contacts/{ada}")).await;
    error(
        remove,
        409,
        "conflict_error",
        "audience_kind_mismatch",
        Some("audience_id"),
    )
    .await;
}

#[tokio::test]
async fn field_operators_compare_as_documented() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let api = Api::new(&sandbox);
    let ada = contact(
        &api,
        "Ada@Example.com",
        json!({"ltv": 500, "tags": ["Shoes", "vip"], "plan": null}),
    )
    .await;
    let bob = contact(&api, "bob@example.org", json!({"ltv": 50.0, "plan": "pro"})).await;
    let cases = [
        (
            json!({"type": "field", "field": "email", "operator": "eq", "value": "ada@example.COM"}),
            vec![&ada],
        ),
        (
            json!({"type": "field", "field": "email", "operator": "contains", "value": "EXAMPLE.org"}),
            vec![&bob],
        ),
        (
            json!({"type": "field", "field": "attributes.ltv", "operator": "gt", "value": 100}),
            vec![&ada],
        ),
        (
            json!({"type": "field", "field": "attributes.ltv", "operator": "eq", "value": 50}),
            vec![&bob],
        ),
        (
            json!({"type": "field", "field": "attributes.tags", "operator": "contains", "value": "shoes"}),
            vec![&ada],
        ),
        (
            json!({"type": "field", "field": "attributes.plan", "operator": "exists"}),
            vec![&bob],
        ),
        (
            json!({"type": "field", "field": "attributes.plan", "operator": "ne", "value": "pro"}),
            vec![&ada],
        ),
        (
            json!({"type": "field", "field": "phone", "operator": "exists"}),
            vec![],
        ),
        (
            json!({"type": "field", "field": "created_at", "operator": "gt", "value": "2000-01-01T00:00:00Z"}),
            vec![&ada, &bob],
        ),
        (
            json!({"type": "field", "field": "status", "operator": "in", "value": ["bounced", "subscribed"]}),
            vec![&ada, &bob],
        ),
    ];
    for (rule, expected) in cases {
        let body = json(
            api.post("/audiences/preview", json!({"rule": rule})).await,
            200,
        )
        .await;
        let ids: Vec<&str> = body["data"]["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        let expected: Vec<&str> = expected.iter().map(|s| s.as_str()).collect();
        assert_eq!(ids, expected, "{rule}");
        assert_eq!(body["data"]["count"], expected.len(), "{rule}");
        assert_eq!(body["data"]["has_more"], false, "{rule}");
    }
    let limited =
        json!({"rule": {"type": "field", "field": "email", "operator": "exists"}, "limit": 1});
    let body = json(api.post("/audiences/preview", limited).await, 200).await;
    assert_eq!(body["data"]["count"], 2);
    assert_eq!(body["data"]["has_more"], true);
    assert_eq!(body["data"]["contacts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn chains_of_audiences_referring_to_one_another_are_bounded() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let api = Api::new(&sandbox);
    let everyone = json!({"type": "field", "field": "email", "operator": "exists"});
    // A chain of eight dynamic audiences, each referring to the one before.
    let first = dynamic(&api, "chain 1", everyone.clone()).await;
    let mut ids = vec![first["id"].as_str().expect("id").to_owned()];
    for n in 2..=8 {
        let previous = ids.last().expect("one").clone();
        let next = dynamic(
            &api,
            &format!("chain {n}"),
            json!({"type": "membership", "audience_id": previous}),
        )
        .await;
        ids.push(next["id"].as_str().expect("id").to_owned());
    }
    // A ninth would make the chain too long: refused at its reference.
    let last = ids.last().expect("eight").clone();
    let answer = api
        .post("/audiences", json!({"name": "chain 9", "kind": "dynamic", "rule": {"type": "membership", "audience_id": last}}))
        .await;
    let body = error(
        answer,
        422,
        "invalid_request_error",
        "invalid_rule",
        Some("rule"),
    )
    .await;
    assert_eq!(
        pointers(&body),
        [("/rule/audience_id".to_owned(), "too_deep".to_owned())]
    );
    // So would lengthening it from the bottom: the first audience referring to another dynamic one.
    let other = dynamic(&api, "other", everyone).await;
    let other_id = other["id"].as_str().expect("id");
    let answer = api
        .patch(
            &format!("/audiences/{}", ids[0]),
            json!({"rule": {"type": "membership", "audience_id": other_id}}),
        )
        .await;
    let body = error(
        answer,
        422,
        "invalid_request_error",
        "invalid_rule",
        Some("rule"),
    )
    .await;
    assert_eq!(
        pointers(&body),
        [("/rule/audience_id".to_owned(), "too_deep".to_owned())]
    );
    // The eighth still has every contact of the first.
    contact(&api, "ada@example.com", json!({})).await;
    assert_eq!(member_ids(&api, &last, 10).await.len(), 1);
}
