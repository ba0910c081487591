//! Outgoing email: files in the outbox folder in development, SMTP over TLS otherwise.
//!
//! Sending never holds up a page: [`Mailer::send_later`] hands the message to a task
//! that delivers it and retries failures with growing pauses. Messages are built with
//! lettre, which validates addresses and encodes headers, so text from a person cannot
//! add a header. Logs name the message kind, never the address or the body.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// Pauses before each retry of a failed delivery.
const RETRY_PAUSES: [Duration; 3] = [
    Duration::from_secs(2),
    Duration::from_secs(15),
    Duration::from_secs(90),
];

enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Where mail goes, and who it comes from. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match *self.transport {
            Transport::Outbox(_) => "outbox",
            Transport::Smtp(_) => "smtp",
        };
        f.debug_struct("Mailer")
            .field("transport", &kind)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// SMTP when `smtp_url` is given (`smtps://user:pass@host` or
    /// `smtp://host?tls=required`), otherwise one `.eml` file a message in `outbox`.
    pub fn new(smtp_url: Option<&str>, outbox: PathBuf, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .context("SECURECART_MAIL_FROM is not a valid address")?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SECURECART_SMTP_URL is not a valid SMTP URL")?
                    .build(),
            ),
            None => Transport::Outbox(outbox),
        };
        Ok(Mailer {
            transport: Arc::new(transport),
            from,
        })
    }

    pub fn outbox(&self) -> Option<&PathBuf> {
        match &*self.transport {
            Transport::Outbox(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// Queues a plain-text message to `to`; `kind` names it in the logs.
    pub fn send_later(&self, kind: &'static str, to: &str, subject: &str, body: String) {
        let message = match self.build(to, subject, body) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(
                    email.kind = kind,
                    error = format!("{err:#}"),
                    "email not built"
                );
                return;
            }
        };
        let mailer = self.clone();
        tokio::spawn(async move { mailer.deliver_with_retries(kind, message).await });
    }

    fn build(&self, to: &str, subject: &str, body: String) -> anyhow::Result<Message> {
        let to: Mailbox = to.parse().context("parsing the recipient")?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .context("building the message")
    }

    async fn deliver_with_retries(&self, kind: &'static str, message: Message) {
        for attempt in 0..=RETRY_PAUSES.len() {
            match self.deliver(&message).await {
                Ok(()) => {
                    tracing::info!(email.kind = kind, attempt, "email sent");
                    return;
                }
                Err(err) => {
                    tracing::warn!(
                        email.kind = kind,
                        attempt,
                        error = format!("{err:#}"),
                        "email delivery failed"
                    );
                }
            }
            if let Some(pause) = RETRY_PAUSES.get(attempt) {
                tokio::time::sleep(*pause).await;
            }
        }
        tracing::error!(email.kind = kind, "email given up after retries");
    }

    async fn deliver(&self, message: &Message) -> anyhow::Result<()> {
        match &*self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message.clone())
                    .await
                    .context("sending over SMTP")?;
            }
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .context("creating the outbox")?;
                let name = format!(
                    "{}-{:016x}",
                    crate::db::time::now_ms(),
                    rand::random::<u64>()
                );
                let partial = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&partial, message.formatted())
                    .await
                    .context("writing to the outbox")?;
                // A reader of the outbox never sees half a message: the rename is atomic.
                tokio::fs::rename(&partial, dir.join(format!("{name}.eml")))
                    .await
                    .context("publishing to the outbox")?;
            }
        }
        Ok(())
    }
}
