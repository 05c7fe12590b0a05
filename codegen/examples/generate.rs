//! Writes the generated sources for a spec into a directory, to read them or diff them.
//!
//! `cargo run -p marketing-api-codegen --example generate -- openapi.yaml /tmp/out`
fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(spec), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: generate <openapi.yaml> <out-dir>");
        std::process::exit(2);
    };
    let started = std::time::Instant::now();
    if let Err(e) = std::fs::create_dir_all(&out)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            marketing_api_codegen::generate_files(spec.as_ref(), out.as_ref()).map_err(|e| e.to_string())
        })
    {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    println!("generated {out} in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
}
