//! The SQL layer over PostgreSQL (the synchronous `postgres` client): placeholders rewritten
//! to `$N`, statements prepared once per connection and cached, values converted to and from
//! the few types the register uses.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;

use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{Db, DbError, Dialect, Row, ToValue, Value, numbered_to_dollar};

/// Statements prepared on one connection, by their text as the register writes it.
pub type StatementCache = RefCell<HashMap<String, postgres::Statement>>;

/// A PostgreSQL transaction.
pub struct PgDb<'t, 'c> {
    tx: RefCell<postgres::Transaction<'c>>,
    statements: &'t StatementCache,
}

impl<'t, 'c> PgDb<'t, 'c> {
    pub fn new(tx: postgres::Transaction<'c>, statements: &'t StatementCache) -> PgDb<'t, 'c> {
        PgDb {
            tx: RefCell::new(tx),
            statements,
        }
    }

    /// The transaction, to commit it (or drop it: roll it back).
    pub fn into_transaction(self) -> postgres::Transaction<'c> {
        self.tx.into_inner()
    }

    fn statement(&self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let prepared = self
            .tx
            .borrow_mut()
            .prepare(&numbered_to_dollar(sql))
            .map_err(error)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }
}

/// A PostgreSQL error as the layer's: the server's message (and detail) if it sent one; a
/// serialization failure or a deadlock may be retried.
pub fn error(e: postgres::Error) -> DbError {
    let retry = matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    );
    let message = match e.as_db_error() {
        Some(d) => match d.detail() {
            Some(detail) => format!("{} ({detail})", d.message()),
            None => d.message().to_string(),
        },
        None => e.to_string(),
    };
    DbError::Backend { message, retry }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a parameter of type {ty}").into()),
            },
            Value::Text(s) if <&str as ToSql>::accepts(ty) => s.as_str().to_sql(ty, out),
            Value::Text(_) => {
                Err(format!("text cannot be bound to a parameter of type {ty}").into())
            }
            Value::Texts(v) if <Vec<Option<String>> as ToSql>::accepts(ty) => v.to_sql(ty, out),
            Value::Ints(v) if <Vec<i64> as ToSql>::accepts(ty) => v.to_sql(ty, out),
            Value::Texts(_) | Value::Ints(_) => {
                Err(format!("an array cannot be bound to a parameter of type {ty}").into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn value(row: &postgres::Row, i: usize) -> Result<Value, DbError> {
    let column = &row.columns()[i];
    let bad = |e: postgres::Error| DbError::Column {
        column: column.name().to_string(),
        message: e.to_string(),
    };
    let v = match *column.type_() {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(bad)?
            .map(Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(bad)?
            .map(|v| Value::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(bad)?
            .map(|v| Value::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(bad)?
            .map(|v| Value::Int(v.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<String>>(i)
            .map_err(bad)?
            .map(Value::Text),
        ref other => {
            return Err(DbError::Column {
                column: column.name().to_string(),
                message: format!("has type {other}, which the register never reads"),
            });
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

impl Db for PgDb<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        self.tx
            .borrow_mut()
            .execute(&statement, &refs)
            .map_err(error)
    }

    fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, DbError> {
        let statement = self.statement(sql)?;
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let found = self
            .tx
            .borrow_mut()
            .query(&statement, &refs)
            .map_err(error)?;
        let columns: Arc<[String]> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        found
            .iter()
            .map(|r| {
                let values = (0..columns.len())
                    .map(|i| value(r, i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Row::new(columns.clone(), values))
            })
            .collect()
    }
}
