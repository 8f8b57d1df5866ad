//! What api-client does with a response: the head (`-i`, `-v`) and the
//! body, to stdout or streamed into the `-o` file.

use std::io::{Read, Write};

use pconn_http::Response;

use crate::progress::Progress;
use crate::Args;

pub fn write_response(args: &Args, resp: Response) -> Result<(), Box<dyn std::error::Error>> {
    let mut head = Vec::new();
    writeln!(
        head,
        "{} {} {}",
        resp.version(),
        resp.status(),
        resp.reason()
    )?;
    for (name, value) in resp.headers().iter() {
        writeln!(head, "{name}: {}", String::from_utf8_lossy(value))?;
    }
    if args.verbose {
        for line in String::from_utf8_lossy(&head).lines() {
            eprintln!("< {line}");
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.include {
        out.write_all(&head)?;
        writeln!(out)?;
    }
    match &args.output {
        Some(path) => download(resp, path, !args.silent)?,
        None => out.write_all(&resp.bytes()?)?,
    }
    Ok(())
}

/// Streams the body into `path`, with a progress line on a terminal.
fn download(resp: Response, path: &str, progress: bool) -> Result<(), Box<dyn std::error::Error>> {
    let file_err = |e: std::io::Error| format!("-o {path}: {e}");
    // The total is known when the body arrives as it is sent.
    let total = match resp.header("content-encoding") {
        None => resp.header("content-length").and_then(|v| v.parse().ok()),
        Some(_) => None,
    };
    let mut progress = Progress::new(progress, total);
    let mut file = std::fs::File::create(path).map_err(file_err)?;
    let mut body = resp.into_reader();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                progress.finish();
                // The client's own error, with its message, when it is one.
                return Err(match e.downcast::<pconn_http::Error>() {
                    Ok(ours) => Box::new(ours),
                    Err(e) => Box::new(e),
                });
            }
        };
        file.write_all(&buf[..n]).map_err(file_err)?;
        progress.add(n);
    }
    progress.finish();
    Ok(())
}
