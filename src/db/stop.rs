//! Stopping a clean between batches: the first Ctrl-C or SIGTERM asks the run to stop after the
//! batch in flight (which commits); a second one exits at once, and the database rolls the open
//! transaction back when the connection drops. Either way nothing is half-deleted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

/// The exit status of a run stopped by a signal (128 + SIGINT, as shells report it).
const INTERRUPTED: i32 = 130;

#[derive(Clone, Default)]
pub struct Stop {
    requested: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Stop {
    /// A stop flag set by SIGINT/SIGTERM. Must be called inside the runtime.
    pub fn on_signals() -> Stop {
        let stop = Stop::default();
        let s = stop.clone();
        tokio::spawn(async move {
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            for _ in 0..2 {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                if s.requested() {
                    // Second signal: the user means it. The open transaction is rolled back by
                    // the server when the connection goes.
                    std::process::exit(INTERRUPTED);
                }
                s.request();
            }
        });
        stop
    }

    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Sleeps `d`, or less when a stop is requested meanwhile.
    pub async fn pause(&self, d: Duration) {
        if d.is_zero() || self.requested() {
            return;
        }
        let notified = self.notify.notified();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = notified => {}
        }
    }
}
