//! The deployment check: every setting that production mode refuses (an error) or
//! frowns on (a warning), each with what to do about it.
//!
//! `securecart check --deploy` prints the report; `serve` in production runs the same
//! check first and refuses to start while it finds an error. The check reads the
//! command line and environment as given, before [`Settings`](crate::Settings) are
//! built, so that it can name every problem at once instead of stopping at the first.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::config::{GlobalArgs, ServeArgs};
use crate::security::{password, secret};
use crate::server::tls::{self, TlsFiles};

/// The least PBKDF2 cost production accepts (OWASP's figure for PBKDF2-HMAC-SHA256).
pub const MIN_PRODUCTION_ITERATIONS: u32 = 600_000;

/// Warn when the certificate ends within this many days.
const CERT_WARNING_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem: a stable id (for scripts and the docs), what is wrong and the fix.
#[derive(Debug, Clone)]
pub struct Finding {
    pub severity: Severity,
    pub id: &'static str,
    pub problem: String,
    pub fix: String,
}

/// Everything the check found, errors first.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether the report has a finding with this id.
    pub fn has(&self, id: &str) -> bool {
        self.findings.iter().any(|f| f.id == id)
    }

    fn push(&mut self, severity: Severity, id: &'static str, problem: String, fix: &str) {
        self.findings.push(Finding {
            severity,
            id,
            problem,
            fix: fix.to_owned(),
        });
    }

    fn error(&mut self, id: &'static str, problem: impl Into<String>, fix: &str) {
        self.push(Severity::Error, id, problem.into(), fix);
    }

    fn warning(&mut self, id: &'static str, problem: impl Into<String>, fix: &str) {
        self.push(Severity::Warning, id, problem.into(), fix);
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            let label = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            writeln!(f, "{label} [{}]: {}", finding.id, finding.problem)?;
            writeln!(f, "    fix: {}", finding.fix)?;
        }
        let (errors, warnings) = (self.errors(), self.warnings());
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{errors} error{}, {warnings} warning{}.",
            plural(errors),
            plural(warnings)
        )
    }
}

/// Checks a configuration against the production rules.
pub fn check(global: &GlobalArgs, serve: &ServeArgs) -> Report {
    let mut report = Report::default();
    transport(&mut report, serve);
    server_secret(&mut report, global, serve);
    database(&mut report, global, serve);
    mail(&mut report, serve);
    if global.pbkdf2_iterations < MIN_PRODUCTION_ITERATIONS {
        report.error(
            "pbkdf2-cost",
            format!(
                "SECURECART_PBKDF2_ITERATIONS is {}, below {MIN_PRODUCTION_ITERATIONS}: \
                 stolen password hashes would be cheap to crack",
                global.pbkdf2_iterations
            ),
            &format!(
                "unset SECURECART_PBKDF2_ITERATIONS (default {}) or set it to \
                 {MIN_PRODUCTION_ITERATIONS} or more",
                password::DEFAULT_ITERATIONS
            ),
        );
    }
    if serve.demo {
        report.error(
            "demo",
            "--demo (SECURECART_DEMO) would load the demo catalogue into the live shop",
            "remove --demo and SECURECART_DEMO; import the real catalogue with \
             `securecart import-products`",
        );
    }
    for origin in &serve.cors_origins {
        let origin = origin.trim();
        if origin.starts_with("http://") && !is_loopback_url(origin) {
            report.warning(
                "cors-http",
                format!("SECURECART_CORS_ORIGINS lets the plain-HTTP origin {origin} call the API"),
                "list https:// origins only",
            );
        }
    }
    report.findings.sort_by_key(|f| f.severity);
    report
}

/// TLS, the public URL, HSTS and proxies.
fn transport(report: &mut Report, serve: &ServeArgs) {
    let tls_files = match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let proxied = !serve.trusted_proxies.is_empty();
    let bind = serve.bind;

    if serve.self_signed {
        report.error(
            "self-signed",
            "--self-signed serves a development certificate that browsers reject",
            "set SECURECART_TLS_CERT and SECURECART_TLS_KEY to a certificate from a CA \
             (e.g. Let's Encrypt), or terminate TLS at a proxy",
        );
    } else if tls_files.is_none() && !proxied && !bind.ip().is_loopback() {
        report.error(
            "plain-http",
            format!(
                "the shop would serve plain HTTP on {bind}, a network address, with no TLS \
                 in front of it: passwords, cookies and card numbers would cross the \
                 network in clear"
            ),
            "set SECURECART_TLS_CERT and SECURECART_TLS_KEY, or serve behind a TLS proxy \
             and list it in SECURECART_TRUSTED_PROXIES",
        );
    } else if tls_files.is_none() && !proxied {
        report.error(
            "proxy-untrusted",
            format!(
                "the shop serves plain HTTP on {bind}, so a proxy must terminate TLS, but \
                 SECURECART_TRUSTED_PROXIES is empty: no request would count as HTTPS (no \
                 HSTS) and every client would share the proxy's address and rate limits"
            ),
            "set SECURECART_TRUSTED_PROXIES to the proxy's address (e.g. 127.0.0.1/32,::1/128)",
        );
    } else if tls_files.is_none() && !bind.ip().is_loopback() {
        report.warning(
            "plain-http-behind-proxy",
            format!(
                "the shop serves plain HTTP on {bind}: traffic between the proxy and the \
                 shop crosses the network in clear, and anyone who reaches {bind} directly \
                 bypasses the proxy"
            ),
            "bind to 127.0.0.1 with the proxy on the same host, or give the shop a \
             certificate too (SECURECART_TLS_CERT, SECURECART_TLS_KEY)",
        );
    }
    for net in &serve.trusted_proxies {
        if net.prefix_len() == 0 {
            report.error(
                "proxies-everyone",
                format!(
                    "SECURECART_TRUSTED_PROXIES contains {net}, which trusts every address: \
                     any client could forge its address and claim HTTPS"
                ),
                "list only your proxies' addresses",
            );
        }
    }

    let public_url = serve.public_url.as_deref().map(|u| u.trim_end_matches('/'));
    match public_url {
        None => report.error(
            "public-url",
            "SECURECART_PUBLIC_URL is not set: links in emails and the check that forms \
             come from our own site would use the listening address",
            "set SECURECART_PUBLIC_URL to the address customers use, e.g. https://shop.example",
        ),
        Some(url) if !url.starts_with("https://") => report.error(
            "public-url-http",
            format!("SECURECART_PUBLIC_URL is {url}: links in emails would be plain HTTP"),
            "use the https:// address customers reach the shop at",
        ),
        Some(_) => {}
    }

    if let Some(files) = &tls_files {
        certificate(report, files, public_url);
    }

    if serve.hsts_max_age == 0 {
        report.warning(
            "hsts-off",
            "SECURECART_HSTS_MAX_AGE is 0: browsers are not told to insist on HTTPS, so a \
             first plain-HTTP visit can be intercepted",
            "unset SECURECART_HSTS_MAX_AGE (one year)",
        );
    } else if serve.hsts_max_age < 31_536_000 {
        report.warning(
            "hsts-short",
            format!(
                "SECURECART_HSTS_MAX_AGE is {} s, less than a year",
                serve.hsts_max_age
            ),
            "use 31536000 or more once HTTPS works everywhere",
        );
    }
}

/// The certificate files: readable, matching, in date, naming the public host.
fn certificate(report: &mut Report, files: &TlsFiles, public_url: Option<&str>) {
    if let Err(err) = tls::load(files) {
        report.error(
            "tls-unusable",
            format!("the TLS certificate cannot be used: {err:#}"),
            "point SECURECART_TLS_CERT at the PEM chain and SECURECART_TLS_KEY at its key",
        );
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(&files.key)
            && meta.permissions().mode() & 0o004 != 0
        {
            report.warning(
                "tls-key-readable",
                format!(
                    "the private key {} can be read by every user of this machine",
                    files.key.display()
                ),
                "chmod o-rwx the key (the shop's user or group needs read access only)",
            );
        }
    }
    let Some(facts) = tls::certificate_facts(&files.cert) else {
        return;
    };
    let days_left = (facts.not_after - time::OffsetDateTime::now_utc()).whole_days();
    if facts.not_after <= time::OffsetDateTime::now_utc() {
        report.error(
            "tls-expired",
            format!(
                "the certificate {} expired on {}",
                files.cert.display(),
                facts.not_after.date()
            ),
            "renew it; the shop picks up the new files without a restart",
        );
    } else if days_left < CERT_WARNING_DAYS {
        report.warning(
            "tls-expiring",
            format!(
                "the certificate {} expires in {days_left} days ({})",
                files.cert.display(),
                facts.not_after.date()
            ),
            "renew it; the shop picks up the new files without a restart",
        );
    }
    if facts.self_signed {
        report.warning(
            "tls-self-signed",
            format!(
                "the certificate {} is self-signed: browsers will reject it",
                files.cert.display()
            ),
            "use a certificate from a CA",
        );
    }
    if let Some(host) = public_url.and_then(url_host)
        && !tls::covers(&facts.names, &host)
    {
        report.warning(
            "tls-name",
            format!(
                "the certificate names {:?}, not {host}, the public URL's host",
                facts.names
            ),
            "use a certificate for the public URL's host, or correct SECURECART_PUBLIC_URL",
        );
    }
}

fn server_secret(report: &mut Report, global: &GlobalArgs, serve: &ServeArgs) {
    let fix = "set SECURECART_SECRET_KEY to at least 32 random bytes, e.g. the output of \
               `openssl rand -base64 48`, kept out of the repository";
    let Some(key) = serve.secret_key.as_deref().filter(|k| !k.is_empty()) else {
        report.error("secret-missing", "SECURECART_SECRET_KEY is not set", fix);
        return;
    };
    if key.len() < secret::MIN_LEN {
        report.error(
            "secret-short",
            format!(
                "SECURECART_SECRET_KEY has {} bytes, fewer than {}",
                key.len(),
                secret::MIN_LEN
            ),
            fix,
        );
        return;
    }
    let development = std::fs::read_to_string(secret::development_path(&global.data_dir))
        .is_ok_and(|dev| dev.trim() == key);
    if development {
        report.error(
            "secret-development",
            "SECURECART_SECRET_KEY is the development secret from the data folder",
            fix,
        );
    } else if looks_made_up(key) {
        report.error(
            "secret-weak",
            "SECURECART_SECRET_KEY looks typed by hand or copied from an example, not random",
            fix,
        );
    }
}

/// A key with few distinct characters, or a placeholder's words, was not generated.
fn looks_made_up(key: &str) -> bool {
    let mut distinct: Vec<char> = key.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let lower = key.to_ascii_lowercase();
    distinct.len() < 12
        || [
            "change",
            "example",
            "replace",
            "placeholder",
            "insecure",
            "your-",
            "todo",
        ]
        .iter()
        .any(|word| lower.contains(word))
}

fn database(report: &mut Report, global: &GlobalArgs, serve: &ServeArgs) {
    let url = global
        .database_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            postgres(report, url, serve.database_allow_plaintext);
        }
        Some(url) => {
            let path = sqlite_path(url);
            if path.as_os_str() == ":memory:" || url.contains("mode=memory") {
                report.error(
                    "sqlite-memory",
                    "the database is an in-memory SQLite database: every order is lost when \
                     the process stops",
                    "use a SQLite file on a local disk, or PostgreSQL",
                );
            } else {
                sqlite_file(report, &path);
            }
        }
        None => sqlite_file(report, &global.data_dir.join("securecart.db")),
    }
}

fn sqlite_file(report: &mut Report, path: &Path) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if let Some(fs) = filesystem_of(path, &mountinfo)
        && is_network_filesystem(&fs)
    {
        report.error(
            "sqlite-network-fs",
            format!(
                "the SQLite database {} is on a {fs} network file system, whose locks SQLite \
                 cannot rely on: the database can be corrupted",
                path.display()
            ),
            "keep the data folder on a local disk, or use PostgreSQL",
        );
    }
}

fn postgres(report: &mut Report, url: &str, allow_plaintext: bool) {
    let sslmode = query_param(url, "sslmode")
        .or_else(|| std::env::var("PGSSLMODE").ok())
        .unwrap_or_else(|| "prefer".to_owned())
        .to_ascii_lowercase();
    let host = postgres_host(url);
    let local = is_local_host(&host);
    let encrypted = matches!(sslmode.as_str(), "require" | "verify-ca" | "verify-full");
    if !local && !encrypted && !allow_plaintext {
        report.error(
            "database-plaintext",
            format!(
                "the PostgreSQL connection to {host} does not require TLS (sslmode={sslmode}): \
                 customer data and the database password could be read or changed on the way"
            ),
            "add sslmode=verify-full&sslrootcert=/path/to/ca.pem to SECURECART_DATABASE_URL \
             (or sslmode=require), or set SECURECART_DATABASE_ALLOW_PLAINTEXT=true if the \
             network is private by other means",
        );
    } else if !local && sslmode == "require" {
        report.warning(
            "database-unverified",
            format!(
                "the PostgreSQL connection to {host} is encrypted but the server's \
                 certificate is not checked (sslmode=require)"
            ),
            "use sslmode=verify-full with sslrootcert naming the server's CA",
        );
    }
}

fn mail(report: &mut Report, serve: &ServeArgs) {
    let Some(url) = serve
        .smtp_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        report.error(
            "mail-outbox",
            "SECURECART_SMTP_URL is not set, so emails (verification, password resets, \
             order confirmations) would only be written to the outbox folder",
            "set SECURECART_SMTP_URL, e.g. smtps://user:password@mail.example",
        );
        return;
    };
    if url.starts_with("smtp://") && query_param(url, "tls").as_deref() != Some("required") {
        report.error(
            "mail-plaintext",
            "SECURECART_SMTP_URL is smtp:// without tls=required: the mail password and \
             password-reset links could travel in clear",
            "use smtps://… or add ?tls=required",
        );
    }
}

/// The value of `name` in a URL's query string.
fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The host a PostgreSQL URL connects to: the authority's host, or `host=` in the
/// query (a socket folder), or empty for the default socket.
fn postgres_host(url: &str) -> String {
    if let Some(host) = query_param(url, "host") {
        return host;
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // The first host of a list; IPv6 in brackets.
    let first = host_port.split(',').next().unwrap_or("");
    if let Some(inner) = first.strip_prefix('[') {
        return inner.split(']').next().unwrap_or("").to_owned();
    }
    first.split(':').next().unwrap_or("").to_owned()
}

fn is_local_host(host: &str) -> bool {
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_loopback_url(url: &str) -> bool {
    url_host(url).is_some_and(|host| is_local_host(&host))
}

/// The host of an `http(s)://host[:port]/…` URL, lower case, IPv6 without brackets.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = if let Some(inner) = authority.strip_prefix('[') {
        inner.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The file a `sqlite:` URL names.
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// The type of the file system holding `path` (or its nearest existing ancestor),
/// from `/proc/self/mountinfo`'s format.
fn filesystem_of(path: &Path, mountinfo: &str) -> Option<String> {
    let absolute = std::path::absolute(path).ok()?;
    // Symbolic links resolved as far as the path exists; the rest kept as written.
    let existing = absolute
        .ancestors()
        .find_map(|ancestor| {
            let real = std::fs::canonicalize(ancestor).ok()?;
            Some(real.join(absolute.strip_prefix(ancestor).ok()?))
        })
        .unwrap_or_else(|| absolute.clone());
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?.replace("\\040", " ");
            let fs = right.split(' ').next()?;
            existing
                .starts_with(&mount_point)
                .then(|| (mount_point.len(), fs.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
}

fn is_network_filesystem(fs: &str) -> bool {
    matches!(
        fs,
        "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "9p"
            | "afs"
            | "ceph"
            | "glusterfs"
            | "lustre"
            | "gpfs"
            | "davfs"
            | "fuse.sshfs"
            | "fuse.glusterfs"
            | "fuse.s3fs"
            | "fuse.rclone"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Cli;
    use clap::Parser as _;

    const SECRET: &str = "q8V1nT3kZ0pLr7xY2cB6mW9eH4aJ5sDf";

    /// The report for `serve` with these arguments (no environment involved: clap
    /// reads `SECURECART_*` variables, and the test process sets none).
    fn report(args: &[&str]) -> Report {
        let mut argv = vec!["securecart", "serve"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).expect("arguments");
        let crate::config::Command::Serve(serve) = &cli.command else {
            unreachable!()
        };
        check(&cli.global, serve)
    }

    fn ids(report: &Report) -> Vec<&'static str> {
        report.findings.iter().map(|f| f.id).collect()
    }

    /// A production configuration behind a local proxy that passes every rule.
    fn good() -> Vec<&'static str> {
        vec![
            "--bind",
            "127.0.0.1:8000",
            "--trusted-proxies",
            "127.0.0.1/32",
            "--public-url",
            "https://shop.example",
            "--secret-key",
            SECRET,
            "--smtp-url",
            "smtps://shop:pw@mail.example",
            "--pbkdf2-iterations",
            "600000",
        ]
    }

    /// `good()` with `extra`'s flags in place of its own; a flag followed by `""` is
    /// removed instead.
    fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args: Vec<&'a str> = good();
        let mut i = 0;
        while i < extra.len() {
            let flag = extra[i];
            let value = extra.get(i + 1).filter(|v| !v.starts_with("--")).copied();
            if let Some(at) = args.iter().position(|a| *a == flag) {
                args.drain(at..at + 2);
            }
            match value {
                Some("") => {}
                Some(value) => args.extend([flag, value]),
                None => args.push(flag),
            }
            i += if value.is_some() { 2 } else { 1 };
        }
        args
    }

    #[test]
    fn a_sound_configuration_passes() {
        let report = report(&good());
        assert_eq!(ids(&report), Vec::<&str>::new(), "{report}");
    }

    #[test]
    fn each_insecure_setting_is_an_error_that_names_its_fix() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--bind", "0.0.0.0:8000", "--trusted-proxies", ""],
                "plain-http",
            ),
            (&["--trusted-proxies", ""], "proxy-untrusted"),
            (&["--trusted-proxies", "0.0.0.0/0"], "proxies-everyone"),
            (&["--self-signed"], "self-signed"),
            (&["--public-url", "http://shop.example"], "public-url-http"),
            (&["--secret-key", "short"], "secret-short"),
            (
                &["--secret-key", "change-me-change-me-change-me-change-me"],
                "secret-weak",
            ),
            (&["--secret-key", ""], "secret-missing"),
            (&["--smtp-url", ""], "mail-outbox"),
            (&["--smtp-url", "smtp://mail.example"], "mail-plaintext"),
            (
                &["--smtp-url", "smtp://mail.example?tls=opportunistic"],
                "mail-plaintext",
            ),
            (&["--pbkdf2-iterations", "599999"], "pbkdf2-cost"),
            (&["--demo"], "demo"),
            (
                &["--database-url", "postgres://u@db.example/shop"],
                "database-plaintext",
            ),
            (
                &[
                    "--database-url",
                    "postgres://u@db.example/shop?sslmode=prefer",
                ],
                "database-plaintext",
            ),
            (&["--database-url", "sqlite::memory:"], "sqlite-memory"),
        ];
        for (args, id) in cases {
            let report = report(&with(args));
            let finding = report
                .findings
                .iter()
                .find(|f| f.id == *id)
                .unwrap_or_else(|| panic!("{args:?}: no {id} in {report}"));
            assert_eq!(finding.severity, Severity::Error, "{id}");
            assert!(!finding.fix.is_empty(), "{id}");
            assert_eq!(report.errors(), 1, "{args:?} gives only {id}: {report}");
        }
    }

    #[test]
    fn a_missing_public_url_is_an_error() {
        assert!(report(&with(&["--public-url", ""])).has("public-url"));
    }

    #[test]
    fn the_development_secret_is_refused_in_production() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().to_str().expect("utf-8");
        std::fs::write(dir.path().join("secret.key"), format!("{SECRET}\n")).expect("write");
        let report = report(&with(&["--data-dir", data]));
        assert!(report.has("secret-development"), "{report}");
    }

    #[test]
    fn database_tls_is_judged_by_host_and_sslmode() {
        let clean = |url: &'static str| report(&with(&["--database-url", url]));
        assert_eq!(clean("postgres://u@localhost/shop").errors(), 0);
        assert_eq!(clean("postgres://u@127.0.0.1:5432/shop").errors(), 0);
        assert_eq!(clean("postgres:///shop?host=/run/postgresql").errors(), 0);
        assert_eq!(
            ids(&clean(
                "postgres://u@db.example/shop?sslmode=verify-full&sslrootcert=/ca.pem"
            )),
            Vec::<&str>::new()
        );
        let required = clean("postgres://u:p@[2001:db8::5]:5432/shop?sslmode=require");
        assert_eq!(ids(&required), vec!["database-unverified"]);
        let allowed = report(&with(&[
            "--database-url",
            "postgres://u@10.1.2.3/shop",
            "--database-allow-plaintext",
        ]));
        assert_eq!(allowed.errors(), 0);
    }

    #[test]
    fn weak_hsts_and_http_cors_origins_are_warnings() {
        let off = report(&with(&["--hsts-max-age", "0"]));
        assert_eq!(ids(&off), vec!["hsts-off"]);
        assert_eq!(off.errors(), 0);
        assert_eq!(
            ids(&report(&with(&["--hsts-max-age", "86400"]))),
            vec!["hsts-short"]
        );
        let cors = report(&with(&[
            "--cors-origins",
            "http://app.example,http://localhost:3000,https://ok.example",
        ]));
        assert_eq!(ids(&cors), vec!["cors-http"]);
    }

    #[test]
    fn the_certificate_is_checked_when_the_shop_serves_tls() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = tls::self_signed(dir.path()).expect("certificate");
        let cert = files.cert.to_str().expect("utf-8").to_owned();
        let key = files.key.to_str().expect("utf-8").to_owned();
        let run = |public: &str, cert: &str| {
            report(&with(&[
                "--bind",
                "0.0.0.0:8443",
                "--trusted-proxies",
                "",
                "--tls-cert",
                cert,
                "--tls-key",
                key.as_str(),
                "--public-url",
                public,
            ]))
        };
        let local = run("https://localhost:8443", &cert);
        assert_eq!(ids(&local), vec!["tls-self-signed"], "{local}");
        let elsewhere = run("https://shop.example", &cert);
        assert!(elsewhere.has("tls-name"), "{elsewhere}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let open = std::fs::Permissions::from_mode(0o644);
            std::fs::set_permissions(&files.key, open).expect("chmod");
            let readable = run("https://localhost:8443", &cert);
            assert!(readable.has("tls-key-readable"), "{readable}");
            assert_eq!(readable.errors(), 0, "{readable}");
        }

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n").expect("write");
        let broken = run("https://localhost:8443", garbage.to_str().expect("utf-8"));
        assert!(broken.has("tls-unusable"), "{broken}");
    }

    #[test]
    fn network_file_systems_are_found_in_mountinfo() {
        let mountinfo = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n\
                         40 22 0:50 / /srv/shop rw - nfs4 nas:/export rw\n\
                         41 22 0:51 / /srv/shop\\040two rw - cifs //nas/s rw\n";
        assert_eq!(
            filesystem_of(Path::new("/srv/shop/data/securecart.db"), mountinfo).as_deref(),
            Some("nfs4")
        );
        assert_eq!(
            filesystem_of(Path::new("/srv/shop two/x.db"), mountinfo).as_deref(),
            Some("cifs")
        );
        assert_eq!(
            filesystem_of(Path::new("/srv/shopping/x.db"), mountinfo).as_deref(),
            Some("ext4"),
            "a mount point is a whole path component"
        );
        assert!(is_network_filesystem("nfs4"));
        assert!(!is_network_filesystem("ext4"));
    }

    #[test]
    fn the_report_reads_as_a_list_of_problems_and_fixes() {
        let text = report(&with(&["--demo", "--hsts-max-age", "0"])).to_string();
        assert!(text.starts_with("error [demo]: "), "{text}");
        assert!(text.contains("\n    fix: "), "{text}");
        assert!(text.ends_with("1 error, 1 warning."), "{text}");
    }
}
