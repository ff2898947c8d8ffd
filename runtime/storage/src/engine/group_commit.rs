//! Group commit: writes commit to redb without an fsync, then wait for one durable commit that
//! covers every write committed before it started.
//!
//! redb's `Durability::None` commits are persisted by the next `Durability::Immediate` commit
//! (redb 5 documentation of `Durability::None`). So a write commits with `None`, takes a ticket,
//! and waits until a durable commit started after its own commit has finished. The first waiter
//! runs that durable commit (an empty transaction). redb runs one write transaction at a time,
//! so writes cannot commit during the fsync: the leader first lets the writes already queued
//! for the write lock commit, then one fsync covers all of them.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::db::OrInternal;
use crate::error::Result;

// TODO(storage-speed): each write is still its own redb transaction and blocking-pool task, and
// concurrent writes take the write lock one by one. `bench/document-db.sh` measured about 3,900
// single-document creates/s from 32 connections on 2 shared cores, below 10,000/s. Applying the
// queued writes of a group in one transaction would remove the per-write commit.

/// Maximum time a leader waits for queued writes to commit before its durable commit. A queued
/// write's commit is short next to an fsync, so this only bounds the wait when one is held up
/// (by a search index commit, for example).
const MAX_GATHER: Duration = Duration::from_millis(2);

/// Tickets of non-durable commits and how far the durable commits have reached.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    /// Signalled when a durable commit ends.
    synced: Condvar,
    /// Signalled when a write commits or gives up.
    recorded: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Writes between [`GroupCommit::begin`] and their commit or failure.
    pending: usize,
    /// Ticket of the last non-durable commit recorded.
    committed: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// Whether a durable commit is running.
    syncing: bool,
}

/// A write that has not committed yet; dropping it without [`Self::record`] withdraws it.
pub(crate) struct PendingWrite<'a> {
    group: &'a GroupCommit,
    done: bool,
}

impl PendingWrite<'_> {
    /// Records the write's non-durable commit and returns its ticket. Call it right after the
    /// commit and before the write lock is released, so tickets follow commit order.
    pub fn record(mut self) -> u64 {
        self.done = true;
        let mut state = self.group.state.lock();
        state.pending -= 1;
        state.committed += 1;
        self.group.recorded.notify_all();
        state.committed
    }
}

impl Drop for PendingWrite<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.group.state.lock().pending -= 1;
            self.group.recorded.notify_all();
        }
    }
}

impl GroupCommit {
    /// Announces a write before it waits for the write lock, so that a leader about to fsync
    /// waits for it.
    pub fn begin(&self) -> PendingWrite<'_> {
        self.state.lock().pending += 1;
        PendingWrite {
            group: self,
            done: false,
        }
    }

    /// Blocks until the commit of `ticket` is durable, running the durable commit when no
    /// other thread is running one.
    ///
    /// # Errors
    ///
    /// [`crate::StorageError::Internal`] when the durable commit fails; the next waiter retries.
    pub fn wait_durable(&self, db: &redb::Database, ticket: u64) -> Result<()> {
        let mut state = self.state.lock();
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.syncing {
                self.synced.wait(&mut state);
                continue;
            }
            state.syncing = true;
            let deadline = Instant::now() + MAX_GATHER;
            while state.pending > 0 && !self.recorded.wait_until(&mut state, deadline).timed_out() {
            }
            let target = state.committed;
            drop(state);

            let result = durable_commit(db);

            state = self.state.lock();
            state.syncing = false;
            if result.is_ok() {
                state.durable = state.durable.max(target);
            }
            self.synced.notify_all();
            result?;
        }
    }

    /// Blocks until every commit recorded so far is durable.
    ///
    /// # Errors
    ///
    /// [`crate::StorageError::Internal`] when the durable commit fails.
    pub fn sync_all(&self, db: &redb::Database) -> Result<()> {
        let ticket = self.state.lock().committed;
        self.wait_durable(db, ticket)
    }
}

/// Commits an empty transaction with `Durability::Immediate`, which persists every
/// non-durable commit before it.
fn durable_commit(db: &redb::Database) -> Result<()> {
    let txn = db.begin_write().or_internal()?;
    txn.commit().or_internal()
}
