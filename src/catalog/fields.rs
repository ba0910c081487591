//! The product fields that arrive from outside (CSV today, the back office and the API
//! later), each parsed once into a type that cannot hold a bad value.

use crate::money::Money;

/// The most units of one product the shop keeps in stock.
pub const MAX_STOCK: i64 = 1_000_000;
/// The highest price a product may have: 1,000,000.00 in the shop's currency, which
/// keeps every order total far from overflow.
pub const MAX_PRICE: Money = Money::from_minor(100_000_000);

/// A stock-keeping unit: 1–64 letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the SKU is missing".into());
        }
        if text.len() > 64 {
            return Err("the SKU is longer than 64 characters".into());
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if !text.chars().all(allowed) {
            return Err("the SKU may hold only letters, digits, '-', '_' and '.'".into());
        }
        Ok(Sku(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shown text such as a name: trimmed, not empty, within `max` characters, and free of
/// control characters (which have no place on a page or in a log line).
pub fn parse_text(text: &str, what: &str, max: usize, required: bool) -> Result<String, String> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(format!("the {what} is missing"));
    }
    if text.chars().count() > max {
        return Err(format!("the {what} is longer than {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!("the {what} contains control characters"));
    }
    Ok(text.to_owned())
}

/// A product name: 1–200 characters on one line.
pub fn parse_name(text: &str) -> Result<String, String> {
    let name = parse_text(text, "name", 200, true)?;
    if name.contains(['\n', '\t']) {
        return Err("the name must be on one line".into());
    }
    Ok(name)
}

/// A price above zero and at most [`MAX_PRICE`].
pub fn parse_price(text: &str) -> Result<Money, String> {
    let price = Money::parse_price(text).map_err(|e| format!("price: {e}"))?;
    if price == Money::ZERO {
        return Err("the price must be more than 0".into());
    }
    if price > MAX_PRICE {
        return Err(format!("the price must be at most {MAX_PRICE}"));
    }
    Ok(price)
}

/// Units in stock: a whole number from 0 to [`MAX_STOCK`].
pub fn parse_stock(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.starts_with('-') && text.len() > 1 && text[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err("the stock cannot be negative".into());
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the stock must be a whole number such as 12".into());
    }
    match text.parse::<i64>() {
        Ok(stock) => check_stock(stock),
        Err(_) => Err(format!("the stock must be at most {MAX_STOCK}")),
    }
}

/// Units in stock given as a number: from 0 to [`MAX_STOCK`].
pub fn check_stock(stock: i64) -> Result<i64, String> {
    match stock {
        ..0 => Err("the stock cannot be negative".into()),
        0..=MAX_STOCK => Ok(stock),
        _ => Err(format!("the stock must be at most {MAX_STOCK}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sku_with_spaces_or_markup_is_rejected() {
        assert!(Sku::parse("KIT-001").is_ok());
        assert_eq!(
            Sku::parse("  a.b_c  ").map(|s| s.as_str().to_owned()),
            Ok("a.b_c".into())
        );
        for bad in ["", " ", "A B", "<b>", "x'--", &"A".repeat(65)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_name_must_be_present_and_on_one_line() {
        assert_eq!(parse_name("  Oak Board "), Ok("Oak Board".into()));
        assert!(parse_name("").is_err());
        assert!(parse_name("two\nlines").is_err());
        assert!(parse_name("bell\u{7}").is_err());
        assert!(parse_name(&"n".repeat(201)).is_err());
    }

    #[test]
    fn a_zero_or_huge_price_is_rejected() {
        assert_eq!(parse_price("19.99"), Ok(Money::from_minor(1999)));
        assert!(parse_price("0.00").is_err());
        assert!(parse_price("1000000.01").is_err());
        assert!(parse_price("12,50").is_err());
    }

    #[test]
    fn stock_is_a_whole_non_negative_number() {
        assert_eq!(parse_stock("12"), Ok(12));
        assert_eq!(parse_stock("0"), Ok(0));
        assert_eq!(
            parse_stock("-3"),
            Err("the stock cannot be negative".into())
        );
        for bad in ["", "1.5", "1e3", "ten", "+4", "99999999999999999999"] {
            assert!(parse_stock(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_stock(MAX_STOCK), Ok(MAX_STOCK));
        assert!(check_stock(MAX_STOCK + 1).is_err());
        assert!(check_stock(-1).is_err());
    }
}
