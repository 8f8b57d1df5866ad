//! `Retry-After` (RFC 9110 section 10.2.3): a delay in seconds or an HTTP
//! date, read as the wait it asks for. Pure: the current time is an input.

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` value asks for at `now`: its seconds, or the
/// time from `now` to its HTTP date (IMF-fixdate, or the obsolete RFC 850
/// and asctime forms RFC 9110 says a recipient must accept). A date that is
/// not later than `now` asks for no wait. Anything else (a negative or
/// fractional number, an unknown date form) is `None`.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: seconds, saturating rather than failing when huge.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date.
    fn example() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn seconds() {
        let now = example();
        assert_eq!(retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in ["-1", "+1", "1.5", "", " ", "3 s", "soon"] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_in_all_three_forms() {
        let now = example() - Duration::from_secs(120);
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                retry_after(form, now),
                Some(Duration::from_secs(120)),
                "{form}"
            );
        }
        // With surrounding whitespace, as a field value may carry.
        assert_eq!(
            retry_after(" Sun, 06 Nov 1994 08:49:37 GMT\t", now),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn a_date_now_or_past_asks_for_no_wait() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(retry_after(date, example()), Some(Duration::ZERO));
        let later = example() + Duration::from_secs(3600);
        assert_eq!(retry_after(date, later), Some(Duration::ZERO));
    }

    #[test]
    fn malformed_dates_are_none() {
        let now = example();
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }
}
