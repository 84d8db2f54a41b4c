//! Group commit: the writes of many concurrent callers applied in one durable transaction.
//!
//! A durable redb commit costs an `fdatasync`; when many peers submit at once, paying it
//! once per submission makes the disk the bottleneck. [`GroupCommit::run`] queues a job;
//! the first caller to find no batch in progress becomes the *leader*: it takes every job
//! queued so far (its own included), applies them with one call of `apply` (which opens
//! one write transaction, applies each job and commits once) and hands each caller its
//! result. Jobs that arrive meanwhile wait; when the leader is done it passes leadership
//! to the first of them, so no caller serves others for longer than one batch.
//!
//! Nothing is acknowledged before the commit that contains it: `apply` returns the
//! results only after its commit succeeded, or failures for every job of the batch.
//! If `apply` panics, every waiting caller gets [`Abandoned`] and the next caller leads.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, MutexGuard};

/// The batch a job was in was abandoned (its writer panicked); nothing of it was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the write batch was abandoned; nothing of it was committed")]
pub struct Abandoned;

enum Msg<R> {
    Done(R),
    Lead,
}

struct State<J, R> {
    queue: Vec<(J, Sender<Msg<R>>)>,
    leading: bool,
}

/// A queue of jobs of type `J` answered with `R`, applied in batches.
pub struct GroupCommit<J, R> {
    state: Mutex<State<J, R>>,
}

impl<J, R> Default for GroupCommit<J, R> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                queue: Vec::new(),
                leading: false,
            }),
        }
    }
}

impl<J, R> std::fmt::Debug for GroupCommit<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

/// Resets the queue if the leader unwinds, so waiting callers are released.
struct Leading<'a, J, R>(&'a GroupCommit<J, R>);

impl<J, R> Drop for Leading<'_, J, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut s = self.0.lock();
            s.leading = false;
            s.queue.clear(); // dropping the senders wakes every waiter with `Abandoned`
        }
    }
}

impl<J, R> GroupCommit<J, R> {
    fn lock(&self) -> MutexGuard<'_, State<J, R>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job` and returns its result once the batch holding it has been applied.
    /// `apply` gets the batch's jobs in arrival order and returns one result per job, in
    /// the same order; it runs on whichever caller leads that batch.
    pub fn run(&self, job: J, apply: impl FnOnce(Vec<J>) -> Vec<R>) -> Result<R, Abandoned> {
        let (tx, rx) = mpsc::channel();
        let lead = {
            let mut s = self.lock();
            s.queue.push((job, tx));
            !std::mem::replace(&mut s.leading, true)
        };
        if !lead {
            match rx.recv() {
                Ok(Msg::Done(r)) => return Ok(r),
                Ok(Msg::Lead) => {}
                Err(_) => return Err(Abandoned),
            }
        }
        self.lead(apply, &rx)
    }

    fn lead(
        &self,
        apply: impl FnOnce(Vec<J>) -> Vec<R>,
        mine: &Receiver<Msg<R>>,
    ) -> Result<R, Abandoned> {
        let guard = Leading(self);
        let batch = std::mem::take(&mut self.lock().queue);
        let (jobs, senders): (Vec<J>, Vec<Sender<Msg<R>>>) = batch.into_iter().unzip();
        let results = apply(jobs);
        assert_eq!(results.len(), senders.len(), "one result per job");
        for (tx, r) in senders.into_iter().zip(results) {
            let _ = tx.send(Msg::Done(r));
        }
        {
            let mut s = self.lock();
            match s.queue.first() {
                Some((_, next)) => {
                    let _ = next.send(Msg::Lead);
                }
                None => s.leading = false,
            }
        }
        drop(guard);
        match mine.try_recv() {
            Ok(Msg::Done(r)) => Ok(r),
            _ => Err(Abandoned), // unreachable: the leader's own job is in its batch
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn every_job_gets_its_own_result_and_batches_form_under_contention() {
        let g = GroupCommit::<u32, u32>::default();
        let batches = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..16u32 {
                let (g, batches) = (&g, &batches);
                s.spawn(move || {
                    for i in 0..200u32 {
                        let job = t * 1000 + i;
                        let r = g
                            .run(job, |jobs| {
                                batches.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(std::time::Duration::from_micros(200));
                                jobs.iter().map(|j| j * 2).collect()
                            })
                            .expect("applied");
                        assert_eq!(r, job * 2);
                    }
                });
            }
        });
        let n = batches.into_inner();
        assert!(
            n < 16 * 200,
            "{n} batches for 3200 jobs: nothing was grouped"
        );
    }

    #[test]
    fn a_panicking_batch_releases_its_waiters_and_the_next_caller_leads() {
        let g = GroupCommit::<u32, u32>::default();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            g.run(1, |_| panic!("writer failed"))
        }));
        assert!(r.is_err());
        assert_eq!(g.run(2, |jobs| jobs), Ok(2));
    }
}
