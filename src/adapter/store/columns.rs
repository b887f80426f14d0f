//! Reading typed columns from a row of either backend, naming the column in the error: a bad
//! value is a `Corrupt` error for the person reading the log, never a panic.

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::StoreError;

/// Reads a column, naming it in the error.
pub(crate) fn col<'r, T, R>(row: &'r R, name: &'static str) -> Result<T, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(name).map_err(|e| StoreError::Corrupt {
        column: name,
        reason: e.to_string(),
    })
}

/// Reads a non-negative integer column into a `u32`.
pub(crate) fn col_u32<R>(row: &R, name: &'static str) -> Result<u32, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let v: i64 = col(row, name)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        column: name,
        reason: format!("{v} is out of range"),
    })
}

/// Parses a text enum column.
pub(crate) fn col_enum<R, T>(
    row: &R,
    name: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let s: String = col(row, name)?;
    parse(&s).ok_or_else(|| StoreError::Corrupt {
        column: name,
        reason: format!("unknown value {s:?}"),
    })
}
