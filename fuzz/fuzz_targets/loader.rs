//! Arbitrary bytes through the loader: never a panic, and every refusal
//! names its byte offset. What validates must also run without crashing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmtier_fuzz_diff::diff;
use wasmtier_fuzz_diff::mutate::{self, LoadOutcome};

fuzz_target!(|data: &[u8]| {
    match mutate::load(data) {
        Ok(LoadOutcome::Refused(err)) => assert!(mutate::names_an_offset(&err), "{err}"),
        Ok(LoadOutcome::Valid(_)) => {
            let verdict = diff::check(data, None);
            assert!(!verdict.is_failure(), "{verdict}");
        }
        Err(panic) => panic!("the loader panicked: {panic}"),
    }
});
