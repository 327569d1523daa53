//! A few open registers for the central register's server, each lent to one request at a
//! time: with PostgreSQL, requests then run on several connections at once (signature checks,
//! reads, and the parts of a write before its lock); with SQLite, readers run beside the one
//! writer (WAL mode).
//!
//! Registers are synchronous (the `postgres` client must not run on an async worker thread),
//! so a request borrows one on a blocking thread: [`Pool::take`] waits there until one is free.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::register::{Location, Register, RegisterError};

/// How many registers the server opens.
pub const SERVER_CONNECTIONS: usize = 8;

/// Open registers, lent one request at a time.
pub struct Pool {
    free: Mutex<Vec<Box<dyn Register>>>,
    returned: Condvar,
}

impl Pool {
    /// Opens `size` registers at `location` (at least one).
    pub fn open(location: &Location, size: usize) -> Result<Pool, RegisterError> {
        let registers = (0..size.max(1))
            .map(|_| location.open())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pool::new(registers))
    }

    /// A pool of registers already open.
    pub fn new(registers: Vec<Box<dyn Register>>) -> Pool {
        Pool {
            free: Mutex::new(registers),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Box<dyn Register>>> {
        // A request that panicked returned nothing to the list: the list itself is whole.
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A register for this thread, once one is free. Blocks: call it off the async threads.
    pub fn take(&self) -> Lease<'_> {
        let mut free = self.lock();
        loop {
            if let Some(register) = free.pop() {
                return Lease {
                    pool: self,
                    register: Some(register),
                };
            }
            free = self.returned.wait(free).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Pool {
    /// Closes the registers on a thread of their own. The server drops its pool inside its
    /// async runtime, and the PostgreSQL client closes its connection by running a small
    /// runtime of its own, which cannot start inside another: dropped there, it panicked and
    /// aborted the server on every shutdown (and on a port already in use).
    fn drop(&mut self) {
        let registers = std::mem::take(&mut *self.lock());
        if registers.is_empty() {
            return;
        }
        let _ = std::thread::spawn(move || drop(registers)).join();
    }
}

/// A register lent by the pool; it goes back when the lease is dropped.
pub struct Lease<'a> {
    pool: &'a Pool,
    register: Option<Box<dyn Register>>,
}

impl Deref for Lease<'_> {
    type Target = dyn Register;

    fn deref(&self) -> &Self::Target {
        match &self.register {
            Some(r) => r.as_ref(),
            None => unreachable!("a lease holds its register until it is dropped"),
        }
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.register {
            Some(r) => r.as_mut(),
            None => unreachable!("a lease holds its register until it is dropped"),
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.register.take() {
            self.pool.lock().push(r);
            self.pool.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_waits_for_a_free_register_and_each_goes_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let location = Location::Sqlite(dir.path().join("r.sqlite"));
        let pool = std::sync::Arc::new(Pool::open(&location, 2).expect("open"));
        let first = pool.take();
        let second = pool.take();
        let (tell, told) = std::sync::mpsc::channel();
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                tell.send(nix::unistd::gettid()).expect("send");
                pool.take().stations().map(|s| s.len())
            })
        };
        // Once the waiter sleeps (in the kernel: nothing else in `take` blocks while nobody
        // holds the list), it is waiting for a register. A `take` that does not wait ends
        // the thread instead.
        let tid = told.recv().expect("the waiter's thread id");
        let stat = format!("/proc/self/task/{tid}/stat");
        let started = std::time::Instant::now();
        while !waiter.is_finished() && !sleeping(&stat) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "the waiter neither slept nor ended"
            );
            std::thread::yield_now();
        }
        assert!(
            !waiter.is_finished(),
            "take returned while no register was free"
        );
        drop(first);
        assert_eq!(waiter.join().expect("thread").expect("read"), 0);
        drop(second);
        assert_eq!(pool.lock().len(), 2);
    }

    /// Whether the thread whose `/proc/self/task/TID/stat` is `stat` sleeps (state `S`).
    fn sleeping(stat: &str) -> bool {
        std::fs::read_to_string(stat)
            .ok()
            .and_then(|s| {
                let (_, rest) = s.rsplit_once(')')?;
                rest.split_whitespace().next().map(|state| state == "S")
            })
            .unwrap_or(false)
    }
}
