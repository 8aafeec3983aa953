//! The PostgreSQL backend: one connection, shared (tokio-postgres pipelines concurrent
//! queries over it) and reopened when it breaks; a statement that failed because it broke
//! runs once more on the new one, so a database restart is invisible to reporters unless
//! the database stays away.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;
use tokio_postgres::{Client, NoTls, Statement};
use tracing::warn;

use super::{Error, Result, Row, Stored};

/// Schema changes in order; never edit one that has shipped, add the next.
const MIGRATIONS: &[&str] = &["CREATE TABLE reports (
        installation_id uuid NOT NULL,
        day date NOT NULL,
        received_at timestamptz NOT NULL,
        report jsonb NOT NULL,
        PRIMARY KEY (installation_id, day)
    );
    CREATE INDEX reports_by_day ON reports (day);"];

/// Held while migrating, so that collectors starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6178_6f6e_7465_6c65; // "axontele"

/// Used when the URL sets no `connect_timeout`: long enough for a database across a
/// region, short enough that `/readyz` answers while the database is away.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const PUT: &str = "INSERT INTO reports (installation_id, day, received_at, report)
    VALUES ($1::text::uuid, $2::text::date, to_timestamp($3::bigint), $4::text::jsonb)
    ON CONFLICT (installation_id, day)
    DO UPDATE SET received_at = excluded.received_at, report = excluded.report
    RETURNING (xmax = 0) AS inserted";

struct Connection {
    client: Client,
    put: Statement,
}

pub struct Postgres {
    config: tokio_postgres::Config,
    /// The location as logged (no password).
    name: String,
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
}

impl Postgres {
    pub async fn open(config: &tokio_postgres::Config, name: String) -> Result<Postgres> {
        let mut config = config.clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("axon-telemetry");
        }
        let db = Postgres {
            config,
            name,
            connection: tokio::sync::Mutex::new(None),
        };
        let mut client = db.connect_client().await?;
        migrate(&mut client).await?;
        let put = client.prepare(PUT).await.map_err(|e| db.open_error(e))?;
        *db.connection.lock().await = Some(Arc::new(Connection { client, put }));
        Ok(db)
    }

    fn open_error(&self, source: tokio_postgres::Error) -> Error {
        Error::Open {
            database: self.name.clone(),
            source: Box::new(source),
        }
    }

    async fn connect_client(&self) -> Result<Client> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| self.open_error(e))?;
        let name = self.name.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                warn!("the connection to {name} ended: {e}; the next request reconnects");
            }
        });
        Ok(client)
    }

    /// The shared connection, reopened if it broke.
    async fn connection(&self) -> Result<Arc<Connection>> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(Arc::clone(c));
        }
        let client = self.connect_client().await?;
        let put = client.prepare(PUT).await.map_err(|e| self.open_error(e))?;
        let c = Arc::new(Connection { client, put });
        *slot = Some(Arc::clone(&c));
        Ok(c)
    }

    /// Runs `query` on the shared connection. When it fails because the connection broke
    /// (a database restart, a failover, an idle timeout on the way), it runs once more on
    /// a new connection: every statement here is safe to repeat.
    async fn run<T, F, Fut>(&self, operation: &'static str, query: F) -> Result<T>
    where
        F: Fn(Arc<Connection>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let c = self.connection().await?;
        match query(Arc::clone(&c)).await {
            Ok(value) => Ok(value),
            Err(_) if c.client.is_closed() => {
                let c = self.connection().await?;
                query(c)
                    .await
                    .map_err(|e| Error::query(operation)(Box::new(e)))
            }
            Err(e) => Err(Error::query(operation)(Box::new(e))),
        }
    }

    pub async fn put(&self, row: Row<'_>) -> Result<Stored> {
        let (id, day, received) = (
            row.installation.to_string(),
            row.day.to_string(),
            row.received.as_second(),
        );
        let report = row.report;
        let inserted: bool = self
            .run("insert", |c| {
                let (id, day) = (id.clone(), day.clone());
                async move {
                    let row = c
                        .client
                        .query_one(&c.put, &[&id, &day, &received, &report])
                        .await?;
                    Ok(row.get(0))
                }
            })
            .await?;
        Ok(if inserted {
            Stored::New
        } else {
            Stored::Replaced
        })
    }

    pub async fn latest_reports(&self, from: Date, to: Date) -> Result<Vec<String>> {
        self.read_days(
            from,
            to,
            "SELECT report::text FROM (
                SELECT report, ROW_NUMBER() OVER (PARTITION BY installation_id ORDER BY day DESC) AS n
                FROM reports WHERE day >= $1::text::date AND day <= $2::text::date
             ) latest WHERE n = 1",
            |rows| rows.iter().map(|r| r.get(0)).collect(),
        )
        .await
    }

    /// (day, installations) rows, as the database returns them.
    pub async fn daily_actives(&self, from: Date, to: Date) -> Result<Vec<(String, i64)>> {
        self.read_days(
            from,
            to,
            "SELECT day::text, COUNT(*) FROM reports
                 WHERE day >= $1::text::date AND day <= $2::text::date
                 GROUP BY day ORDER BY day",
            |rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        )
        .await
    }

    pub async fn active_installations(&self, from: Date, to: Date) -> Result<i64> {
        self.read_days(
            from,
            to,
            "SELECT COUNT(DISTINCT installation_id) FROM reports
                 WHERE day >= $1::text::date AND day <= $2::text::date",
            // COUNT answers exactly one row.
            |rows| rows.first().map_or(0, |r| r.get(0)),
        )
        .await
    }

    /// Runs `sql`, a read over the days `from` ($1) to `to` ($2) inclusive, and turns its
    /// rows into the answer with `answer`.
    async fn read_days<T>(
        &self,
        from: Date,
        to: Date,
        sql: &'static str,
        answer: fn(&[tokio_postgres::Row]) -> T,
    ) -> Result<T> {
        let (from, to) = (from.to_string(), to.to_string());
        self.run("read", |c| {
            let (from, to) = (from.clone(), to.clone());
            async move {
                let rows = c.client.query(sql, &[&from, &to]).await?;
                Ok(answer(&rows))
            }
        })
        .await
    }

    pub async fn delete_before(&self, day: Date) -> Result<u64> {
        let day = day.to_string();
        self.run("delete", |c| {
            let day = day.clone();
            async move {
                c.client
                    .execute("DELETE FROM reports WHERE day < $1::text::date", &[&day])
                    .await
            }
        })
        .await
    }

    pub async fn ping(&self) -> Result<()> {
        self.run("ping", |c| async move {
            c.client.simple_query("SELECT 1").await.map(drop)
        })
        .await
    }
}

async fn migrate(client: &mut Client) -> Result<()> {
    let error = |version: usize| {
        move |e: tokio_postgres::Error| Error::Migrate {
            version,
            source: Box::new(e),
        }
    };
    let tx = client.transaction().await.map_err(error(0))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(error(0))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(error(0))?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations",
            &[],
        )
        .await
        .map_err(error(0))?
        .get(0);
    if current > MIGRATIONS.len() as i64 {
        return Err(Error::NewerSchema {
            found: current,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i + 1;
        tx.batch_execute(sql).await.map_err(error(version))?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(version as i32)],
        )
        .await
        .map_err(error(version))?;
    }
    tx.commit().await.map_err(error(MIGRATIONS.len()))
}
