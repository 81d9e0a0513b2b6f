//! The server's [`Background`] runner: tasks run on the async runtime of the worker that
//! started them, without the request that started them waiting for them.

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

#[cfg(test)]
mod tests {
    use super::RuntimeBackground;
    use devforge_domain::Background;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn a_task_runs_on_the_runtime_of_its_caller() {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        RuntimeBackground.spawn(Box::pin(async move {
            let _ = sender.send(7);
        }));
        assert_eq!(receiver.await, Ok(7));
    }

    /// Sets its flag when dropped.
    struct DropFlag(Arc<AtomicBool>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn outside_a_runtime_a_task_is_dropped_without_running() {
        let ran = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(Arc::clone(&dropped));
        let ran_in_task = Arc::clone(&ran);
        RuntimeBackground.spawn(Box::pin(async move {
            let _flag = flag;
            ran_in_task.store(true, Ordering::SeqCst);
        }));
        assert!(dropped.load(Ordering::SeqCst), "the task was let go");
        assert!(!ran.load(Ordering::SeqCst), "and never ran");
    }
}
