use super::*;
use serde_json::json;

fn here<'a>(field: &'a str, object: &'a str) -> Binding<'a> {
    Binding {
        field,
        object: Some(object),
    }
}

#[test]
fn a_value_round_trips_and_names_its_key_and_binding() {
    let keys = PrivateKeySet::new();
    let public = keys.generate("k1").unwrap();
    let jwe = public
        .encrypt(&json!("ada@example.com"), here("email", "ctc_1"))
        .unwrap();
    assert_eq!(jwe.split('.').count(), 5);
    assert_eq!(jwe_kid(&jwe).as_deref(), Some("k1"));
    assert!(!jwe.contains("ada"));
    let value = decrypt_value(&jwe, &keys, here("email", "ctc_1")).unwrap();
    assert_eq!(value, json!("ada@example.com"));
}

#[test]
fn each_failure_has_its_own_kind() {
    let keys = PrivateKeySet::new();
    let public = keys.generate("k1").unwrap();
    let jwe = public
        .encrypt(&json!("+44 20"), here("phone", "ctc_1"))
        .unwrap();

    let other = PrivateKeySet::new();
    other.generate("k1").unwrap();
    let kind = |r: Result<Value, DecryptError>| r.unwrap_err().kind();
    assert_eq!(
        kind(decrypt_value(&jwe, &other, here("phone", "ctc_1"))),
        DecryptErrorKind::WrongKey
    );
    assert_eq!(
        kind(decrypt_value(
            &jwe,
            &PrivateKeySet::new(),
            here("phone", "ctc_1")
        )),
        DecryptErrorKind::UnknownKid
    );
    assert_eq!(
        kind(decrypt_value(&jwe, &keys, here("phone", "ctc_2"))),
        DecryptErrorKind::Misbound
    );
    assert_eq!(
        kind(decrypt_value(&jwe, &keys, here("email", "ctc_1"))),
        DecryptErrorKind::Misbound
    );
    // One flipped character in the ciphertext segment.
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(0..1, flipped);
    assert_eq!(
        kind(decrypt_value(
            &parts.join("."),
            &keys,
            here("phone", "ctc_1")
        )),
        DecryptErrorKind::Tampered
    );
    assert_eq!(
        kind(decrypt_value("a.b.c", &keys, here("phone", "ctc_1"))),
        DecryptErrorKind::Malformed
    );
}

#[test]
fn error_messages_carry_no_value() {
    let keys = PrivateKeySet::new();
    let public = keys.generate("k1").unwrap();
    let jwe = public
        .encrypt(&json!("ada@example.com"), here("email", "ctc_1"))
        .unwrap();
    let body = json!({"data": {"id": "ctc_2", "email": jwe}}).to_string();
    let error = decrypt_body(body.as_bytes(), &keys).unwrap_err();
    assert_eq!(error.kind(), DecryptErrorKind::Misbound);
    assert_eq!(error.path(), Some("data.email"));
    let message = error.to_string();
    assert!(
        !message.contains("ada") && !message.contains(&jwe[..20]),
        "{message}"
    );
    assert!(
        message.contains("data.email") && message.contains("k1"),
        "{message}"
    );
}

#[test]
fn bodies_decrypt_in_place_with_nested_objects_bound_to_their_own_id() {
    let keys = PrivateKeySet::new();
    let public = keys.generate("k1").unwrap();
    let email = |id: &str| {
        public
            .encrypt(&json!(format!("{id}@example.com")), here("email", id))
            .unwrap()
    };
    let body = json!({
        "data": [
            {"id": "ctc_1", "email": email("ctc_1"), "status": "subscribed"},
            {"id": "evt_1", "contact": {"id": "ctc_2", "email": email("ctc_2")}},
        ],
        "meta": {"has_more": false}
    });
    let out = decrypt_body(body.to_string().as_bytes(), &keys)
        .unwrap()
        .unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["data"][0]["email"], "ctc_1@example.com");
    assert_eq!(out["data"][1]["contact"]["email"], "ctc_2@example.com");
    assert_eq!(out["data"][0]["status"], "subscribed");
    // A body without a JWE is not re-encoded.
    assert!(
        decrypt_body(br#"{"data":{"email":"a@b.c"}}"#, &keys)
            .unwrap()
            .is_none()
    );
}

#[test]
fn private_jwks_export_and_import_and_keys_are_checked() {
    let keys = PrivateKeySet::new();
    let public = keys.generate("k1").unwrap();
    assert!(keys.generate("k1").is_err(), "a kid is unique");
    let exported = keys.export_private_jwk("k1").unwrap();
    let again = PrivateKeySet::new();
    let jwk: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(again.insert_jwk(&jwk).unwrap(), "k1");
    let jwe = public
        .encrypt(&json!(42), here("value_cents", "evt_1"))
        .unwrap();
    assert_eq!(
        decrypt_value(&jwe, &again, here("value_cents", "evt_1")).unwrap(),
        42
    );

    let mut bad = jwk.clone();
    bad["x"] = public.to_json()["y"].clone();
    assert!(PublicJwk::from_json(&bad).is_err(), "not a curve point");
    let mut rsa = jwk.clone();
    rsa["kty"] = "RSA".into();
    assert!(again.insert_jwk(&rsa).is_err());
    assert!(format!("{keys:?}").contains("k1"));
    assert!(!format!("{keys:?}").contains(jwk["d"].as_str().unwrap()));
}

#[test]
fn marked_values_are_sealed_with_their_member_name() {
    #[derive(serde::Serialize)]
    struct Body {
        email: crate::Sensitive<String>,
        phone: Option<crate::Sensitive<String>>,
        status: &'static str,
    }
    let body = Body {
        email: "ada@example.com".into(),
        phone: Some("+44".into()),
        status: "subscribed",
    };
    let (mut marked, count) = crate::sensitive::marking::to_marked_value(&body).unwrap();
    assert_eq!(count, 2);
    let mut plain = marked.clone();
    seal_marked(&mut plain, None).unwrap();
    assert_eq!(
        plain,
        json!({"email": "ada@example.com", "phone": "+44", "status": "subscribed"})
    );
    let keys = PrivateKeySet::new();
    let public = keys.generate("platform").unwrap();
    seal_marked(&mut marked, Some(&public)).unwrap();
    let jwe = marked["email"].as_str().unwrap();
    let binding = Binding {
        field: "email",
        object: None,
    };
    assert_eq!(
        decrypt_value(jwe, &keys, binding).unwrap(),
        "ada@example.com"
    );
    assert_eq!(marked["status"], "subscribed");
    // Outside the marking pass the value serializes as itself.
    assert_eq!(
        serde_json::to_value(&body).unwrap()["email"],
        "ada@example.com"
    );
}

#[test]
fn nested_values_are_bound_to_their_path_from_the_nearest_object_with_an_id() {
    let keys = PrivateKeySet::new();
    let public = keys.generate("k1").unwrap();
    let seal = |value: Value, field: &str, object: Option<&str>| {
        public.encrypt(&value, Binding { field, object }).unwrap()
    };
    let revenue = |event: &str, cents: i64| seal(json!(cents), "properties/revenue", Some(event));
    let page = |first: String, second: String| {
        json!({
            "data": [
                {"id": "evt_1", "properties": {"revenue": first, "currency": "USD"}},
                {"id": "evt_2", "properties": {"revenue": second, "currency": "EUR"}},
            ],
            "meta": {"has_more": false}
        })
        .to_string()
    };
    let out = decrypt_body(
        page(revenue("evt_1", 12999), revenue("evt_2", 500)).as_bytes(),
        &keys,
    )
    .unwrap()
    .unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["data"][0]["properties"]["revenue"], 12999);
    assert_eq!(out["data"][1]["properties"]["revenue"], 500);
    assert_eq!(out["data"][1]["properties"]["currency"], "EUR");

    // Swapped between two events: each is refused where it was found.
    let error = decrypt_body(
        page(revenue("evt_2", 500), revenue("evt_1", 12999)).as_bytes(),
        &keys,
    )
    .unwrap_err();
    assert_eq!(error.kind(), DecryptErrorKind::Misbound);
    assert_eq!(error.path(), Some("data[0].properties.revenue"));
    // Bound by its name alone (as a top-level member), or moved to another property of the same
    // event: refused too.
    for jwe in [
        seal(json!(12999), "revenue", Some("evt_1")),
        seal(json!(12999), "properties/card_last4", Some("evt_1")),
    ] {
        let error = decrypt_body(page(jwe, revenue("evt_2", 500)).as_bytes(), &keys).unwrap_err();
        assert_eq!(error.kind(), DecryptErrorKind::Misbound);
    }

    // A webhook payload: the message's own `id` anchors what has no nearer one.
    let payload = json!({
        "id": "msg_1",
        "type": "purchase.completed",
        "data": {
            "event_id": "evt_1",
            "contact": {"id": "ctc_1", "email": seal(json!("a@b.example"), "email", Some("ctc_1"))},
            "properties": {"revenue": seal(json!(42), "data/properties/revenue", Some("msg_1"))},
        }
    });
    let out = decrypt_body(payload.to_string().as_bytes(), &keys)
        .unwrap()
        .unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["data"]["properties"]["revenue"], 42);
    assert_eq!(out["data"]["contact"]["email"], "a@b.example");

    // Array items are pointer tokens; `~` and `/` in a member name are escaped.
    let body = json!({
        "events": [{}, {"properties": {
            "a/b~c": seal(json!("x"), "events/1/properties/a~1b~0c", None),
        }}]
    });
    let out = decrypt_body(body.to_string().as_bytes(), &keys)
        .unwrap()
        .unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["events"][1]["properties"]["a/b~c"], "x");
}

#[test]
fn nested_marked_values_are_sealed_with_their_path() {
    #[derive(serde::Serialize)]
    struct Properties {
        revenue: Option<crate::Sensitive<i64>>,
        currency: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Event {
        properties: Properties,
    }
    #[derive(serde::Serialize)]
    struct Batch {
        events: Vec<Event>,
    }
    let batch = Batch {
        events: vec![
            Event {
                properties: Properties {
                    revenue: None,
                    currency: "USD",
                },
            },
            Event {
                properties: Properties {
                    revenue: Some(12999.into()),
                    currency: "USD",
                },
            },
        ],
    };
    let (mut marked, count) = crate::sensitive::marking::to_marked_value(&batch).unwrap();
    assert_eq!(count, 1);
    let keys = PrivateKeySet::new();
    let public = keys.generate("platform").unwrap();
    seal_marked(&mut marked, Some(&public)).unwrap();
    let jwe = marked["events"][1]["properties"]["revenue"]
        .as_str()
        .unwrap();
    let binding = Binding {
        field: "events/1/properties/revenue",
        object: None,
    };
    assert_eq!(decrypt_value(jwe, &keys, binding).unwrap(), 12999);
    assert_eq!(marked["events"][1]["properties"]["currency"], "USD");
    assert_eq!(marked["events"][0]["properties"]["revenue"], Value::Null);
}
