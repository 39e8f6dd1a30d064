//! The pass-through transport's worker pool, with Java `ThreadPoolExecutor` semantics, which
//! is what synapse uses: up to `core` requests run; the next ones wait in the queue; only when
//! the queue is full are extra workers started, up to `max`; beyond that a request is rejected.
//!
//! So with the default unbounded queue (-1) `max` never takes effect: a surprise worth showing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct WorkerPool {
    core: Arc<Semaphore>,
    extra: Arc<Semaphore>,
    /// `None`: unbounded.
    queue_limit: Option<usize>,
    queued: AtomicUsize,
    peak_queued: AtomicUsize,
    rejected: AtomicU64,
}

/// Held while a worker runs a request's mediation.
pub struct Worker {
    _permit: OwnedSemaphorePermit,
}

/// One request's place in the queue, counted while it exists.
struct QueuePlace<'a> {
    queued: &'a AtomicUsize,
    /// Requests that were waiting when this one arrived.
    ahead: usize,
}

impl<'a> QueuePlace<'a> {
    fn take(queued: &'a AtomicUsize) -> QueuePlace<'a> {
        let ahead = queued.fetch_add(1, Ordering::AcqRel);
        QueuePlace { queued, ahead }
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// All workers busy and the queue full.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejected;

impl WorkerPool {
    pub fn new(core: u32, max: u32, queue_length: i64) -> WorkerPool {
        let core = core.max(1) as usize;
        let max = (max as usize).max(core);
        WorkerPool {
            core: Arc::new(Semaphore::new(core)),
            extra: Arc::new(Semaphore::new(max - core)),
            queue_limit: usize::try_from(queue_length).ok(),
            queued: AtomicUsize::new(0),
            peak_queued: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    pub async fn acquire(&self) -> Result<Worker, Rejected> {
        if let Ok(p) = Arc::clone(&self.core).try_acquire_owned() {
            return Ok(Worker { _permit: p });
        }
        // The place in the queue is given back however the wait ends, including when the
        // client goes away and the request's task is dropped while it waits.
        let place = QueuePlace::take(&self.queued);
        if self.queue_limit.is_some_and(|limit| place.ahead >= limit) {
            drop(place);
            // Queue full: an extra thread takes the request, if `max` allows one.
            return match Arc::clone(&self.extra).try_acquire_owned() {
                Ok(p) => Ok(Worker { _permit: p }),
                Err(_) => {
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                    Err(Rejected)
                }
            };
        }
        self.peak_queued
            .fetch_max(place.ahead + 1, Ordering::Relaxed);
        // Queued requests wait for a core worker. (In Java, extra threads also take from the
        // queue once started; here an extra worker serves only the request that overflowed.)
        let permit = Arc::clone(&self.core).acquire_owned().await;
        drop(place);
        permit.map(|p| Worker { _permit: p }).map_err(|_| Rejected)
    }

    pub fn peak_queued(&self) -> usize {
        self.peak_queued.load(Ordering::Relaxed)
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::gateway::test_runtime as rt;

    #[test]
    fn unbounded_queue_never_uses_more_than_core() {
        rt().block_on(async {
            let pool = Arc::new(WorkerPool::new(2, 50, -1));
            let a = pool.acquire().await.expect("a");
            let _b = pool.acquire().await.expect("b");
            let p = Arc::clone(&pool);
            let waiter = tokio::spawn(async move { p.acquire().await.is_ok() });
            tokio::task::yield_now().await;
            // The third waits although `max` is 50.
            assert!(!waiter.is_finished());
            assert_eq!(pool.peak_queued(), 1);
            drop(a);
            assert!(waiter.await.expect("join"));
        });
    }

    /// A client that gives up while queued must not keep its place (review finding).
    #[test]
    fn a_cancelled_wait_gives_its_queue_place_back() {
        rt().block_on(async {
            let pool = Arc::new(WorkerPool::new(1, 1, 1));
            let core = pool.acquire().await.expect("core");
            let p = Arc::clone(&pool);
            let waiting = tokio::spawn(async move { p.acquire().await.map(|_| ()) });
            tokio::task::yield_now().await;
            waiting.abort();
            let _ = waiting.await;
            drop(core);
            // Idle again: one request runs, the next queues instead of being rejected.
            let _busy = pool.acquire().await.expect("runs");
            let p = Arc::clone(&pool);
            let queued = tokio::spawn(async move { p.acquire().await.map(|_| ()) });
            tokio::task::yield_now().await;
            assert!(
                !queued.is_finished(),
                "rejected: the cancelled wait kept its place"
            );
            assert_eq!(pool.rejected(), 0);
            drop(_busy);
            assert_eq!(queued.await.expect("join"), Ok(()));
        });
    }

    #[test]
    fn bounded_queue_adds_extra_workers_then_rejects() {
        rt().block_on(async {
            let pool = Arc::new(WorkerPool::new(1, 2, 1));
            let core = pool.acquire().await.expect("core");
            let p = Arc::clone(&pool);
            let queued = tokio::spawn(async move { p.acquire().await.map(|_| ()) });
            tokio::task::yield_now().await;
            // Queue (1) full: the next gets the one extra worker, the one after is rejected.
            let extra = pool.acquire().await.expect("extra");
            assert_eq!(pool.acquire().await.err(), Some(Rejected));
            assert_eq!(pool.rejected(), 1);
            drop(extra);
            // The queued request waits for the core worker, not for the extra one.
            tokio::task::yield_now().await;
            assert!(!queued.is_finished());
            drop(core);
            assert_eq!(queued.await.expect("join"), Ok(()));
        });
    }
}
