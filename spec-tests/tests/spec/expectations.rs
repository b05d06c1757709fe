//! The checked-in list of (engine, file) trials allowed to fail.
//!
//! Format, one entry a line: `<trial name> <reason…>`, where the trial name
//! is `engine::suite::file.wast` or ends in `*` to cover every trial with
//! that prefix (`jit::relaxed-simd::*`). Lines starting with `#` are comments. A listed trial
//! that passes fails the run, so the list cannot go stale silently.

pub struct Entry {
    pattern: String,
    pub reason: String,
}

impl Entry {
    pub fn matches(&self, trial: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => trial.starts_with(prefix),
            None => trial == self.pattern,
        }
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (pattern, reason) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("line {}: an entry needs a reason", number + 1))?;
        entries.push(Entry {
            pattern: pattern.to_string(),
            reason: reason.trim().to_string(),
        });
    }
    Ok(entries)
}
