//! libFuzzer's bytes → a `wasm-smith` module → every engine; any
//! divergence is a crash (the input is kept by libFuzzer for replay).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmtier_fuzz_diff::diff::{self, Verdict};
use wasmtier_fuzz_diff::generate;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = generate::from_bytes(data) else {
        return;
    };
    // The first byte decides whether engines meter fuel, so both kinds of
    // generated code are covered.
    let fuel = data
        .first()
        .is_some_and(|b| b & 1 == 0)
        .then_some(50_000_000);
    match diff::check(&bytes, fuel) {
        failure @ (Verdict::Diverged(_) | Verdict::Panicked { .. }) => panic!("{failure}"),
        Verdict::Rejected(why) => panic!("the loader refused a generated module: {why}"),
        Verdict::Agree { .. } | Verdict::UpstreamPanicContained { .. } => {}
    }
});
