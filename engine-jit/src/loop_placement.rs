//! Where a function's hot loops sit relative to 64-byte fetch lines.
//!
//! Cranelift does not align loops, and on the Zen 5 machine the benchmarks
//! run on the same loop's speed depends a lot on where its header lies in
//! a line (`RATIONALE.md`, "Code layout"). Code cannot be padded inside a
//! function after Cranelift emitted it, but the function as a whole can be
//! moved: [`HotLoops::padding`] chooses the zero bytes to put before it
//! so that as many of the inner loops of its loop nests as possible sit
//! well.

/// Bytes in the unit of instruction fetch we place hot loops against.
const CODE_LINE: usize = 64;
/// Granularity of the padding that moves a function to place its loops:
/// the entry stays 16-byte aligned.
const LOOP_STEP: usize = 16;
/// Nesting is found by comparing every loop with every other: beyond this
/// many backward edges (a huge generated function, or one with thousands
/// of cold paths jumping back) the function is left alone.
const MAX_BACK_EDGES: usize = 512;
/// A loop longer than a line is slow with its header in the first bytes of
/// one (`matmul`'s 82-byte loop: 1.8× the cycles at 0–7, as fast as
/// anywhere from 14).
const LONG_LOOP_MIN_HEADER_OFFSET: usize = 14;

/// A loop in a function's code: its header block's offset and the bytes
/// up to the end of the last block that jumps back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LoopExtent {
    header: u32,
    len: u32,
}

impl LoopExtent {
    fn contains(&self, other: &LoopExtent) -> bool {
        self != other
            && self.header <= other.header
            && other.header + other.len <= self.header + self.len
    }

    /// Whether the loop sits well with its header `offset` bytes into a
    /// line: a loop that fits in a line lies within one; a longer one
    /// spans no more lines than it must with its header past the slow
    /// first bytes.
    fn sits_well_at(&self, offset: usize) -> bool {
        let len = self.len as usize;
        if len <= CODE_LINE {
            return offset + len <= CODE_LINE;
        }
        let fewest_lines = (LONG_LOOP_MIN_HEADER_OFFSET + len).div_ceil(CODE_LINE);
        offset >= LONG_LOOP_MIN_HEADER_OFFSET && (offset + len).div_ceil(CODE_LINE) == fewest_lines
    }

    /// Where in a line the header goes when this loop decides alone: the
    /// rule the layout had before it weighed every nest (16 bytes in for
    /// a long loop, a short one from the line's start).
    fn preferred_line_offset(&self) -> usize {
        if self.len as usize <= CODE_LINE {
            0
        } else {
            16
        }
    }
}

/// The inner loops of a function's loop nests: loops inside another loop
/// with no loop inside them, where a function most likely spends its
/// time. Lone loops (a tail-recursive function's, say) do not count:
/// moving functions for those measured worse (`recursion` 1.10×).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HotLoops {
    /// The deepest (the shortest among equals) first: it breaks ties.
    inner: Vec<LoopExtent>,
}

impl HotLoops {
    /// Finds the loops from Cranelift's block layout (`bb_starts`,
    /// `bb_edges`): an edge to a block at or before its source is a back
    /// edge, and every back edge to one header belongs to one loop.
    pub(crate) fn find(starts: &[u32], edges: &[(u32, u32)], code_len: u32) -> HotLoops {
        let back_edges = edges.iter().filter(|&&(from, to)| to <= from);
        if back_edges.clone().count() > MAX_BACK_EDGES {
            return HotLoops::default();
        }
        let block_end = |start: u32| {
            let next = starts.partition_point(|&s| s <= start);
            starts.get(next).copied().unwrap_or(code_len)
        };
        let mut loops: Vec<LoopExtent> = Vec::new();
        for &(from, to) in back_edges {
            let len = block_end(from).saturating_sub(to);
            match loops.iter_mut().find(|l| l.header == to) {
                Some(known) => known.len = known.len.max(len),
                None => loops.push(LoopExtent { header: to, len }),
            }
        }
        let mut inner: Vec<(std::cmp::Reverse<usize>, u32, LoopExtent)> = loops
            .iter()
            .filter(|l| !loops.iter().any(|other| l.contains(other)))
            .map(|l| {
                let depth = loops.iter().filter(|outer| outer.contains(l)).count() + 1;
                (std::cmp::Reverse(depth), l.len, *l)
            })
            .filter(|(std::cmp::Reverse(depth), _, _)| *depth >= 2)
            .collect();
        inner.sort();
        HotLoops {
            inner: inner.into_iter().map(|(_, _, l)| l).collect(),
        }
    }

    /// Zero bytes to put before the function when it would start at
    /// `start` (a multiple of [`LOOP_STEP`]): the step of padding under
    /// which the most inner loops sit well, and among those the one that
    /// puts the deepest loop where it prefers.
    pub(crate) fn padding(&self, start: usize) -> usize {
        let Some(deepest) = self.inner.first() else {
            return 0;
        };
        let line_offset =
            |padding: usize, l: &LoopExtent| (start + padding + l.header as usize) % CODE_LINE;
        let preferred = deepest.preferred_line_offset();
        (0..CODE_LINE)
            .step_by(LOOP_STEP)
            .max_by_key(|&padding| {
                let sitting_well = || {
                    self.inner
                        .iter()
                        .filter(move |l| l.sits_well_at(line_offset(padding, l)))
                };
                let well = sitting_well().count();
                // Among equals, the one that keeps more short loops within
                // a line: such a loop across a boundary fetches twice the
                // lines per iteration, a long one at most a few more.
                let short_well = sitting_well()
                    .filter(|l| l.len as usize <= CODE_LINE)
                    .count();
                let offset = line_offset(padding, deepest);
                let deepest_preferred = (preferred..preferred + LOOP_STEP).contains(&offset);
                // `max_by_key` keeps the last of equals: the smallest
                // padding wins a tie through the reversed step.
                (
                    well,
                    short_well,
                    deepest_preferred,
                    std::cmp::Reverse(padding),
                )
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_loops_of_nests_are_found_from_back_edges_deepest_first() {
        // Blocks at 0, 10, 20, 40, 60, 80, 90, 100; an outer loop 10..60
        // (back edge from the block at 40) around an inner loop 20..40
        // (back edge from 20 to itself), a lone loop 60..80, and a loop
        // 80..100 whose header is reached back from two blocks.
        let starts = [0, 10, 20, 40, 60, 80, 90, 100];
        let edges = [
            (0, 10),
            (10, 20),
            (20, 20),
            (20, 40),
            (40, 10),
            (60, 60),
            (60, 80),
            (80, 90),
            (80, 80),
            (90, 80),
        ];
        let loops = HotLoops::find(&starts, &edges, 120);
        assert_eq!(
            loops.inner,
            [LoopExtent {
                header: 20,
                len: 20
            }]
        );
    }

    #[test]
    fn lone_loops_and_straight_code_are_left_alone() {
        assert_eq!(HotLoops::find(&[0, 10], &[(0, 10)], 20).padding(0), 0);
        let lone = HotLoops::find(&[0, 10, 30], &[(10, 10), (10, 30)], 40);
        assert_eq!(lone.padding(0), 0);
    }

    #[test]
    fn a_short_loop_is_moved_into_one_line() {
        // A 40-byte inner loop at 50: at 0 it spans two lines; 16 more
        // bytes put its header at 2 in the next line.
        let loops = HotLoops {
            inner: vec![LoopExtent {
                header: 50,
                len: 40,
            }],
        };
        assert_eq!(loops.padding(0), 16);
        assert_eq!(loops.padding(64), 16);
    }

    #[test]
    fn a_long_loop_keeps_its_header_past_the_first_bytes_of_a_line() {
        // 82 bytes (matmul's): header at 64 lands at 0 unpadded.
        let long = LoopExtent {
            header: 64,
            len: 82,
        };
        assert!(!long.sits_well_at(0));
        assert!(long.sits_well_at(16));
        assert!(long.sits_well_at(46));
        assert!(!long.sits_well_at(50));
        let loops = HotLoops { inner: vec![long] };
        assert_eq!(loops.padding(0), 16);
    }

    #[test]
    fn a_tie_goes_to_the_padding_that_keeps_short_loops_in_a_line() {
        // The inner loops of CoreMark-like's `main` entered at its first
        // loop (on-stack replacement), deepest first: paddings 32 and 48
        // each place six well, but only 48 puts a short one (the 55-byte
        // list search, which ran 8% slower across a line) within a line.
        let loops = HotLoops {
            inner: [
                (965, 139),
                (463, 38),
                (406, 55),
                (1983, 133),
                (734, 156),
                (1213, 129),
                (590, 130),
                (1349, 143),
                (137, 202),
            ]
            .into_iter()
            .map(|(header, len)| LoopExtent { header, len })
            .collect(),
        };
        assert_eq!(loops.padding(0), 48);
    }

    #[test]
    fn the_padding_places_the_most_inner_loops_well() {
        // The deepest loop alone would want padding 0 (its header at 8,
        // in the line's first 16 bytes), where the two other inner loops
        // each span two lines; with 32 bytes more all three fit in a line.
        let loops = HotLoops {
            inner: vec![
                LoopExtent { header: 8, len: 20 },
                LoopExtent {
                    header: 100,
                    len: 40,
                },
                LoopExtent {
                    header: 230,
                    len: 30,
                },
            ],
        };
        let well_at = |padding: usize| {
            loops
                .inner
                .iter()
                .filter(|l| l.sits_well_at((padding + l.header as usize) % CODE_LINE))
                .count()
        };
        assert_eq!(well_at(0), 1);
        assert_eq!(well_at(32), 3);
        assert_eq!(loops.padding(0), 32);
    }
}
