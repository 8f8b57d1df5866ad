//! Sends mail over one pooled SMTP (or LMTP) session: a message built from
//! flags (text, HTML, attachments) or a whole RFC 5322 message read from a
//! file or stdin, optionally DKIM-signed and with a DSN request.
//!
//! ```text
//! cargo run -q -p pconn-smtp --features dkim --example send-mail -- \
//!     --url smtp://127.0.0.1:2525 --cacert .servers/certs/ca.pem --user pconn --password pconn-secret \
//!     --from a@example.com --to b@example.com --subject hi --body hello --attach report.pdf
//! printf 'From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n' | \
//!     cargo run -q -p pconn-smtp --example send-mail -- --url smtp://127.0.0.1:2526?starttls=none -t
//! ```
//!
//! Exit codes: 0 every mail sent, 1 a mail failed (or its delivery is
//! unknown), 2 bad usage or input (nothing was sent).

use std::io::Read;
use std::process::ExitCode;

use pconn_smtp::{
    Address, Attachment, Credentials, Dsn, Envelope, Message, Notify, Ret, SmtpClient,
};
use transport::TlsConfig;

const USAGE: &str = "\
usage: send-mail --url URL [options] (--from ADDR --to ADDR ... | --message FILE | -t)

connection:
  --url URL             smtp://host[:port][?starttls=required|opportunistic|none],
                        smtps://host[:port], lmtp://host[:port],
                        lmtp+unix:///path/to/socket
  --lmtp                speak LMTP (LHLO, one reply per recipient) on any URL
  --cacert PEM          trust this CA (STARTTLS, smtps)
  --user U --password P AUTH after TLS
message from flags:
  --from ADDR           sender (MAIL FROM and From:)
  --to/--cc ADDR        recipients (repeatable); --bcc ADDR: envelope only
  --reply-to ADDR       Reply-To:
  --subject TEXT        --body TEXT (text part)   --html FILE (HTML part)
  --attach FILE         attach a file (repeatable; type from its extension)
whole message:
  --message FILE        send FILE as it is ('-' = stdin); --to/--from set the envelope
  -t                    read the message from stdin (or --message) and take the
                        recipients from its To/Cc/Bcc headers (Bcc is removed)
delivery:
  --dsn                 ask for success/failure/delay reports (RET=HDRS, ORCPT)
  --envid ID            DSN envelope id
  --dkim-key PEM --dkim-selector S --dkim-domain D
                        DKIM-sign (RSA or Ed25519 key; needs --features dkim)
  --count N             send N copies over the same session   --stats  pool counters (JSON)

exit codes: 0 sent, 1 a mail failed, 2 bad usage or input (nothing sent)
RUST_LOG=pconn_smtp=debug prints the client's events to stderr

examples:
  send-mail --url smtp://127.0.0.1:2525 --cacert ca.pem --user u --password p \\
      --from a@example.com --to b@example.com --subject hi --body hello --attach notes.txt
  send-mail --url lmtp://127.0.0.1:2424?starttls=none --from a@example.com --to b@example.com --body hi
  send-mail --url smtp://127.0.0.1:2526?starttls=none -t < message.eml";

#[derive(Default)]
struct Args {
    url: Option<String>,
    lmtp: bool,
    cacert: Option<String>,
    user: Option<String>,
    password: Option<String>,
    from: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    html: Option<String>,
    attach: Vec<String>,
    message: Option<String>,
    headers_rcpts: bool,
    dsn: bool,
    envid: Option<String>,
    dkim: [Option<String>; 3],
    count: u64,
    stats: bool,
}

fn parse_args(argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        count: 1,
        ..Args::default()
    };
    let mut it = argv;
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--stats" => args.stats = true,
            "--lmtp" => args.lmtp = true,
            "--dsn" => args.dsn = true,
            "-t" => args.headers_rcpts = true,
            "--help" | "-h" => return Err(USAGE.into()),
            _ => {
                let value = it
                    .next()
                    .ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
                match flag.as_str() {
                    "--url" => args.url = Some(value),
                    "--cacert" => args.cacert = Some(value),
                    "--user" => args.user = Some(value),
                    "--password" => args.password = Some(value),
                    "--from" => args.from = Some(value),
                    "--to" => args.to.push(value),
                    "--cc" => args.cc.push(value),
                    "--bcc" => args.bcc.push(value),
                    "--reply-to" => args.reply_to = Some(value),
                    "--subject" => args.subject = Some(value),
                    "--body" => args.body = Some(value),
                    "--html" => args.html = Some(value),
                    "--attach" => args.attach.push(value),
                    "--message" => args.message = Some(value),
                    "--envid" => args.envid = Some(value),
                    "--dkim-key" => args.dkim[0] = Some(value),
                    "--dkim-selector" => args.dkim[1] = Some(value),
                    "--dkim-domain" => args.dkim[2] = Some(value),
                    "--count" => {
                        args.count = value
                            .parse()
                            .map_err(|_| format!("--count wants a number, got {value:?}"))?
                    }
                    other => return Err(format!("unknown option {other} (see --help)")),
                }
            }
        }
    }
    if args.url.is_none() {
        return Err("--url is required (see --help)".into());
    }
    let whole = args.message.is_some() || args.headers_rcpts;
    if !whole && (args.from.is_none() || args.to.is_empty()) {
        return Err("--from and --to are required, or --message FILE / -t (see --help)".into());
    }
    if args.user.is_some() != args.password.is_some() {
        return Err("--user and --password go together".into());
    }
    if args.dkim.iter().any(Option::is_some) && !args.dkim.iter().all(Option::is_some) {
        return Err("--dkim-key, --dkim-selector and --dkim-domain go together".into());
    }
    Ok(args)
}

/// A content type from a file name's extension (the common ones).
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        _ => "application/octet-stream",
    }
}

type BoxError = Box<dyn std::error::Error>;

fn built_message(args: &Args, subject: &str) -> Result<Message, BoxError> {
    let mut b = Message::builder()
        .from(args.from.as_deref().unwrap_or_default())
        .subject(subject)
        .text_body(args.body.as_deref().unwrap_or_default());
    for to in &args.to {
        b = b.to(to);
    }
    for cc in &args.cc {
        b = b.cc(cc);
    }
    for bcc in &args.bcc {
        b = b.bcc(bcc);
    }
    if let Some(r) = &args.reply_to {
        b = b.reply_to(r);
    }
    if let Some(path) = &args.html {
        let html = std::fs::read_to_string(path).map_err(|e| format!("--html {path}: {e}"))?;
        b = b.html_body(&html);
    }
    for path in &args.attach {
        b = b.attach(Attachment::from_file(path, content_type(path))?);
    }
    Ok(b.build()?)
}

/// The addresses in a To/Cc/Bcc header value: `a@b, "N" <c@d>`.
fn header_addresses(value: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut angle) = (Vec::new(), String::new(), false, false);
    for c in value.chars().chain([',']) {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => {
                angle = true;
                cur.clear();
            }
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                let a = cur.trim();
                if !a.is_empty() {
                    out.push(a.to_string());
                }
                cur.clear();
            }
            c if !quoted => cur.push(c),
            _ => {}
        }
    }
    out
}

/// A whole message from a file or stdin. With `-t` the recipients come from
/// its headers and any Bcc header is removed, as sendmail does.
fn whole_message(args: &Args) -> Result<Message, BoxError> {
    let mut raw = Vec::new();
    match args.message.as_deref() {
        None | Some("-") => std::io::stdin().read_to_end(&mut raw).map(drop)?,
        Some(path) => raw = std::fs::read(path).map_err(|e| format!("--message {path}: {e}"))?,
    }
    let split = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 1)
        .or_else(|| raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).replace("\r\n", "\n");
    // Unfold, then one header per line.
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let mut to = args.to.clone();
    let mut from = args.from.clone();
    let mut kept = String::new();
    for line in unfolded.lines() {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let name = name.trim().to_ascii_lowercase();
        if args.headers_rcpts && matches!(name.as_str(), "to" | "cc" | "bcc") {
            to.extend(header_addresses(value));
        }
        if name == "from" && from.is_none() {
            from = header_addresses(value).into_iter().next();
        }
        if args.headers_rcpts && name == "bcc" {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    let mut content = if args.headers_rcpts {
        kept.into_bytes()
    } else {
        head.into_bytes()
    };
    content.extend_from_slice(&raw[split..]);
    let from = from.ok_or("no sender: give --from or a From: header")?;
    let to = to
        .iter()
        .map(|a| Address::new(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(Address::new(&from)?), to)?;
    Ok(Message::raw(envelope, content))
}

fn client(args: &Args) -> Result<SmtpClient, BoxError> {
    let mut builder = SmtpClient::from_url(args.url.as_deref().unwrap_or_default())?;
    if args.lmtp {
        builder = builder.lmtp(true);
    }
    if let Some(ca) = &args.cacert {
        builder = builder.tls_config(TlsConfig::builder().add_ca_file(ca).build()?);
    }
    if let (Some(user), Some(password)) = (&args.user, &args.password) {
        builder = builder.credentials(Credentials::password(user, password));
    }
    if let [Some(key), Some(selector), Some(domain)] = &args.dkim {
        builder = dkim(builder, key, selector, domain)?;
    }
    Ok(builder.build()?)
}

#[cfg(feature = "dkim")]
fn dkim(
    b: pconn_smtp::Builder,
    key: &str,
    selector: &str,
    domain: &str,
) -> Result<pconn_smtp::Builder, BoxError> {
    Ok(b.dkim(pconn_smtp::DkimSigner::from_pem_file(
        key, domain, selector,
    )?))
}

#[cfg(not(feature = "dkim"))]
fn dkim(
    _: pconn_smtp::Builder,
    _: &str,
    _: &str,
    _: &str,
) -> Result<pconn_smtp::Builder, BoxError> {
    Err("DKIM signing needs the dkim feature: cargo run -p pconn-smtp --features dkim --example send-mail".into())
}

/// Input problems (exit 2, nothing sent) and the run's failures (exit 1).
enum Failure {
    Input(BoxError),
    Send(BoxError),
}

fn run(args: Args) -> Result<(), Failure> {
    let client = client(&args).map_err(Failure::Input)?;
    let subject = args.subject.clone().unwrap_or_default();
    let whole = args.message.is_some() || args.headers_rcpts;
    let mut failed = 0;
    for i in 1..=args.count {
        let numbered = if args.count > 1 {
            format!("{subject} ({i}/{})", args.count)
        } else {
            subject.clone()
        };
        let message = if whole {
            whole_message(&args)
        } else {
            built_message(&args, &numbered)
        };
        let mut message = message.map_err(Failure::Input)?;
        if args.dsn || args.envid.is_some() {
            let mut dsn = Dsn::new().ret(Ret::Headers).notify(Notify::ALL).orcpt(true);
            if let Some(id) = &args.envid {
                dsn = dsn.envid(id).map_err(|e| Failure::Input(e.0.into()))?;
            }
            message = message.with_dsn(dsn);
        }
        match client.send(&message) {
            Ok(sent) => {
                let refused: Vec<String> = sent
                    .refused
                    .iter()
                    .map(|r| format!("{} ({})", r.recipient, r.reply))
                    .collect();
                println!(
                    "mail {i}: {}{}{}",
                    sent.reply,
                    if sent.reused {
                        " [reused connection]"
                    } else {
                        " [new connection]"
                    },
                    if refused.is_empty() {
                        String::new()
                    } else {
                        format!(" refused: {}", refused.join(", "))
                    }
                );
            }
            Err(e) => {
                failed += 1;
                println!("mail {i}: error: {e}");
            }
        }
    }
    if args.stats {
        println!("{}", client.stats().to_json());
    }
    if failed > 0 {
        return Err(Failure::Send(
            format!("{failed} of {} mails failed", args.count).into(),
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    // RUST_LOG=pconn_smtp=debug (or trace, or transport=debug,...) prints
    // the client's events (sessions opened, reused, reset, broken) to stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(e)) => {
            eprintln!("send-mail: {e} (nothing was sent)");
            ExitCode::from(2)
        }
        Err(Failure::Send(e)) => {
            eprintln!("send-mail: {e}");
            ExitCode::FAILURE
        }
    }
}
