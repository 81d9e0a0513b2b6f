//! Proof of freshness for copies kept in step by PostgreSQL's `LISTEN`/`NOTIFY`.
//!
//! Every 100 ms an instance sends itself a heartbeat notification on its feed's channel and
//! notes when it sent it. PostgreSQL delivers notifications in commit order, so once the
//! heartbeat sent at `t` has come back, every change committed before `t` has been
//! delivered, and (once applied) the copy is current as of `t`. Used by the license read
//! model and the listing feed.

use crate::Database;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait as _, Statement};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often a heartbeat is sent.
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_millis(100);
/// How long a feed may stay silent (heartbeats included) before its connection is presumed
/// dead.
pub(crate) const FEED_SILENCE: Duration = Duration::from_secs(5);

/// The heartbeats one instance has in flight on one channel.
#[derive(Debug)]
pub(crate) struct Heartbeats {
    channel: &'static str,
    instance: String,
    in_flight: Mutex<HashMap<String, Instant>>,
}

impl Heartbeats {
    /// Heartbeats on `channel`, sent every [`HEARTBEAT_EVERY`] on `database` for as long
    /// as the returned value lives.
    pub(crate) fn start(database: Database, channel: &'static str) -> Arc<Self> {
        let heartbeats = Arc::new(Self {
            channel,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            in_flight: Mutex::new(HashMap::new()),
        });
        let beater = Arc::downgrade(&heartbeats);
        tokio::spawn(async move {
            let mut sequence: u64 = 0;
            loop {
                tokio::time::sleep(HEARTBEAT_EVERY).await;
                let Some(heartbeats) = beater.upgrade() else {
                    return;
                };
                sequence += 1;
                heartbeats.send(&database, sequence).await;
            }
        });
        heartbeats
    }

    /// The channel the heartbeats travel on.
    pub(crate) fn channel(&self) -> &'static str {
        self.channel
    }

    async fn send(&self, database: &Database, sequence: u64) {
        let payload = format!("{}:{sequence}", self.instance);
        let sent = Instant::now();
        {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            in_flight.retain(|_, at| sent.duration_since(*at) < Duration::from_secs(10));
            in_flight.insert(payload.clone(), sent);
        }
        let db = database.connection();
        let statement = Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT pg_notify($1, $2)",
            [self.channel.into(), payload.into()],
        );
        if let Err(err) = db.execute_raw(statement).await {
            tracing::debug!(error = %err, channel = self.channel, "heartbeat not sent");
        }
    }

    /// When the heartbeat `payload` was sent, if it is one of this instance's: every change
    /// committed before then has been delivered.
    pub(crate) fn returned(&self, payload: &str) -> Option<Instant> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(payload)
    }
}

/// What one turn of a feed applies: the ids announced on its changes channel since the last
/// turn (sorted, once each), and the latest of this instance's heartbeats among them.
pub(crate) struct Turn {
    pub(crate) changed: Vec<uuid::Uuid>,
    pub(crate) returned: Option<Instant>,
}

/// Waits for the next notification on `listener`, then takes every one already buffered
/// with it. The changes are to be applied before the heartbeat is vouched for.
///
/// # Errors
/// When the connection fails or stays silent longer than [`FEED_SILENCE`] (heartbeats
/// arrive every 100 ms, so silence means a dead connection).
pub(crate) async fn next_turn(
    listener: &mut PgListener,
    changes: &str,
    heartbeats: &Heartbeats,
) -> Result<Turn, String> {
    let first = tokio::time::timeout(FEED_SILENCE, listener.try_recv())
        .await
        .map_err(|_| "the change feed went silent".to_owned())?
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the notification connection closed".to_owned())?;
    let mut turn = Turn {
        changed: Vec::new(),
        returned: None,
    };
    let mut next = Some(first);
    while let Some(notification) = next {
        if notification.channel() == changes {
            if let Ok(id) = notification.payload().parse::<uuid::Uuid>() {
                turn.changed.push(id);
            }
        } else if let Some(sent) = heartbeats.returned(notification.payload()) {
            turn.returned = turn.returned.max(Some(sent));
        }
        next = listener.next_buffered();
    }
    turn.changed.sort_unstable();
    turn.changed.dedup();
    Ok(turn)
}
