//! Where reports are kept: an embedded SQLite file by default, PostgreSQL by URL.
//!
//! One table, one row per installation per UTC day of arrival (the primary key), holding
//! the validated report as JSON. A later report the same day replaces the row, so retries
//! and replays never double count. Nothing else about a request is stored: no address, no
//! header, no arrival order beyond the day.
//!
//! Both backends run the same statements in their own dialect and the same numbered
//! migrations, recorded in `schema_migrations` and applied at start.

mod postgres;
mod sqlite;

use std::fmt;
use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the database {database}")]
    Open {
        database: String,
        #[source]
        source: BoxError,
    },
    #[error("cannot apply database migration {version}")]
    Migrate {
        version: usize,
        #[source]
        source: BoxError,
    },
    #[error(
        "the database is at schema version {found}, newer than this collector knows ({known}): run a newer collector"
    )]
    NewerSchema { found: i64, known: usize },
    #[error("database {operation} failed")]
    Query {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
}

impl Error {
    fn query(operation: &'static str) -> impl FnOnce(BoxError) -> Error {
        move |source| Error::Query { operation, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `--database`: `postgres://…` or `postgresql://…` for PostgreSQL; `sqlite:PATH`,
/// `sqlite://PATH` or a plain file path for SQLite.
#[derive(Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<tokio_postgres::Config>),
}

impl Location {
    pub fn parse(value: &str) -> Result<Location, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            let config = value
                .parse::<tokio_postgres::Config>()
                .map_err(|e| format!("not a usable PostgreSQL URL: {e}"))?;
            return Ok(Location::Postgres(Box::new(config)));
        }
        let path = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
            .unwrap_or(value);
        if path.is_empty() || path.contains("://") {
            return Err("expected postgres://USER@HOST/DB, sqlite:PATH or a file path".to_owned());
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }
}

/// Safe to log: a PostgreSQL location shows host, port and database, never the password.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Location::Postgres(config) => {
                let host = config
                    .get_hosts()
                    .first()
                    .map(|h| match h {
                        tokio_postgres::config::Host::Tcp(name) => name.clone(),
                        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .unwrap_or_else(|| "localhost".to_owned());
                let port = config.get_ports().first().copied().unwrap_or(5432);
                let db = config.get_dbname().unwrap_or("");
                write!(f, "postgres://{host}:{port}/{db}")
            }
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What storing a report did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The installation's first report of the day.
    New,
    /// It replaced the installation's earlier report of the same day.
    Replaced,
}

/// One report as stored.
pub struct Row<'a> {
    pub installation: Uuid,
    pub day: Date,
    pub received: Timestamp,
    /// The validated report, serialized by the collector.
    pub report: &'a str,
}

pub enum Database {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Postgres>),
}

impl Database {
    /// Connects and applies the migrations this collector knows.
    pub async fn open(location: &Location) -> Result<Database> {
        match location {
            Location::Sqlite(path) => Ok(Database::Sqlite(sqlite::Sqlite::open(path).await?)),
            Location::Postgres(config) => Ok(Database::Postgres(Box::new(
                postgres::Postgres::open(config, location.to_string()).await?,
            ))),
        }
    }

    pub async fn put(&self, row: Row<'_>) -> Result<Stored> {
        match self {
            Database::Sqlite(db) => db.put(row).await,
            Database::Postgres(db) => db.put(row).await,
        }
    }

    /// Each installation's latest report among the days `from..=to`.
    pub async fn latest_reports(&self, from: Date, to: Date) -> Result<Vec<String>> {
        match self {
            Database::Sqlite(db) => db.latest_reports(from, to).await,
            Database::Postgres(db) => db.latest_reports(from, to).await,
        }
    }

    /// Installations that reported on each day of `from..=to` (days without any are absent).
    pub async fn daily_actives(&self, from: Date, to: Date) -> Result<Vec<(Date, u64)>> {
        let rows = match self {
            Database::Sqlite(db) => db.daily_actives(from, to).await?,
            Database::Postgres(db) => db.daily_actives(from, to).await?,
        };
        rows.into_iter()
            .map(|(day, n)| Ok((parse_day(&day)?, count(n))))
            .collect()
    }

    /// Distinct installations that reported on any day of `from..=to`.
    pub async fn active_installations(&self, from: Date, to: Date) -> Result<u64> {
        let n = match self {
            Database::Sqlite(db) => db.active_installations(from, to).await?,
            Database::Postgres(db) => db.active_installations(from, to).await?,
        };
        Ok(count(n))
    }

    /// Deletes the reports of days before `day`; returns how many.
    pub async fn delete_before(&self, day: Date) -> Result<u64> {
        match self {
            Database::Sqlite(db) => db.delete_before(day).await,
            Database::Postgres(db) => db.delete_before(day).await,
        }
    }

    /// A round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Database::Sqlite(db) => db.ping().await,
            Database::Postgres(db) => db.ping().await,
        }
    }
}

/// A SQL `COUNT`, which both drivers hand back as a signed integer.
fn count(n: i64) -> u64 {
    n.max(0) as u64
}

/// Parses a `YYYY-MM-DD` day read back from the database.
fn parse_day(text: &str) -> Result<Date> {
    text.parse::<Date>()
        .map_err(|e| Error::query("read")(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_chosen_by_scheme_and_logged_without_passwords() {
        let pg = Location::parse("postgres://app:s3cret@db.internal:6543/telemetry").unwrap();
        assert_eq!(pg.to_string(), "postgres://db.internal:6543/telemetry");
        let pg = Location::parse("postgresql://app@localhost/t").unwrap();
        assert_eq!(pg.to_string(), "postgres://localhost:5432/t");
        assert_eq!(
            Location::parse("sqlite:data/reports.db")
                .unwrap()
                .to_string(),
            "sqlite:data/reports.db"
        );
        assert_eq!(
            Location::parse("/var/lib/axon/reports.db")
                .unwrap()
                .to_string(),
            "sqlite:/var/lib/axon/reports.db"
        );
        assert_eq!(
            Location::parse("mysql://x/y").unwrap_err(),
            "expected postgres://USER@HOST/DB, sqlite:PATH or a file path"
        );
        assert_eq!(
            Location::parse("").unwrap_err(),
            "expected postgres://USER@HOST/DB, sqlite:PATH or a file path"
        );
    }
}
