//! A run's plain (masked) log, written to the store as the run goes (`task run`, `serve`).

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::store::{LOG_CHUNK_MAX, Store};

/// The run's plain (masked) log, appended to the store as it comes, in chunks of up to
/// [`LOG_CHUNK_MAX`], so a long log is never held in memory whole. It writes through a
/// connection of its own (the writer must be `'static`); a store that cannot be opened loses
/// the log, never the run.
#[derive(Clone)]
pub struct RunLog(Arc<Mutex<RunLogState>>);

struct RunLogState {
    store: Option<Store>,
    run_id: String,
    pending: Vec<u8>,
}

impl RunLog {
    /// A log of run `run_id` in the store under `home`.
    pub fn new(home: &Path, run_id: &str) -> Self {
        Self(Arc::new(Mutex::new(RunLogState {
            store: Store::open(home).ok(),
            run_id: run_id.to_owned(),
            pending: Vec::new(),
        })))
    }

    /// Stores what has not been stored yet.
    pub fn finish(&self) {
        if let Ok(mut state) = self.0.lock() {
            state.store_pending();
        }
    }
}

impl RunLogState {
    /// Stores the first `len` pending bytes.
    fn store(&mut self, len: usize) {
        if let Some(store) = &self.store {
            let _ = store.append_log(&self.run_id, &self.pending[..len]);
        }
        self.pending.drain(..len);
    }

    fn store_pending(&mut self) {
        self.store(self.pending.len());
    }
}

impl Write for RunLog {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut state) = self.0.lock() {
            state.pending.extend_from_slice(b);
            // Whole chunks only, so every stored chunk but the last is LOG_CHUNK_MAX bytes.
            let whole = state.pending.len() / LOG_CHUNK_MAX * LOG_CHUNK_MAX;
            if whole > 0 {
                state.store(whole);
            }
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
