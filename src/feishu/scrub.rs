//! Text PostgreSQL cannot store, replaced before an answer is parsed: `\u0000` (text and
//! jsonb both refuse NUL), unpaired UTF-16 surrogates (`\ud800` alone: serde refuses the
//! whole body) and invalid UTF-8 all become U+FFFD, so one bad value costs one character,
//! never a page or a stream.

use std::borrow::Cow;

/// The escape that replaces each offending code point.
const REPLACEMENT_ESCAPE: &[u8] = b"\\ufffd";

/// `body` with every NUL escape, lone surrogate escape and invalid UTF-8 sequence
/// replaced by U+FFFD, and how many were replaced. A clean body is borrowed unchanged.
pub fn scrub(body: &[u8]) -> (Cow<'_, [u8]>, u64) {
    let (text, invalid_utf8) = valid_utf8(body);
    match scrub_escapes(&text) {
        (Some(fixed), replaced) => (Cow::Owned(fixed), replaced + invalid_utf8),
        (None, _) => (text, invalid_utf8),
    }
}

/// `body` as valid UTF-8 (invalid sequences become U+FFFD), and how many were invalid.
fn valid_utf8(body: &[u8]) -> (Cow<'_, [u8]>, u64) {
    if std::str::from_utf8(body).is_ok() {
        return (Cow::Borrowed(body), 0);
    }
    let invalid = body
        .utf8_chunks()
        .filter(|chunk| !chunk.invalid().is_empty())
        .count() as u64;
    let fixed = String::from_utf8_lossy(body).into_owned().into_bytes();
    (Cow::Owned(fixed), invalid)
}

/// The four hex digits after `\u` at `at`, as a UTF-16 code unit.
fn code_unit(text: &[u8], at: usize) -> Option<u16> {
    let digits = text.get(at + 2..at + 6)?;
    u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Rewrites `\u` escapes that are NUL or unpaired surrogates; `None` if there were none.
/// Backslashes occur in JSON only inside strings, each starting an escape, so a scan over
/// escapes needs no string tracking: `\\u0000` is an escaped backslash followed by text.
fn scrub_escapes(text: &[u8]) -> (Option<Vec<u8>>, u64) {
    let mut out: Option<Vec<u8>> = None;
    let (mut replaced, mut copied, mut i) = (0u64, 0usize, 0usize);
    while i < text.len() {
        if text[i] != b'\\' {
            i += 1;
            continue;
        }
        if text.get(i + 1) != Some(&b'u') {
            i += 2; // any other escape, `\\` included
            continue;
        }
        let Some(unit) = code_unit(text, i) else {
            i += 2;
            continue;
        };
        let paired_low = || {
            text.get(i + 6..i + 8) == Some(b"\\u".as_slice())
                && code_unit(text, i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low))
        };
        let bad = match unit {
            0 => true,
            0xD800..=0xDBFF if paired_low() => {
                i += 12; // a valid pair
                continue;
            }
            0xD800..=0xDFFF => true,
            _ => false,
        };
        if bad {
            let buffer = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
            buffer.extend_from_slice(&text[copied..i]);
            buffer.extend_from_slice(REPLACEMENT_ESCAPE);
            copied = i + 6;
            replaced += 1;
        }
        i += 6;
    }
    if let Some(buffer) = out.as_mut() {
        buffer.extend_from_slice(&text[copied..]);
    }
    (out, replaced)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn scrubbed(body: &str) -> (String, u64) {
        let (bytes, n) = scrub(body.as_bytes());
        (String::from_utf8(bytes.into_owned()).unwrap(), n)
    }

    #[test]
    fn nul_and_lone_surrogates_become_the_replacement_character() {
        let body = r#"{"summary":"a\u0000b","name":"\ud800x","tail":"\udc00"}"#;

        let (text, replaced) = scrubbed(body);

        assert_eq!(replaced, 3);
        let value: Value = serde_json::from_str(&text).expect("parses now");
        assert_eq!(value["summary"], "a\u{fffd}b");
        assert_eq!(value["name"], "\u{fffd}x");
        assert_eq!(value["tail"], "\u{fffd}");
        assert!(
            serde_json::from_str::<Value>(body).is_err(),
            "serde refuses it as sent"
        );
    }

    #[test]
    fn valid_pairs_escaped_backslashes_and_clean_bodies_are_left_alone() {
        let body = r#"{"emoji":"\ud83d\ude00","path":"C:\\u0000","q":"\"\u00e9"}"#;

        let (bytes, replaced) = scrub(body.as_bytes());

        assert_eq!(replaced, 0);
        assert!(matches!(bytes, Cow::Borrowed(_)), "no copy of a clean body");
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["emoji"], "😀");
        assert_eq!(value["path"], "C:\\u0000");
    }

    #[test]
    fn a_high_surrogate_followed_by_a_non_surrogate_escape_is_replaced_alone() {
        let (text, replaced) = scrubbed(r#"["\ud800\u0041"]"#);

        assert_eq!((text.as_str(), replaced), (r#"["\ufffd\u0041"]"#, 1));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_counted() {
        let body = b"{\"a\":\"x\xff\xfey\"}";

        let (bytes, replaced) = scrub(body);

        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["a"], "x\u{fffd}\u{fffd}y");
        assert_eq!(replaced, 2);
    }

    proptest::proptest! {
        /// Whatever the bytes, scrubbing never panics, and a clean JSON text passes through.
        #[test]
        fn scrubbing_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = scrub(&body);
        }
    }
}
