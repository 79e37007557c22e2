//! Percentiles, and bootstrap confidence intervals of a median.
//!
//! The bootstrap resamples *rounds*: for a ratio, the per-round ratios (each
//! taken under one moment's machine load) are drawn with replacement, the
//! median of each resample taken, and the 2.5th and 97.5th percentiles of
//! those medians are the interval. The generator is seeded, so a report is
//! reproducible from its run.

/// Resamples per interval.
pub const RESAMPLES: usize = 2000;

/// Linear interpolation between closest ranks; `sorted` is not empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// The median of `values` (reordered in place); `values` is not empty.
fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    let mid = n / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if !n.is_multiple_of(2) {
        upper
    } else {
        let lower = values[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// splitmix64: small, seeded, good enough to pick indices.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        // n is small (rounds); the modulo bias is far below the noise.
        (self.next() % n as u64) as usize
    }
}

/// Summary of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    /// 95 % bootstrap interval of the median.
    pub ci: (f64, f64),
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
}

/// Median with its bootstrap interval, p90, p99 and mean; `None` if empty.
pub fn summarize(values: &[f64], seed: u64) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mut rng = Rng(seed);
    let mut resample = vec![0.0; n];
    let mut medians = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for slot in resample.iter_mut() {
            *slot = values[rng.below(n)];
        }
        medians.push(median_in_place(&mut resample));
    }
    medians.sort_by(f64::total_cmp);
    Some(Summary {
        n,
        median: percentile(&sorted, 50.0),
        ci: (percentile(&medians, 2.5), percentile(&medians, 97.5)),
        p90: percentile(&sorted, 90.0),
        p99: percentile(&sorted, 99.0),
        mean: sorted.iter().sum::<f64>() / n as f64,
    })
}

/// A seed from a name, so that every series gets its own stream and the
/// same one in every report of the run (FNV-1a).
pub fn seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), 3.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 100.0), 5.0);
        assert!((percentile(&v, 90.0) - 4.6).abs() < 1e-9);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn medians_in_place_match_sorting() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median_in_place(&mut [5.0]), 5.0);
    }

    #[test]
    fn the_interval_holds_the_median_and_narrows_with_more_rounds() {
        // A skewed sample, as latencies are: mostly 100, a tail up to 300.
        let sample = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| 100.0 + ((i * 37) % 100) as f64 * (i % 3) as f64)
                .collect()
        };
        let small = summarize(&sample(30), 1).expect("not empty");
        let large = summarize(&sample(600), 1).expect("not empty");
        for s in [small, large] {
            assert!(s.ci.0 <= s.median && s.median <= s.ci.1, "{s:?}");
            assert!(s.p90 <= s.p99);
        }
        assert!(large.ci.1 - large.ci.0 < small.ci.1 - small.ci.0);
        // Seeded: the same input gives the same interval.
        assert_eq!(summarize(&sample(30), 1), summarize(&sample(30), 1));
        assert_eq!(summarize(&[], 1), None);
    }
}
