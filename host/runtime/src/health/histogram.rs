//! Call durations in a fixed-bucket log-linear histogram: lock-free to
//! record (one atomic add per call), cheap to read percentiles from.
//!
//! Values are microseconds. Below 8 µs each value has its own bucket;
//! above, every power of two is split into 8 equal buckets, so a bucket's
//! width is at most 1/8 of its lower bound and a percentile read from it
//! is at most 12.5 % above the true value (never below it: the bucket's
//! upper bound is reported, capped at the largest value recorded). That is
//! the precision HdrHistogram gives with one significant digit, without its
//! `&mut` recording (which would need a lock per call) or a dependency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Buckets per power of two, as a power of two: 2³ = 8 buckets, so at
/// most 12.5 % error. One more bit halves the error and doubles the
/// memory (each plugin keeps one histogram per call kind).
const SUB_BUCKET_BITS: u32 = 3;
const SUB_BUCKETS: usize = 1 << SUB_BUCKET_BITS;

/// Durations up to 2³² µs (71 minutes) are told apart; longer ones fall
/// in the last bucket. Every deadline is far below that.
const MAX_EXPONENT: u32 = 32;

/// 8 exact buckets below 8 µs, then 8 for each power of two from 2³ to
/// 2³¹: 240 counters, 1.9 KiB.
const BUCKETS: usize = SUB_BUCKETS * (MAX_EXPONENT - SUB_BUCKET_BITS + 1) as usize;

/// The bucket a value falls in.
fn bucket_of(micros: u64) -> usize {
    if micros < SUB_BUCKETS as u64 {
        return micros as usize;
    }
    let exponent = 63 - micros.leading_zeros();
    if exponent >= MAX_EXPONENT {
        return BUCKETS - 1;
    }
    let shift = exponent - SUB_BUCKET_BITS;
    let sub = (micros >> shift) as usize & (SUB_BUCKETS - 1);
    (shift as usize + 1) * SUB_BUCKETS + sub
}

/// The smallest and largest value of a bucket.
fn bounds_of(bucket: usize) -> (u64, u64) {
    if bucket < SUB_BUCKETS {
        return (bucket as u64, bucket as u64);
    }
    let shift = (bucket / SUB_BUCKETS - 1) as u32;
    let sub = (bucket % SUB_BUCKETS) as u64;
    let lower = (SUB_BUCKETS as u64 + sub) << shift;
    (lower, lower + (1 << shift) - 1)
}

/// Durations of one kind of call, recorded concurrently.
#[derive(Debug)]
pub(crate) struct DurationHistogram {
    buckets: [AtomicU64; BUCKETS],
    sum_micros: AtomicU64,
    max_micros: AtomicU64,
}

impl Default for DurationHistogram {
    fn default() -> DurationHistogram {
        DurationHistogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            max_micros: AtomicU64::new(0),
        }
    }
}

impl DurationHistogram {
    /// Counts one call that took `elapsed`.
    pub(crate) fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    /// A copy of the counts. Calls recorded while it is taken may be half
    /// in it (counted in a bucket but not yet in the sum): a health page
    /// can live with that, a lock per call could not.
    pub(crate) fn snapshot(&self) -> Durations {
        Durations {
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
            max_micros: self.max_micros.load(Ordering::Relaxed),
        }
    }
}

/// A point-in-time copy of a [`DurationHistogram`], to read percentiles
/// from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durations {
    buckets: Vec<u64>,
    sum_micros: u64,
    max_micros: u64,
}

impl Default for Durations {
    fn default() -> Durations {
        Durations {
            buckets: vec![0; BUCKETS],
            sum_micros: 0,
            max_micros: 0,
        }
    }
}

impl Durations {
    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Their mean; none when nothing was recorded.
    pub fn mean(&self) -> Option<Duration> {
        self.sum_micros
            .checked_div(self.count())
            .map(Duration::from_micros)
    }

    /// The longest.
    pub fn max(&self) -> Option<Duration> {
        (self.count() > 0).then(|| Duration::from_micros(self.max_micros))
    }

    /// The `quantile` (0.5 for the median, 0.99 for p99): a duration that
    /// at least that share of the calls took no longer than, over-stated
    /// by at most 12.5 %. None when nothing was recorded.
    pub fn percentile(&self, quantile: f64) -> Option<Duration> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        // The rank of the value asked for, 1-based: the median of 4 values
        // is the 2nd, p99 of 10 values the 10th.
        let rank = ((quantile.clamp(0.0, 1.0) * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0;
        for (bucket, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (_, upper) = bounds_of(bucket);
                return Some(Duration::from_micros(upper.min(self.max_micros)));
            }
        }
        unreachable!("the ranks stop at the count, which is the buckets' sum")
    }

    /// Adds `other`'s durations to these.
    pub fn merge(&mut self, other: &Durations) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.sum_micros += other.sum_micros;
        self.max_micros = self.max_micros.max(other.max_micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(millis: impl IntoIterator<Item = u64>) -> Durations {
        let histogram = DurationHistogram::default();
        for ms in millis {
            histogram.record(Duration::from_millis(ms));
        }
        histogram.snapshot()
    }

    #[test]
    fn every_value_falls_in_the_bucket_whose_bounds_hold_it() {
        let values = (0..20_000u64)
            .chain((0..64).map(|shift| 1u64 << shift))
            .chain((1..64).map(|shift| (1u64 << shift) - 1))
            .chain([u64::MAX]);
        for micros in values {
            let bucket = bucket_of(micros);
            assert!(bucket < BUCKETS, "{micros} → {bucket}");
            let (lower, upper) = bounds_of(bucket);
            if micros < 1 << MAX_EXPONENT {
                assert!(
                    lower <= micros && micros <= upper,
                    "{micros} in {lower}..={upper}"
                );
                // The error bound the module promises.
                if micros >= SUB_BUCKETS as u64 {
                    assert!((upper - lower + 1) * 8 <= lower, "{lower}..={upper}");
                }
            } else {
                assert_eq!(bucket, BUCKETS - 1);
            }
        }
    }

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        for bucket in 1..BUCKETS {
            assert_eq!(bounds_of(bucket).0, bounds_of(bucket - 1).1 + 1, "{bucket}");
        }
    }

    #[test]
    fn percentiles_are_within_an_eighth_above_the_true_value() {
        let durations = of(1..=100);
        assert_eq!(durations.count(), 100);
        for (quantile, truth) in [(0.5, 50.0), (0.9, 90.0), (0.99, 99.0)] {
            let read = durations
                .percentile(quantile)
                .expect("recorded")
                .as_secs_f64()
                * 1000.0;
            assert!(
                read >= truth && read <= truth * 1.125,
                "p{quantile}: {read} ms for {truth} ms"
            );
        }
        assert_eq!(durations.percentile(1.0), Some(Duration::from_millis(100)));
        assert_eq!(durations.max(), Some(Duration::from_millis(100)));
        assert_eq!(durations.mean(), Some(Duration::from_micros(50_500)));
    }

    #[test]
    fn a_slow_tail_shows_in_p99_but_not_in_the_median() {
        let durations = of(std::iter::repeat_n(2, 98).chain([1_500, 1_900]));
        let p50 = durations.percentile(0.5).expect("recorded");
        let p99 = durations.percentile(0.99).expect("recorded");
        assert!(p50 <= Duration::from_micros(2_250), "{p50:?}");
        assert!(p99 >= Duration::from_millis(1_500), "{p99:?}");
        assert!(
            p99 <= Duration::from_millis(1_900),
            "capped at the max: {p99:?}"
        );
    }

    #[test]
    fn nothing_recorded_has_no_percentiles() {
        let durations = Durations::default();
        assert_eq!(durations.count(), 0);
        assert_eq!(durations.percentile(0.5), None);
        assert_eq!(durations.mean(), None);
        assert_eq!(durations.max(), None);
    }

    #[test]
    fn merged_durations_count_both() {
        let mut fast = of([1, 1, 1]);
        fast.merge(&of([100]));
        assert_eq!(fast.count(), 4);
        assert_eq!(fast.max(), Some(Duration::from_millis(100)));
        assert_eq!(fast.percentile(0.5).map(|d| d.as_millis()), Some(1));
    }

    #[test]
    fn durations_past_the_last_bucket_are_capped_at_the_longest_seen() {
        let durations = of([u64::MAX / 1_000_000]);
        assert_eq!(durations.count(), 1);
        assert!(durations.percentile(0.5).is_some());
    }
}
