//! Work that goes on after the caller has been answered.
//!
//! A service that can answer from what it already holds, and only needs to bring that up
//! to date, should not make its caller wait for the update. How such work is run belongs to
//! whoever runs the service (the API server's async runtime, a test that runs it by hand),
//! so services only see this port.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

/// One piece of background work. It reports nothing: a task whose outcome matters to a
/// caller does not belong in the background.
pub type BackgroundTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs tasks apart from the request that started them.
pub trait Background: Debug + Send + Sync + 'static {
    /// Starts `task` and returns at once. A runner that cannot start it (its runtime is
    /// shutting down) drops it; callers must not rely on a task having run.
    fn spawn(&self, task: BackgroundTask);
}
