//! Static assets, embedded in the binary at build time.
//!
//! Only the files listed here exist: a path is looked up by exact name, so `../` and
//! its encodings have nothing to escape from. The stylesheet's URL carries a hash of
//! its content, so browsers may cache it for a year and still see every change.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::AppError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
];

/// Each asset's strong ETag: a short hash of its bytes.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body);
            let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
            hex
        })
        .collect()
});

static STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| format!("/static/app.css?v={}", ETAGS[0]));

/// The stylesheet's versioned URL, for the layout.
pub fn stylesheet_href() -> &'static str {
    STYLESHEET_HREF.as_str()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{name}", get(asset)).route(
        "/favicon.ico",
        get(|headers: HeaderMap| asset(Path("favicon.svg".into()), headers)),
    )
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    let index = ASSETS
        .iter()
        .position(|a| a.name == name)
        .ok_or(AppError::NotFound)?;
    let asset = &ASSETS[index];
    let etag = format!("\"{}\"", ETAGS[index]);

    let cache = [
        (
            header::ETAG,
            HeaderValue::from_str(&etag).map_err(anyhow::Error::new)?,
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((
        cache,
        [(header::CONTENT_TYPE, asset.content_type)],
        asset.body,
    )
        .into_response())
}
