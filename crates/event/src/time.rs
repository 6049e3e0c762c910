//! Event time.

use serde::{Deserialize, Serialize};

/// Nanoseconds since the Unix epoch, UTC.
///
/// Nanoseconds because CDM carries `timestampNanos`; auditd has milliseconds,
/// Sysmon 100 ns ticks. An `i64` covers 1677–2262, which every log fits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// From whole seconds plus a nanosecond part; `None` when it overflows.
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Option<Self> {
        secs.checked_mul(1_000_000_000)
            .and_then(|s| s.checked_add(i64::from(nanos)))
            .map(Self)
    }

    /// From microseconds since the epoch; `None` when it overflows.
    pub fn from_micros(micros: i64) -> Option<Self> {
        micros.checked_mul(1_000).map(Self)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as a float, for display and features.
    #[allow(clippy::cast_precision_loss)]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// This time shifted by `nanos`, saturating at the ends of the range.
    pub const fn saturating_add_nanos(self, nanos: i64) -> Self {
        Self(self.0.saturating_add(nanos))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        write!(f, "{secs}.{nanos:09}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_seconds_with_nanos() {
        let t = Timestamp::from_secs_nanos(1_795_507_858, 552_000_000).unwrap();
        assert_eq!(t.to_string(), "1795507858.552000000");
        assert_eq!(Timestamp::from_nanos(-1).to_string(), "-1.999999999");
    }

    #[test]
    fn overflow_is_none() {
        assert!(Timestamp::from_secs_nanos(i64::MAX, 0).is_none());
        assert!(Timestamp::from_micros(i64::MAX).is_none());
    }
}
