//! Settings: from command-line flags and `SECURECART_*` environment variables.
//!
//! clap reads both (a flag wins over its variable); [`Settings`] is the validated
//! result that the rest of the program uses. Tests build `Settings` directly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::money::Currency;
use crate::security::password;
use crate::security::secret::ServerSecret;
use crate::server::tls::{self, TlsFiles};

/// The sender of the shop's emails unless `SECURECART_MAIL_FROM` says otherwise.
const DEFAULT_MAIL_FROM: &str = "SecureCart <no-reply@securecart.localhost>";

/// SecureCart: a security-first web shop.
#[derive(Debug, Parser)]
#[command(name = "securecart", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the shop over HTTPS or HTTP (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Check the configuration that `serve` would run with; `--deploy` adds the rules
    /// production mode enforces. Exits 1 when there is an error.
    Check(Box<CheckArgs>),
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Fill the database with generated products for load tests and demos.
    SeedDemo(SeedArgs),
    /// Create or update products from a CSV file (all rows or none).
    ImportProducts(ImportArgs),
    /// Create an administrator, or make an existing account one (verified).
    CreateAdmin(CreateAdminArgs),
    /// Work with the audit log of staff actions.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// What to do with the audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain: exits 0 if every entry is intact, 1 and names
    /// the first entry that was changed, removed or inserted otherwise.
    Verify,
}

/// Options every command shares.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Folder for the SQLite database and other local files.
    #[arg(
        long,
        env = "SECURECART_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Database URL: sqlite://… or postgres://… [default: SQLite file in the data folder]
    #[arg(
        long,
        env = "SECURECART_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Run mode.
    #[arg(long = "env", env = "SECURECART_ENV", value_enum, default_value_t = RunMode::Development, global = true)]
    pub run_mode: RunMode,

    /// Log format: json (one object per line) or text [default: json in production, text otherwise]
    #[arg(long, env = "SECURECART_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Log filter, in tracing's env-filter syntax (e.g. `info` or `securecart=debug`).
    #[arg(long, env = "SECURECART_LOG", default_value = "info", global = true)]
    pub log: String,

    /// PBKDF2-SHA256 iterations for new password hashes (Django 6.0's default; never
    /// below 600000 in production).
    #[arg(long, env = "SECURECART_PBKDF2_ITERATIONS", default_value_t = password::DEFAULT_ITERATIONS, global = true)]
    pub pbkdf2_iterations: u32,
}

/// `check`: the same options as `serve`, and whether to apply the production rules.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also report every setting that production mode refuses or warns about, whatever
    /// SECURECART_ENV says.
    #[arg(long)]
    pub deploy: bool,

    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SECURECART_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// TLS certificate chain (PEM) to serve HTTPS with; needs SECURECART_TLS_KEY.
    /// Reloaded on SIGHUP and when the file changes.
    #[arg(long, env = "SECURECART_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "SECURECART_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a certificate for localhost made once into <data>/tls/
    /// (development only).
    #[arg(long, env = "SECURECART_SELF_SIGNED", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub self_signed: bool,

    /// Also listen for plain HTTP here, answering every request with a 308 to HTTPS.
    #[arg(long, env = "SECURECART_HTTP_REDIRECT_BIND")]
    pub http_redirect_bind: Option<SocketAddr>,

    /// Strict-Transport-Security max-age in seconds on HTTPS responses; 0 turns HSTS off.
    #[arg(long, env = "SECURECART_HSTS_MAX_AGE", default_value_t = 31_536_000)]
    pub hsts_max_age: u64,

    /// Whether HSTS covers subdomains too.
    #[arg(long, env = "SECURECART_HSTS_INCLUDE_SUBDOMAINS", default_value_t = true, action = clap::ArgAction::Set)]
    pub hsts_include_subdomains: bool,

    /// Add `preload` to HSTS (needs a max-age of a year or more and subdomains).
    #[arg(long, env = "SECURECART_HSTS_PRELOAD")]
    pub hsts_preload: bool,

    /// Which headers trusted proxies use to say who the client is and which scheme it
    /// used.
    #[arg(long, env = "SECURECART_PROXY_HEADERS", value_enum, default_value_t = ProxyHeaders::XForwarded)]
    pub proxy_headers: ProxyHeaders,

    /// Allow a PostgreSQL connection without TLS to a host that is not this machine
    /// (production refuses it otherwise).
    #[arg(long, env = "SECURECART_DATABASE_ALLOW_PLAINTEXT")]
    pub database_allow_plaintext: bool,

    /// Load the demo catalogue (once per database) before serving.
    #[arg(long, env = "SECURECART_DEMO")]
    pub demo: bool,

    /// The shop's currency, as an ISO 4217 code.
    #[arg(long, env = "SECURECART_CURRENCY", default_value = "EUR")]
    pub currency: String,

    /// Largest request body accepted, in bytes; larger bodies get 413.
    #[arg(long, env = "SECURECART_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// Seconds a client may take to send the request headers before it is cut off.
    #[arg(long, env = "SECURECART_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds a request may take in all (reading the body and answering) before 408.
    #[arg(long, env = "SECURECART_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Most database connections the pool opens.
    #[arg(long, env = "SECURECART_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// The shop's address as customers reach it, for links in emails [default: http://BIND]
    #[arg(long, env = "SECURECART_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Seconds of inactivity after which a session ends.
    #[arg(long, env = "SECURECART_SESSION_IDLE_SECS", default_value_t = 1800)]
    pub session_idle_secs: u64,

    /// SMTP server for outgoing mail (smtps://user:pass@host, or smtp://host?tls=required);
    /// unset: messages are written to <data>/outbox/.
    #[arg(long, env = "SECURECART_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of the shop's emails.
    #[arg(
        long,
        env = "SECURECART_MAIL_FROM",
        default_value = DEFAULT_MAIL_FROM
    )]
    pub mail_from: String,

    /// Proxies (addresses or CIDRs, comma-separated) whose forwarded headers are trusted.
    #[arg(long, env = "SECURECART_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Server secret, at least 32 bytes: signs API tokens [development default: generated
    /// once into <data>/secret.key; required in production]
    #[arg(long, env = "SECURECART_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Origins (comma-separated, e.g. https://app.example) whose browser scripts may call
    /// the JSON API; unset: none (CORS off).
    #[arg(long, env = "SECURECART_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// API token requests (issue, refresh, revoke) allowed per client address per minute.
    #[arg(long, env = "SECURECART_API_AUTH_PER_MINUTE", default_value_t = 10)]
    pub api_auth_per_minute: u32,

    /// API reads allowed per client address (and per user) per minute.
    #[arg(long, env = "SECURECART_API_READS_PER_MINUTE", default_value_t = 600)]
    pub api_reads_per_minute: u32,

    /// API writes allowed per client address (and per user) per minute.
    #[arg(long, env = "SECURECART_API_WRITES_PER_MINUTE", default_value_t = 120)]
    pub api_writes_per_minute: u32,
}

#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    /// The administrator's email address.
    #[arg(long)]
    pub email: String,

    /// The password; prompted for when unset.
    #[arg(
        long = "password-from-env",
        env = "SECURECART_ADMIN_PASSWORD",
        hide = true,
        hide_env_values = true
    )]
    pub password: Option<String>,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many products to create (SKUs SEED-000001…; re-running updates them).
    #[arg(long, default_value_t = 1000)]
    pub products: u32,

    /// How many categories to spread them over.
    #[arg(long, default_value_t = 12)]
    pub categories: u32,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV with the header `sku,name,description,price,stock,category`.
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunMode {
    Development,
    Production,
}

/// The forwarded headers trusted proxies send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProxyHeaders {
    /// `X-Forwarded-For` and `X-Forwarded-Proto` (nginx, Caddy, most load balancers).
    #[default]
    XForwarded,
    /// RFC 7239's `Forwarded: for=…;proto=…`.
    Forwarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Limits that protect the server from oversized and slow requests.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub body_limit: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            body_limit: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// How long sessions live.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Ends a session nobody has used for this long.
    pub idle: Duration,
    /// Ends every session this long after login, used or not.
    pub absolute: Duration,
    /// Cookies always carry `Secure` and the `__Host-` prefix (the public URL is
    /// `https://`, or the shop serves TLS); otherwise they do on HTTPS requests only.
    pub secure_cookies: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle: Duration::from_secs(1800),
            absolute: Duration::from_secs(12 * 3600),
            secure_cookies: false,
        }
    }
}

/// How the JSON API answers browsers and how fast clients may call it.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Origins allowed to call the API from a browser; empty: CORS off.
    pub cors_origins: Vec<String>,
    /// Requests per minute per client address (and per user, where one is known).
    pub auth_per_minute: u32,
    pub reads_per_minute: u32,
    pub writes_per_minute: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            cors_origins: Vec::new(),
            auth_per_minute: 10,
            reads_per_minute: 600,
            writes_per_minute: 120,
        }
    }
}

/// HTTPS: the certificate, HSTS, the redirect listener and proxies' headers.
#[derive(Debug, Clone)]
pub struct HttpsSettings {
    /// Serve TLS with these files; `None`: plain HTTP (behind a proxy, or development).
    pub tls: Option<TlsFiles>,
    /// The certificate is the generated development one.
    pub self_signed: bool,
    /// The `Strict-Transport-Security` value for HTTPS responses; `None`: HSTS off.
    pub hsts: Option<axum::http::HeaderValue>,
    pub redirect_bind: Option<SocketAddr>,
    pub proxy_headers: ProxyHeaders,
}

impl Default for HttpsSettings {
    fn default() -> Self {
        HttpsSettings {
            tls: None,
            self_signed: false,
            hsts: crate::security::headers::hsts_value(31_536_000, true, false),
            redirect_bind: None,
            proxy_headers: ProxyHeaders::default(),
        }
    }
}

/// The validated configuration of a running shop.
#[derive(Debug, Clone)]
pub struct Settings {
    pub run_mode: RunMode,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub db_max_connections: u32,
    pub currency: Currency,
    pub limits: HttpLimits,
    pub public_url: String,
    pub sessions: SessionSettings,
    pub pbkdf2_iterations: u32,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub https: HttpsSettings,
    pub secret: ServerSecret,
    pub api: ApiSettings,
}

impl Settings {
    /// Settings for commands that only need the database.
    pub fn from_global(global: &GlobalArgs) -> Settings {
        Settings::base(
            global.run_mode,
            &global.data_dir,
            global.database_url.as_deref(),
            global.pbkdf2_iterations,
        )
    }

    /// Defaults for everything but what every command is told.
    fn base(run_mode: RunMode, data_dir: &Path, url: Option<&str>, iterations: u32) -> Settings {
        Settings {
            run_mode,
            data_dir: data_dir.to_path_buf(),
            database_url: database_url(url, data_dir),
            db_max_connections: 4,
            currency: Currency::default(),
            limits: HttpLimits::default(),
            public_url: "http://127.0.0.1:8000".to_owned(),
            sessions: SessionSettings::default(),
            pbkdf2_iterations: iterations,
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            trusted_proxies: Vec::new(),
            https: HttpsSettings::default(),
            secret: ServerSecret::ephemeral(),
            api: ApiSettings::default(),
        }
    }

    /// Settings for `serve`, validated.
    pub fn for_serve(global: &GlobalArgs, serve: &ServeArgs) -> anyhow::Result<Settings> {
        let currency = Currency::new(&serve.currency).map_err(anyhow::Error::msg)?;
        anyhow::ensure!(
            serve.body_limit >= 1024,
            "SECURECART_BODY_LIMIT must be at least 1024"
        );
        anyhow::ensure!(
            serve.header_timeout_secs > 0 && serve.request_timeout_secs > 0,
            "timeouts must be at least one second"
        );
        anyhow::ensure!(
            serve.session_idle_secs >= 1,
            "SECURECART_SESSION_IDLE_SECS must be at least 1"
        );
        let https = https_settings(global, serve)?;
        let public_url = match &serve.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if https.tls.is_some() => format!("https://{}", serve.bind),
            None => format!("http://{}", serve.bind),
        };
        anyhow::ensure!(
            public_url.starts_with("http://") || public_url.starts_with("https://"),
            "SECURECART_PUBLIC_URL must start with http:// or https://"
        );
        anyhow::ensure!(
            https.redirect_bind.is_none()
                || https.tls.is_some()
                || public_url.starts_with("https://"),
            "SECURECART_HTTP_REDIRECT_BIND redirects to HTTPS, so it needs TLS \
             (SECURECART_TLS_CERT and SECURECART_TLS_KEY, or --self-signed) or an https:// \
             SECURECART_PUBLIC_URL"
        );
        anyhow::ensure!(
            https.redirect_bind != Some(serve.bind) || serve.bind.port() == 0,
            "SECURECART_HTTP_REDIRECT_BIND must differ from SECURECART_BIND"
        );
        anyhow::ensure!(
            serve.api_auth_per_minute > 0
                && serve.api_reads_per_minute > 0
                && serve.api_writes_per_minute > 0,
            "API rate limits must be at least 1 per minute"
        );
        let cors_origins = serve
            .cors_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect::<Vec<_>>();
        for origin in &cors_origins {
            anyhow::ensure!(
                origin_is_valid(origin),
                "SECURECART_CORS_ORIGINS: `{origin}` is not an origin such as https://app.example"
            );
        }
        let secret = ServerSecret::load(
            serve.secret_key.as_deref(),
            &global.data_dir,
            global.run_mode,
        )?;
        Ok(Settings {
            secret,
            api: ApiSettings {
                cors_origins,
                auth_per_minute: serve.api_auth_per_minute,
                reads_per_minute: serve.api_reads_per_minute,
                writes_per_minute: serve.api_writes_per_minute,
            },
            sessions: SessionSettings {
                idle: Duration::from_secs(serve.session_idle_secs),
                secure_cookies: public_url.starts_with("https://") || https.tls.is_some(),
                ..SessionSettings::default()
            },
            https,
            public_url,
            smtp_url: serve.smtp_url.clone().filter(|u| !u.trim().is_empty()),
            mail_from: serve.mail_from.clone(),
            trusted_proxies: serve.trusted_proxies.clone(),
            db_max_connections: serve.db_max_connections.max(1),
            currency,
            limits: HttpLimits {
                body_limit: serve.body_limit,
                header_timeout: Duration::from_secs(serve.header_timeout_secs),
                request_timeout: Duration::from_secs(serve.request_timeout_secs),
            },
            ..Settings::from_global(global)
        })
    }

    /// Settings for a test: a given data folder and database, development defaults.
    pub fn for_tests(data_dir: &Path, url: Option<&str>) -> Settings {
        // Tests of hashing itself use the real cost; the rest need not wait for it.
        let mut settings = Settings::base(RunMode::Development, data_dir, url, 1_000);
        settings.db_max_connections = 8;
        settings.public_url = "http://127.0.0.1".to_owned();
        settings
    }

    /// The folder development email is written to.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Where uploaded product images are kept.
    pub fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("media").join("uploads")
    }
}

/// The TLS files (generating the development certificate if asked), HSTS and the
/// redirect listener, validated.
fn https_settings(global: &GlobalArgs, serve: &ServeArgs) -> anyhow::Result<HttpsSettings> {
    anyhow::ensure!(
        !(serve.self_signed && global.run_mode == RunMode::Production),
        "--self-signed is for development; production needs a real certificate \
         (SECURECART_TLS_CERT and SECURECART_TLS_KEY)"
    );
    let tls = match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (None, None) if serve.self_signed => Some(tls::self_signed(&global.data_dir)?),
        (None, None) => None,
        _ => anyhow::bail!("SECURECART_TLS_CERT and SECURECART_TLS_KEY go together: set both"),
    };
    if serve.hsts_preload {
        anyhow::ensure!(
            serve.hsts_max_age >= 31_536_000 && serve.hsts_include_subdomains,
            "SECURECART_HSTS_PRELOAD needs SECURECART_HSTS_MAX_AGE of at least 31536000 and \
             SECURECART_HSTS_INCLUDE_SUBDOMAINS=true (the preload list's rules)"
        );
    }
    Ok(HttpsSettings {
        tls,
        self_signed: serve.self_signed,
        hsts: crate::security::headers::hsts_value(
            serve.hsts_max_age,
            serve.hsts_include_subdomains,
            serve.hsts_preload,
        ),
        redirect_bind: serve.http_redirect_bind,
        proxy_headers: serve.proxy_headers,
    })
}

/// `scheme://host[:port]` and nothing more: what a browser sends as `Origin`.
fn origin_is_valid(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
        && axum::http::HeaderValue::from_str(origin).is_ok()
}

/// The configured URL, or the SQLite file inside the data folder.
fn database_url(configured: Option<&str>, data_dir: &Path) -> String {
    match configured {
        Some(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("securecart.db").display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_database_is_a_sqlite_file_in_the_data_folder() {
        let url = database_url(None, Path::new("./data"));
        assert_eq!(url, "sqlite://./data/securecart.db?mode=rwc");
        assert_eq!(
            database_url(Some("  "), Path::new("d")),
            "sqlite://d/securecart.db?mode=rwc"
        );
        assert_eq!(
            database_url(Some("postgres://x/y"), Path::new("d")),
            "postgres://x/y"
        );
    }

    #[test]
    fn cors_origins_are_scheme_host_and_port_only() {
        assert!(origin_is_valid("https://app.example"));
        assert!(origin_is_valid("http://localhost:3000"));
        for bad in [
            "app.example",
            "https://",
            "https://a.example/path",
            "ftp://a",
            "*",
        ] {
            assert!(!origin_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
