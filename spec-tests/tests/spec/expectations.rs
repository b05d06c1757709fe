//! The checked-in list of (engine, file) trials allowed to fail.
//!
//! Format, one entry a line: `<trial name> <reason…>`, where the trial name
//! is `engine::suite::file.wast` or ends in `*` to cover every trial with
//! that prefix (`jit::relaxed-simd::*`). Lines starting with `#` are comments. A listed trial
//! that passes fails the run, so the list cannot go stale silently.
//!
//! An entry `suite::file.wast:LINE <reason…>` names one directive of a file,
//! for every engine that runs it: a script older than the spec it is run
//! with (the rest of the file still has to pass). It too fails the run once
//! the directive passes.

pub struct Entry {
    pattern: String,
    /// The directive's line, for an entry naming one directive.
    line: Option<usize>,
    pub reason: String,
}

impl Entry {
    pub fn matches(&self, trial: &str) -> bool {
        if self.line.is_some() {
            return trial
                .strip_suffix(self.pattern.as_str())
                .is_some_and(|engine| engine.ends_with("::"));
        }
        match self.pattern.strip_suffix('*') {
            Some(prefix) => trial.starts_with(prefix),
            None => trial == self.pattern,
        }
    }

    /// The line of the one directive this entry names, if it names one.
    pub fn line(&self) -> Option<usize> {
        self.line
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
        let (pattern, line) = match pattern.rsplit_once(".wast:") {
            Some((file, line)) => {
                let line = line
                    .parse()
                    .map_err(|_| format!("line {}: `{pattern}`: not a line number", number + 1))?;
                (format!("{file}.wast"), Some(line))
            }
            None => (pattern.to_string(), None),
        };
        entries.push(Entry {
            pattern,
            line,
            reason: reason.trim().to_string(),
        });
    }
    Ok(entries)
}
