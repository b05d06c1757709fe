//! Embedding wasmtier the way a library binding does: load a reactor
//! module (`greeter.wat`), give it a host function, copy a string into
//! memory it allocates, call it, and read its answer back.
//!
//!     cargo run -p wasmtier --example embed -- jit Ferris
//!
//! `cargo test -p wasmtier` runs the tests at the bottom on every engine.

use wasmtier::{Caller, Engine, EngineKind, Error, Module, Store, Trap};

const GREETER: &str = include_str!("greeter.wat");

/// What the host keeps for the guest: every line it logged.
#[derive(Default)]
struct Host {
    log: Vec<String>,
}

/// Greets `name` with the module on `engine`; returns the greeting and
/// what the guest logged.
fn greet(engine: &Engine, name: &str) -> Result<(String, Vec<String>), Error> {
    let module = Module::new(engine, GREETER)?;
    let mut store = Store::new(engine, Host::default());
    // `log(ptr, len)`: the guest passes a string in its own memory.
    store.func_wrap(
        "host",
        "log",
        |mut caller: Caller<'_, Host>, ptr: i32, len: i32| -> Result<(), Trap> {
            let memory = caller.memory().ok_or_else(|| Trap::host("no memory"))?;
            let bytes = usize::try_from(ptr)
                .ok()
                .zip(usize::try_from(len).ok())
                .and_then(|(ptr, len)| memory.get(ptr..ptr.checked_add(len)?))
                .ok_or_else(|| Trap::host("log: string outside memory"))?;
            let line = String::from_utf8_lossy(bytes).into_owned();
            caller.data_mut().log.push(line);
            Ok(())
        },
    )?;
    // Runs `_initialize`, as reactors expect.
    let instance = store.instantiate(&module)?;
    let malloc = instance.typed_func::<i32, i32, _>(&store, "malloc")?;
    let greet = instance.typed_func::<(i32, i32), (i32, i32), _>(&store, "greet")?;
    let memory = instance.memory(&mut store, "memory")?;

    let input = name.as_bytes();
    let len = i32::try_from(input.len()).map_err(|_| Trap::host("name too long"))?;
    let ptr = malloc.call(&mut store, len)?;
    memory.write(&mut store, ptr as u32 as u64, input)?;
    let (out, out_len) = greet.call(&mut store, (ptr, len))?;
    let bytes = memory.read_vec(&mut store, out as u32 as u64, out_len as u32 as usize)?;
    let log = std::mem::take(&mut store.data().log);
    Ok((String::from_utf8_lossy(&bytes).into_owned(), log))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let engine = match args.next() {
        Some(kind) => Engine::new(kind.parse::<EngineKind>()?)?,
        None => Engine::default(),
    };
    let name = args.next().unwrap_or_else(|| "world".to_string());
    let (greeting, log) = greet(&engine, &name)?;
    println!("{greeting}");
    eprintln!(
        "(on the {} engine; the guest logged {log:?})",
        engine.kind()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_greets_through_guest_memory() {
        for &kind in Engine::available() {
            let engine = Engine::new(kind).unwrap();
            let (greeting, log) = greet(&engine, "ferris").unwrap();
            assert_eq!(greeting, "Hello, FERRIS!", "{kind}");
            assert_eq!(log, ["Hello, FERRIS!"], "{kind}");
        }
    }

    #[test]
    fn a_long_name_grows_the_guest_memory() {
        let engine = Engine::default();
        let name = "x".repeat(100_000);
        let (greeting, _) = greet(&engine, &name).unwrap();
        assert_eq!(greeting.len(), 100_008);
        assert!(greeting.ends_with("XXX!"));
    }
}
