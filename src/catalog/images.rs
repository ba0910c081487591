//! Product images uploaded in the back office. An upload is decoded and re-encoded
//! as a fresh PNG, so metadata, trailing payloads and polyglot tricks do not survive;
//! only PNG, JPEG, WebP and GIF are read (never SVG, which can carry script); size and
//! pixel limits come before decoding; files get random names and are served as
//! `image/png` with `nosniff` and a policy that forbids everything but showing them.

use std::io::Cursor;
use std::path::Path as FsPath;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use image::{ImageFormat, ImageReader, Limits};

use crate::app::AppState;
use crate::error::AppError;

/// The longest side an upload may have, and the most pixels.
pub const MAX_SIDE: u32 = 8_000;
pub const MAX_PIXELS: u64 = 24_000_000;
/// Stored images are scaled down to fit this box: plenty for a product page.
const STORED_SIDE: u32 = 1_600;

/// Why an upload was refused, in words for the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("Choose an image file to upload.")]
    Empty,
    #[error("Upload a PNG, JPEG, WebP or GIF image. SVG and other formats are not accepted.")]
    Format,
    #[error("The image is too large: at most 8000 pixels a side and 24 megapixels.")]
    TooManyPixels,
    #[error("The file could not be read as an image.")]
    Unreadable,
}

/// Decodes `bytes`, checks them and returns a new PNG of the picture alone.
pub fn reencode(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ImageError::Unreadable)?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif) => {}
        _ => return Err(ImageError::Format),
    }
    let (width, height) = reader
        .into_dimensions()
        .map_err(|_| ImageError::Unreadable)?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooManyPixels);
    }

    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ImageError::Unreadable)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 1024);
    reader.limits(limits);
    let mut picture = reader.decode().map_err(|_| ImageError::Unreadable)?;
    if picture.width() > STORED_SIDE || picture.height() > STORED_SIDE {
        picture = picture.thumbnail(STORED_SIDE, STORED_SIDE);
    }

    let mut png = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|_| ImageError::Unreadable)?;
    Ok(png)
}

/// Writes a re-encoded image under a new random name in `dir`; returns the path to
/// store with the product (`uploads/<name>.png`).
pub async fn store(dir: &FsPath, png: Vec<u8>) -> anyhow::Result<String> {
    tokio::fs::create_dir_all(dir)
        .await
        .context("creating the uploads folder")?;
    let name = format!("{:032x}.png", rand::random::<u128>());
    let temporary = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&temporary, png)
        .await
        .context("writing an uploaded image")?;
    tokio::fs::rename(&temporary, dir.join(&name))
        .await
        .context("moving an uploaded image into place")?;
    Ok(format!("uploads/{name}"))
}

/// Whether `file` is a name [`store`] could have made: nothing else is looked up.
fn is_stored_name(file: &str) -> bool {
    file.strip_suffix(".png").is_some_and(|stem| {
        stem.len() == 32
            && stem
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

pub async fn serve(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    if !is_stored_name(&file) {
        return Err(AppError::NotFound);
    }
    let bytes = match tokio::fs::read(state.settings.uploads_dir().join(&file)).await {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(err) => return Err(anyhow::Error::new(err).context("reading an image").into()),
    };
    let headers = [
        (header::CONTENT_TYPE, "image/png"),
        // Names are random and never reused, so the file never changes.
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ),
    ];
    Ok((headers, bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_pixel(width, height, image::Rgb([200, 120, 40]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(picture)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encoding a test image");
        out
    }

    #[test]
    fn a_png_with_a_payload_after_it_comes_back_without_the_payload() {
        let mut upload = png(20, 10);
        upload.extend_from_slice(b"<script>alert(1)</script>");
        let stored = reencode(&upload).expect("a valid picture");
        assert!(!stored.windows(8).any(|w| w == b"<script>"));
        let back = image::load_from_memory(&stored).expect("a PNG");
        assert_eq!((back.width(), back.height()), (20, 10));
    }

    #[test]
    fn svg_html_and_empty_files_are_refused() {
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert_eq!(reencode(svg), Err(ImageError::Format));
        assert_eq!(
            reencode(b"<html><body>hi</body></html>"),
            Err(ImageError::Format)
        );
        assert_eq!(reencode(b""), Err(ImageError::Empty));
    }

    #[test]
    fn a_huge_picture_is_refused_before_it_is_decoded() {
        // A 20000×20000 PNG of one colour compresses to a few kilobytes.
        let mut bomb = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut bomb);
        let header_only = image::ImageEncoder::write_image(
            encoder,
            &vec![0u8; 20_000 * 3],
            20_000,
            1,
            image::ExtendedColorType::Rgb8,
        );
        assert!(header_only.is_ok());
        // Claim far more rows than it has (fixing the header's checksum): the limits
        // stop it at the header, before any pixel is decoded.
        let mut claim = bomb.clone();
        claim[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&claim[12..29]);
        claim[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(reencode(&claim), Err(ImageError::TooManyPixels));
    }

    /// The CRC-32 PNG chunks carry.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn large_pictures_are_scaled_to_fit_the_stored_size() {
        let stored = reencode(&png(3_200, 800)).expect("valid");
        let back = image::load_from_memory(&stored).expect("a PNG");
        assert_eq!((back.width(), back.height()), (1_600, 400));
    }

    #[test]
    fn only_names_the_shop_made_are_served() {
        assert!(is_stored_name("0123456789abcdef0123456789abcdef.png"));
        for bad in [
            "../secrets.png",
            "0123456789ABCDEF0123456789ABCDEF.png",
            "x.png",
            "0123456789abcdef0123456789abcdef.svg",
        ] {
            assert!(!is_stored_name(bad), "{bad}");
        }
    }
}
