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
    Done(Vec<R>),
    Lead,
}

/// One caller's jobs and where to send their results.
type Waiting<J, R> = (Vec<J>, Sender<Msg<R>>);

struct State<J, R> {
    queue: Vec<Waiting<J, R>>,
    leading: bool,
}

/// Batches concurrent callers' jobs into one `apply` call each (see the module docs).
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

/// Clears the leader flag if the leader's `apply` panics, so the next caller can lead.
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

    /// Queues `job` and returns its result once the batch that holds it was applied.
    /// `apply` is called only if this caller becomes the leader; it must return one
    /// result per job, in order.
    pub fn run(&self, job: J, apply: impl FnOnce(Vec<J>) -> Vec<R>) -> Result<R, Abandoned> {
        let mut r = self.run_many(vec![job], apply)?;
        Ok(r.pop().expect("one result per job"))
    }

    /// Queues `jobs` together and returns their results, in order, once the batch that
    /// holds them was applied: a caller's jobs are never split between batches, so a
    /// batch of many submissions from one peer costs one commit, shared with whatever
    /// other callers queued meanwhile.
    pub fn run_many(
        &self,
        jobs: Vec<J>,
        apply: impl FnOnce(Vec<J>) -> Vec<R>,
    ) -> Result<Vec<R>, Abandoned> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = mpsc::channel();
        let lead = {
            let mut s = self.lock();
            s.queue.push((jobs, tx));
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

    /// Applies everything queued (this caller's jobs included), hands out the results
    /// and passes leadership on.
    fn lead(
        &self,
        apply: impl FnOnce(Vec<J>) -> Vec<R>,
        mine: &Receiver<Msg<R>>,
    ) -> Result<Vec<R>, Abandoned> {
        let guard = Leading(self);
        let batch = std::mem::take(&mut self.lock().queue);
        let mut counts = Vec::with_capacity(batch.len());
        let mut senders = Vec::with_capacity(batch.len());
        let mut jobs = Vec::new();
        for (j, tx) in batch {
            counts.push(j.len());
            senders.push(tx);
            jobs.extend(j);
        }
        let total = jobs.len();
        let mut results = apply(jobs).into_iter();
        assert_eq!(results.len(), total, "one result per job");
        for (tx, n) in senders.into_iter().zip(counts) {
            let _ = tx.send(Msg::Done(results.by_ref().take(n).collect()));
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
            _ => Err(Abandoned), // unreachable: the leader's own jobs are in its batch
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

    #[test]
    fn a_callers_jobs_stay_together_and_come_back_in_order() {
        let g = GroupCommit::<u32, u32>::default();
        let sizes = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..8u32 {
                let (g, sizes) = (&g, &sizes);
                s.spawn(move || {
                    for i in 0..50u32 {
                        let jobs: Vec<u32> = (0..10).map(|k| t * 100_000 + i * 100 + k).collect();
                        let r = g
                            .run_many(jobs.clone(), |all| {
                                sizes.lock().unwrap().push(all.len());
                                all.iter().map(|j| j + 1).collect()
                            })
                            .expect("applied");
                        assert_eq!(r, jobs.iter().map(|j| j + 1).collect::<Vec<_>>());
                    }
                });
            }
        });
        let sizes = sizes.into_inner().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 8 * 50 * 10);
        assert!(
            sizes.iter().all(|n| n % 10 == 0),
            "a caller's jobs were split between batches: {sizes:?}"
        );
        assert_eq!(g.run_many(Vec::new(), |_| unreachable!()), Ok(Vec::new()));
    }
}
