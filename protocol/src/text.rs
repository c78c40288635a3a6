//! [`Text`]: the one type for every string a person supplies (names, titles, notes, messages, file
//! names, reasons).
//!
//! It is checked when it is deserialised, at the edge of the system, so no handler, query or log
//! line ever holds text that Postgres cannot store or that could hide characters from a reader:
//! - line breaks are normalised to `\n` (`\r\n` and a lone `\r` alike);
//! - the text is put into Unicode Normalization Form C, so the same words typed on two systems are
//!   stored, compared and searched as the same characters;
//! - NUL and every other control character (C0, DEL, C1) except tab and newline are refused.
//!
//! Unpaired UTF-16 surrogates cannot reach this type: a Rust `String` cannot hold them and the JSON
//! parser refuses a lone `\uD800` escape as malformed. Length limits stay with each field, because
//! they differ (a title is short, a message is long).

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Text a person supplied, normalised and free of control characters (see the module docs).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

/// Why a string is not acceptable [`Text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextError {
    /// A control character other than tab or newline, e.g. NUL.
    ControlCharacter(char),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ControlCharacter(c) => write!(
                f,
                "contains the control character U+{:04X}, which is not allowed",
                u32::from(*c)
            ),
        }
    }
}

impl std::error::Error for TextError {}

impl Text {
    /// Checks and normalises `text`.
    pub fn new(text: impl Into<String>) -> Result<Self, TextError> {
        let text = text.into();
        if let Some(c) = text.chars().find(|&c| is_refused(c)) {
            return Err(TextError::ControlCharacter(c));
        }
        let needs_normalising = text.contains('\r') || !unicode_normalization::is_nfc(&text);
        if !needs_normalising {
            return Ok(Self(text));
        }
        Ok(Self(
            text.replace("\r\n", "\n")
                .replace('\r', "\n")
                .nfc()
                .collect(),
        ))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Control characters are refused, except tab and newline (and carriage return, which is
/// normalised to a newline).
fn is_refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

impl TryFrom<String> for Text {
    type Error = TextError;
    fn try_from(text: String) -> Result<Self, TextError> {
        Self::new(text)
    }
}

impl TryFrom<&str> for Text {
    type Error = TextError;
    fn try_from(text: &str) -> Result<Self, TextError> {
        Self::new(text)
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug shows only the length: texts are client content and must not reach logs by accident.
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({} bytes)", self.0.len())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_nul_and_other_controls() {
        for bad in [
            "a\u{0}b",
            "\u{1b}[31m",
            "bell\u{7}",
            "del\u{7f}",
            "c1\u{85}",
            "\u{9f}",
        ] {
            assert!(Text::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Text::new("a\u{0}b").expect_err("refused").to_string(),
            "contains the control character U+0000, which is not allowed"
        );
    }

    #[test]
    fn keeps_tabs_and_newlines_and_normalises_carriage_returns() {
        assert_eq!(Text::new("a\tb\nc").expect("text"), "a\tb\nc");
        assert_eq!(
            Text::new("one\r\ntwo\rthree").expect("text"),
            "one\ntwo\nthree"
        );
    }

    #[test]
    fn normalises_to_nfc() {
        // "é" as e + combining acute becomes the single precomposed character.
        assert_eq!(Text::new("Cafe\u{301}").expect("text"), "Caf\u{e9}");
        assert_eq!(Text::new("Caf\u{e9}").expect("text"), "Caf\u{e9}");
    }

    #[test]
    fn json_names_the_field_that_failed() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Body {
            title: Text,
        }
        let err = serde_json::from_str::<Body>(r#"{"title":"a\u0000b"}"#).expect_err("refused");
        assert!(err.to_string().contains("U+0000"), "{err}");
        // A lone surrogate never reaches the type: the JSON itself is refused.
        assert!(serde_json::from_str::<Body>(r#"{"title":"\ud800"}"#).is_err());
        let ok: Body = serde_json::from_str(r#"{"title":"Lease \u00e9"}"#).expect("text");
        assert_eq!(ok.title, "Lease \u{e9}");
    }

    #[test]
    fn debug_does_not_show_the_text() {
        assert_eq!(
            format!("{:?}", Text::new("secret").expect("text")),
            "Text(6 bytes)"
        );
    }
}
