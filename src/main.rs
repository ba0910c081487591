//! The `securecart` command: serve the shop, or run one of the operator's commands.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use indicatif::{ProgressBar, ProgressStyle};

use securecart::accounts::{self, service::AdminOutcome};
use securecart::backoffice::audit::{self, Verdict};
use securecart::catalog::{demo, import, store};
use securecart::config::{
    AuditCommand, CheckArgs, Cli, Command, CreateAdminArgs, GlobalArgs, ImportArgs, RunMode,
    SeedArgs, ServeArgs, Settings,
};
use securecart::db::Db;
use securecart::deploy;
use securecart::security::events;
use securecart::security::password::Password;
use securecart::server::{redirect, tls};
use securecart::{AppState, server, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.global.log, cli.global.log_format, cli.global.run_mode);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve(args) => serve(&cli.global, args).await,
        Command::Check(args) => Ok(check(&cli.global, args)),
        Command::Migrate => {
            let db = open(&Settings::from_global(&cli.global)).await?;
            db.close().await;
            println!("The database schema is up to date.");
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedDemo(args) => seed(&Settings::from_global(&cli.global), args).await,
        Command::ImportProducts(args) => {
            import_products(&Settings::from_global(&cli.global), args).await
        }
        Command::CreateAdmin(args) => create_admin(Settings::from_global(&cli.global), args).await,
        Command::Audit(AuditCommand::Verify) => {
            verify_audit(&Settings::from_global(&cli.global)).await
        }
    }
}

async fn verify_audit(settings: &Settings) -> anyhow::Result<ExitCode> {
    let db = open(settings).await?;
    let verdict = audit::verify(&db).await?;
    db.close().await;
    match verdict {
        Verdict::Intact { entries } => {
            println!("The audit log is intact: {entries} entries, every hash matches.");
            Ok(ExitCode::SUCCESS)
        }
        Verdict::Broken { seq, reason } => {
            println!("The audit log is broken at entry {seq}: {reason}.");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Opens the database and migrates it, so every command works on a fresh data folder.
async fn open(settings: &Settings) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating the data folder {}", settings.data_dir.display()))?;
    let db = Db::connect(&settings.database_url, settings.db_max_connections).await?;
    db.migrate().await?;
    Ok(db)
}

/// `check`: the configuration as `serve` would take it, and with `--deploy` the
/// production rules; exits 1 on an error.
fn check(global: &GlobalArgs, args: &CheckArgs) -> ExitCode {
    if args.deploy {
        let report = deploy::check(global, &args.serve);
        println!("{report}");
        if report.errors() > 0 {
            return ExitCode::FAILURE;
        }
    }
    match Settings::for_serve(global, &args.serve) {
        Ok(settings) => {
            if let Some(files) = &settings.https.tls
                && let Err(err) = tls::load(files)
            {
                println!("error [config]: {err:#}");
                return ExitCode::FAILURE;
            }
            println!("The configuration is valid.");
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("error [config]: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Production mode's gate: the deployment check's errors stop the start, its warnings
/// are printed and logged.
fn production_gate(global: &GlobalArgs, args: &ServeArgs) -> bool {
    let report = deploy::check(global, args);
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
    if report.errors() > 0 {
        tracing::error!(
            event = "config.production_refused",
            problems = ?ids,
            "refusing to start in production mode"
        );
        eprintln!(
            "SecureCart will not start in production mode (SECURECART_ENV=production):\n\n\
             {report}\n\nRun `securecart check --deploy` to check a configuration."
        );
        return false;
    }
    if report.warnings() > 0 {
        tracing::warn!(event = "config.production_warnings", problems = ?ids, "deployment warnings");
        eprintln!("{report}");
    }
    true
}

async fn serve(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    if global.run_mode == RunMode::Production && !production_gate(global, args) {
        return Ok(ExitCode::FAILURE);
    }
    let settings = Settings::for_serve(global, args)?;
    // A certificate that cannot be used stops the start before the database is touched.
    let tls = match &settings.https.tls {
        Some(files) => {
            let (acceptor, store) = tls::acceptor(files)?;
            tokio::spawn(tls::watch(store.clone(), tls::POLL_INTERVAL));
            Some((acceptor, store))
        }
        None => {
            tokio::spawn(server::ignore_hangups());
            None
        }
    };
    let db = open(&settings).await?;
    if args.demo {
        match demo::load_demo_catalog(&db).await? {
            Some(summary) => tracing::info!(
                products = summary.created + summary.updated,
                categories = summary.categories_created,
                "demo catalogue loaded"
            ),
            None => tracing::info!("demo catalogue already loaded"),
        }
    }

    let header_timeout = settings.limits.header_timeout;
    let redirect_bind = settings.https.redirect_bind;
    let self_signed = settings.https.self_signed;
    let state = AppState::new(db.clone(), settings)?;
    tokio::spawn(purge_periodically(state.clone()));
    let app = securecart::router(state);
    let listener = server::bind(args.bind).await?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;

    if let Some(bind) = redirect_bind {
        let target = match &args.public_url {
            Some(url) if url.starts_with("https://") => {
                redirect::Target::Origin(url.trim_end_matches('/').to_owned())
            }
            _ => redirect::Target::SameHost {
                https_port: addr.port(),
            },
        };
        let redirects = server::bind(bind).await?;
        let local = redirects
            .local_addr()
            .context("reading the redirect address")?;
        tracing::info!(addr = %local, "redirecting plain HTTP to HTTPS");
        println!("Redirecting plain HTTP from http://{local}/ to HTTPS");
        tokio::spawn(server::serve(
            redirects,
            redirect::router(target),
            header_timeout,
            None,
            server::shutdown_signal(),
        ));
    }

    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, "serving SecureCart");
    println!("SecureCart is serving at {scheme}://{addr}/ (Ctrl-C to stop)");
    if let Some((_, store)) = &tls {
        let kind = if self_signed {
            "self-signed development certificate"
        } else {
            "certificate"
        };
        println!("TLS {kind}, SHA-256 fingerprint {}", store.fingerprint());
    }

    server::serve(
        listener,
        app,
        header_timeout,
        tls.map(|(acceptor, _)| acceptor),
        server::shutdown_signal(),
    )
    .await?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Every minute, adds the security event tallies to the database; every five,
/// removes expired sessions, spent tokens and old counts.
async fn purge_periodically(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    for minute in 0u64.. {
        every.tick().await;
        if let Err(err) = events::flush(&state.db).await {
            tracing::warn!(error = format!("{err:#}"), "saving security counts failed");
        }
        if minute % 5 != 0 {
            continue;
        }
        if let Err(err) = accounts::service::purge(&state).await {
            tracing::warn!(
                error = format!("{err:#}"),
                "purging expired sessions failed"
            );
        }
        if let Err(err) = events::purge(&state.db).await {
            tracing::warn!(error = format!("{err:#}"), "purging security counts failed");
        }
        if let Err(err) = securecart::api::purge(&state).await {
            tracing::warn!(
                error = format!("{err:#}"),
                "purging API tokens and keys failed"
            );
        }
    }
}

async fn create_admin(settings: Settings, args: &CreateAdminArgs) -> anyhow::Result<ExitCode> {
    let password = match &args.password {
        Some(password) => password.clone(),
        None => {
            let first = rpassword::prompt_password("Password for the administrator: ")
                .context("reading the password")?;
            let again = rpassword::prompt_password("The same password again: ")
                .context("reading the password")?;
            anyhow::ensure!(first == again, "the two passwords do not match");
            first
        }
    };
    let db = open(&settings).await?;
    let state = AppState::new(db.clone(), settings)?;
    let outcome =
        accounts::service::create_admin(&state, &args.email, &Password::new(password)).await?;
    match outcome {
        AdminOutcome::Created => println!("Administrator {} created.", args.email.trim()),
        AdminOutcome::Promoted => println!("{} is now an administrator.", args.email.trim()),
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn seed(settings: &Settings, args: &SeedArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.categories >= 1, "--categories must be at least 1");
    let db = open(settings).await?;

    let bar = ProgressBar::new(u64::from(args.products));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} products  {per_sec}  eta {eta}")
            .context("building the progress bar")?,
    );
    let started = std::time::Instant::now();
    let summary = demo::seed(&db, args.products, args.categories, |done| {
        bar.set_position(done)
    })
    .await?;
    bar.finish();

    println!(
        "{} products created, {} updated, {} categories created in {:.1} s.",
        summary.created,
        summary.updated,
        summary.categories_created,
        started.elapsed().as_secs_f64()
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn import_products(settings: &Settings, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let rows = match import::parse_csv(std::io::BufReader::new(file)) {
        Ok(rows) => rows,
        Err(errors) => {
            eprintln!("{}: nothing was imported.", args.file.display());
            for error in &errors {
                eprintln!("  {error}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };

    let db = open(settings).await?;
    let summary = store::upsert_products(&db, &rows, |_| None).await?;
    println!(
        "{} products created, {} updated, {} categories created.",
        summary.created, summary.updated, summary.categories_created
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
