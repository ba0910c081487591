//! The back office's products (F-07): created, edited, withdrawn and restocked by
//! staff, with what the shop then shows, and an audit entry for each change.

use crate::support::{TestApp, location, new_client};

async fn staff(app: &TestApp) -> reqwest::Client {
    app.account_signed_in("staff@example.com", "staff").await.1
}

const NEW: [(&str, &str); 6] = [
    ("sku", "LAMP-1"),
    ("name", "Brass Reading Lamp"),
    ("description", "Warm light for long evenings."),
    ("price", "79.50"),
    ("stock", "4"),
    ("category", "Lighting"),
];

async fn create(app: &TestApp, staff: &reqwest::Client) -> i64 {
    let created = app
        .submit_with(staff, "/admin/products/new", "/admin/products", &NEW)
        .await;
    assert_eq!(created.status(), 303);
    let to = location(&created);
    to.trim_start_matches("/admin/products/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no product id in {to}"))
}

#[tokio::test]
async fn a_product_staff_create_appears_in_the_shop() {
    let app = TestApp::spawn().await;
    let staff = staff(&app).await;
    let id = create(&app, &staff).await;

    let page = app
        .html_with(&staff, &format!("/admin/products/{id}?notice=created"))
        .await;
    assert!(page.contains("The product is created and on sale."));
    let shop = new_client();
    let product = app.html_with(&shop, "/products/brass-reading-lamp").await;
    assert!(product.contains("Brass Reading Lamp") && product.contains("€79.50"));
    assert!(
        app.html_with(&shop, "/products?category=lighting")
            .await
            .contains("Brass Reading Lamp")
    );

    let (action, after): (String, String) =
        sqlx::query_as("SELECT action, after_value FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_one(app.db.pool())
            .await
            .expect("audit");
    assert_eq!(action, "product.create");
    assert!(after.contains("\"price_minor\":7950") && after.contains("\"stock\":4"));
}

#[tokio::test]
async fn bad_product_fields_get_messages_and_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let staff = staff(&app).await;
    create(&app, &staff).await;

    let response = app
        .submit_with(
            &staff,
            "/admin/products/new",
            "/admin/products",
            &[
                ("sku", "LAMP-1"),
                ("name", ""),
                ("price", "cheap"),
                ("stock", "-2"),
                ("description", "<b>bold</b>"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    for message in [
        "Another product has this SKU.",
        "The name is missing.",
        "Price:",
        "The stock cannot be negative.",
    ] {
        assert!(page.contains(message), "{message:?} missing");
    }
    assert!(
        page.contains("&#60;b&#62;bold&#60;/b&#62;"),
        "kept and escaped"
    );
    assert_eq!(app.product_count().await, 1);
}

#[tokio::test]
async fn edits_withdrawal_and_stock_adjustments_reach_the_shop() {
    let app = TestApp::spawn().await;
    let staff = staff(&app).await;
    let id = create(&app, &staff).await;
    let page = format!("/admin/products/{id}");

    let saved = app
        .submit_with(
            &staff,
            &page,
            &page,
            &[
                ("name", "Brass Lamp"),
                ("price", "69.00"),
                ("description", ""),
                ("category", ""),
            ],
        )
        .await;
    assert_eq!(location(&saved), format!("{page}?notice=saved"));
    let shop = new_client();
    let product = app.html_with(&shop, "/products/brass-reading-lamp").await;
    assert!(
        product.contains("Brass Lamp") && product.contains("€69.00"),
        "the slug stays"
    );

    let withdrawn = app
        .submit_with(&staff, &page, &format!("{page}/active"), &[("active", "0")])
        .await;
    assert_eq!(location(&withdrawn), format!("{page}?notice=inactive"));
    assert_eq!(
        app.status_with(&shop, "/products/brass-reading-lamp").await,
        404
    );
    app.submit_with(&staff, &page, &format!("{page}/active"), &[("active", "1")])
        .await;
    assert_eq!(
        app.status_with(&shop, "/products/brass-reading-lamp").await,
        200
    );

    let stock = format!("{page}/stock");
    let added = app
        .submit_with(
            &staff,
            &page,
            &stock,
            &[("delta", "+6"), ("reason", "Delivery")],
        )
        .await;
    assert_eq!(location(&added), format!("{page}?notice=stock"));
    assert_eq!(app.stock_of("LAMP-1").await, 10);
    for (delta, reason, message) in [
        ("-11", "Breakage", "cannot go below 0"),
        ("0", "Nothing", "other than 0"),
        ("2.5", "Half", "whole number"),
        ("3", "", "The reason is missing."),
    ] {
        let refused = app
            .submit_with(
                &staff,
                &page,
                &stock,
                &[("delta", delta), ("reason", reason)],
            )
            .await;
        assert_eq!(refused.status(), 422, "{delta} {reason:?}");
        assert!(
            refused.text().await.expect("body").contains(message),
            "{message}"
        );
    }
    assert_eq!(app.stock_of("LAMP-1").await, 10);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM stock_adjustments").await,
        1
    );

    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq")
        .fetch_all(app.db.pool())
        .await
        .expect("audit");
    assert_eq!(
        actions,
        [
            "backoffice.login",
            "product.create",
            "product.update",
            "product.deactivate",
            "product.reactivate",
            "product.stock"
        ]
    );
}

#[tokio::test]
async fn product_pages_are_hidden_from_customers_and_markup_is_escaped() {
    let app = TestApp::spawn().await;
    let staff = staff(&app).await;
    let mut fields = NEW.to_vec();
    fields[1] = ("name", "<script>alert(1)</script> Lamp");
    app.submit_with(&staff, "/admin/products/new", "/admin/products", &fields)
        .await;

    let list = app.html_with(&staff, "/admin/products?q=lamp").await;
    assert!(list.contains("&#60;script&#62;") && !list.contains("<script>alert"));
    let shop = app.html_with(&new_client(), "/products").await;
    assert!(!shop.contains("<script>alert"));

    let customer = app.signed_in_customer("ada@example.com").await;
    for path in [
        "/admin/products",
        "/admin/products/new",
        "/admin/products/1",
    ] {
        assert_eq!(app.status_with(&customer, path).await, 404, "{path}");
        assert_eq!(app.status_with(&new_client(), path).await, 404, "{path}");
    }
}

/// A multipart body with the CSRF token first and then `image`, as a browser sends it.
fn multipart(token: Option<&str>, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----securecart-test-boundary";
    let mut body = Vec::new();
    if let Some(token) = token {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn png_with_a_tail() -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(40, 30, image::Rgb([10, 120, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(picture)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("a test PNG");
    out.extend_from_slice(b"<html><script>alert(1)</script></html>");
    out
}

#[tokio::test]
async fn an_uploaded_image_is_re_encoded_and_served_safely() {
    let app = TestApp::spawn().await;
    let staff = staff(&app).await;
    let id = create(&app, &staff).await;
    let page = format!("/admin/products/{id}");
    let token = crate::support::csrf_field(&app.html_with(&staff, &page).await).expect("token");
    let upload = |token: Option<String>, name: &'static str, bytes: Vec<u8>| {
        let (content_type, body) = multipart(token.as_deref(), name, &bytes);
        staff
            .post(app.url(&format!("{page}/image")))
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let forged = upload(None, "x.png", png_with_a_tail())
        .await
        .expect("POST");
    assert_eq!(forged.status(), 403, "uploads need the CSRF token");
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#.to_vec();
    let refused = upload(Some(token.clone()), "x.svg", svg)
        .await
        .expect("POST");
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("SVG and other formats are not accepted")
    );

    let stored = upload(Some(token), "lamp.png", png_with_a_tail())
        .await
        .expect("POST");
    assert_eq!(location(&stored), format!("{page}?notice=image"));
    let image: String = sqlx::query_scalar("SELECT image FROM products WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .expect("image");
    assert!(image.starts_with("uploads/") && image.ends_with(".png") && !image.contains("lamp"));

    let shop = app
        .html_with(&new_client(), "/products/brass-reading-lamp")
        .await;
    assert!(shop.contains(&format!("/media/{image}")));
    let served = new_client()
        .get(app.url(&format!("/media/{image}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    let bytes = served.bytes().await.expect("bytes");
    assert!(
        !bytes.windows(8).any(|w| w == b"<script>"),
        "the tail is gone"
    );
    assert!(image::load_from_memory(&bytes).is_ok());
    for path in [
        "/media/uploads/..%2F..%2Fsecurecart.db",
        "/media/uploads/nothing.png",
    ] {
        assert_eq!(app.status_with(&new_client(), path).await, 404, "{path}");
    }
}

#[tokio::test]
async fn categories_are_created_and_renamed_keeping_their_address() {
    let app = TestApp::spawn().await;
    let staff = staff(&app).await;
    create(&app, &staff).await;

    let made = app
        .submit_with(
            &staff,
            "/admin/categories",
            "/admin/categories",
            &[("name", "Garden")],
        )
        .await;
    assert_eq!(location(&made), "/admin/categories");
    let twice = app
        .submit_with(
            &staff,
            "/admin/categories",
            "/admin/categories",
            &[("name", "garden")],
        )
        .await;
    assert_eq!(twice.status(), 422);
    let empty = app
        .submit_with(
            &staff,
            "/admin/categories",
            "/admin/categories",
            &[("name", " ")],
        )
        .await;
    assert_eq!(empty.status(), 422);

    let lighting = app
        .scalar("SELECT id FROM categories WHERE slug = 'lighting'")
        .await;
    let path = format!("/admin/categories/{lighting}");
    let clash = app
        .submit_with(&staff, "/admin/categories", &path, &[("name", "GARDEN")])
        .await;
    assert_eq!(clash.status(), 422);
    let renamed = app
        .submit_with(
            &staff,
            "/admin/categories",
            &path,
            &[("name", "Lamps & Light")],
        )
        .await;
    assert_eq!(location(&renamed), "/admin/categories");
    let shop = app
        .html_with(&new_client(), "/products?category=lighting")
        .await;
    assert!(shop.contains("Lamps &#38; Light") && shop.contains("Brass Reading Lamp"));

    let customer = app.signed_in_customer("ada@example.com").await;
    assert_eq!(app.status_with(&customer, "/admin/categories").await, 404);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'category.%' ORDER BY seq",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("audit");
    assert_eq!(actions, ["category.create", "category.rename"]);
}
