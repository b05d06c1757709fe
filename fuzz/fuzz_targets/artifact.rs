//! Edited AOT artifacts: refused, or (unless resealed) the original's
//! behaviour; loading and describing one never panics.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wasmtier_fuzz_diff::artifact::{self, ArtifactVerdict, Subject};
use wasmtier_fuzz_diff::generate;

struct Fixture {
    subject: Subject,
    scratch: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let scratch = tempfile::tempdir().expect("a scratch directory");
        let subject = artifact::subject(&generate::from_seed(7), scratch.path())
            .expect("seed 7 compiles");
        Fixture { subject, scratch }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let (mutant, resealed) = artifact::edit(&fixture.subject.artifact, data);
    if let ArtifactVerdict::Finding(finding) =
        artifact::check(&fixture.subject, &mutant, resealed, fixture.scratch.path())
    {
        panic!("{finding}");
    }
});
