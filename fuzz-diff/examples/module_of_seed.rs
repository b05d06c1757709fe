//! Writes the module a seed generates, to run it alone when the long run
//! reports (or crashes at) that seed:
//! `cargo run --release -p wasmtier-fuzz-diff --example module_of_seed -- SEED OUT.wasm`.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(seed), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: module_of_seed SEED OUT.wasm");
        std::process::exit(2);
    };
    let Ok(seed) = seed.parse::<u64>() else {
        eprintln!("error: the seed is a number, not `{seed}`");
        std::process::exit(2);
    };
    let bytes = wasmtier_fuzz_diff::generate::from_seed(seed);
    if let Err(err) = std::fs::write(&out, bytes) {
        eprintln!("error: cannot write `{out}`: {err}");
        std::process::exit(1);
    }
}
