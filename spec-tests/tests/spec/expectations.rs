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
//!
//! An entry `*::suite::file.wast <reason…>` names a whole file on every
//! engine that runs it (a file this build's loader cannot take): like a
//! directive entry it is checked against the suite's files, so a build
//! without those engines does not find it stale.

pub struct Entry {
    pattern: String,
    /// The directive's line, for an entry naming one directive.
    line: Option<usize>,
    /// Whether the entry names a file on every engine (`*::suite::file`).
    any_engine: bool,
    pub reason: String,
}

impl Entry {
    pub fn matches(&self, trial: &str) -> bool {
        if self.line.is_some() || self.any_engine {
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

    /// Whether the entry is checked against the suite's files rather than
    /// this build's trials (a directive, or a file on every engine).
    pub fn names_a_file(&self) -> bool {
        self.line.is_some() || self.any_engine
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
        let (pattern, any_engine) = match pattern.strip_prefix("*::") {
            Some(rest) => (rest.to_string(), true),
            None => (pattern, false),
        };
        entries.push(Entry {
            pattern,
            line,
            any_engine,
            reason: reason.trim().to_string(),
        });
    }
    Ok(entries)
}
