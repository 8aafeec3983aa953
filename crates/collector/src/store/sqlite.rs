//! The embedded SQLite backend: one connection, serialized by a mutex and used from the
//! blocking pool. SQLite takes one writer at a time anyway; WAL keeps readers off the
//! writer's back, and `synchronous=NORMAL` makes each commit survive a crash of the
//! process (not of the machine), which is what graceful restarts need.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Error, Result, Row, Stored};

/// Schema changes in order; never edit one that has shipped, add the next.
const MIGRATIONS: &[&str] = &["CREATE TABLE reports (
        installation_id TEXT NOT NULL,
        day TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        report TEXT NOT NULL,
        PRIMARY KEY (installation_id, day)
    );
    CREATE INDEX reports_by_day ON reports (day);"];

/// How long a statement waits for another process holding the file's write lock.
const BUSY_TIMEOUT_MS: u32 = 5_000;

pub struct Sqlite {
    connection: Arc<Mutex<Connection>>,
}

impl Sqlite {
    pub async fn open(path: &Path) -> Result<Sqlite> {
        let path = path.to_owned();
        let connection = tokio::task::spawn_blocking(move || open_and_migrate(&path))
            .await
            .map_err(|e| Error::Query {
                operation: "open",
                source: Box::new(e),
            })??;
        Ok(Sqlite {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` on the connection in the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite inconsistent: a statement
            // either committed or did not.
            let mut guard = connection.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut guard)
        })
        .await
        .map_err(|e| Error::Query {
            operation,
            source: Box::new(e),
        })?
        .map_err(|e| Error::Query {
            operation,
            source: Box::new(e),
        })
    }

    pub async fn put(&self, row: Row<'_>) -> Result<Stored> {
        let (id, day, received, report) = (
            row.installation.to_string(),
            row.day.to_string(),
            row.received.as_second(),
            row.report.to_owned(),
        );
        self.with("insert", move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let existed = tx
                .query_row(
                    "SELECT 1 FROM reports WHERE installation_id = ?1 AND day = ?2",
                    params![id, day],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            tx.execute(
                "INSERT INTO reports (installation_id, day, received_at, report)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (installation_id, day)
                 DO UPDATE SET received_at = excluded.received_at, report = excluded.report",
                params![id, day, received, report],
            )?;
            tx.commit()?;
            Ok(if existed {
                Stored::Replaced
            } else {
                Stored::New
            })
        })
        .await
    }

    pub async fn latest_reports(&self, from: Date, to: Date) -> Result<Vec<String>> {
        let (from, to) = (from.to_string(), to.to_string());
        self.with("read", move |c| {
            let mut statement = c.prepare_cached(
                "SELECT report FROM (
                    SELECT report, ROW_NUMBER() OVER (PARTITION BY installation_id ORDER BY day DESC) AS n
                    FROM reports WHERE day >= ?1 AND day <= ?2
                 ) WHERE n = 1",
            )?;
            let rows = statement.query_map(params![from, to], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    /// (day, installations) rows, as the database returns them.
    pub async fn daily_actives(&self, from: Date, to: Date) -> Result<Vec<(String, i64)>> {
        let (from, to) = (from.to_string(), to.to_string());
        self.with("read", move |c| {
            let mut statement = c.prepare_cached(
                "SELECT day, COUNT(*) FROM reports WHERE day >= ?1 AND day <= ?2
                     GROUP BY day ORDER BY day",
            )?;
            let rows = statement.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    pub async fn active_installations(&self, from: Date, to: Date) -> Result<i64> {
        let (from, to) = (from.to_string(), to.to_string());
        self.with("read", move |c| {
            c.query_row(
                "SELECT COUNT(DISTINCT installation_id) FROM reports WHERE day >= ?1 AND day <= ?2",
                params![from, to],
                |r| r.get(0),
            )
        })
        .await
    }

    pub async fn delete_before(&self, day: Date) -> Result<u64> {
        let day = day.to_string();
        let n = self
            .with("delete", move |c| {
                let n = c.execute("DELETE FROM reports WHERE day < ?1", params![day])?;
                if n > 0 {
                    // Expired reports must leave the disk, not linger in the write-ahead log.
                    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                }
                Ok(n)
            })
            .await?;
        Ok(n as u64)
    }

    pub async fn ping(&self) -> Result<()> {
        self.with("ping", |c| c.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }
}

fn open_and_migrate(path: &Path) -> Result<Connection> {
    let open_error = |source: rusqlite::Error| Error::Open {
        database: format!("sqlite:{}", path.display()),
        source: Box::new(source),
    };
    let mut c = Connection::open(path).map_err(open_error)?;
    c.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS.into()))
        .map_err(open_error)?;
    c.pragma_update(None, "journal_mode", "WAL")
        .map_err(open_error)?;
    c.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_error)?;
    // Sorts for the summary stay in memory: the image has no writable /tmp.
    c.pragma_update(None, "temp_store", "MEMORY")
        .map_err(open_error)?;
    // Deleted reports are overwritten, not just unlinked (see `delete_before`).
    c.pragma_update(None, "secure_delete", "ON")
        .map_err(open_error)?;
    migrate(&mut c)?;
    Ok(c)
}

fn migrate(c: &mut Connection) -> Result<()> {
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| migrate_error(0, e))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )
    .map_err(|e| migrate_error(0, e))?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| migrate_error(0, e))?;
    if current > MIGRATIONS.len() as i64 {
        return Err(Error::NewerSchema {
            found: current,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i + 1;
        tx.execute_batch(sql)
            .map_err(|e| migrate_error(version, e))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s','now'))",
            params![version as i64],
        )
        .map_err(|e| migrate_error(version, e))?;
    }
    tx.commit().map_err(|e| migrate_error(MIGRATIONS.len(), e))
}

fn migrate_error(version: usize, source: rusqlite::Error) -> Error {
    Error::Migrate {
        version,
        source: Box::new(source),
    }
}
