//! Prints how long each generator stage takes on a spec.
//!
//! `cargo run -p marketing-api-codegen --example stage_times -- openapi.yaml`
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: stage_times <openapi.yaml>");
        std::process::exit(2);
    };
    let yaml = match std::fs::read_to_string(&path) {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let t = Instant::now();
    let doc =
        marketing_api_codegen::document::Document::parse(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let parse = t.elapsed();
    let t = Instant::now();
    let api = marketing_api_codegen::operations::build(&doc);
    let model = t.elapsed();
    let t = Instant::now();
    let tokens = [
        marketing_api_codegen::emit::models(&api),
        marketing_api_codegen::emit::api(&api),
        marketing_api_codegen::emit::events(&api),
    ];
    let emit = t.elapsed();
    let t = Instant::now();
    for tokens in tokens {
        marketing_api_codegen::print::format(tokens);
    }
    let format = t.elapsed();
    println!("parse {parse:?}  model {model:?}  emit {emit:?}  format {format:?}");
}
