//! The retry policy and `Retry-After` given as an HTTP date (RFC 9110
//! section 10.2.3), against a scripted peer answering 503 with the date,
//! then 200. Which wait the policy chose is seen through the request's
//! deadline, not a clock: a retry whose wait would pass the deadline is not
//! made (the 503 comes back), and a short wait is (the 200 comes back).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use http_client::{Client, RetryPolicy};

/// A peer that answers the first request on its connection 503 with
/// `Retry-After: retry_after`, and every later one 200 "ok". Returns the URL
/// and a handle giving the number of requests it read.
fn peer(retry_after: &'static str) -> (String, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        let mut requests = 0;
        loop {
            let mut line = String::new();
            // The request head, up to its empty line; the end of the
            // connection ends the script.
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return requests;
                }
                if line == "\r\n" {
                    break;
                }
            }
            requests += 1;
            let reply = if requests == 1 {
                format!(
                    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {retry_after}\r\n\
                     Content-Length: 4\r\n\r\nbusy"
                )
            } else {
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_string()
            };
            stream.write_all(reply.as_bytes()).unwrap();
        }
    });
    (url, handle)
}

/// One GET under `policy` with a 60 s deadline: the status that came back
/// and the number of requests the peer read.
fn get(retry_after: &'static str, policy: RetryPolicy) -> (u16, usize) {
    let (url, peer) = peer(retry_after);
    let client = Client::builder()
        .proxy_from_env(false)
        .retry(policy)
        .build()
        .unwrap();
    let resp = client
        .get(&url)
        .timeout(Duration::from_secs(60))
        .call()
        .unwrap();
    let status = resp.status();
    drop(resp);
    drop(client);
    (status, peer.join().unwrap())
}

const HOUR: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

#[test]
fn a_date_gone_by_means_retry_now() {
    // The backoff alone (half an hour at least) would pass the deadline.
    let policy = || RetryPolicy::new(1).backoff(HOUR, HOUR);
    for past in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        assert_eq!(get(past, policy()), (200, 2), "{past}");
    }
}

#[test]
fn a_future_date_is_waited_for_up_to_the_cap() {
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    // Under a cap of decades, the wait is the date's: past the deadline, so
    // no retry (a tiny backoff would have retried).
    let policy = RetryPolicy::new(1)
        .backoff(MS, MS)
        .retry_after_cap(HOUR * 24 * 365 * 100);
    assert_eq!(get(future, policy), (503, 1));
    // Capped to a millisecond, the retry is made at once (the backoff
    // would have passed the deadline).
    let policy = RetryPolicy::new(1).backoff(HOUR, HOUR).retry_after_cap(MS);
    assert_eq!(get(future, policy), (200, 2));
    // The obsolete asctime form, the same.
    let policy = RetryPolicy::new(1).backoff(HOUR, HOUR).retry_after_cap(MS);
    assert_eq!(get("Fri Jan  1 00:00:00 2100", policy), (200, 2));
}

#[test]
fn a_malformed_date_falls_back_to_the_backoff() {
    // Not a date the policy reads: the (short) backoff decides, and retries.
    let policy = RetryPolicy::new(1)
        .backoff(MS, MS)
        .retry_after_cap(HOUR * 24 * 365 * 100);
    assert_eq!(get("Fri, 01 Jan 2100 00:00:00 PST", policy), (200, 2));
    // And with a long backoff, no retry before the deadline.
    let policy = RetryPolicy::new(1).backoff(HOUR, HOUR).retry_after_cap(MS);
    assert_eq!(get("soon", policy), (503, 1));
}
