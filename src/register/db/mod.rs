//! A small SQL layer under the register, the same for SQLite and PostgreSQL, so that the
//! register's logic (intake, certificates, custody, views, audit, stations, events,
//! deliveries) is written once and runs on both.
//!
//! * [`Db`]: execute a statement or read its rows, inside the transaction the caller holds.
//! * [`Value`] and [`ToValue`]: the few types the register binds (integers, text, NULL).
//! * [`Row`]: a row read into memory, read by index or column name.
//!
//! Statements are written once with SQLite's numbered placeholders (`?1`, `?2`); the
//! PostgreSQL side rewrites them to `$1`, `$2` ([`numbered_to_dollar`]). The SQL itself keeps
//! to what both understand: `ON CONFLICT DO NOTHING`, `RETURNING`, `CAST`, `COALESCE`. The one
//! thing that differs, reading a field of a JSON document, is asked of the [`Dialect`].

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

/// Which SQL the connection speaks, for the few expressions that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// An expression for the text at `path` (field names from the root) of the JSON text
    /// held in `column`; NULL where there is none.
    pub fn json_text(&self, column: &str, path: &[&str]) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{}')", path.join(".")),
            Dialect::Postgres => format!("(CAST({column} AS jsonb) #>> '{{{}}}')", path.join(",")),
        }
    }
}

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    /// A PostgreSQL `text[]` (SQLite has no arrays and refuses it).
    Texts(Vec<Option<String>>),
    /// A PostgreSQL `bigint[]` (SQLite has no arrays and refuses it).
    Ints(Vec<i64>),
}

/// What can be bound to a placeholder.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

/// Text as bound: a NUL character becomes U+FFFD. PostgreSQL cannot hold a NUL in text and
/// refuses the whole statement; SQLite could. Nothing the register stores holds one (manifests
/// and certificates with a NUL are refused before), so this only decides what a NUL in a
/// search, a URL or a sign-in name does: the same on both backends, and never an error.
fn text(s: &str) -> Value {
    if s.contains('\0') {
        Value::Text(s.replace('\0', "\u{FFFD}"))
    } else {
        Value::Text(s.to_string())
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        text(self)
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}

/// One column of many rows, bound as a PostgreSQL array and read back row by row with
/// `unnest(?N::text[])`: a statement that inserts thousands of rows then binds a handful of
/// parameters, not one per field (see `store::intake`).
pub struct TextColumn<'a>(pub Vec<Option<&'a str>>);

impl ToValue for TextColumn<'_> {
    fn to_value(&self) -> Value {
        Value::Texts(
            self.0
                .iter()
                .map(|v| match v.map(text) {
                    Some(Value::Text(s)) => Some(s),
                    _ => None,
                })
                .collect(),
        )
    }
}

/// The same for whole numbers (`unnest(?N::bigint[])`).
pub struct IntColumn(pub Vec<i64>);

impl ToValue for IntColumn {
    fn to_value(&self) -> Value {
        Value::Ints(self.0.clone())
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

/// The parameters of a statement, in placeholder order: `params![a, b]`.
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::register::db::ToValue]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::register::db::ToValue),+] as &[&dyn $crate::register::db::ToValue]
    };
}
pub use crate::params;

/// Errors of the SQL layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `query_row` found nothing.
    #[error("the query returned no row")]
    NoRow,
    /// A column is missing or holds another type than the one read.
    #[error("column {column}: {message}")]
    Column { column: String, message: String },
    /// The database refused or failed the statement. `retry` when the transaction lost a
    /// race with another (serialization failure, deadlock) and may simply run again.
    #[error("{message}")]
    Backend { message: String, retry: bool },
}

impl DbError {
    /// Whether running the whole transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DbError::Backend { retry: true, .. })
    }
}

/// A connection (inside a transaction) that runs the register's statements.
pub trait Db {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; the number of rows it changed.
    fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, DbError>;
    /// Runs a query; every row it returns.
    fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, DbError>;
}

impl dyn Db + '_ {
    /// The first row of a query, read by `f`; [`DbError::NoRow`] if there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, f)?.ok_or(DbError::NoRow)
    }

    /// The first row of a query, read by `f`, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        self.query(sql, params)?.first().map(f).transpose()
    }

    /// Every row of a query, each read by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnMut(&Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        self.query(sql, params)?.iter().map(f).collect()
    }
}

/// A row read into memory.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    /// The value of a column (by index or name) as `T`.
    pub fn get<C: ColumnIndex, T: FromValue>(&self, column: C) -> Result<T, DbError> {
        let i = column.index(&self.columns)?;
        let value = self.values.get(i).ok_or_else(|| DbError::Column {
            column: column.to_string(),
            message: "no such column".into(),
        })?;
        T::from_value(value).map_err(|message| DbError::Column {
            column: column.to_string(),
            message,
        })
    }
}

/// A column by position or by name.
pub trait ColumnIndex: std::fmt::Display + Copy {
    fn index(&self, columns: &[String]) -> Result<usize, DbError>;
}

impl ColumnIndex for usize {
    fn index(&self, _: &[String]) -> Result<usize, DbError> {
        Ok(*self)
    }
}

impl ColumnIndex for &str {
    fn index(&self, columns: &[String]) -> Result<usize, DbError> {
        columns
            .iter()
            .position(|c| c == self)
            .ok_or_else(|| DbError::Column {
                column: self.to_string(),
                message: "no such column".into(),
            })
    }
}

/// What a column can be read as.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, String>;
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// Rewrites SQLite's numbered placeholders (`?1`) to PostgreSQL's (`$1`), leaving quoted text
/// alone.
pub fn numbered_to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_in_bound_text_becomes_a_replacement_character() {
        assert_eq!("a\0b".to_value(), Value::Text("a\u{FFFD}b".into()));
        assert_eq!(String::from("ab").to_value(), Value::Text("ab".into()));
    }

    #[test]
    fn placeholders_are_rewritten_outside_quotes_only() {
        assert_eq!(
            numbered_to_dollar("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12 AND c = '?'"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12 AND c = '?'"
        );
    }

    #[test]
    fn json_paths_are_spelled_per_dialect() {
        let path = ["record", "sanitization", "level"];
        assert_eq!(
            Dialect::Sqlite.json_text("c.document", &path),
            "json_extract(c.document, '$.record.sanitization.level')"
        );
        assert_eq!(
            Dialect::Postgres.json_text("c.document", &path),
            "(CAST(c.document AS jsonb) #>> '{record,sanitization,level}')"
        );
    }
}
