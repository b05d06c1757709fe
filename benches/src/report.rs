//! Markdown tables from measurements.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::runners::{Runner, Tier};

/// One (workload, runner) result.
pub struct Cell {
    pub median: Duration,
    pub max_rss_kib: u64,
}

/// One workload's results by runner name; an error says why a run failed.
pub type Row = BTreeMap<String, Result<Cell, String>>;

/// Results by workload, then by runner name (in runner order).
pub struct Table {
    /// Name, tier, and whether it is a peer (not one of ours).
    pub runners: Vec<(String, Tier, bool)>,
    pub rows: Vec<(String, Row)>,
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

impl Table {
    /// An empty table with a column per runner.
    pub fn for_runners<'a>(runners: impl IntoIterator<Item = &'a Runner>) -> Self {
        Self {
            runners: runners
                .into_iter()
                .map(|r| (r.name.clone(), r.tier, r.is_peer))
                .collect(),
            rows: Vec::new(),
        }
    }

    fn fastest_peer(&self, cells: &Row, tier: Tier) -> Option<(String, Duration)> {
        self.runners
            .iter()
            .filter(|(_, t, is_peer)| *is_peer && *t == tier)
            .filter_map(|(name, _, _)| match cells.get(name) {
                Some(Ok(cell)) => Some((name.clone(), cell.median)),
                _ => None,
            })
            .min_by_key(|(_, d)| *d)
    }

    /// Median wall time per runner, then each wasmtier engine's ratio to the
    /// fastest peer of its tier and to native code.
    pub fn render_times(&self) -> String {
        let mut out = String::from("| workload |");
        for (name, _, _) in &self.runners {
            write!(out, " {name} |").unwrap();
        }
        let ours: Vec<_> = self.runners.iter().filter(|(_, _, peer)| !peer).collect();
        for (name, _, _) in &ours {
            write!(out, " {name} vs peer | {name} vs native |").unwrap();
        }
        out.push('\n');
        out.push_str(&"| --- ".repeat(1 + self.runners.len() + 2 * ours.len()));
        out.push_str("|\n");
        for (workload, cells) in &self.rows {
            write!(out, "| {workload} |").unwrap();
            for (name, _, _) in &self.runners {
                match cells.get(name) {
                    Some(Ok(cell)) => write!(out, " {} |", seconds(cell.median)).unwrap(),
                    Some(Err(_)) => out.push_str(" failed |"),
                    None => out.push_str(" – |"),
                }
            }
            for (name, tier, _) in &ours {
                let mine = match cells.get(name) {
                    Some(Ok(cell)) => cell.median,
                    _ => {
                        out.push_str(" – | – |");
                        continue;
                    }
                };
                match self.fastest_peer(cells, *tier) {
                    Some((peer, d)) => write!(
                        out,
                        " {:.2}× {peer} |",
                        mine.as_secs_f64() / d.as_secs_f64()
                    )
                    .unwrap(),
                    None => out.push_str(" – |"),
                }
                match self.fastest_peer(cells, Tier::Native) {
                    Some((_, d)) => {
                        write!(out, " {:.2}× |", mine.as_secs_f64() / d.as_secs_f64()).unwrap()
                    }
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
        out
    }

    /// Peak RSS per runner, in MiB.
    pub fn render_rss(&self) -> String {
        self.render_rss_with(1)
    }

    /// Peak RSS per runner, in MiB with two decimals (for small footprints).
    pub fn render_rss_precise(&self) -> String {
        self.render_rss_with(2)
    }

    fn render_rss_with(&self, decimals: usize) -> String {
        let mut out = String::from("| workload |");
        for (name, _, _) in &self.runners {
            write!(out, " {name} |").unwrap();
        }
        out.push('\n');
        out.push_str(&"| --- ".repeat(1 + self.runners.len()));
        out.push_str("|\n");
        for (workload, cells) in &self.rows {
            write!(out, "| {workload} |").unwrap();
            for (name, _, _) in &self.runners {
                match cells.get(name) {
                    Some(Ok(cell)) => {
                        write!(out, " {:.*} |", decimals, cell.max_rss_kib as f64 / 1024.0).unwrap()
                    }
                    Some(Err(_)) => out.push_str(" failed |"),
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
        out
    }

    /// Every failure, for the notes under the tables.
    pub fn failures(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for (workload, cells) in &self.rows {
            for (runner, cell) in cells {
                if let Err(why) = cell {
                    notes.push(format!("{workload} on {runner}: {why}"));
                }
            }
        }
        notes
    }
}
