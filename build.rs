//! Generates the client from `openapi.yaml` into `$OUT_DIR`.
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=openapi.yaml");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(error) = marketing_api_codegen::generate_files("openapi.yaml".as_ref(), &out_dir) {
        // A build script reports through cargo: the message names the spec location.
        println!("cargo::error={error}");
    }
}
