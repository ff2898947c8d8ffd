//! Writer queue: callers queue their writes and await a reply, and one blocking task applies
//! everything queued in one redb transaction with one durable commit.
//!
//! redb runs one write transaction at a time and an fsync costs far more than applying a few
//! documents, so the writes that arrive while one batch commits form the next batch. One
//! failed write (an existing id, a missing document) fails only its own result. A failed
//! transaction (a redb or disk error) fails every call of the batch.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::prepare::PreparedCall;
use super::write::WriteOp;
use super::{Collection, Inner};
use crate::error::Result;
use crate::store::WriteResult;

// TODO(storage-speed): a batch's callers wait for its durable commit and its staging before
// they can send more, and the next batch is only applied after both. Staging a committed batch
// on another thread while the next one is applied would shorten that round trip, but catalog
// changes (a rebuilt search index) would then have to wait for the staging thread too.

/// The writes of one call on one collection, waiting for the next batch.
pub(crate) struct QueuedWrite {
    pub index: String,
    pub collection: String,
    pub operations: Vec<WriteOp>,
    /// The new sources the caller prepared, `None` when the collection was not found.
    pub prepared: Option<PreparedCall>,
    pub reply: oneshot::Sender<Result<AppliedWrite>>,
}

/// The outcome of one queued call once its batch is durable and staged.
pub(crate) struct AppliedWrite {
    /// One result per operation, in order.
    pub results: Vec<Result<WriteResult>>,
    /// Sequence number of the call's last successful write, 0 when none succeeded.
    pub last_seq: u64,
    pub collection: Arc<Collection>,
}

/// Writes waiting for a batch, and whether a task is draining them.
#[derive(Default)]
pub(crate) struct WriteQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    writes: Vec<QueuedWrite>,
    draining: bool,
}

impl std::fmt::Debug for WriteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock();
        f.debug_struct("WriteQueue")
            .field("queued", &state.writes.len())
            .field("draining", &state.draining)
            .finish()
    }
}

impl WriteQueue {
    /// Queues a write. Returns `true` when no task is draining the queue, so the caller must
    /// start one.
    pub fn push(&self, write: QueuedWrite) -> bool {
        let mut state = self.state.lock();
        state.writes.push(write);
        !std::mem::replace(&mut state.draining, true)
    }

    /// Takes every queued write, or returns `None` and ends the drain when the queue is empty.
    pub fn take_batch(&self) -> Option<Vec<QueuedWrite>> {
        let mut state = self.state.lock();
        if state.writes.is_empty() {
            state.draining = false;
            return None;
        }
        Some(std::mem::take(&mut state.writes))
    }

    /// Ends the drain without taking the queued writes, so the next [`Self::push`] starts a new
    /// task for them.
    fn abandon_drain(&self) {
        self.state.lock().draining = false;
    }
}

/// Ends the drain if the draining task unwinds, so that the next write starts a new task.
/// The callers of the batch that panicked see their reply channel closed.
pub(crate) struct DrainGuard(pub Weak<Inner>);

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(inner) = self.0.upgrade()
        {
            inner.write_queue.abandon_drain();
        }
    }
}
