//! Running a start function under `--timeout`.
//!
//! wasmi runs a module's start function inside `Instance::new`, with no
//! resumable handle, so the fuel slices of [`crate::deadline`] cannot pause
//! it to look at the clock: a start function that loops forever would run
//! past any deadline. With a deadline, the engine therefore hands wasmi a
//! rewritten module: the start section is removed and the start function is
//! exported under [`HIDDEN_START_EXPORT`]; the store instantiates it and then
//! calls that export like any other call, in slices. The order is the
//! spec's (segments are initialized before the start function runs), and a
//! trap still fails the instantiation.

/// The export name the start function gets. No module can already use it:
/// [`defer_start`] refuses to rewrite one that does.
pub(crate) const HIDDEN_START_EXPORT: &str = "\0wasmtier:start";

const EXPORT_SECTION: u8 = 7;
const START_SECTION: u8 = 8;
const FUNC_EXPORT_KIND: u8 = 0;

/// `bytes` (a module the core loader validated, with a start section
/// calling `start`) without its start section and with `start` exported as
/// [`HIDDEN_START_EXPORT`]; `None` if the module is not laid out as
/// expected, in which case the caller keeps the original.
pub(crate) fn defer_start(bytes: &[u8], start: u32) -> Option<Vec<u8>> {
    let sections = sections(bytes)?;
    let mut out = bytes.get(..8)?.to_vec();
    let mut exported = false;
    for section in &sections {
        match section.id {
            EXPORT_SECTION => {
                out.push(EXPORT_SECTION);
                let content = with_start_export(&bytes[section.content.clone()], start)?;
                push_leb(&mut out, content.len() as u64);
                out.extend_from_slice(&content);
                exported = true;
            }
            START_SECTION => {
                // The export section, when there is one, comes before the
                // start section; when there is none, the new one takes the
                // start section's place, which is where it belongs.
                if !exported {
                    out.push(EXPORT_SECTION);
                    let content = with_start_export(&[0], start)?;
                    push_leb(&mut out, content.len() as u64);
                    out.extend_from_slice(&content);
                    exported = true;
                }
            }
            _ => out.extend_from_slice(&bytes[section.whole.clone()]),
        }
    }
    exported.then_some(out)
}

struct Section {
    id: u8,
    whole: std::ops::Range<usize>,
    content: std::ops::Range<usize>,
}

fn sections(bytes: &[u8]) -> Option<Vec<Section>> {
    let mut sections = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let id = bytes[at];
        let (size, leb_len) = read_leb(bytes.get(at + 1..)?)?;
        let start = at + 1 + leb_len;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        if end > bytes.len() {
            return None;
        }
        sections.push(Section {
            id,
            whole: at..end,
            content: start..end,
        });
        at = end;
    }
    Some(sections)
}

/// An export section's content with one more entry: the start function.
fn with_start_export(content: &[u8], start: u32) -> Option<Vec<u8>> {
    let (count, count_len) = read_leb(content)?;
    let entries = &content[count_len..];
    let name = HIDDEN_START_EXPORT.as_bytes();
    if contains_name(entries, count, name)? {
        return None;
    }
    let mut out = Vec::with_capacity(content.len() + name.len() + 8);
    push_leb(&mut out, count + 1);
    out.extend_from_slice(entries);
    push_leb(&mut out, name.len() as u64);
    out.extend_from_slice(name);
    out.push(FUNC_EXPORT_KIND);
    push_leb(&mut out, u64::from(start));
    Some(out)
}

fn contains_name(mut entries: &[u8], count: u64, wanted: &[u8]) -> Option<bool> {
    for _ in 0..count {
        let (len, len_len) = read_leb(entries)?;
        let name_end = len_len.checked_add(usize::try_from(len).ok()?)?;
        let name = entries.get(len_len..name_end)?;
        if name == wanted {
            return Some(true);
        }
        // kind byte, then the index
        let (_, index_len) = read_leb(entries.get(name_end + 1..)?)?;
        entries = entries.get(name_end + 1 + index_len..)?;
    }
    Some(false)
}

fn read_leb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn push_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtier_core::{Features, ValidatedModule};

    /// Rewrites `text`, checks the result validates, and returns its
    /// exports (name, index) and start function.
    fn rewrite(text: &str) -> (Vec<(String, u32)>, Option<u32>) {
        let bytes = wat::parse_str(text).unwrap();
        let original = ValidatedModule::new(&bytes, Features::default()).unwrap();
        let out = defer_start(&bytes, original.start.unwrap()).expect("rewritten");
        let module =
            ValidatedModule::new(&out, Features::default()).expect("the rewritten module is valid");
        let exports = module
            .exports
            .iter()
            .map(|e| (e.name.clone(), e.index))
            .collect();
        (exports, module.start)
    }

    #[test]
    fn the_start_function_becomes_a_hidden_export() {
        let (exports, start) = rewrite(
            r#"(module (func $a) (func $s (call $a)) (export "a" (func $a))
                (start $s) (memory 1) (data (i32.const 0) "x"))"#,
        );
        assert_eq!(start, None);
        assert_eq!(
            exports,
            vec![("a".into(), 0), (HIDDEN_START_EXPORT.into(), 1)]
        );
    }

    #[test]
    fn a_module_without_exports_gets_an_export_section() {
        let (exports, start) =
            rewrite("(module (func $s) (start $s) (table 1 funcref) (elem (i32.const 0) $s))");
        assert_eq!(start, None);
        assert_eq!(exports, vec![(HIDDEN_START_EXPORT.into(), 0)]);
    }

    #[test]
    fn a_module_already_using_the_name_is_left_alone() {
        let bytes = wat::parse_str(
            "(module (func $s) (start $s) (export \"\\00wasmtier:start\" (func $s)))",
        )
        .unwrap();
        assert_eq!(defer_start(&bytes, 0), None);
    }
}
