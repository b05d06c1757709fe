//! Sizes and durations as people type them on the command line, for
//! wasmtier's own flags and the wasmtime-style `-W` keys alike.

use std::time::Duration;

/// Parses `4096`, `64K`, `16M`, `1G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, multiplier) = match text.trim_end_matches(['B', 'b', 'i']).chars().last() {
        Some('K' | 'k') => (&text[..text.find(['K', 'k']).unwrap_or(0)], 1u64 << 10),
        Some('M' | 'm') => (&text[..text.find(['M', 'm']).unwrap_or(0)], 1 << 20),
        Some('G' | 'g') => (&text[..text.find(['G', 'g']).unwrap_or(0)], 1 << 30),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("`{text}` is not a size (examples: 65536, 64K, 16M, 1G)"))
}

/// Parses a `--max-gc-heap` size: [`parse_size`], at most
/// [`wasmtier_core::MAX_GC_HEAP`].
pub fn parse_gc_heap(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if size > wasmtier_core::MAX_GC_HEAP {
        return Err(format!(
            "`{text}` is more than a GC heap can hold (at most {} bytes, just under 4G)",
            wasmtier_core::MAX_GC_HEAP
        ));
    }
    Ok(size)
}

/// Parses `250ms`, `2s`, `1.5s`, `1m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration (examples: 500ms, 2s, 1m)");
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(invalid()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("M").is_err());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }
}
