//! Prints emitted tokens as Rust source: one item, field, statement or match arm per line,
//! indented by block, doc attributes as `///` comments.
//!
//! The generator runs in the SDK's build script, so everything it depends on is compiled before
//! the SDK itself on every clean build. A full pretty-printer (`syn` with its `full` feature and
//! `prettyplease`) cost more compile time than the rest of the generator; this printer works on
//! the token trees alone. Its output is not rustfmt's, but it is stable (snapshots diff well),
//! a compiler error in generated code points at a short line, and rustdoc is unaffected: the
//! docs are the same attributes.
//!
//! ```
//! let tokens: proc_macro2::TokenStream = quote::quote! {
//!     #[doc = " A widget."]
//!     pub struct Widget { pub id: String, pub parts: Vec<Option<u32>> }
//!     impl Widget { pub fn id(&self) -> &str { &self.id } }
//! };
//! let text = marketing_api_codegen::print::format(tokens);
//! assert_eq!(
//!     text,
//!     "/// A widget.\npub struct Widget {\n    pub id: String,\n    pub parts: Vec<Option<u32>>\n}\n\
//!      \nimpl Widget {\n    pub fn id(&self) -> &str {\n        &self.id\n    }\n}\n"
//! );
//! ```

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// Formats a token stream as the text of a Rust source file.
pub fn format(tokens: TokenStream) -> String {
    let mut printer = Printer::default();
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    printer.block_body(&trees, true);
    printer.finish_line();
    let mut out = printer.out;
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[derive(Default)]
struct Printer {
    out: String,
    indent: usize,
    /// Nothing written on the current line yet (indentation is written lazily).
    line_start: bool,
    /// The last token written, to decide on the space before the next.
    last: Last,
    /// Open `<` of generic arguments on the current line, so their `>` closes tightly.
    generics: usize,
    /// The last punctuation character written, to tell `->` from a closing `>`.
    last_punct: Option<char>,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum Last {
    #[default]
    Nothing,
    /// An identifier or a keyword.
    Word,
    /// A literal, or the end of a group.
    Value,
    /// A punctuation character joined to the next token (`:` of `::`, `'` of a lifetime).
    Joint,
    /// A punctuation character that glues to what follows (`.`, `::`, `&`, `#`, `!`, `<`).
    Tight,
    /// Other punctuation.
    Punct,
}

impl Printer {
    fn finish_line(&mut self) {
        if !self.line_start || self.out.is_empty() {
            if !self.out.is_empty() {
                self.out.push('\n');
            }
            self.line_start = true;
            self.last = Last::Nothing;
            self.generics = 0;
            self.last_punct = None;
        }
    }

    fn blank_line(&mut self) {
        self.finish_line();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn write(&mut self, text: &str, space_before: bool) {
        if self.line_start {
            for _ in 0..self.indent {
                self.out.push_str("    ");
            }
            self.line_start = false;
        } else if space_before {
            self.out.push(' ');
        }
        self.out.push_str(text);
    }

    /// The contents of a brace-delimited block (or of the file): a newline after every `;`,
    /// attribute and nested block, and after every top-level `,` (fields, variants, arms).
    fn block_body(&mut self, trees: &[TokenTree], file: bool) {
        let mut i = 0;
        while i < trees.len() {
            // `#[...]` on its own line; `#[doc = "..."]` as a `///` comment.
            if let (TokenTree::Punct(hash), Some(TokenTree::Group(attr))) =
                (&trees[i], trees.get(i + 1))
                && hash.as_char() == '#'
                && attr.delimiter() == Delimiter::Bracket
            {
                self.finish_line();
                match doc_comment(&attr.stream()) {
                    Some(text) => self.write(&format!("///{text}"), false),
                    None => {
                        self.write("#", false);
                        self.last = Last::Tight;
                        self.group(attr);
                    }
                }
                self.finish_line();
                i += 2;
                continue;
            }
            let tree = &trees[i];
            let next = trees.get(i + 1);
            match tree {
                TokenTree::Punct(p) if p.as_char() == ';' => {
                    self.write(";", false);
                    if file {
                        self.blank_line();
                    } else {
                        self.finish_line();
                    }
                }
                // A comma between generic arguments (`Builder<F0, F1>`) stays on its line.
                TokenTree::Punct(p) if p.as_char() == ',' && self.generics == 0 => {
                    self.write(",", false);
                    self.finish_line();
                }
                TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                    self.group(g);
                    let continues = match next {
                        Some(TokenTree::Punct(p)) => matches!(p.as_char(), ',' | ';' | '.' | '?'),
                        Some(TokenTree::Ident(word)) => word == "else",
                        _ => false,
                    };
                    if !continues {
                        if file {
                            self.blank_line();
                        } else {
                            self.finish_line();
                        }
                    }
                }
                _ => self.token(tree, next),
            }
            i += 1;
        }
    }

    /// One token inside a line.
    fn token(&mut self, tree: &TokenTree, next: Option<&TokenTree>) {
        match tree {
            TokenTree::Group(g) => self.group(g),
            TokenTree::Ident(word) => {
                let space = !matches!(self.last, Last::Joint | Last::Tight | Last::Nothing);
                self.write(&word.to_string(), space);
                self.last = Last::Word;
            }
            TokenTree::Literal(lit) => {
                let space = !matches!(self.last, Last::Joint | Last::Tight | Last::Nothing);
                self.write(&lit.to_string(), space);
                self.last = Last::Value;
            }
            TokenTree::Punct(p) => self.punct(p.as_char(), p.spacing(), next),
        }
    }

    fn punct(&mut self, c: char, spacing: Spacing, next: Option<&TokenTree>) {
        let joined = self.last == Last::Joint;
        let glued = joined || matches!(self.last, Last::Tight | Last::Nothing);
        let after_word = self.last == Last::Word;
        // `->` and `=>` are arrows; any other `>` closes generic arguments when one is open.
        let arrow = c == '>' && joined && matches!(self.last_punct, Some('-' | '='));
        let opens_generics = c == '<' && (after_word || self.last_punct == Some(':') && glued);
        let closes_generics = c == '>' && !arrow && self.generics > 0;
        let space = !glued
            && match c {
                '.' | ',' | ';' | '?' | ':' => false,
                '!' => !(after_word && matches!(next, Some(TokenTree::Group(_)))),
                '<' => !opens_generics,
                '>' => !closes_generics,
                _ => true,
            };
        let mut buf = [0u8; 4];
        self.write(c.encode_utf8(&mut buf), space);
        if opens_generics {
            self.generics += 1;
        } else if closes_generics {
            self.generics -= 1;
        }
        self.last_punct = Some(c);
        self.last = if spacing == Spacing::Joint || c == '\'' {
            Last::Joint
        } else if closes_generics {
            // A type just ended: `Vec<u8>::new()`, `Option<T> {`.
            Last::Word
        } else {
            match c {
                // The second `:` of a path separator, and prefixes that bind to what follows.
                ':' if joined => Last::Tight,
                '.' | '&' | '#' | '!' | '<' => Last::Tight,
                _ => Last::Punct,
            }
        };
    }

    fn group(&mut self, g: &proc_macro2::Group) {
        let trees: Vec<TokenTree> = g.stream().into_iter().collect();
        match g.delimiter() {
            Delimiter::Brace => {
                let space = !matches!(self.last, Last::Nothing | Last::Tight | Last::Joint);
                if trees.is_empty() {
                    self.write("{}", space);
                } else {
                    self.write("{", space);
                    self.finish_line();
                    self.indent += 1;
                    self.block_body(&trees, false);
                    self.finish_line();
                    self.indent -= 1;
                    self.write("}", false);
                }
                self.last = Last::Value;
            }
            Delimiter::Parenthesis | Delimiter::Bracket => {
                let (open, close) = if g.delimiter() == Delimiter::Parenthesis {
                    ("(", ")")
                } else {
                    ("[", "]")
                };
                // Calls and indexing are tight: `f(x)`, `a[0]`, `format!(..)`, `#[..]`.
                let space = !matches!(
                    self.last,
                    Last::Nothing | Last::Tight | Last::Joint | Last::Word
                ) || self.last_word_is_keyword();
                self.write(open, space);
                self.last = Last::Tight;
                let generics = std::mem::take(&mut self.generics);
                for (i, tree) in trees.iter().enumerate() {
                    self.token(tree, trees.get(i + 1));
                    if let TokenTree::Punct(p) = tree
                        && p.as_char() == ','
                    {
                        self.last = Last::Punct;
                    }
                }
                self.generics = generics;
                self.write(close, false);
                self.last = Last::Value;
            }
            Delimiter::None => {
                for (i, tree) in trees.iter().enumerate() {
                    self.token(tree, trees.get(i + 1));
                }
            }
        }
    }

    /// Keywords followed by a parenthesis keep a space (`in (`, `if (`): the output reads as
    /// Rust is usually written. `pub(crate)` stays tight.
    fn last_word_is_keyword(&self) -> bool {
        if self.last != Last::Word {
            return false;
        }
        let word: String = self
            .out
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        matches!(
            word.as_str(),
            "in" | "if" | "match" | "return" | "while" | "let" | "mut" | "move" | "impl" | "dyn"
        )
    }
}

/// The text of `doc = "..."` when it prints as a `///` line: a plain string literal on one line.
fn doc_comment(attr: &TokenStream) -> Option<String> {
    let mut trees = attr.clone().into_iter();
    let (
        Some(TokenTree::Ident(name)),
        Some(TokenTree::Punct(eq)),
        Some(TokenTree::Literal(lit)),
        None,
    ) = (trees.next(), trees.next(), trees.next(), trees.next())
    else {
        return None;
    };
    if name != "doc" || eq.as_char() != '=' {
        return None;
    }
    let text = unescape(&lit.to_string())?;
    if text.contains(['\n', '\r']) {
        return None;
    }
    // An empty doc line is `///`, without the space a paragraph break was emitted with.
    Some(if text.trim().is_empty() {
        String::new()
    } else {
        text
    })
}

/// The value of a string literal as `proc_macro2` writes it (plain or raw, not byte strings).
fn unescape(literal: &str) -> Option<String> {
    if let Some(raw) = literal.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let fence = "#".repeat(hashes);
        let inner = raw
            .strip_prefix(&format!("{fence}\""))?
            .strip_suffix(&format!("\"{fence}"))?;
        return (!inner.chars().any(|c| c.is_control() && c != '\t')).then(|| inner.to_owned());
    }
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    // A doc comment cannot carry control characters other than tabs.
    (!out.chars().any(|c| c.is_control() && c != '\t')).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn paths_generics_lifetimes_and_macros_print_as_written() {
        let text = format(quote! {
            impl<'a> std::fmt::Debug for Foo<'a> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    let x: Option<Vec<u8>> = None;
                    if !self.ok { return Err(std::fmt::Error); }
                    f.write_str(&format!("{}", x.is_some()))?;
                    match self.kind { Kind::A => 1, _ => { 2 } };
                    Ok(())
                }
            }
        });
        assert_eq!(
            text,
            "impl<'a> std::fmt::Debug for Foo<'a> {\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\n        let x: Option<Vec<u8>> = None;\n        if !self.ok {\n            return Err(std::fmt::Error);\n        }\n        f.write_str(&format!(\"{}\", x.is_some()))?;\n        match self.kind {\n            Kind::A => 1,\n            _ => {\n                2\n            }\n        };\n        Ok(())\n    }\n}\n"
        );
    }

    #[test]
    fn docs_that_cannot_be_a_line_comment_stay_attributes() {
        let text = format(quote! {
            #[doc = " quote \" and unicode \u{e9}"]
            #[doc = "two\nlines"]
            pub struct A;
        });
        assert_eq!(
            text,
            "/// quote \" and unicode \u{e9}\n#[doc = \"two\\nlines\"]\npub struct A;\n"
        );
    }

    #[test]
    fn the_output_is_the_same_token_stream() {
        let tokens = quote! {
            #[serde(rename = "a-b", default)]
            pub enum E { A(u8), B { x: i64 }, #[serde(other)] C }
            static S: crate::Op = crate::Op { id: "x", n: -1i64, m: 2u16 };
            fn f<T: Into<String>>(a: &[T], b: impl Fn(&str) -> bool) -> Box<dyn Fn() + Send> {
                let v = a.iter().map(|x| x.len() < 3 && b("q")).collect::<Vec<_>>();
                Box::new(move || { let _ = &v; })
            }
        };
        let printed: TokenStream = format(tokens.clone()).parse().expect("valid tokens");
        // Spacing between punctuation (`:: <` or `::<`) is not meaning; the tokens are.
        let tokens_of = |t: TokenStream| t.to_string().split_whitespace().collect::<String>();
        assert_eq!(tokens_of(printed), tokens_of(tokens));
    }
}
