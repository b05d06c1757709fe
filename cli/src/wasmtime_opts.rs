//! wasmtime's grouped `-W`, `-S` and `-C` options, for the settings
//! wasmtier has: scripts written for `wasmtime run` keep working. A key
//! wasmtier has no feature for is refused, never accepted and ignored.

use std::time::Duration;

/// One `-W KEY=VALUE`: a limit on the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmOpt {
    Fuel(u64),
    MaxMemorySize(u64),
    MaxWasmStack(u64),
    MaxTableElements(u64),
    Timeout(Duration),
}

/// One `-S KEY[=VALUE]`: a WASI setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasiOpt {
    InheritEnv(bool),
    /// wasi-threads' `thread-spawn` (on by default here).
    Threads(bool),
}

/// One `-C KEY[=VALUE]`: a code-generation setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodegenOpt {
    Cache(bool),
}

const WASM_KEYS: &str =
    "fuel=N, max-memory-size=BYTES, max-wasm-stack=BYTES, max-table-elements=N, timeout=DURATION";
const WASI_KEYS: &str = "inherit-env[=y|n], threads[=y|n]";
const CODEGEN_KEYS: &str = "cache[=y|n]";

fn split(text: &str) -> (&str, Option<&str>) {
    match text.split_once('=') {
        Some((key, value)) => (key.trim(), Some(value.trim())),
        None => (text.trim(), None),
    }
}

fn required<'a>(key: &str, value: Option<&'a str>) -> Result<&'a str, String> {
    value.ok_or_else(|| format!("`{key}` needs a value: `{key}=...`"))
}

fn parse_bool(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("y" | "yes" | "true") => Ok(true),
        Some("n" | "no" | "false") => Ok(false),
        Some(other) => Err(format!("`{key}={other}`: expected y or n")),
    }
}

fn parse_count(key: &str, value: Option<&str>) -> Result<u64, String> {
    let value = required(key, value)?;
    value
        .parse()
        .map_err(|_| format!("`{key}={value}`: not a whole number"))
}

pub fn parse_wasm(text: &str) -> Result<WasmOpt, String> {
    let (key, value) = split(text);
    let size = |value| crate::units::parse_size(required(key, value)?);
    match key {
        "fuel" => parse_count(key, value).map(WasmOpt::Fuel),
        "max-memory-size" => size(value).map(WasmOpt::MaxMemorySize),
        "max-wasm-stack" => size(value).map(WasmOpt::MaxWasmStack),
        "max-table-elements" => parse_count(key, value).map(WasmOpt::MaxTableElements),
        "timeout" => crate::units::parse_duration(required(key, value)?).map(WasmOpt::Timeout),
        _ => Err(format!(
            "`{key}` is not a -W option wasmtier has (it has: {WASM_KEYS})"
        )),
    }
}

pub fn parse_wasi(text: &str) -> Result<WasiOpt, String> {
    let (key, value) = split(text);
    match key {
        "inherit-env" => parse_bool(key, value).map(WasiOpt::InheritEnv),
        "threads" => parse_bool(key, value).map(WasiOpt::Threads),
        _ => Err(format!(
            "`{key}` is not a -S option wasmtier has (it has: {WASI_KEYS})"
        )),
    }
}

pub fn parse_codegen(text: &str) -> Result<CodegenOpt, String> {
    let (key, value) = split(text);
    match key {
        "cache" => parse_bool(key, value).map(CodegenOpt::Cache),
        _ => Err(format!(
            "`{key}` is not a -C option wasmtier has (it has: {CODEGEN_KEYS})"
        )),
    }
}

/// Sets `slot` from a `-W`-style option, refusing a different value given
/// by wasmtier's own flag (`flag`): which one wins would be a guess.
pub fn merge<T: PartialEq + Copy + std::fmt::Debug>(
    slot: &mut Option<T>,
    value: T,
    flag: &str,
    option: &str,
) -> Result<(), String> {
    match *slot {
        Some(existing) if existing != value => Err(format!(
            "{option} and {flag} disagree ({value:?} and {existing:?}): give one of them"
        )),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_options_take_wasmtime_names_and_our_units() {
        assert_eq!(parse_wasm("fuel=1000"), Ok(WasmOpt::Fuel(1000)));
        assert_eq!(
            parse_wasm("max-memory-size=64K"),
            Ok(WasmOpt::MaxMemorySize(64 << 10))
        );
        assert_eq!(
            parse_wasm("timeout=2s"),
            Ok(WasmOpt::Timeout(Duration::from_secs(2)))
        );
        assert!(parse_wasm("fuel").unwrap_err().contains("needs a value"));
        let unknown = parse_wasm("epoch-interruption=y").unwrap_err();
        assert!(
            unknown.contains("`epoch-interruption` is not a -W option"),
            "{unknown}"
        );
        assert!(unknown.contains("max-wasm-stack"), "{unknown}");
    }

    #[test]
    fn booleans_default_to_yes() {
        assert_eq!(parse_wasi("inherit-env"), Ok(WasiOpt::InheritEnv(true)));
        assert_eq!(parse_wasi("inherit-env=n"), Ok(WasiOpt::InheritEnv(false)));
        assert_eq!(parse_codegen("cache=no"), Ok(CodegenOpt::Cache(false)));
        assert!(parse_codegen("cache=maybe").is_err());
        assert!(parse_wasi("tcp").is_err());
    }

    #[test]
    fn a_flag_and_its_option_must_agree() {
        let mut slot = Some(5u64);
        assert!(merge(&mut slot, 5, "--fuel", "-W fuel").is_ok());
        assert!(merge(&mut slot, 6, "--fuel", "-W fuel").is_err());
        let mut empty = None;
        merge(&mut empty, 7u64, "--fuel", "-W fuel").unwrap();
        assert_eq!(empty, Some(7));
    }
}
