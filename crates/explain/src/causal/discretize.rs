//! Per-column discretization for the discrete CI tests (G-test, chi-square).
//!
//! Our variables are activity counts per time bin: mostly zero, with bursts.
//! Fixed cut points (0, 1, 2+) suit a quiet process but turn a busy one
//! (never below 40 events per bin) into a constant; plain quantile cuts
//! collapse when 70% of the values are 0. So we bin by frequency without ever
//! splitting tied values: walking the distinct values upward, a bin closes as
//! soon as it holds its share of the samples not yet binned. A column with at
//! most `max_levels` distinct values keeps one level per value (for a quiet
//! process that is exactly 0, 1, 2+ when there are few large counts); a
//! zero-heavy column gets zeros as one level and its positive counts split by
//! quantile into the others. The result is deterministic and depends only on
//! the column's values, not on their order.

/// The level codes of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levels {
    /// Level of each sample, in `0..n_levels`, increasing with the value.
    pub codes: Vec<u8>,
    /// Number of distinct levels used (0 for an empty column, 1 for a constant one).
    pub n_levels: usize,
}

/// Most levels a column may be cut into (codes are `u8`).
pub const MAX_LEVELS: usize = 255;

/// Cuts `column` into at most `max_levels` frequency bins that never split tied
/// values (see the module documentation). `max_levels` is clamped to `1..=MAX_LEVELS`.
pub fn discretize(column: &[f64], max_levels: usize) -> Levels {
    let max_levels = max_levels.clamp(1, MAX_LEVELS);
    let mut sorted = column.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    // Distinct values with their multiplicities, ascending.
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &v in &sorted {
        match distinct.last_mut() {
            Some((last, count)) if last.total_cmp(&v).is_eq() => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let uppers = bin_upper_bounds(&distinct, column.len(), max_levels);
    let last_bin = uppers.len().saturating_sub(1);
    let codes = column
        .iter()
        .map(|v| {
            let bin = uppers.partition_point(|u| u.total_cmp(v).is_lt());
            // Every value is ≤ the last upper bound, so `bin` is in range; min() keeps that obvious.
            u8::try_from(bin.min(last_bin)).unwrap_or(u8::MAX)
        })
        .collect();
    Levels {
        codes,
        n_levels: uppers.len(),
    }
}

/// Largest value of each bin, ascending, for the greedy tie-preserving
/// equal-frequency split of `distinct` (value, count) pairs totalling `n`.
fn bin_upper_bounds(distinct: &[(f64, usize)], n: usize, max_levels: usize) -> Vec<f64> {
    if distinct.len() <= max_levels {
        return distinct.iter().map(|&(v, _)| v).collect();
    }
    let mut uppers = Vec::with_capacity(max_levels);
    let mut remaining = n;
    let mut in_bin = 0usize;
    for (idx, &(value, count)) in distinct.iter().enumerate() {
        in_bin += count;
        let bins_left = max_levels - uppers.len();
        let values_left = distinct.len() - idx - 1;
        if bins_left > 1 && values_left > 0 {
            let share = remaining as f64 / bins_left as f64;
            // Close when the bin has its share, or when every later value must get a bin of its own.
            if in_bin as f64 >= share || values_left < bins_left {
                uppers.push(value);
                remaining -= in_bin;
                in_bin = 0;
            }
        }
        if values_left == 0 {
            uppers.push(value);
        }
    }
    uppers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_keep_one_level_each() {
        let l = discretize(&[0.0, 2.0, 1.0, 0.0, 2.0], 3);
        assert_eq!(l.n_levels, 3);
        assert_eq!(l.codes, vec![0, 2, 1, 0, 2]);
    }

    #[test]
    fn constant_and_empty_columns() {
        let l = discretize(&[4.0; 6], 3);
        assert_eq!(l.n_levels, 1);
        assert_eq!(l.codes, vec![0; 6]);
        let e = discretize(&[], 3);
        assert_eq!(e.n_levels, 0);
        assert!(e.codes.is_empty());
    }

    #[test]
    fn zero_heavy_counts_keep_zero_alone_and_split_the_rest() {
        // 14 zeros, then 1,1,2,3,5,8 (20 samples, 3 levels).
        let mut col = vec![0.0; 14];
        col.extend([1.0, 1.0, 2.0, 3.0, 5.0, 8.0]);
        let l = discretize(&col, 3);
        assert_eq!(l.n_levels, 3);
        assert!(l.codes[..14].iter().all(|&c| c == 0));
        // Remaining 6 samples, 2 bins, share 3: {1,1,2} then {3,5,8}.
        assert_eq!(&l.codes[14..], &[1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn busy_column_is_split_by_quantile_not_collapsed() {
        let col: Vec<f64> = (0..90).map(|i| 40.0 + f64::from(i)).collect();
        let l = discretize(&col, 3);
        assert_eq!(l.n_levels, 3);
        let per_level: Vec<usize> = (0..3u8)
            .map(|k| l.codes.iter().filter(|&&c| c == k).count())
            .collect();
        assert_eq!(per_level, vec![30, 30, 30]);
    }

    #[test]
    fn codes_do_not_depend_on_sample_order() {
        let a = [3.0, 0.0, 0.0, 7.0, 1.0, 0.0, 2.0, 9.0, 4.0];
        let mut b = a;
        b.reverse();
        let la = discretize(&a, 3);
        let mut lb = discretize(&b, 3);
        lb.codes.reverse();
        assert_eq!(la, lb);
    }
}
