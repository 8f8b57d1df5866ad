//! Sends N mails over one pooled SMTP session and prints the server's reply
//! to each; `--stats` ends with the pool counters as one JSON line.
//!
//! ```text
//! cargo run -q -p smtp-client --example send-mail -- --url smtp://127.0.0.1:2525 \
//!     --cacert .servers/certs/ca.pem --user pconn --password pconn-secret \
//!     --from a@example.com --to b@example.com --subject hi --body hello --count 3 --stats
//! ```

use std::process::ExitCode;

use smtp_client::{Credentials, Message, SmtpClient};
use transport::TlsConfig;

const USAGE: &str = "usage: send-mail --url URL [--cacert PEM] [--user U --password P] \
--from ADDR --to ADDR [--to ADDR ...] --subject TEXT --body TEXT [--count N] [--stats]";

#[derive(Default)]
struct Args {
    url: Option<String>,
    cacert: Option<String>,
    user: Option<String>,
    password: Option<String>,
    from: Option<String>,
    to: Vec<String>,
    subject: Option<String>,
    body: Option<String>,
    count: u64,
    stats: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        count: 1,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--stats" {
            args.stats = true;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--url" => args.url = Some(value),
            "--cacert" => args.cacert = Some(value),
            "--user" => args.user = Some(value),
            "--password" => args.password = Some(value),
            "--from" => args.from = Some(value),
            "--to" => args.to.push(value),
            "--subject" => args.subject = Some(value),
            "--body" => args.body = Some(value),
            "--count" => {
                args.count = value
                    .parse()
                    .map_err(|_| format!("--count wants a number, got {value:?}"))?
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if args.url.is_none() || args.from.is_none() || args.to.is_empty() {
        return Err(format!("--url, --from and --to are required\n{USAGE}"));
    }
    if args.user.is_some() != args.password.is_some() {
        return Err("--user and --password go together".into());
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = SmtpClient::from_url(args.url.as_deref().unwrap_or_default())?;
    if let Some(ca) = &args.cacert {
        builder = builder.tls_config(TlsConfig::builder().add_ca_file(ca).build()?);
    }
    if let (Some(user), Some(password)) = (&args.user, &args.password) {
        builder = builder.credentials(Credentials::password(user, password));
    }
    let client = builder.build()?;
    let subject = args.subject.unwrap_or_default();
    let body = args.body.unwrap_or_default();
    let mut failed = 0;
    for i in 1..=args.count {
        let mut message = Message::builder()
            .from(args.from.as_deref().unwrap_or_default())
            .subject(&if args.count > 1 {
                format!("{subject} ({i}/{})", args.count)
            } else {
                subject.clone()
            })
            .text_body(&body);
        for to in &args.to {
            message = message.to(to);
        }
        // Caller mistakes (bad address, header injection) stop before sending.
        let message = message.build()?;
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
        return Err(format!("{failed} of {} mails failed", args.count).into());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("send-mail: {e}");
            ExitCode::FAILURE
        }
    }
}
