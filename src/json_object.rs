//! Free-form JSON object fields (a contact's `attributes`, an event's `properties`): their
//! setters take anything serializable, and this is what they do with it.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// A value given for a JSON object field that is not a JSON object, or did not serialize.
///
/// Returned by the `with_*` setters of free-form object fields, such as
/// `NewContact::with_attributes`. With the `client` feature it converts into
/// [`Error`](crate::Error) (kind [`Encode`](crate::ErrorKind::Encode)), so `?` works in code that
/// returns the SDK's error.
///
/// ```
/// use marketing_api::models::NewContact;
/// use marketing_api::serde_json::json;
///
/// let contact = NewContact::builder()
///     .email("ada@example.com")
///     .build()
///     .with_attributes(json!({"plan": "pro", "seats": 3}))?;
/// assert_eq!(contact.attributes.unwrap()["seats"], 3);
///
/// let refused = NewContact::builder().email("ada@example.com").build().with_attributes(json!([1, 2]));
/// assert_eq!(
///     refused.unwrap_err().to_string(),
///     "`attributes` must be a JSON object, not an array"
/// );
/// # Ok::<(), marketing_api::NotAJsonObject>(())
/// ```
#[derive(Debug)]
pub struct NotAJsonObject {
    field: &'static str,
    problem: Problem,
}

#[derive(Debug)]
enum Problem {
    /// It serialized, to this kind of JSON value.
    Found(&'static str),
    /// It did not serialize.
    Unserializable(serde_json::Error),
    /// It is an object, but a member the schema names has a value of another type.
    Mismatch(serde_json::Error),
}

impl NotAJsonObject {
    /// The field (its name on the wire) the value was given for.
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for NotAJsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::Found(kind) => {
                write!(f, "`{}` must be a JSON object, not {kind}", self.field)
            }
            Problem::Unserializable(_) => {
                write!(f, "the value for `{}` cannot be serialized", self.field)
            }
            // The value itself is not quoted: a named member may be sensitive.
            Problem::Mismatch(_) => write!(
                f,
                "the value for `{}` has a member of the wrong type for its schema",
                self.field
            ),
        }
    }
}

impl std::error::Error for NotAJsonObject {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Found(_) => None,
            Problem::Unserializable(e) | Problem::Mismatch(e) => Some(e),
        }
    }
}

/// Serializes `value` for the object field `field` (its wire name).
#[allow(dead_code)] // used by code generated from specs with free-form object fields
pub(crate) fn to_json_object(
    field: &'static str,
    value: impl Serialize,
) -> Result<Map<String, Value>, NotAJsonObject> {
    let refuse = |problem| NotAJsonObject { field, problem };
    match serde_json::to_value(value) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(Value::Array(_)) => Err(refuse(Problem::Found("an array"))),
        Ok(Value::String(_)) => Err(refuse(Problem::Found("a string"))),
        Ok(Value::Number(_)) => Err(refuse(Problem::Found("a number"))),
        Ok(Value::Bool(_)) => Err(refuse(Problem::Found("a boolean"))),
        Ok(Value::Null) => Err(refuse(Problem::Found("null"))),
        Err(e) => Err(refuse(Problem::Unserializable(e))),
    }
}

/// Reads the object given for the field `field` into the open object type `T` (named members
/// typed, the others kept in its map).
#[allow(dead_code)] // used by code generated from specs with open object fields
pub(crate) fn from_json_object<T: serde::de::DeserializeOwned>(
    field: &'static str,
    object: Map<String, Value>,
) -> Result<T, NotAJsonObject> {
    serde_json::from_value(Value::Object(object)).map_err(|e| NotAJsonObject {
        field,
        problem: Problem::Mismatch(e),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn objects_of_any_origin_are_taken_and_other_values_named() {
        let from_json = to_json_object("attributes", json!({"a": 1})).unwrap();
        assert_eq!(from_json["a"], 1);
        let from_map = to_json_object("attributes", BTreeMap::from([("b", true)])).unwrap();
        assert_eq!(from_map["b"], true);
        #[derive(Serialize)]
        struct Plan {
            tier: &'static str,
        }
        let from_struct = to_json_object("attributes", Plan { tier: "pro" }).unwrap();
        assert_eq!(from_struct["tier"], "pro");

        for (value, kind) in [
            (json!([1]), "an array"),
            (json!("x"), "a string"),
            (json!(1.5), "a number"),
            (json!(false), "a boolean"),
            (json!(null), "null"),
        ] {
            let e = to_json_object("properties", value).unwrap_err();
            assert_eq!(e.field(), "properties");
            assert_eq!(
                e.to_string(),
                format!("`properties` must be a JSON object, not {kind}")
            );
        }
    }

    #[test]
    fn a_value_that_fails_to_serialize_keeps_the_reason_as_source() {
        // A map with non-string keys cannot be a JSON object.
        let e = to_json_object("attributes", BTreeMap::from([((1, 2), 3)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the value for `attributes` cannot be serialized"
        );
        let source = std::error::Error::source(&e).expect("the serializer's error");
        assert!(
            source.to_string().contains("key must be a string"),
            "{source}"
        );
    }
}
