//! Browsing the catalogue: the front page, the list with search, filter, sort and
//! pages, and the product page.

use crate::support::{TestApp, product_links};

const BOARD: &str = "KIT-1,Walnut Serving Board,Oiled walnut for bread and cheese,24.90,40,Kitchen";

#[tokio::test]
async fn the_front_page_of_the_demo_shop_links_to_at_least_eight_products() {
    let app = TestApp::spawn().await;
    app.load_demo().await;

    let (status, html) = app.page("/").await;

    assert_eq!(status, 200);
    let links = product_links(&html);
    assert!(links.len() >= 8, "{links:?}");
    for slug in links.iter().take(8) {
        let (status, _) = app.page(&format!("/products/{slug}")).await;
        assert_eq!(status, 200, "/products/{slug}");
    }
    assert!(
        html.contains("role=\"search\""),
        "the header holds the search box"
    );
    assert!(
        html.contains("href=\"/cart\""),
        "the header links to the cart"
    );
}

#[tokio::test]
async fn the_product_page_shows_price_stock_and_image() {
    let app = TestApp::spawn().await;
    app.import(BOARD).await;

    let (status, html) = app.page("/products/walnut-serving-board").await;

    assert_eq!(status, 200);
    assert!(html.contains("<h1 class=\"product__name\">Walnut Serving Board</h1>"));
    assert!(html.contains("€24.90"));
    assert!(html.contains("In stock"));
    assert!(html.contains("src=\"/media/art/walnut-serving-board.svg\""));
    assert!(html.contains("KIT-1"));
}

#[tokio::test]
async fn stock_is_shown_as_in_stock_only_n_left_or_out_of_stock() {
    let app = TestApp::spawn().await;
    app.import("A-1,Plenty Mug,,5.00,50,\nA-2,Scarce Mug,,5.00,3,\nA-3,Gone Mug,,5.00,0,")
        .await;

    assert!(
        app.page("/products/plenty-mug")
            .await
            .1
            .contains("In stock")
    );
    assert!(
        app.page("/products/scarce-mug")
            .await
            .1
            .contains("Only 3 left")
    );
    assert!(
        app.page("/products/gone-mug")
            .await
            .1
            .contains("Out of stock")
    );
}

#[tokio::test]
async fn a_missing_or_inactive_product_is_a_404_page_in_the_shop_layout() {
    let app = TestApp::spawn().await;
    app.import(BOARD).await;
    app.execute("UPDATE products SET active = 0").await;

    for path in [
        "/products/nope",
        "/products/walnut-serving-board",
        "/products/..%2f..%2fetc",
    ] {
        let (status, html) = app.page(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Page not found"), "{path}");
        assert!(
            html.contains("class=\"site-header\""),
            "{path}: shop layout"
        );
    }
    let (_, list) = app.page("/products").await;
    assert!(
        !list.contains("Walnut Serving Board"),
        "inactive products are not listed"
    );
}

#[tokio::test]
async fn search_ignores_case_and_looks_in_names_and_descriptions() {
    let app = TestApp::spawn().await;
    app.import(&format!("{BOARD}\nKIT-2,Linen Apron,Heavy LINEN with pockets,30.00,5,Kitchen\nKIT-3,Steel Whisk,For eggs,9.00,5,Kitchen")).await;

    let (_, html) = app.page("/products?q=WALNUT").await;
    assert_eq!(product_links(&html), vec!["walnut-serving-board"]);

    let (_, html) = app.page("/products?q=cheese").await;
    assert_eq!(
        product_links(&html),
        vec!["walnut-serving-board"],
        "description match"
    );

    let (_, html) = app.page("/products?q=linen").await;
    assert_eq!(product_links(&html), vec!["linen-apron"]);

    let (status, html) = app.page("/products?q=teapot").await;
    assert_eq!(status, 200);
    assert!(html.contains("No products found."));
}

#[tokio::test]
async fn like_wildcards_in_a_search_match_only_themselves() {
    let app = TestApp::spawn().await;
    app.import("P-1,Half Price Mug,Now 50% off,5.00,5,\nP-2,Plain Mug,Nothing special,5.00,5,")
        .await;

    let (_, html) = app.page("/products?q=%25").await;
    assert_eq!(product_links(&html), vec!["half-price-mug"]);

    let (_, html) = app.page("/products?q=_").await;
    assert!(
        product_links(&html).is_empty(),
        "an underscore is not a wildcard"
    );
}

#[tokio::test]
async fn the_category_filter_shows_only_that_category() {
    let app = TestApp::spawn().await;
    app.import(&format!("{BOARD}\nOUT-1,Camp Stool,,19.00,5,Outdoor"))
        .await;

    let (status, html) = app.page("/products?category=outdoor").await;
    assert_eq!(status, 200);
    assert_eq!(product_links(&html), vec!["camp-stool"]);
    assert!(html.contains("<h1 class=\"page-title\">Outdoor</h1>"));

    let (status, _) = app.page("/products?category=no-such-thing").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn products_sort_by_price_either_way_by_name_and_newest_first() {
    let app = TestApp::spawn().await;
    app.import("S-1,Beta Cup,,20.00,5,\nS-2,Alpha Cup,,30.00,5,\nS-3,Gamma Cup,,10.00,5,")
        .await;
    app.execute("UPDATE products SET created_at = id").await;

    let order = |html: String| product_links(&html);
    assert_eq!(
        order(app.page("/products?sort=price-asc").await.1),
        ["gamma-cup", "beta-cup", "alpha-cup"]
    );
    assert_eq!(
        order(app.page("/products?sort=price-desc").await.1),
        ["alpha-cup", "beta-cup", "gamma-cup"]
    );
    assert_eq!(
        order(app.page("/products?sort=name").await.1),
        ["alpha-cup", "beta-cup", "gamma-cup"]
    );
    assert_eq!(
        order(app.page("/products?sort=newest").await.1),
        ["gamma-cup", "alpha-cup", "beta-cup"]
    );
    assert_eq!(
        order(app.page("/products").await.1),
        ["gamma-cup", "alpha-cup", "beta-cup"]
    );
}

#[tokio::test]
async fn the_list_is_paginated_and_odd_page_numbers_fall_back() {
    let app = TestApp::spawn().await;
    let rows: Vec<String> = (1..=30)
        .map(|n| format!("PG-{n:02},Mug {n:02},,5.00,5,"))
        .collect();
    app.import(&rows.join("\n")).await;

    let (_, first) = app.page("/products?sort=name").await;
    assert_eq!(product_links(&first).len(), 24);
    assert!(first.contains("Showing 1–24 of 30 products."));
    assert!(
        first.contains("href=\"/products?sort=name&#38;page=2\""),
        "next page keeps the sort"
    );

    let (_, second) = app.page("/products?sort=name&page=2").await;
    assert_eq!(product_links(&second).len(), 6);
    assert!(second.contains("Showing 25–30 of 30 products."));

    for odd in ["abc", "-1", "0", "1.5", "99999999999999999999", "%00"] {
        let (status, html) = app.page(&format!("/products?sort=name&page={odd}")).await;
        assert_eq!(status, 200, "page={odd}");
        assert!(
            html.contains("Showing 1–24 of 30"),
            "page={odd} falls back to the first page"
        );
    }
    let (status, html) = app.page("/products?sort=name&page=999").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Showing 25–30 of 30"),
        "a page past the end shows the last"
    );
}

#[tokio::test]
async fn an_unknown_sort_falls_back_to_the_default_order() {
    let app = TestApp::spawn().await;
    app.import(BOARD).await;

    for sort in ["bogus", "price;DROP TABLE products", "id", ""] {
        let (status, html) = app.page(&format!("/products?sort={sort}")).await;
        assert_eq!(status, 200, "sort={sort}");
        assert_eq!(product_links(&html), vec!["walnut-serving-board"]);
    }
}

#[tokio::test]
async fn the_generated_product_art_is_an_svg_that_cannot_run_script() {
    let app = TestApp::spawn().await;

    let response = app.get("/media/art/walnut-serving-board.svg").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let body = response.text().await.expect("body");
    assert!(body.starts_with("<svg") && !body.contains("<script"));

    for bad in [
        "/media/art/..%2fsecret.svg",
        "/media/art/Walnut.svg",
        "/media/art/walnut.png",
    ] {
        assert_eq!(app.get(bad).await.status(), 404, "{bad}");
    }
}
