//! Writes the generated sources for a spec into a directory, to read them or diff them, and
//! prints every warning and how many operations were generated.
//!
//! `cargo run -p marketing-api-codegen --example generate -- openapi.yaml /tmp/out [--strict]`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let strict = args.iter().any(|a| a == "--strict");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [spec, out] = paths.as_slice() else {
        eprintln!("usage: generate <openapi.yaml|json> <out-dir> [--strict]");
        std::process::exit(2);
    };
    let started = std::time::Instant::now();
    let options = marketing_api_codegen::Options::default().strict(strict);
    let result = std::fs::create_dir_all(out)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            marketing_api_codegen::generate_files(spec.as_ref(), out.as_ref(), &options)
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(generated) => {
            for warning in &generated.warnings {
                println!("warning: {warning}");
            }
            println!(
                "generated {} of {} operations into {out} in {:.1} ms, {} warnings",
                generated.operations_generated,
                generated.operations_in_spec,
                started.elapsed().as_secs_f64() * 1000.0,
                generated.warnings.len()
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
