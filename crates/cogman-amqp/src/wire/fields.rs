//! Typed reads of AMQP header values, accepting every encoding a foreign client may choose for
//! an integer (any width, signed or not) or a string (long or short string). A `void` value
//! counts as absent.

use lapin::types::{AMQPValue, FieldTable};

use super::error::DecodeError;

/// The value under `key`, if present and not void.
fn value<'a>(headers: &'a FieldTable, key: &str) -> Option<&'a AMQPValue> {
    match headers.inner().get(key) {
        None | Some(AMQPValue::Void) => None,
        Some(v) => Some(v),
    }
}

/// An integer header.
pub(super) fn int(headers: &FieldTable, key: &'static str) -> Result<Option<i64>, DecodeError> {
    let Some(v) = value(headers, key) else {
        return Ok(None);
    };
    let n = match *v {
        AMQPValue::ShortShortInt(n) => i64::from(n),
        AMQPValue::ShortShortUInt(n) => i64::from(n),
        AMQPValue::ShortInt(n) => i64::from(n),
        AMQPValue::ShortUInt(n) => i64::from(n),
        AMQPValue::LongInt(n) => i64::from(n),
        AMQPValue::LongUInt(n) => i64::from(n),
        AMQPValue::LongLongInt(n) => n,
        _ => {
            return Err(DecodeError::WrongType {
                header: key,
                expected: "an integer",
            });
        }
    };
    Ok(Some(n))
}

/// An integer header that must fit a `u32` (and be ≥ 0).
pub(super) fn u32_field(
    headers: &FieldTable,
    key: &'static str,
) -> Result<Option<u32>, DecodeError> {
    int(headers, key)?
        .map(|n| {
            u32::try_from(n).map_err(|_| DecodeError::InvalidValue {
                header: key,
                reason: format!("{n} is out of range (0 ..= {})", u32::MAX),
            })
        })
        .transpose()
}

/// A UTF-8 string header.
pub(super) fn string<'a>(
    headers: &'a FieldTable,
    key: &'static str,
) -> Result<Option<&'a str>, DecodeError> {
    let Some(v) = value(headers, key) else {
        return Ok(None);
    };
    match v {
        AMQPValue::LongString(s) => {
            std::str::from_utf8(s.as_bytes())
                .map(Some)
                .map_err(|_| DecodeError::InvalidValue {
                    header: key,
                    reason: "not valid UTF-8".into(),
                })
        }
        AMQPValue::ShortString(s) => Ok(Some(s.as_str())),
        _ => Err(DecodeError::WrongType {
            header: key,
            expected: "a string",
        }),
    }
}

/// A string header that must be present.
pub(super) fn required_string<'a>(
    headers: &'a FieldTable,
    key: &'static str,
) -> Result<&'a str, DecodeError> {
    string(headers, key)?.ok_or(DecodeError::MissingHeader(key))
}
