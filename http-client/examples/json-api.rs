//! The `PersistentApiClient` of the background material (a PHP class on
//! `pfsockopen`), done on the pooled client: GET a resource, POST JSON to
//! it, and both run over one kept-alive connection.
//!
//! ```text
//! cargo run -q -p pconn-http --features json --example json-api -- [--base URL] [--cacert PEM] [--stats]
//! ```
//!
//! The default base is the local nginx's `/echo` (`$PCONN_HTTP_URL/echo`),
//! which answers with the request it received, so the output shows what
//! was sent. Unlike the PHP original, the response is read by its framing
//! (not until EOF, which would have closed the "persistent" connection),
//! and a dropped or failed exchange never leaves a half-read connection in
//! the pool.

use std::process::ExitCode;

use pconn_http::{Client, Response};
use serde::Serialize;

/// What the PHP class returned: status code, headers, body.
struct ApiResponse {
    status: u16,
    content_type: Option<String>,
    body: String,
}

/// One API host, one pool: every call reuses the kept-alive connection.
struct PersistentApiClient {
    client: Client,
    base: String,
}

impl PersistentApiClient {
    fn new(base: &str, cacert: Option<&str>) -> pconn_http::Result<Self> {
        let mut builder = Client::builder().user_agent(Some("Rust-PersistentClient/1.0"));
        if let Some(ca) = cacert {
            builder = builder.add_ca_file(ca);
        }
        Ok(PersistentApiClient {
            client: builder.build()?,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    fn finish(resp: Response) -> pconn_http::Result<ApiResponse> {
        let status = resp.status();
        let content_type = resp.header("content-type").map(str::to_string);
        Ok(ApiResponse {
            status,
            content_type,
            body: resp.text()?,
        })
    }

    fn get(&self, path: &str) -> pconn_http::Result<ApiResponse> {
        let resp = self
            .client
            .get(&format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .call()?;
        Self::finish(resp)
    }

    fn post<T: Serialize>(&self, path: &str, data: &T) -> pconn_http::Result<ApiResponse> {
        let resp = self
            .client
            .post(&format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .send_json(data)?;
        Self::finish(resp)
    }
}

#[derive(Serialize)]
struct Update<'a> {
    name: &'a str,
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let mut base = format!(
        "{}/echo",
        std::env::var("PCONN_HTTP_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into())
    );
    let mut cacert = None;
    let mut stats = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--base" => base = args.next().ok_or("--base needs a URL")?,
            "--cacert" => cacert = Some(args.next().ok_or("--cacert needs a file")?),
            "--stats" => stats = true,
            other => {
                return Err(format!(
                "unknown argument {other}; usage: json-api [--base URL] [--cacert PEM] [--stats]"
            )
                .into())
            }
        }
    }
    let api = PersistentApiClient::new(&base, cacert.as_deref())?;

    // First request: opens the connection.
    let user = api.get("/users/123")?;
    println!(
        "GET /users/123 -> {} ({})",
        user.status,
        user.content_type.as_deref().unwrap_or("-")
    );
    println!("{}", user.body.trim_end());

    // Second request: reuses it.
    let updated = api.post("/users/123/update", &Update { name: "John Doe" })?;
    println!("POST /users/123/update -> {}", updated.status);
    println!("{}", updated.body.trim_end());

    let s = api.client.stats();
    println!("connections opened: {}, reused: {}", s.opened, s.reused);
    if stats {
        println!("{}", s.to_json());
    }
    Ok(user.status == 200 && updated.status == 200)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("json-api: {e}");
            ExitCode::FAILURE
        }
    }
}
