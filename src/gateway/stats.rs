//! Measurements the load generator and the gateway share: a latency histogram, error counts and
//! a sampler for this process's open files and resident memory.
//!
//! Everything here is plain data except [`ProcessSampler`], which runs on a thread of its own.

use std::io;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency the histogram tracks: one hour, in microseconds. Slower responses are
/// clamped to it rather than dropped, so a pathological run still shows up as "at least an hour".
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Three significant digits keep every percentile within 0.1% of the true value while the
/// histogram stays around 180 KiB, small enough to keep one per run.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Latency histogram in microseconds, 1 µs .. 1 hour, 3 significant digits (hdrhistogram).
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Latency {
        let hist = Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS)
            .expect("constant histogram bounds are valid");
        Latency { hist }
    }

    /// Records one latency. Values above one hour are clamped to one hour and values below 1 µs
    /// to 1 µs, so recording never fails and never resizes the histogram in the hot path.
    pub fn record(&mut self, d: Duration) {
        self.record_us(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one latency given in microseconds, with the same clamping as [`Latency::record`].
    pub fn record_us(&mut self, us: u64) {
        self.hist.saturating_record(us.clamp(1, MAX_LATENCY_US));
    }

    /// Adds every sample of `other` to this histogram.
    pub fn merge(&mut self, other: &Latency) {
        if self.hist.add(&other.hist).is_err() {
            // Unreachable while both sides come from `Latency::new`, which fixes the bounds; kept
            // so a future constructor with other bounds degrades to clamping instead of losing data.
            for v in other.hist.iter_recorded() {
                self.hist
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The latency at percentile `q` (0..=100, e.g. 99.9) in milliseconds; 0 when empty.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        let total = self.hist.len();
        // Ask for the middle of the wanted rank so float error cannot tip the histogram's own
        // `ceil` into the next one.
        let quantile = (rank(q, total) as f64 - 0.5) / total as f64;
        us_to_ms(self.hist.value_at_quantile(quantile))
    }

    /// The largest latency in milliseconds (to the histogram's precision); 0 when empty.
    pub fn max_ms(&self) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        us_to_ms(self.hist.max())
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            p50: round3(self.percentile_ms(50.0)),
            p90: round3(self.percentile_ms(90.0)),
            p99: round3(self.percentile_ms(99.0)),
            p99_9: round3(self.percentile_ms(99.9)),
            max: round3(self.max_ms()),
        }
    }
}

/// The 1-based rank of the sample at percentile `q` among `total`: the smallest rank with at
/// least `q`% of the samples at or below it.
///
/// `99.9 / 100.0` is a hair above 0.999 in binary, so a plain `ceil` would report the 1000th of
/// 1000 samples as p99.9 instead of the 999th; products within float error of a whole rank are
/// taken as that rank.
fn rank(q: f64, total: u64) -> u64 {
    let exact = q.clamp(0.0, 100.0) / 100.0 * total as f64;
    let nearest = exact.round();
    let rank = if (exact - nearest).abs() <= exact * 1e-12 {
        nearest
    } else {
        exact.ceil()
    };
    (rank as u64).clamp(1, total)
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Rounds to three decimals so reports show microsecond resolution and no float noise.
fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Latency percentiles in milliseconds, rounded to 3 decimals.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

/// Failed or unsuccessful requests by cause.
///
/// `status_4xx` and `status_5xx` count responses that did complete; the other fields count
/// requests that never got a full response.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ErrorCounts {
    pub timeouts: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub connect: u64,
    pub emfile: u64,
    pub io: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.timeouts + self.status_4xx + self.status_5xx + self.connect + self.emfile + self.io
    }

    pub fn add(&mut self, other: &ErrorCounts) {
        self.timeouts += other.timeouts;
        self.status_4xx += other.status_4xx;
        self.status_5xx += other.status_5xx;
        self.connect += other.connect;
        self.emfile += other.emfile;
        self.io += other.io;
    }

    /// Counts a completed response's status if it is an error (4xx or 5xx).
    pub fn count_status(&mut self, status: u16) {
        match status {
            400..=499 => self.status_4xx += 1,
            500..=599 => self.status_5xx += 1,
            _ => {}
        }
    }
}

/// Classifies a failed connect or I/O error: EMFILE/ENFILE -> emfile, connect refused/EADDRNOTAVAIL/etc
/// during connect -> connect, else io.
///
/// Running out of file descriptors gets its own bucket whatever the phase, because it is the one
/// failure a tuning tool can name the fix for (`nofile` limits). Any other error while connecting
/// is a connect failure (refused, no ephemeral port left, unreachable, connect timeout).
pub fn classify_io(err: &io::Error, during_connect: bool, counts: &mut ErrorCounts) {
    if is_fd_exhaustion(err) {
        counts.emfile += 1;
    } else if during_connect {
        counts.connect += 1;
    } else {
        counts.io += 1;
    }
}

fn is_fd_exhaustion(err: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(err.raw_os_error(), Some(code) if code == Errno::EMFILE as i32 || code == Errno::ENFILE as i32)
}

/// Peak open file descriptors and resident memory of this process over a run.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ProcessPeaks {
    pub open_files: Option<u64>,
    pub rss_bytes: Option<u64>,
}

impl ProcessPeaks {
    fn observe(&mut self, open_files: Option<u64>, rss_bytes: Option<u64>) {
        self.open_files = max_option(self.open_files, open_files);
        self.rss_bytes = max_option(self.rss_bytes, rss_bytes);
    }

    fn sample(&mut self) {
        self.observe(open_files_now(), rss_now());
    }
}

fn max_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Samples this process's open files and memory on a thread of its own (listing
/// `/proc/self/fd` takes milliseconds at tens of thousands of descriptors, which must not stall
/// the load generator's only thread), keeping the peaks.
pub struct ProcessSampler {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<ProcessPeaks>>,
}

impl ProcessSampler {
    /// Starts sampling; the first sample is taken immediately.
    pub fn start(interval: Duration) -> ProcessSampler {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let period = interval.max(Duration::from_millis(1));
        let thread = std::thread::Builder::new()
            .name("apim-tune-sampler".into())
            .spawn(move || {
                let mut peaks = ProcessPeaks::default();
                // Ends when told to or when the sampler is dropped (the sender goes away).
                loop {
                    peaks.sample();
                    match stopped.recv_timeout(period) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                        _ => return peaks,
                    }
                }
            })
            .ok();
        ProcessSampler { stop, thread }
    }

    /// Stops the sampler and returns the peaks, including one last sample taken now.
    pub fn stop(mut self) -> ProcessPeaks {
        let _ = self.stop.send(());
        let mut peaks = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        peaks.sample();
        peaks
    }
}

/// The number of file descriptors this process has open, or `None` without `/proc`.
pub fn open_files_now() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    let listed = entries.filter(|e| e.is_ok()).count() as u64;
    // Reading the directory holds one descriptor of its own, which is listed too.
    Some(listed.saturating_sub(1))
}

/// This process's resident set size in bytes (`VmRSS`), or `None` without `/proc`.
pub fn rss_now() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// Parses the `VmRSS:    1234 kB` line of `/proc/<pid>/status` into bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut words = line.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency_of_ms(values: impl IntoIterator<Item = u64>) -> Latency {
        let mut l = Latency::new();
        for ms in values {
            l.record(Duration::from_millis(ms));
        }
        l
    }

    /// hdrhistogram with 3 significant digits reports a value within 0.1% of the recorded one.
    fn assert_close(actual: f64, expected: f64) {
        let tolerance = expected * 0.001 + 0.001;
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within 0.1% of {expected}"
        );
    }

    #[test]
    fn percentiles_of_one_to_a_thousand_ms() {
        let l = latency_of_ms(1..=1000);
        assert_eq!(l.count(), 1000);
        assert_close(l.percentile_ms(50.0), 500.0);
        assert_close(l.percentile_ms(90.0), 900.0);
        assert_close(l.percentile_ms(99.0), 990.0);
        assert_close(l.percentile_ms(99.9), 999.0);
        assert_close(l.percentile_ms(100.0), 1000.0);
        assert_close(l.max_ms(), 1000.0);
    }

    #[test]
    fn ranks_are_not_pushed_up_by_float_error() {
        assert_eq!(rank(99.9, 1000), 999);
        assert_eq!(rank(99.99, 10_000), 9999);
        assert_eq!(rank(50.0, 3), 2);
        assert_eq!(rank(99.0, 101), 100);
        assert_eq!(rank(0.0, 10), 1);
        assert_eq!(rank(100.0, 10), 10);
        assert_eq!(rank(250.0, 10), 10);
    }

    #[test]
    fn summary_is_rounded_to_microseconds() {
        let mut l = Latency::new();
        l.record(Duration::from_nanos(1_234_567));
        let s = l.summary();
        assert_close(s.p50, 1.234);
        for v in [s.p50, s.p90, s.p99, s.p99_9, s.max] {
            assert_eq!(v, (v * 1000.0).round() / 1000.0);
        }
    }

    #[test]
    fn empty_histogram_reports_zero() {
        let l = Latency::new();
        assert_eq!(l.count(), 0);
        assert_eq!(l.summary(), LatencySummary::default());
    }

    #[test]
    fn record_clamps_instead_of_failing() {
        let mut l = Latency::new();
        l.record(Duration::from_secs(2 * 3600));
        l.record(Duration::ZERO);
        assert_eq!(l.count(), 2);
        assert_close(l.max_ms(), 3_600_000.0);
        assert_close(l.percentile_ms(0.0), 0.001);
    }

    #[test]
    fn merge_adds_samples_from_both() {
        let mut a = latency_of_ms(1..=10);
        let b = latency_of_ms([100, 200]);
        a.merge(&b);
        assert_eq!(a.count(), 12);
        assert_close(a.max_ms(), 200.0);
        assert_close(a.percentile_ms(50.0), 6.0);
    }

    #[test]
    fn error_counts_total_and_add() {
        let mut a = ErrorCounts {
            timeouts: 1,
            status_4xx: 2,
            status_5xx: 3,
            connect: 4,
            emfile: 5,
            io: 6,
        };
        assert_eq!(a.total(), 21);
        let b = a;
        a.add(&b);
        assert_eq!(a.total(), 42);
        assert_eq!(a.io, 12);
        a.count_status(404);
        a.count_status(503);
        a.count_status(200);
        a.count_status(302);
        assert_eq!((a.status_4xx, a.status_5xx), (5, 7));
    }

    #[test]
    fn classify_io_puts_fd_exhaustion_first() {
        let mut c = ErrorCounts::default();
        classify_io(&io::Error::from_raw_os_error(24), false, &mut c); // EMFILE
        classify_io(&io::Error::from_raw_os_error(24), true, &mut c);
        classify_io(&io::Error::from_raw_os_error(23), true, &mut c); // ENFILE
        assert_eq!(c.emfile, 3);
        assert_eq!(c.total(), 3);
    }

    #[test]
    fn classify_io_splits_connect_from_io() {
        let mut c = ErrorCounts::default();
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        classify_io(&refused, true, &mut c);
        classify_io(&io::Error::from_raw_os_error(99), true, &mut c); // EADDRNOTAVAIL
        classify_io(&refused, false, &mut c);
        classify_io(&io::Error::from(io::ErrorKind::BrokenPipe), false, &mut c);
        assert_eq!(c.connect, 2);
        assert_eq!(c.io, 2);
        assert_eq!(c.emfile, 0);
    }

    #[test]
    fn vm_rss_is_parsed_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9999 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn peaks_keep_the_maximum_and_tolerate_missing_samples() {
        let mut p = ProcessPeaks::default();
        p.observe(None, None);
        assert_eq!(p, ProcessPeaks::default());
        p.observe(Some(10), Some(100));
        p.observe(Some(5), None);
        p.observe(Some(12), Some(50));
        assert_eq!(
            p,
            ProcessPeaks {
                open_files: Some(12),
                rss_bytes: Some(100)
            }
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn sampler_keeps_the_peak_after_files_are_closed() {
        // A test process normally holds around ten descriptors, so a peak of at least 100 can
        // only come from a periodic sample taken while the files below were open.
        let sampler = ProcessSampler::start(Duration::from_millis(5));
        let held: Vec<std::fs::File> = (0..100)
            .map(|_| std::fs::File::open("/proc/self/status").unwrap())
            .collect();
        // Long enough for the sampler thread to be scheduled even on a loaded machine.
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(held);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let peaks = sampler.stop();
        assert!(peaks.open_files.unwrap() >= 100, "{peaks:?}");
        assert!(peaks.rss_bytes.unwrap() > 0);
    }
}
