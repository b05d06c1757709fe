//! Validating function bodies, in parallel when there are many: bodies
//! validate independently once the sections before the code section have,
//! and on a 100 MB module they are most of the loader's time.
//!
//! A big code section is validated while it is read: the bodies go in
//! batches to worker threads as the decoder reaches them, and the thread
//! reading joins in once the section ends. The result is the sequential
//! one: everything queued is validated before anything after it (the next
//! section, or the failure of a later entry) is looked at, and the failing
//! body reported is the first one in module order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

use wasmparser::{
    BinaryReaderError, FuncToValidate, FuncValidatorAllocations, FunctionBody, ValidatorResources,
};

use crate::error::LoadError;

/// A code section smaller than this is validated by the thread reading it
/// (a thread costs more than it saves).
const PARALLEL_BYTES: u32 = 1 << 20;

/// About this many bytes of bodies go to a worker at a time: few enough
/// hand-overs that the queue's lock is not felt, small enough that the
/// workers start early and finish together.
const BATCH_BYTES: usize = 64 << 10;

/// A body and the validator state it is checked against.
type Body<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// Consecutive bodies and the module-order index of the first.
type Batch<'a> = (usize, Vec<Body<'a>>);

/// A failing body's index and its error.
type Failure = (usize, BinaryReaderError);

/// Function bodies waiting for validation, in module order.
pub(super) struct PendingBodies<'scope, 'env, 'a> {
    scope: &'scope Scope<'scope, 'env>,
    /// The batch being gathered.
    batch: Vec<Body<'a>>,
    batch_bytes: usize,
    /// Bodies queued so far (the next one's index).
    queued: usize,
    /// Set while a code section is validated in parallel.
    workers: Option<Workers<'scope, 'a>>,
}

/// The worker threads of one code section and what they share.
struct Workers<'scope, 'a> {
    sender: Sender<Batch<'a>>,
    queue: Arc<Queue<'a>>,
    handles: Vec<ScopedJoinHandle<'scope, Vec<Failure>>>,
}

/// Batches waiting for a worker, and the lowest failing index so far:
/// batches past it are skipped.
struct Queue<'a> {
    batches: Mutex<Receiver<Batch<'a>>>,
    first_failure: AtomicUsize,
}

impl Queue<'_> {
    /// Validates batches until the sender is gone and the queue empty.
    fn drain(&self) -> Vec<Failure> {
        let mut allocations = FuncValidatorAllocations::default();
        let mut failures = Vec::new();
        loop {
            let batch = self
                .batches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv();
            let Ok((first, bodies)) = batch else {
                break failures;
            };
            if first > self.first_failure.load(Ordering::Relaxed) {
                continue;
            }
            if let Some(failure) = validate_batch(first, bodies, &mut allocations) {
                self.first_failure.fetch_min(failure.0, Ordering::Relaxed);
                failures.push(failure);
            }
        }
    }
}

/// Validates `bodies`, the first of which has index `first`, up to the
/// first that fails.
fn validate_batch(
    first: usize,
    bodies: Vec<Body<'_>>,
    allocations: &mut FuncValidatorAllocations,
) -> Option<Failure> {
    for (i, (func, body)) in (first..).zip(bodies) {
        let mut validator = func.into_validator(std::mem::take(allocations));
        let result = validator.validate(&body);
        *allocations = validator.into_allocations();
        if let Err(error) = result {
            return Some((i, error));
        }
    }
    None
}

impl<'scope, 'env, 'a: 'scope> PendingBodies<'scope, 'env, 'a> {
    pub fn new(scope: &'scope Scope<'scope, 'env>) -> Self {
        Self {
            scope,
            batch: Vec::new(),
            batch_bytes: 0,
            queued: 0,
            workers: None,
        }
    }

    /// At the start of a code section of `size` bytes: a big one is
    /// validated by worker threads as it is read.
    pub fn code_section(&mut self, size: u32) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if size < PARALLEL_BYTES || threads == 1 || self.workers.is_some() {
            return;
        }
        let (sender, receiver) = channel();
        let queue = Arc::new(Queue {
            batches: Mutex::new(receiver),
            first_failure: AtomicUsize::new(usize::MAX),
        });
        // The reading thread is the last worker, once the section is read.
        let handles = (1..threads)
            .map_while(|_| {
                let queue = Arc::clone(&queue);
                std::thread::Builder::new()
                    .name("validate".into())
                    .spawn_scoped(self.scope, move || queue.drain())
                    .ok()
            })
            .collect();
        self.workers = Some(Workers {
            sender,
            queue,
            handles,
        });
    }

    pub fn push(&mut self, func: FuncToValidate<ValidatorResources>, body: FunctionBody<'a>) {
        self.batch_bytes += body.range().len();
        self.batch.push((func, body));
        if self.batch_bytes >= BATCH_BYTES && self.workers.is_some() {
            self.send_batch();
        }
    }

    /// Hands the gathered batch to the workers, if there are any, instead
    /// of keeping it for more: the code section has ended.
    pub fn hand_over(&mut self) {
        if self.workers.is_some() && !self.batch.is_empty() {
            self.send_batch();
        }
    }

    /// Hands the gathered batch to the workers.
    fn send_batch(&mut self) {
        let first = self.queued;
        let bodies = self.take_batch();
        if let Some(workers) = &self.workers {
            // The receiver lives in `workers.queue`, so the send cannot fail.
            let _ = workers.sender.send((first, bodies));
        }
    }

    /// Validates every queued body; the error is the first failing body's
    /// in module order.
    pub fn validate(&mut self) -> Result<(), LoadError> {
        let first = self.queued;
        let bodies = self.take_batch();
        let failures = match self.workers.take() {
            Some(Workers {
                sender,
                queue,
                handles,
            }) => {
                // The receiver lives in `queue`, so the send cannot fail.
                let _ = sender.send((first, bodies));
                drop(sender);
                let mut failures = queue.drain();
                for handle in handles {
                    match handle.join() {
                        Ok(found) => failures.extend(found),
                        // A wasmparser panic: the loader turns it into a
                        // refused module (`with_limits_shared`).
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                failures
            }
            None => {
                let mut allocations = FuncValidatorAllocations::default();
                validate_batch(first, bodies, &mut allocations)
                    .into_iter()
                    .collect()
            }
        };
        match failures.into_iter().min_by_key(|(i, _)| *i) {
            Some((_, error)) => Err(error.into()),
            None => Ok(()),
        }
    }

    /// The gathered batch, counted as queued.
    fn take_batch(&mut self) -> Vec<Body<'a>> {
        self.batch_bytes = 0;
        self.queued += self.batch.len();
        std::mem::take(&mut self.batch)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Features, LoadError, ValidatedModule};

    /// A module with enough body bytes to validate in parallel, whose
    /// functions `bad` (in any order) do not validate.
    fn module(functions: usize, bad: &[usize]) -> Vec<u8> {
        let mut body = String::from("i32.const 7");
        for _ in 0..60 {
            body.push_str(" i32.const 7 i32.add");
        }
        let mut text = String::from("(module\n");
        for i in 0..functions {
            if bad.contains(&i) {
                text.push_str("(func (result i32) i64.const 1)\n");
            } else {
                text.push_str(&format!("(func (result i32) {body})\n"));
            }
        }
        text.push(')');
        wat::parse_str(&text).unwrap()
    }

    /// The loader's error for `bytes` is wasmparser's sequential one for
    /// `expected`.
    fn refused_as(bytes: &[u8], expected: &[u8]) {
        let sequential =
            wasmparser::Validator::new_with_features(Features::default().to_wasmparser())
                .validate_all(expected)
                .err()
                .expect("the module is invalid");
        let error = ValidatedModule::new(bytes, Features::default()).unwrap_err();
        let LoadError::Invalid { offset, message } = error else {
            panic!("expected an invalid module, got {error:?}");
        };
        assert_eq!(offset, sequential.offset());
        assert_eq!(message, sequential.message());
    }

    #[test]
    fn the_first_invalid_body_in_module_order_is_reported_as_sequentially() {
        let bytes = module(40_000, &[25_000, 20_000, 39_999]);
        assert!(
            bytes.len() > 4 * super::PARALLEL_BYTES as usize,
            "the test must go parallel, over many batches"
        );
        refused_as(&bytes, &bytes);
        // An invalid body comes before a malformed section after it
        // (`validate_all` reports the section first: it checks bodies last).
        let invalid_body = module(40_000, &[39_000]);
        let mut then_garbage = invalid_body.clone();
        then_garbage.extend([0x0b, 0xff, 0xff]);
        refused_as(&then_garbage, &invalid_body);
        // ... and before a custom section read while it was validated,
        // here a damaged name section followed by a malformed one.
        let mut then_names = invalid_body.clone();
        then_names.extend([0x00, 0x08, 0x04]);
        then_names.extend(b"name");
        then_names.extend([0x01, 0x05, 0xff]);
        then_names.extend([0x0b, 0xff, 0xff]);
        refused_as(&then_names, &invalid_body);
        // The first body of the first batch, and the last of the last.
        let first = module(40_000, &[0, 39_999]);
        refused_as(&first, &first);
        let last = module(40_000, &[39_999]);
        refused_as(&last, &last);
        assert!(ValidatedModule::new(&module(40_000, &[]), Features::default()).is_ok());
    }
}
