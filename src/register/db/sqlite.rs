//! The SQL layer over SQLite (rusqlite): statements are prepared once per connection and
//! cached; rows are read into memory.

use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::{Db, DbError, Dialect, Row, ToValue, Value};

/// A SQLite connection (or a transaction of it: it derefs to the connection).
pub struct SqliteDb<'a>(pub &'a rusqlite::Connection);

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Texts(_) | Value::Ints(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "SQLite has no arrays: bind the rows one by one".into(),
                ));
            }
        })
    }
}

/// A rusqlite error as the layer's; a busy or locked database may be retried.
pub fn error(e: rusqlite::Error) -> DbError {
    let retry = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    DbError::Backend {
        message: e.to_string(),
        retry,
    }
}

fn bind(params: &[&dyn ToValue]) -> Vec<Value> {
    params.iter().map(|p| p.to_value()).collect()
}

impl Db for SqliteDb<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(error)?;
        let changed = stmt
            .execute(rusqlite::params_from_iter(bind(params)))
            .map_err(error)?;
        Ok(changed as u64)
    }

    fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(error)?;
        let columns: Arc<[String]> = stmt.column_names().map(|c| c.to_string()).collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(bind(params)))
            .map_err(error)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(error)? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, name) in columns.iter().enumerate() {
                values.push(match r.get_ref(i).map_err(error)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) => {
                        Value::Text(String::from_utf8(t.to_vec()).map_err(|_| DbError::Column {
                            column: name.clone(),
                            message: "the text is not UTF-8".into(),
                        })?)
                    }
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(DbError::Column {
                            column: name.clone(),
                            message:
                                "holds a real number or a blob, which the register never stores"
                                    .into(),
                        });
                    }
                });
            }
            out.push(Row::new(columns.clone(), values));
        }
        Ok(out)
    }
}
