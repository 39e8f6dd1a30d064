//! A runtime driven by a thread of its own, so the synchronous callers of the facade only ever
//! hold a handle. With one thread it is a current-thread runtime: the gateway's whole request
//! path then runs on that thread with no cross-thread scheduling, like one nginx worker.

use super::GatewayError;
use std::future::Future;
use std::time::Duration;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::oneshot;

pub fn build(threads: usize, name: &str) -> Result<Runtime, GatewayError> {
    let mut builder = if threads <= 1 {
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    builder
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(GatewayError::Runtime)
}

pub struct Driven {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Driven {
    pub fn new(threads: usize, name: &str) -> Result<Driven, GatewayError> {
        let rt = build(threads, name)?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                // Drives I/O and timers (and, on one thread, every task) until dropped.
                let _ = rt.block_on(stopped);
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(GatewayError::Runtime)?;
        Ok(Driven {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `f` to completion from a synchronous caller (never from inside the runtime).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
