//! Dynamic audiences: their rule trees, checked on the way in and evaluated against contacts.
//!
//! A rule arrives as JSON the request validator has already matched against the contract's
//! `AudienceRule` (shape, types, enums). What no schema can say is checked here, every fault
//! named by a JSON pointer into the request body: the depth and size limits, the fields a rule
//! may name, the operators and values each field takes, the audiences a rule refers to, and
//! cycles between audiences. A checked rule compiles to [`Rule`], which [`Evaluator`] runs
//! against one contact at a time. Nothing is materialized: the members of a dynamic audience are
//! the contacts its rule matches when they are asked for, so membership follows contacts,
//! attributes, events and other audiences without any bookkeeping on their side. Event history
//! is read through the store's per-contact event index, so one contact costs the size of its own
//! history, never a scan of all events.

use crate::errors::{ApiError, ErrorDetail, ErrorType};
use crate::model::{Audience, Contact, Timestamp};
use crate::store::{RowKey, Store, row_key};
use axum::http::StatusCode;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

/// How many levels a rule tree may have; the root is level 1.
pub const MAX_DEPTH: usize = 8;
/// How long a chain of dynamic audiences referring to one another (A's rule refers to B, whose
/// rule refers to C) may be, the audience being saved included. Evaluation follows such chains,
/// so they are bounded like the depth of one tree.
pub const MAX_AUDIENCE_CHAIN: usize = 8;
/// How many rules (nodes) one tree may have.
pub const MAX_RULES: usize = 200;
/// How many values an `in` list may have.
const MAX_IN_VALUES: usize = 100;
/// How many faults one answer lists: enough to fix a rule in one go, bounded for a huge one.
const MAX_FAULTS: usize = 50;

/// A checked rule tree.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    /// Every rule matches.
    All(Vec<Rule>),
    /// At least one rule matches.
    Any(Vec<Rule>),
    /// The rule does not match.
    Not(Box<Rule>),
    /// A condition on one field of the contact.
    Field(Field, Test),
    /// At least `min_count` events of a type since a time, each passing a property test.
    Event {
        event_type: String,
        min_count: usize,
        since: Option<Timestamp>,
        property: Option<(String, Test)>,
    },
    /// Membership of another audience.
    Membership(String),
}

/// A contact field a rule may name.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    Email,
    Phone,
    FirstName,
    LastName,
    Status,
    CreatedAt,
    UpdatedAt,
    Attribute(String),
}

/// What a field may be compared with, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldClass {
    /// Free text: everything but ordering.
    Text,
    /// An enumeration: equality only.
    Status,
    /// A time: ordering and presence.
    Time,
    /// Any JSON value: everything.
    Json,
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "email" => Field::Email,
            "phone" => Field::Phone,
            "first_name" => Field::FirstName,
            "last_name" => Field::LastName,
            "status" => Field::Status,
            "created_at" => Field::CreatedAt,
            "updated_at" => Field::UpdatedAt,
            _ => match name.strip_prefix("attributes.") {
                Some(key) if !key.is_empty() => Field::Attribute(key.to_owned()),
                _ => return None,
            },
        })
    }

    fn class(&self) -> FieldClass {
        match self {
            Field::Email | Field::Phone | Field::FirstName | Field::LastName => FieldClass::Text,
            Field::Status => FieldClass::Status,
            Field::CreatedAt | Field::UpdatedAt => FieldClass::Time,
            Field::Attribute(_) => FieldClass::Json,
        }
    }

    /// The contact's value of the field, without copying it.
    fn of<'c>(&self, contact: &'c Contact) -> Actual<'c> {
        let text = |t: &'c Option<String>| t.as_deref().map_or(Actual::Missing, Actual::Text);
        match self {
            Field::Email => Actual::Text(&contact.email),
            Field::Phone => text(&contact.phone),
            Field::FirstName => text(&contact.first_name),
            Field::LastName => text(&contact.last_name),
            Field::Status => Actual::Text(&contact.status),
            Field::CreatedAt => Actual::Number(contact.created_at.timestamp_micros() as f64),
            Field::UpdatedAt => Actual::Number(contact.updated_at.timestamp_micros() as f64),
            Field::Attribute(key) => contact
                .attributes
                .get(key)
                .map_or(Actual::Missing, Actual::Json),
        }
    }
}

/// A value read from a contact or an event.
#[derive(Debug, Clone, Copy)]
enum Actual<'a> {
    Text(&'a str),
    Number(f64),
    Json(&'a Value),
    Missing,
}

/// A comparison, with its operand already in the form it is compared in (times as microseconds,
/// texts compared case-insensitively already lower-cased).
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Exists,
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    Contains(Value),
    Gt(Value),
    Lt(Value),
}

impl Test {
    /// Whether `actual` passes. `fold_case` compares text case-insensitively (e-mail).
    fn passes(&self, actual: Actual<'_>, fold_case: bool) -> bool {
        match self {
            Test::Exists => !matches!(actual, Actual::Missing | Actual::Json(Value::Null)),
            Test::Eq(v) => equals(actual, v, fold_case),
            Test::Ne(v) => !equals(actual, v, fold_case),
            Test::In(values) => values.iter().any(|v| equals(actual, v, fold_case)),
            Test::Contains(v) => contains(actual, v),
            Test::Gt(v) => order(actual, v) == Some(Ordering::Greater),
            Test::Lt(v) => order(actual, v) == Some(Ordering::Less),
        }
    }
}

fn same_text(a: &str, b: &str, fold_case: bool) -> bool {
    if fold_case {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    } else {
        a == b
    }
}

fn json_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // 3 and 3.0 are the same number to a marketer.
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn equals(actual: Actual<'_>, v: &Value, fold_case: bool) -> bool {
    match actual {
        Actual::Text(s) => v.as_str().is_some_and(|t| same_text(s, t, fold_case)),
        Actual::Number(n) => v.as_f64() == Some(n),
        Actual::Json(j) => json_equals(j, v),
        Actual::Missing => false,
    }
}

fn contains(actual: Actual<'_>, needle: &Value) -> bool {
    let text_contains = |s: &str| {
        needle
            .as_str()
            .is_some_and(|n| s.to_lowercase().contains(n))
    };
    match actual {
        Actual::Text(s) => text_contains(s),
        Actual::Json(Value::String(s)) => text_contains(s),
        Actual::Json(Value::Array(items)) => items.iter().any(|item| match (item, needle) {
            (Value::String(a), Value::String(b)) => a.to_lowercase() == *b,
            _ => json_equals(item, needle),
        }),
        _ => false,
    }
}

fn order(actual: Actual<'_>, v: &Value) -> Option<Ordering> {
    match (actual, v) {
        (Actual::Number(n), Value::Number(m)) => n.partial_cmp(&m.as_f64()?),
        (Actual::Text(s), Value::String(t)) => Some(s.cmp(t.as_str())),
        (Actual::Json(Value::Number(n)), Value::Number(m)) => n.as_f64()?.partial_cmp(&m.as_f64()?),
        (Actual::Json(Value::String(s)), Value::String(t)) => Some(s.as_str().cmp(t.as_str())),
        _ => None,
    }
}

/// Walks a rule as the request gave it, compiling it and collecting every fault.
struct Checker<'s> {
    store: &'s Store,
    now: Timestamp,
    faults: Vec<ErrorDetail>,
    rules: usize,
    /// Membership references with their pointers, for the cycle check.
    references: Vec<(String, String)>,
}

impl Checker<'_> {
    fn fault(&mut self, pointer: String, code: &'static str, message: String) {
        if self.faults.len() < MAX_FAULTS {
            self.faults.push(ErrorDetail {
                pointer,
                code,
                message,
            });
        }
    }

    fn node(&mut self, value: &Value, pointer: &str, depth: usize) -> Option<Rule> {
        if depth > MAX_DEPTH {
            self.fault(
                pointer.to_owned(),
                "too_deep",
                format!("the rule is nested deeper than {MAX_DEPTH} levels"),
            );
            return None;
        }
        self.rules += 1;
        if self.rules == MAX_RULES + 1 {
            self.fault(
                pointer.to_owned(),
                "too_many_rules",
                format!("a rule tree may have at most {MAX_RULES} rules"),
            );
        }
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "all" | "any" => {
                let Some(items) = value.get(kind).and_then(Value::as_array) else {
                    self.fault(
                        format!("{pointer}/{kind}"),
                        "invalid_value",
                        format!("'{kind}' must be a list of rules"),
                    );
                    return None;
                };
                if items.is_empty() {
                    self.fault(
                        format!("{pointer}/{kind}"),
                        "invalid_value",
                        format!("'{kind}' needs at least one rule"),
                    );
                }
                let children: Vec<Option<Rule>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.node(item, &format!("{pointer}/{kind}/{i}"), depth + 1))
                    .collect();
                let children: Option<Vec<Rule>> = children.into_iter().collect();
                let children = children?;
                Some(if kind == "all" {
                    Rule::All(children)
                } else {
                    Rule::Any(children)
                })
            }
            "not" => {
                let inner = value.get("not").unwrap_or(&Value::Null);
                let rule = self.node(inner, &format!("{pointer}/not"), depth + 1)?;
                Some(Rule::Not(Box::new(rule)))
            }
            "field" => self.field(value, pointer),
            "event" => self.event(value, pointer),
            "membership" => {
                let id = value
                    .get("audience_id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let at = format!("{pointer}/audience_id");
                if self.store.audiences.get(id).is_none() {
                    self.fault(
                        at,
                        "unknown_audience",
                        format!("no audience with id '{id}'"),
                    );
                    return None;
                }
                self.references.push((at, id.to_owned()));
                Some(Rule::Membership(id.to_owned()))
            }
            other => {
                self.fault(
                    format!("{pointer}/type"),
                    "invalid_value",
                    format!(
                        "unknown rule type '{other}': use all, any, not, field, event or membership"
                    ),
                );
                None
            }
        }
    }

    fn field(&mut self, value: &Value, pointer: &str) -> Option<Rule> {
        let name = value.get("field").and_then(Value::as_str).unwrap_or("");
        let Some(field) = Field::parse(name) else {
            self.fault(
                format!("{pointer}/field"),
                "unknown_field",
                format!(
                    "unknown field '{name}': use email, phone, first_name, last_name, status, \
                     created_at, updated_at or attributes.<key>"
                ),
            );
            return None;
        };
        let test = self.test(value, pointer, field.class(), name)?;
        // E-mail addresses are unique case-insensitively, so they compare that way.
        let test = match (&field, test) {
            (Field::Email, Test::Eq(v)) => Test::Eq(lower(v)),
            (Field::Email, Test::Ne(v)) => Test::Ne(lower(v)),
            (Field::Email, Test::In(vs)) => Test::In(vs.into_iter().map(lower).collect()),
            (_, test) => test,
        };
        Some(Rule::Field(field, test))
    }

    fn event(&mut self, value: &Value, pointer: &str) -> Option<Rule> {
        let event_type = value
            .get("event_type")
            .and_then(Value::as_str)
            .unwrap_or("");
        let min_count = value.get("min_count").and_then(Value::as_u64).unwrap_or(1);
        if !(1..=10_000).contains(&min_count) {
            self.fault(
                format!("{pointer}/min_count"),
                "invalid_value",
                "'min_count' must be between 1 and 10000".to_owned(),
            );
            return None;
        }
        let since = match value.get("within_days") {
            None => None,
            Some(days) => match days.as_i64().filter(|d| (1..=3650).contains(d)) {
                Some(days) => Some(self.now - chrono::Duration::days(days)),
                None => {
                    self.fault(
                        format!("{pointer}/within_days"),
                        "invalid_value",
                        "'within_days' must be between 1 and 3650".to_owned(),
                    );
                    return None;
                }
            },
        };
        let property = match value.get("property") {
            None => None,
            Some(condition) => {
                let at = format!("{pointer}/property");
                let key = condition.get("key").and_then(Value::as_str).unwrap_or("");
                if key.is_empty() {
                    self.fault(
                        format!("{at}/key"),
                        "invalid_value",
                        "'key' must name a property".to_owned(),
                    );
                    return None;
                }
                let test = self.test(condition, &at, FieldClass::Json, key)?;
                Some((key.to_owned(), test))
            }
        };
        Some(Rule::Event {
            event_type: event_type.to_owned(),
            min_count: min_count as usize,
            since,
            property,
        })
    }

    /// The test of a field rule or property condition at `pointer` (its `operator` and `value`).
    fn test(
        &mut self,
        value: &Value,
        pointer: &str,
        class: FieldClass,
        name: &str,
    ) -> Option<Test> {
        let operator = value.get("operator").and_then(Value::as_str).unwrap_or("");
        let supported: &[&str] = match class {
            FieldClass::Text => &["eq", "ne", "in", "contains", "exists"],
            FieldClass::Status => &["eq", "ne", "in", "exists"],
            FieldClass::Time => &["gt", "lt", "exists"],
            FieldClass::Json => &["eq", "ne", "in", "contains", "exists", "gt", "lt"],
        };
        if !supported.contains(&operator) {
            self.fault(
                format!("{pointer}/operator"),
                "unsupported_operator",
                format!(
                    "'{name}' does not support the operator '{operator}': use one of {}",
                    supported.join(", ")
                ),
            );
            return None;
        }
        let at = format!("{pointer}/value");
        let operand = value.get("value");
        let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
        match (operator, operand) {
            ("exists", None) => return Some(Test::Exists),
            ("exists", Some(_)) => {
                self.fault(at, "invalid_value", "'exists' takes no value".to_owned());
                return None;
            }
            (_, None) => {
                self.fault(at, "invalid_value", format!("'{operator}' needs a value"));
                return None;
            }
            _ => {}
        }
        let operand = operand.cloned().unwrap_or(Value::Null);
        if operator == "in" {
            let values = match operand {
                Value::Array(values)
                    if (1..=MAX_IN_VALUES).contains(&values.len()) && values.iter().all(scalar) =>
                {
                    values
                }
                _ => {
                    self.fault(
                        at,
                        "invalid_value",
                        format!(
                            "'in' needs a list of 1 to {MAX_IN_VALUES} strings, numbers or booleans"
                        ),
                    );
                    return None;
                }
            };
            return Some(Test::In(values));
        }
        if !scalar(&operand) {
            self.fault(
                at,
                "invalid_value",
                format!("'{operator}' needs one string, number or boolean"),
            );
            return None;
        }
        let operand = match (class, operator) {
            (FieldClass::Time, _) => {
                let time = operand
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                match time {
                    Some(t) => Value::from(t.timestamp_micros()),
                    None => {
                        self.fault(
                            at,
                            "invalid_value",
                            format!("'{name}' compares with an RFC 3339 time such as 2026-01-31T12:00:00Z"),
                        );
                        return None;
                    }
                }
            }
            (_, "contains") => match operand {
                Value::String(s) => Value::String(s.to_lowercase()),
                other if class == FieldClass::Json => other,
                _ => {
                    self.fault(at, "invalid_value", "'contains' needs a string".to_owned());
                    return None;
                }
            },
            (_, "gt" | "lt") if operand.is_boolean() => {
                self.fault(
                    at,
                    "invalid_value",
                    format!("'{operator}' compares with a number or a string"),
                );
                return None;
            }
            _ => operand,
        };
        Some(match operator {
            "eq" => Test::Eq(operand),
            "ne" => Test::Ne(operand),
            "contains" => Test::Contains(operand),
            "gt" => Test::Gt(operand),
            _ => Test::Lt(operand),
        })
    }
}

fn lower(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.to_lowercase()),
        other => other,
    }
}

/// The audiences a stored rule refers to.
fn referenced_ids(rule: &Value, out: &mut Vec<String>) {
    match rule {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("membership")
                && let Some(id) = map.get("audience_id").and_then(Value::as_str)
            {
                out.push(id.to_owned());
            }
            for child in map.values() {
                referenced_ids(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| referenced_ids(item, out)),
        _ => {}
    }
}

/// Whether audience `from` refers to `goal`, directly or through other dynamic audiences.
fn reaches(store: &Store, from: &str, goal: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if id == goal {
            return true;
        }
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some(rule) = store.audiences.get(&id).and_then(|a| a.rule.as_ref()) {
            referenced_ids(rule, &mut stack);
        }
    }
    false
}

/// How many dynamic audiences the longest chain of membership rules starting at `id` passes
/// through (0 for a static audience).
fn chain_below(
    store: &Store,
    id: &str,
    memo: &mut HashMap<String, usize>,
    path: &mut HashSet<String>,
) -> usize {
    if let Some(&n) = memo.get(id) {
        return n;
    }
    let Some(rule) = store.audiences.get(id).and_then(|a| a.rule.as_ref()) else {
        return 0;
    };
    // Stored rules never form a cycle (it is refused on the way in); the path guards anyway.
    if !path.insert(id.to_owned()) {
        return 0;
    }
    let mut referenced = Vec::new();
    referenced_ids(rule, &mut referenced);
    let below = referenced
        .iter()
        .map(|r| chain_below(store, r, memo, path))
        .max()
        .unwrap_or(0);
    path.remove(id);
    memo.insert(id.to_owned(), 1 + below);
    1 + below
}

/// How many dynamic audiences the longest chain of membership rules leading to `id` passes
/// through before it (0 when no rule refers to `id`).
fn chain_above(
    store: &Store,
    id: &str,
    memo: &mut HashMap<String, usize>,
    path: &mut HashSet<String>,
) -> usize {
    if let Some(&n) = memo.get(id) {
        return n;
    }
    if !path.insert(id.to_owned()) {
        return 0;
    }
    let above = referrers(store, id)
        .iter()
        .map(|r| 1 + chain_above(store, r, memo, path))
        .max()
        .unwrap_or(0);
    path.remove(id);
    memo.insert(id.to_owned(), above);
    above
}

/// Checks a rule given in a request body at `pointer` (`/rule`), for the audience `saving` (when
/// an existing audience gets it: references back to that audience are cycles), and compiles it.
/// Every fault is listed in a 422 `invalid_rule`.
pub(crate) fn check(
    store: &Store,
    value: &Value,
    pointer: &str,
    saving: Option<&str>,
    now: Timestamp,
) -> Result<Rule, ApiError> {
    let mut checker = Checker {
        store,
        now,
        faults: Vec::new(),
        rules: 0,
        references: Vec::new(),
    };
    let rule = checker.node(value, pointer, 1);
    let references = std::mem::take(&mut checker.references);
    if let Some(saving) = saving {
        for (at, id) in references.clone() {
            if reaches(store, &id, saving) {
                checker.fault(
                    at,
                    "cyclic_rule",
                    format!(
                        "audience '{id}' is, or refers to, the audience '{saving}' this rule belongs to"
                    ),
                );
            }
        }
    }
    if checker.faults.is_empty() && !references.is_empty() {
        let above = saving.map_or(0, |id| {
            chain_above(store, id, &mut HashMap::new(), &mut HashSet::new())
        });
        let mut memo = HashMap::new();
        for (at, id) in references {
            let chain = above + 1 + chain_below(store, &id, &mut memo, &mut HashSet::new());
            if chain > MAX_AUDIENCE_CHAIN {
                checker.fault(
                    at,
                    "too_deep",
                    format!(
                        "through '{id}' this rule makes a chain of {chain} dynamic audiences \
                         referring to one another; at most {MAX_AUDIENCE_CHAIN} are allowed"
                    ),
                );
            }
        }
    }
    match rule {
        Some(rule) if checker.faults.is_empty() => Ok(rule),
        _ => {
            let first = checker.faults.first().map_or_else(
                || "it could not be read".to_owned(),
                |f| format!("{} at {}", f.message, f.pointer),
            );
            let more = match checker.faults.len() {
                0 | 1 => String::new(),
                n => format!(
                    " (and {} more fault{})",
                    n - 1,
                    if n == 2 { "" } else { "s" }
                ),
            };
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorType::InvalidRequest,
                "invalid_rule",
                format!("The rule is invalid: {first}{more}."),
            )
            .with_param("rule")
            .with_details(checker.faults))
        }
    }
}

/// Compiles the rule of a stored audience (checked when it was saved).
fn compile_stored(store: &Store, rule: &Value, now: Timestamp) -> Option<Rule> {
    check(store, rule, "/rule", None, now).ok()
}

/// Evaluates rules against contacts, with the rules of every dynamic audience they refer to
/// compiled once up front.
pub(crate) struct Evaluator<'s> {
    store: &'s Store,
    /// Dynamic audience id → its compiled rule.
    dynamic: HashMap<String, Rule>,
    /// Static audience id → its members.
    curated: HashMap<String, &'s BTreeSet<RowKey>>,
}

impl<'s> Evaluator<'s> {
    /// An evaluator for `rules` (the references they make are resolved now).
    pub(crate) fn new(store: &'s Store, rules: &[&Rule], now: Timestamp) -> Self {
        let mut evaluator = Evaluator {
            store,
            dynamic: HashMap::new(),
            curated: HashMap::new(),
        };
        let mut pending = Vec::new();
        for rule in rules {
            memberships(rule, &mut pending);
        }
        while let Some(id) = pending.pop() {
            if evaluator.dynamic.contains_key(&id) || evaluator.curated.contains_key(&id) {
                continue;
            }
            let Some(audience) = store.audiences.get(&id) else {
                continue;
            };
            match audience.rule.as_ref() {
                Some(rule) => {
                    // A stored rule that no longer compiles matches nobody rather than everybody.
                    let rule = compile_stored(store, rule, now).unwrap_or(Rule::Any(Vec::new()));
                    memberships(&rule, &mut pending);
                    evaluator.dynamic.insert(id, rule);
                }
                None => {
                    if let Some(members) = store.memberships.get(&id) {
                        evaluator.curated.insert(id, members);
                    }
                }
            }
        }
        evaluator
    }

    /// Whether `contact` matches `rule`.
    pub(crate) fn matches(&self, rule: &Rule, contact: &Contact) -> bool {
        match rule {
            Rule::All(rules) => rules.iter().all(|r| self.matches(r, contact)),
            Rule::Any(rules) => rules.iter().any(|r| self.matches(r, contact)),
            Rule::Not(rule) => !self.matches(rule, contact),
            Rule::Field(field, test) => {
                test.passes(field.of(contact), matches!(field, Field::Email))
            }
            Rule::Event {
                event_type,
                min_count,
                since,
                property,
            } => {
                let Some(ids) = self.store.events_by_contact.get(&contact.id) else {
                    return false;
                };
                ids.iter()
                    .filter_map(|id| self.store.events.get(id))
                    .filter(|e| {
                        e.event_type == *event_type
                            && since.is_none_or(|t| e.occurred_at >= t)
                            && property.as_ref().is_none_or(|(key, test)| {
                                let actual =
                                    e.properties.get(key).map_or(Actual::Missing, Actual::Json);
                                test.passes(actual, false)
                            })
                    })
                    .take(*min_count)
                    .count()
                    == *min_count
            }
            Rule::Membership(id) => {
                if let Some(rule) = self.dynamic.get(id) {
                    self.matches(rule, contact)
                } else if let Some(members) = self.curated.get(id) {
                    members.contains(&row_key(contact.created_at, &contact.id))
                } else {
                    false
                }
            }
        }
    }
}

fn memberships(rule: &Rule, out: &mut Vec<String>) {
    match rule {
        Rule::All(rules) | Rule::Any(rules) => rules.iter().for_each(|r| memberships(r, out)),
        Rule::Not(rule) => memberships(rule, out),
        Rule::Membership(id) => out.push(id.clone()),
        Rule::Field(..) | Rule::Event { .. } => {}
    }
}

/// Who is in an audience: its curated set, or the contacts its rule matches.
pub(crate) enum Members<'s> {
    /// A static audience's members.
    Curated(Option<&'s BTreeSet<RowKey>>),
    /// A dynamic audience's rule, ready to evaluate (boxed: the evaluator is large, and most
    /// audiences met in one request are static).
    Computed(Box<(Evaluator<'s>, Rule)>),
}

impl<'s> Members<'s> {
    /// The members of `audience`.
    pub(crate) fn of(store: &'s Store, audience: &Audience, now: Timestamp) -> Self {
        match audience.rule.as_ref() {
            None => Members::Curated(store.memberships.get(&audience.id)),
            Some(rule) => {
                let rule = compile_stored(store, rule, now).unwrap_or(Rule::Any(Vec::new()));
                let evaluator = Evaluator::new(store, &[&rule], now);
                Members::Computed(Box::new((evaluator, rule)))
            }
        }
    }

    /// Whether `contact` is a member.
    pub(crate) fn contains(&self, contact: &Contact) -> bool {
        match self {
            Members::Curated(set) => {
                set.is_some_and(|s| s.contains(&row_key(contact.created_at, &contact.id)))
            }
            Members::Computed(computed) => computed.0.matches(&computed.1, contact),
        }
    }
}

/// The audience as served: a dynamic one with its `contact_count` computed now.
pub(crate) fn served(store: &Store, mut audience: Audience, now: Timestamp) -> Audience {
    if audience.rule.is_some() {
        let members = Members::of(store, &audience, now);
        audience.contact_count = store.contacts.count(|c| members.contains(c)) as i64;
    }
    audience
}

/// The dynamic audiences whose rules refer to `id`, by id.
pub(crate) fn referrers(store: &Store, id: &str) -> Vec<String> {
    store
        .audiences
        .iter()
        .filter(|a| {
            a.rule.as_ref().is_some_and(|rule| {
                let mut ids = Vec::new();
                referenced_ids(rule, &mut ids);
                ids.iter().any(|r| r == id)
            })
        })
        .map(|a| a.id.clone())
        .collect()
}
