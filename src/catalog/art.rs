//! Product art drawn by the shop itself, for products without an uploaded image.
//!
//! The picture is a function of the slug alone (colours from its hash, the initials of
//! its first words), so it needs no storage and no database lookup, and is the same
//! for every server. The SVG holds no script and no text from outside the slug's
//! alphabet, and is served with a policy that forbids everything but drawing.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::catalog::slug;
use crate::error::AppError;

const POLICY: &str = "default-src 'none'; sandbox";

pub async fn serve(Path(file): Path<String>) -> Result<Response, AppError> {
    let slug = file
        .strip_suffix(".svg")
        .filter(|s| slug::is_valid(s))
        .ok_or(AppError::NotFound)?;
    let headers = [
        (header::CONTENT_TYPE, "image/svg+xml"),
        (header::CACHE_CONTROL, "public, max-age=86400"),
        (header::CONTENT_SECURITY_POLICY, POLICY),
    ];
    Ok((headers, draw(slug)).into_response())
}

/// An 800×600 SVG for `slug`, which must already be a valid slug.
pub fn draw(slug: &str) -> String {
    let digest = Sha256::digest(slug.as_bytes());
    let hue = u16::from_be_bytes([digest[0], digest[1]]) % 360;
    let accent = (hue + 40 + u16::from(digest[2] % 80)) % 360;
    let cx = 260 + u16::from(digest[3]) % 280;
    let cy = 200 + u16::from(digest[4]) % 200;
    let r = 120 + u16::from(digest[5]) % 90;
    let initials: String = slug
        .split('-')
        .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .take(2)
        .filter_map(|w| w.chars().next())
        .map(|c| c.to_ascii_uppercase())
        .collect();

    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 800 600\" width=\"800\" \
         height=\"600\" role=\"img\">\
         <defs><linearGradient id=\"g\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"1\">\
         <stop offset=\"0\" stop-color=\"hsl({hue},45%,92%)\"/>\
         <stop offset=\"1\" stop-color=\"hsl({hue},40%,80%)\"/></linearGradient></defs>\
         <rect width=\"800\" height=\"600\" fill=\"url(#g)\"/>\
         <circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"hsl({accent},38%,62%)\" \
         fill-opacity=\"0.55\"/>\
         <rect x=\"{rx}\" y=\"{ry}\" width=\"220\" height=\"220\" rx=\"28\" \
         fill=\"hsl({hue},35%,35%)\" fill-opacity=\"0.18\"/>\
         <text x=\"400\" y=\"330\" text-anchor=\"middle\" font-family=\"system-ui, sans-serif\" \
         font-size=\"120\" font-weight=\"600\" fill=\"hsl({hue},40%,25%)\">{initials}</text>\
         </svg>",
        rx = 800 - cx.min(580) - 110,
        ry = 600 - cy.min(400) - 110,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_slug_always_draws_the_same_picture() {
        assert_eq!(draw("walnut-serving-board"), draw("walnut-serving-board"));
        assert_ne!(draw("walnut-serving-board"), draw("oak-serving-board"));
    }

    #[test]
    fn the_picture_shows_the_initials_of_the_first_two_words() {
        assert!(draw("walnut-serving-board").contains(">WS</text>"));
        assert!(draw("2-cup-teapot").contains(">CT</text>"));
    }
}
