//! Out-of-band replies: the one place that decides whether a value read
//! while waiting for a reply answers the command or arrived unasked (a
//! RESP3 push, or a RESP2 message on a subscribed connection).

use crate::value::Value;

/// True when `v` is not the reply being waited for but a message to set
/// aside. `subscribed`: the connection has subscriptions (RESP2 messages
/// then arrive as plain arrays); `confirming`: the reply awaited is a
/// (un)subscribe confirmation, itself a push in RESP3.
pub(crate) fn is_out_of_band(v: &Value, subscribed: bool, confirming: bool) -> bool {
    match v {
        Value::Push(_) => !confirming || is_message(v) || !is_confirmation(v),
        Value::Array(_) => (confirming || subscribed) && is_message(v),
        _ => false,
    }
}

/// True for a published message (not a subscribe confirmation), RESP2 or RESP3.
pub(crate) fn is_message(v: &Value) -> bool {
    first_word_is(v, &[b"message", b"pmessage", b"smessage"])
}

/// True for a (un)subscribe confirmation: `[kind, channel, count]`.
pub(crate) fn is_confirmation(v: &Value) -> bool {
    matches!(v, Value::Array(items) | Value::Push(items) if items.len() == 3)
        && first_word_is(
            v,
            &[
                b"subscribe",
                b"unsubscribe",
                b"psubscribe",
                b"punsubscribe",
                b"ssubscribe",
                b"sunsubscribe",
            ],
        )
}

fn first_word_is(v: &Value, words: &[&[u8]]) -> bool {
    let (Value::Array(items) | Value::Push(items)) = v else {
        return false;
    };
    matches!(items.first().and_then(Value::as_bytes), Some(k)
        if words.iter().any(|w| k.eq_ignore_ascii_case(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(words: &[&str]) -> Vec<Value> {
        words
            .iter()
            .map(|w| Value::Bulk(w.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn sorts_replies_from_messages() {
        let msg = Value::Array(arr(&["message", "ch", "hi"]));
        let conf = Value::Array(arr(&["subscribe", "ch", "1"]));
        // RESP2: an array is a message only on a subscribed connection.
        assert!(!is_out_of_band(&msg, false, false));
        assert!(is_out_of_band(&msg, true, false));
        assert!(!is_out_of_band(&conf, true, true));
        // RESP3: every push is out of band, except the awaited confirmation.
        assert!(is_out_of_band(
            &Value::Push(arr(&["invalidate", "k"])),
            false,
            false
        ));
        assert!(is_out_of_band(
            &Value::Push(arr(&["subscribe", "c", "1"])),
            false,
            false
        ));
        assert!(!is_out_of_band(
            &Value::Push(arr(&["subscribe", "c", "1"])),
            false,
            true
        ));
        assert!(is_out_of_band(
            &Value::Push(arr(&["message", "c", "x"])),
            true,
            true
        ));
        assert!(!is_out_of_band(&Value::Simple("OK".into()), true, true));
    }
}
