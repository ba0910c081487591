//! The rules for what staff type about a product, shared by the back office's pages
//! and the API: the editable fields, and stock changes. Each failure is a sentence
//! for the person, filed under the field it concerns.

use crate::backoffice::product_store::ProductFields;
use crate::catalog::fields;
use crate::web::form::FieldErrors;

/// The largest stock change read at once: seven digits, either way.
pub const MAX_STOCK_CHANGE: i64 = 9_999_999;

/// Why a stock change in range was refused: the stock would leave its bounds.
pub const STOCK_OUT_OF_RANGE: &str = "The stock cannot go below 0 or above 1,000,000.";

const DELTA_MESSAGE: &str = "Enter a whole number such as 12 or -3, other than 0.";

/// A product's editable fields as typed, before they are checked.
#[derive(Debug, Clone, Copy)]
pub struct FieldsInput<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub price: &'a str,
    pub category: &'a str,
}

/// The checked fields, or `None` with a message in `errors` per field that is wrong.
pub fn check_fields(input: FieldsInput<'_>, errors: &mut FieldErrors) -> Option<ProductFields> {
    let name = fields::parse_name(input.name).map_err(|e| errors.add("name", sentence(&e)));
    let description = fields::parse_text(input.description, "description", 4000, false)
        .map_err(|e| errors.add("description", sentence(&e)));
    let price = fields::parse_price(input.price).map_err(|e| errors.add("price", sentence(&e)));
    let category = fields::parse_text(input.category, "category", 100, false)
        .map_err(|e| errors.add("category", sentence(&e)));
    Some(ProductFields {
        name: name.ok()?,
        description: description.ok()?,
        price: price.ok()?,
        category: category.ok()?,
    })
}

/// A stock change as typed: a whole number other than zero, with an optional sign.
pub fn parse_delta(text: &str) -> Result<i64, &'static str> {
    let text = text.trim();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DELTA_MESSAGE);
    }
    digits
        .parse::<i64>()
        .map_err(|_| DELTA_MESSAGE)
        .and_then(|n| check_delta(sign * n))
}

/// A stock change as a number: other than zero, at most [`MAX_STOCK_CHANGE`] either way.
pub fn check_delta(delta: i64) -> Result<i64, &'static str> {
    match delta {
        0 => Err(DELTA_MESSAGE),
        d if d.unsigned_abs() > MAX_STOCK_CHANGE.unsigned_abs() => Err(DELTA_MESSAGE),
        d => Ok(d),
    }
}

/// Why the stock changed, as typed: required, at most 200 characters.
pub fn check_reason(text: &str) -> Result<String, String> {
    fields::parse_text(text, "reason", 200, true).map_err(|e| sentence(&e))
}

/// `the price is missing` → `The price is missing.`
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str().trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stock_change_is_a_signed_whole_number_other_than_zero() {
        assert_eq!(parse_delta("12"), Ok(12));
        assert_eq!(parse_delta(" -3 "), Ok(-3));
        assert_eq!(parse_delta("+4"), Ok(4));
        for bad in [
            "0",
            "-0",
            "",
            "-",
            "1.5",
            "1e3",
            "99999999999",
            "--1",
            "three",
        ] {
            assert!(parse_delta(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_stock_change_as_a_number_is_bounded_and_not_zero() {
        assert_eq!(check_delta(-9_999_999), Ok(-9_999_999));
        for bad in [0, 10_000_000, -10_000_000, i64::MIN, i64::MAX] {
            assert!(check_delta(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_from_the_field_rules_read_as_sentences() {
        assert_eq!(sentence("the price is missing"), "The price is missing.");
    }

    #[test]
    fn every_wrong_field_gets_its_own_message() {
        let mut errors = FieldErrors::default();
        let input = FieldsInput {
            name: "",
            description: "fine",
            price: "0",
            category: "",
        };
        assert!(check_fields(input, &mut errors).is_none());
        assert!(errors.get("name").is_some() && errors.get("price").is_some());
        assert!(errors.get("description").is_none());
    }
}
