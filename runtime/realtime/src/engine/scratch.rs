//! Buffers that matching reuses from one document to the next instead of allocating them.

use std::cell::RefCell;

use super::SubfilterId;

/// Buffers longer than this are freed after use, so that one document matching many filters
/// does not keep that memory for the life of the thread.
const MAX_KEPT: usize = 4096;

/// Working lists of one match.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Subfilters whose plain conditions are all satisfied.
    pub complete: Vec<SubfilterId>,
    /// Subfilters with several plain conditions, once per satisfied one.
    pub satisfied: Vec<SubfilterId>,
    /// Subfilters with a falsified negated condition.
    pub blocked: Vec<SubfilterId>,
}

impl Scratch {
    fn clear(&mut self) {
        self.complete.clear();
        self.satisfied.clear();
        self.blocked.clear();
    }

    fn trim(&mut self) {
        let too_long = self.complete.capacity() > MAX_KEPT
            || self.satisfied.capacity() > MAX_KEPT
            || self.blocked.capacity() > MAX_KEPT;
        if too_long {
            *self = Self::default();
        }
    }
}

thread_local! {
    // A constant initializer spares every access the check for first use.
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            complete: Vec::new(),
            satisfied: Vec::new(),
            blocked: Vec::new(),
        })
    };
}

/// Runs `f` with this thread's buffers, emptied, or with new ones if a caller up the stack
/// is already using them.
pub fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            scratch.clear();
            let result = f(&mut scratch);
            scratch.trim();
            result
        }
        Err(_) => f(&mut Scratch::default()),
    })
}
