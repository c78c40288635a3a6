//! Calendar dates on the wire: `YYYY-MM-DD`, for milestones, invoices and statements.

use time::Date;

use crate::{Error, Result};

/// A date as the wire carries it, `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Parses a wire date; `None` for an empty string (clear the date).
pub fn parse_date(value: &str, field: &str) -> Result<Option<Date>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &format)
        .map(Some)
        .map_err(|_| Error::InvalidInput(format!("{field} must be a date, YYYY-MM-DD.")))
}

/// Parses a date that must be given.
pub fn required_date(value: &str, field: &str) -> Result<Date> {
    parse_date(value, field)?
        .ok_or_else(|| Error::InvalidInput(format!("{field} is required, YYYY-MM-DD.")))
}
