//! Where the server keeps its state: an SQLite file or a PostgreSQL database, chosen by
//! the text of `--db` (one parser for every binary and embedder).
//!
//! `postgres://…` and `postgresql://…` select PostgreSQL; anything else is an SQLite path.
//! A PostgreSQL URL may carry `pool_size=N` in its query string (the connections one
//! process keeps open, default [`DEFAULT_POOL_SIZE`]); gx-server removes it before the
//! rest of the URL goes to the driver. The password of a URL never appears in `Debug` or
//! `Display`.

use core::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::store::{PgStore, SqliteStore, Store, StoreError};

/// Connections one process keeps to PostgreSQL unless the URL says `pool_size=N`.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// A PostgreSQL connection URL (its password kept out of every printout).
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    url: Zeroizing<String>,
    pool_size: usize,
}

impl PostgresUrl {
    /// The URL as the driver takes it (without `pool_size`). Holds the password, if any.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// Connections one process keeps open.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// The URL with its password replaced by `***`, for messages.
    pub fn redacted(&self) -> String {
        let url: &str = &self.url;
        let Some((scheme, rest)) = url.split_once("://") else {
            return String::from("postgres://***");
        };
        let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                if userinfo.contains(':') {
                    format!("{scheme}://{user}:***@{host}{tail}")
                } else {
                    format!("{scheme}://{user}@{host}{tail}")
                }
            }
            None => format!("{scheme}://{authority}{tail}"),
        }
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresUrl")
            .field("url", &self.redacted())
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// The server's database: `--db` parsed once.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// One SQLite file (the default): one process serves it.
    Sqlite(PathBuf),
    /// A PostgreSQL database that any number of replicas share.
    Postgres(PostgresUrl),
}

/// Why a `--db` value is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseError {
    /// The value is empty.
    Empty,
    /// `pool_size` is not a number in 1..=1000.
    PoolSize,
}

impl DatabaseError {
    /// A stable code for scripts and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "EMPTY_DB",
            Self::PoolSize => "BAD_POOL_SIZE",
        }
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("--db needs an SQLite path or a postgres:// URL"),
            Self::PoolSize => f.write_str("pool_size in a postgres:// URL must be 1..=1000"),
        }
    }
}

impl core::error::Error for DatabaseError {}

impl Database {
    /// Reads `--db`: a `postgres://` or `postgresql://` URL, else an SQLite path.
    ///
    /// # Errors
    /// [`DatabaseError`] for an empty value or a bad `pool_size`.
    pub fn parse(text: &str) -> Result<Self, DatabaseError> {
        if text.is_empty() {
            return Err(DatabaseError::Empty);
        }
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
            return Ok(Self::Sqlite(PathBuf::from(text)));
        }
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut pool_size = DEFAULT_POOL_SIZE;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("pool_size=") {
                Some(n) => {
                    pool_size = n
                        .parse()
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or(DatabaseError::PoolSize)?;
                }
                None => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self::Postgres(PostgresUrl {
            url: Zeroizing::new(url),
            pool_size,
        }))
    }

    /// What to call the database in messages (a path, or the URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => url.redacted(),
        }
    }

    /// Opens the store for serving: SQLite is created or migrated as before; PostgreSQL
    /// must have been initialised (`init`) at the current schema version.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be reached or has the wrong schema.
    pub fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Self::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Self::Postgres(url) => Arc::new(PgStore::open(url)?),
        })
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl core::str::FromStr for Database {
    type Err = DatabaseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Self::Sqlite(path)
    }
}

impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Self {
        Self::Sqlite(path.clone())
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Self::Sqlite(path.to_owned())
    }
}

impl From<&Database> for Database {
    fn from(db: &Database) -> Self {
        db.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_postgres_and_paths_sqlite() {
        assert_eq!(
            Database::parse("gx.db").unwrap(),
            Database::Sqlite("gx.db".into())
        );
        assert_eq!(
            Database::parse("./postgres://x").unwrap(),
            Database::Sqlite("./postgres://x".into())
        );
        let Database::Postgres(url) = Database::parse(
            "postgres://gx:s3cret@db.internal:5432/gx?pool_size=32&sslmode=require",
        )
        .unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(url.pool_size(), 32);
        assert_eq!(
            url.expose(),
            "postgres://gx:s3cret@db.internal:5432/gx?sslmode=require"
        );
        assert_eq!(
            url.redacted(),
            "postgres://gx:***@db.internal:5432/gx?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let db = Database::parse("POSTGRESQL://u@h/d").unwrap();
        assert_eq!(db.describe(), "POSTGRESQL://u@h/d");
        assert_eq!(
            Database::parse("postgres://u@h/d?pool_size=0"),
            Err(DatabaseError::PoolSize)
        );
        assert_eq!(Database::parse(""), Err(DatabaseError::Empty));
    }
}
