//! Rust names for whatever the spec calls things: any property, schema, operation or enum value
//! becomes a valid, idiomatic identifier, unique in its scope; the wire name stays in serde
//! attributes.

use std::collections::BTreeSet;

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Keywords that cannot name a field or method as they are: they get a trailing underscore
/// (`type_`), the spelling rustfmt and clippy suggest, rather than the raw identifier `r#type`,
/// which reads as noise in user code (and which `self`, `Self`, `super`, `crate` and `_`, listed
/// last, could not even use).
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen", "self", "Self", "super", "crate", "_",
];

/// Type names that would shadow the prelude (or be invalid) in the generated modules, which use
/// `Option`, `String`, `Vec`, `Some`, … unqualified.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "Self",
    "Option",
    "Result",
    "String",
    "Vec",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Default",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Unpin",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "Into",
    "TryFrom",
    "TryInto",
    "AsRef",
    "AsMut",
    "ToString",
    "ToOwned",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Iterator",
    "IntoIterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "Extend",
    "FromIterator",
    "Debug",
    "Hash",
];

/// Splits arbitrary text into ASCII words: letters and digits survive, everything else (punctuation,
/// spaces, non-ASCII letters) separates words.
fn ascii_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_owned()
}

/// `UpperCamelCase` type or variant name for arbitrary text; `fallback` when nothing usable is left.
pub fn type_name(text: &str, fallback: &str) -> String {
    let mut name = ascii_words(text).to_upper_camel_case();
    if name.is_empty() {
        name = fallback.to_owned();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'V');
    }
    if RESERVED_TYPE_NAMES.contains(&name.as_str()) {
        name.push_str("Model");
    }
    name
}

/// `snake_case` field, parameter or method name for arbitrary text; a keyword gets a trailing
/// underscore (`type` → `type_`).
pub fn field_name(text: &str) -> String {
    // Signs carry meaning in enum-like names (`-1`, `+`); elsewhere they are separators.
    let mut name = ascii_words(text).to_snake_case();
    if name.is_empty() {
        name = "value".to_owned();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if KEYWORDS.contains(&name.as_str()) {
        name.push('_');
    }
    name
}

/// An enum variant name for a wire value, keeping signs that would otherwise vanish.
pub fn variant_name(wire: &str) -> String {
    let spelled = match wire.trim() {
        "" => "Empty".to_owned(),
        "+" => "Plus".to_owned(),
        "-" => "Minus".to_owned(),
        other => match other.strip_prefix('-') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => format!("Minus {rest}"),
            _ => other.to_owned(),
        },
    };
    // Variants are always written qualified (`Self::Eq`, `RuleOperator::Eq`), so they cannot
    // shadow the prelude the way a type name would: only what is no identifier at all (`Self`)
    // and the catch-all's own name are changed.
    let mut name = ascii_words(&spelled).to_upper_camel_case();
    if name.is_empty() {
        name = "Value".to_owned();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'V');
    }
    match name.as_str() {
        "Self" => "SelfModel".to_owned(),
        "Unknown" => "UnknownValue".to_owned(),
        _ => name,
    }
}

/// Names already taken in one scope (a module, a struct, an impl); [`Namespace::claim`] hands out
/// the wanted name or, if taken, the wanted name with the smallest free number appended.
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    taken: BTreeSet<String>,
}

impl Namespace {
    /// A namespace with some names already reserved.
    pub fn with_reserved<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Namespace {
            taken: names.into_iter().map(str::to_owned).collect(),
        }
    }

    /// Claims `wanted`, or `wanted2`, `wanted3`, … if it is taken.
    pub fn claim(&mut self, wanted: &str) -> String {
        if self.taken.insert(wanted.to_owned()) {
            return wanted.to_owned();
        }
        let base = wanted;
        let separator = if base.ends_with(|c: char| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        (2..)
            .map(|n| format!("{base}{separator}{n}"))
            .find(|candidate| self.taken.insert(candidate.clone()))
            .unwrap_or_else(|| base.to_owned())
    }

    /// Whether `name` is taken.
    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_becomes_a_valid_identifier() {
        for (text, expected) in [
            ("self", "self_"),
            ("Self", "self_"),
            ("type", "type_"),
            ("$ref", "ref_"),
            ("@type", "type_"),
            ("match", "match_"),
            ("1st_place", "_1st_place"),
            ("123", "_123"),
            ("kebab-case-name", "kebab_case_name"),
            ("with space", "with_space"),
            ("ünïcödé", "n_c_d"),
            ("_", "value"),
            ("", "value"),
            ("CamelCase", "camel_case"),
        ] {
            assert_eq!(field_name(text), expected, "{text}");
            let ident = field_name(text);
            let parsed: Vec<_> = ident
                .parse::<proc_macro2::TokenStream>()
                .expect("tokens")
                .into_iter()
                .collect();
            assert!(
                matches!(parsed.as_slice(), [proc_macro2::TokenTree::Ident(_)]),
                "{ident} is not an identifier"
            );
        }
        for (text, expected) in [
            ("user_profile", "UserProfile"),
            ("Foo.Bar", "FooBar"),
            ("Option", "OptionModel"),
            ("Self", "SelfModel"),
            ("2fa", "V2fa"),
            ("", "Type"),
        ] {
            assert_eq!(type_name(text, "Type"), expected, "{text}");
        }
        assert_eq!(variant_name("-1"), "Minus1");
        assert_eq!(variant_name("1"), "V1");
        assert_eq!(variant_name(""), "Empty");
        assert_eq!(variant_name("unknown"), "UnknownValue");
        // Qualified wherever they are used, variants keep names a type could not have.
        assert_eq!(variant_name("eq"), "Eq");
        assert_eq!(variant_name("none"), "None");
        assert_eq!(variant_name("self"), "SelfModel");
    }

    #[test]
    fn a_namespace_never_hands_out_a_name_twice() {
        let mut ns = Namespace::with_reserved(["Client"]);
        assert_eq!(ns.claim("Client"), "Client2");
        assert_eq!(ns.claim("Pet"), "Pet");
        assert_eq!(ns.claim("Pet"), "Pet2");
        assert_eq!(ns.claim("V1"), "V1");
        assert_eq!(ns.claim("V1"), "V1_2");
        assert_eq!(ns.claim("type_"), "type_");
        assert_eq!(ns.claim("type_"), "type_2");
    }
}
