//! Checkpoints: answering "the state as of event N" without replaying the
//! whole capture.
//!
//! The caller feeds every record in order through [`Checkpoints::push`];
//! every `interval` events a clone of the live state is kept (cheap: see the
//! module docs of [`super`]). [`Checkpoints::state_at`] then takes the
//! nearest checkpoint at or before N and replays the remaining records from a
//! caller-supplied source. Memory is about one state's pointer maps per
//! checkpoint plus the tables written since the previous one.
//!
//! Event numbers here count applied records from 0: `state_at(n)` is the
//! state after records `0..n`, i.e. just before record `n` is applied.

use super::{Effect, State, StateError};
use crate::event::wire::Record;

/// Default checkpoint interval, in events.
pub const DEFAULT_INTERVAL: u64 = 100_000;

/// A live state plus periodic snapshots of it.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    interval: u64,
    saved: Vec<State>,
    live: State,
}

impl Checkpoints {
    /// Starts from `initial` (normally [`State::new`] of the capture's
    /// snapshot), keeping a checkpoint every `interval` events.
    pub fn new(initial: State, interval: u64) -> Result<Self, StateError> {
        if interval == 0 {
            return Err(StateError::ZeroInterval { interval });
        }
        Ok(Checkpoints {
            interval,
            saved: vec![initial.clone()],
            live: initial,
        })
    }

    /// Applies the next record to the live state, checkpointing when due.
    pub fn push(&mut self, rec: &Record<'_>) -> Effect {
        let e = self.live.apply(rec);
        if self.live.applied() % self.interval == 0 {
            self.saved.push(self.live.clone());
        }
        e
    }

    /// The live state (after every pushed record).
    pub fn current(&self) -> &State {
        &self.live
    }

    /// Records pushed so far (plus those applied before [`Checkpoints::new`]).
    pub fn applied(&self) -> u64 {
        self.live.applied()
    }

    /// The checkpoint interval.
    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// Number of checkpoints kept (the initial state included).
    pub fn len(&self) -> usize {
        self.saved.len()
    }

    /// Always `false`: the initial state is a checkpoint.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }

    /// The latest checkpoint at or before event `n`, or `None` if `n` is
    /// before the first one.
    pub fn nearest(&self, n: u64) -> Option<&State> {
        let i = self.saved.partition_point(|s| s.applied() <= n);
        i.checked_sub(1).map(|i| &self.saved[i])
    }

    /// The checkpoint to resume from for event `n` (a clone; its
    /// [`State::applied`] is the event to replay from).
    pub fn resume(&self, n: u64) -> Result<State, StateError> {
        if n == self.live.applied() {
            return Ok(self.live.clone());
        }
        match self.nearest(n) {
            Some(cp) => Ok(cp.clone()),
            None => Err(StateError::BeforeStart {
                wanted: n,
                first: self.saved.first().map_or(0, State::applied),
            }),
        }
    }

    /// The state after records `0..n`, replaying through a visitor: this
    /// suits lending cursors whose records borrow a reused buffer.
    ///
    /// `replay(k, visit)` must feed the capture's records from event `k` on
    /// to `visit`, stopping when it returns `false`; it is only called when a
    /// replay is needed.
    pub fn state_at_with<F, E>(&self, n: u64, replay: F) -> Result<State, StateError>
    where
        F: FnOnce(u64, &mut dyn FnMut(&Record<'_>) -> bool) -> Result<(), E>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut st = self.resume(n)?;
        if st.applied() == n {
            return Ok(st);
        }
        let start = st.applied();
        let mut visit = |rec: &Record<'_>| {
            st.apply(rec);
            st.applied() < n
        };
        replay(start, &mut visit).map_err(|e| StateError::Source {
            index: start,
            source: e.into(),
        })?;
        if st.applied() < n {
            return Err(StateError::ShortReplay {
                wanted: n,
                got: st.applied(),
            });
        }
        Ok(st)
    }

    /// The state after records `0..n`, replaying from an iterator.
    ///
    /// `records_from(k)` must yield the capture's records from event `k` on,
    /// each item holding one record at its start; it is only called when a
    /// replay is needed, and read only up to event `n`.
    pub fn state_at<F, I, B, E>(&self, n: u64, records_from: F) -> Result<State, StateError>
    where
        F: FnOnce(u64) -> I,
        I: IntoIterator<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut st = self.resume(n)?;
        if st.applied() == n {
            return Ok(st);
        }
        let mut it = records_from(st.applied()).into_iter();
        while st.applied() < n {
            let index = st.applied();
            let item = match it.next() {
                Some(i) => i,
                None => {
                    return Err(StateError::ShortReplay {
                        wanted: n,
                        got: index,
                    })
                }
            };
            let bytes = item.map_err(|e| StateError::Source {
                index,
                source: e.into(),
            })?;
            let (rec, _) = Record::parse(bytes.as_ref())
                .map_err(|source| StateError::BadRecord { index, source })?;
            st.apply(&rec);
        }
        Ok(st)
    }
}
