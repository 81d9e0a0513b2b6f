//! The server's [`Background`] runner: tasks run on the async runtime of the worker that
//! started them, after its response has gone out.

use devforge_domain::{Background, BackgroundTask};

/// Spawns background tasks on the current Tokio runtime (each server worker runs one).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeBackground;

impl Background for RuntimeBackground {
    fn spawn(&self, task: BackgroundTask) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(task);
            }
            // Only code outside the server (a command-line tool) gets here; the task is
            // dropped, which the port allows: its work is redone when next needed.
            Err(_) => tracing::warn!("no async runtime: a background task was dropped"),
        }
    }
}
