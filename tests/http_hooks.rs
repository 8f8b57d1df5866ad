//! Middleware and timing phases against the real nginx servers: a
//! middleware's header reaches nginx (which echoes it), one that stops a
//! request sends nothing (a listening peer sees no connection), one counts
//! responses (every redirect hop and retry included); the timings of a
//! fresh and of a reused connection.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use http_client::{Client, ClientBuilder, Error, MiddlewareNext, MiddlewareRequest, Response};
use integration_tests::env_or;

fn extra() -> String {
    env_or("PCONN_HTTP_EXTRA_URL", "http://127.0.0.1:8090")
}

fn builder() -> ClientBuilder {
    Client::builder()
        .proxy_from_env(false)
        .add_ca_file(integration_tests::test_ca())
}

type Next<'a> = MiddlewareNext<'a>;

#[test]
fn a_middleware_header_reaches_the_server_on_every_hop() {
    let client = builder()
        .middleware(|req: &mut MiddlewareRequest<'_>, next: Next<'_>| {
            req.set_header("Authorization", "Bearer from-middleware")?;
            next.handle(req)
        })
        .build()
        .unwrap();
    // nginx-extra's /headers echoes Authorization.
    let text = client
        .get(&format!("{}/headers", extra()))
        .header("Authorization", "Bearer from-caller")
        .call()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains("authorization=Bearer from-middleware "),
        "{text}"
    );
    // A redirect within the origin: the hop is a request of its own, and
    // the middleware set the header on it again.
    let resp = client
        .get(&format!("{}/redirect/same", extra()))
        .call()
        .unwrap();
    assert_eq!(resp.history().len(), 1);
    let text = resp.text().unwrap();
    assert!(
        text.contains("authorization=Bearer from-middleware "),
        "{text}"
    );
}

#[test]
fn middlewares_run_in_order_and_see_the_response_head() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, b) = (Arc::clone(&log), Arc::clone(&log));
    let client = builder()
        .middleware(move |req: &mut MiddlewareRequest<'_>, next: Next<'_>| {
            a.lock().unwrap().push(format!("a {}", req.method()));
            let resp = next.handle(req)?;
            a.lock().unwrap().push(format!("a {}", resp.status()));
            Ok(resp)
        })
        .middleware(move |req: &mut MiddlewareRequest<'_>, next: Next<'_>| {
            b.lock().unwrap().push(format!("b {}", req.url().path()));
            let mut resp = next.handle(req)?;
            b.lock().unwrap().push(format!("b {}", resp.status()));
            resp.headers_mut().append("X-Seen-By", "b").unwrap();
            Ok(resp)
        })
        .build()
        .unwrap();
    let resp = client
        .get(&format!("{}/redirect/same", extra()))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("x-seen-by"), Some("b"));
    assert_eq!(
        *log.lock().unwrap(),
        [
            "a GET",
            "b /redirect/same",
            "b 302",
            "a 302",
            "a GET",
            "b /headers",
            "b 200",
            "a 200"
        ]
    );
}

#[derive(Debug)]
struct Blocked;

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("blocked by policy")
    }
}

impl std::error::Error for Blocked {}

#[test]
fn a_stopped_request_sends_nothing() {
    // A peer that only listens: it must never see a connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/never", listener.local_addr().unwrap());
    let client = builder()
        .middleware(|_: &mut MiddlewareRequest<'_>, _: Next<'_>| Err(Error::stopped(Blocked)))
        .build()
        .unwrap();
    let err = client.post(&url).send_string("secret").unwrap_err();
    let Error::Stopped(reason) = &err else {
        panic!("expected Error::Stopped, got {err:?}");
    };
    assert!(reason.downcast_ref::<Blocked>().is_some(), "{reason}");
    assert_eq!(
        err.to_string(),
        "stopped by a middleware: blocked by policy"
    );
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    assert_eq!(client.stats().opened, 0);

    // A header the middleware cannot set is refused before sending too.
    let client = builder()
        .middleware(|req: &mut MiddlewareRequest<'_>, next: Next<'_>| {
            req.append_header("X-Injected", "a\r\nEvil: 1")?;
            next.handle(req)
        })
        .build()
        .unwrap();
    let err = client.get(&url).call().unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn a_middleware_stops_a_response_and_the_connection_is_kept() {
    let client = builder()
        .middleware(|req: &mut MiddlewareRequest<'_>, next: Next<'_>| {
            let resp = next.handle(req)?;
            if resp.status() == 404 {
                return Err(Error::stopped(format!("{} is gone", resp.url().path())));
            }
            Ok(resp)
        })
        .build()
        .unwrap();
    let base = env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080");
    let err = client
        .get(&format!("{base}/status/404"))
        .call()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "stopped by a middleware: /status/404 is gone"
    );
    assert_eq!(
        client
            .get(&format!("{base}/small"))
            .call()
            .unwrap()
            .text()
            .unwrap(),
        "hello\n"
    );
    // The stopped response's connection served the next request.
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn a_middleware_counts_responses_of_hops_and_retries() {
    let count = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&count);
    let client = builder()
        .retry(http_client::RetryPolicy::new(2).backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(2),
        ))
        .middleware(move |req: &mut MiddlewareRequest<'_>, next: Next<'_>| {
            let resp: Response = next.handle(req)?;
            seen.fetch_add(1, Ordering::Relaxed);
            Ok(resp)
        })
        .build()
        .unwrap();
    client.get(&format!("{}/headers", extra())).call().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), 1);
    // Two hops.
    client
        .get(&format!("{}/redirect/same", extra()))
        .call()
        .unwrap();
    assert_eq!(count.load(Ordering::Relaxed), 3);
    // 429 with Retry-After 0: the first try and two retries.
    let resp = client
        .get(&format!("{}/retry/429", extra()))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(count.load(Ordering::Relaxed), 6);
}

#[test]
fn timings_of_a_fresh_and_a_reused_https_connection() {
    let url = format!(
        "{}/small",
        env_or("PCONN_HTTPS_URL", "https://localhost:8443")
    );
    let client = builder().build().unwrap();
    let fresh = client.get(&url).call().unwrap().timings();
    assert!(!fresh.reused());
    // localhost is a name: it was resolved.
    assert!(fresh.dns().is_some(), "{fresh:?}");
    assert!(fresh.connect().is_some(), "{fresh:?}");
    assert!(fresh.tls().is_some(), "{fresh:?}");
    assert!(fresh.ttfb().is_some(), "{fresh:?}");
    let reused = client.get(&url).call().unwrap().timings();
    assert!(reused.reused());
    assert_eq!(
        (reused.dns(), reused.connect(), reused.tls()),
        (None, None, None)
    );
    assert!(reused.ttfb().is_some(), "{reused:?}");
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn timings_of_plain_http_to_an_address_and_through_a_proxy() {
    let base = env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080");
    let client = builder().build().unwrap();
    let t = client
        .get(&format!("{base}/small"))
        .call()
        .unwrap()
        .timings();
    // An IP address is not resolved, plain http has no handshake.
    assert_eq!((t.reused(), t.dns(), t.tls()), (false, None, None));
    assert!(t.connect().is_some() && t.ttfb().is_some(), "{t:?}");

    // Through tinyproxy with CONNECT: connect is the tunnel, TLS is to the
    // server inside it.
    let client = builder()
        .proxy(&env_or("PCONN_PROXY_URL", "http://127.0.0.1:3128"))
        .build()
        .unwrap();
    let url = format!(
        "{}/small",
        env_or("PCONN_HTTPS_URL", "https://localhost:8443")
    );
    let t = client.get(&url).call().unwrap().timings();
    assert!(!t.reused());
    assert!(t.connect().is_some() && t.tls().is_some(), "{t:?}");
    // Absolute-form through the proxy: connect is the way to the proxy.
    let t = client
        .get(&format!("{base}/small"))
        .call()
        .unwrap()
        .timings();
    assert!(t.connect().is_some() && t.tls().is_none(), "{t:?}");
}
