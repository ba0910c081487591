//! How many of a product a cart line holds: a whole number from 1 to [`MAX_PER_LINE`],
//! parsed once from what the shopper typed.

use std::fmt;

/// The most of one product a single order may hold, whatever the stock.
pub const MAX_PER_LINE: i64 = 99;

/// A valid quantity for a cart line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

/// Why a typed quantity was refused. Every variant has the same fix, so they share
/// the message; the variants keep the log and the tests precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("Enter a whole number from 1 to {MAX_PER_LINE}.")]
    NotAWholeNumber,
    #[error("Enter a whole number from 1 to {MAX_PER_LINE}.")]
    TooSmall,
    #[error("Enter a whole number from 1 to {MAX_PER_LINE}.")]
    TooLarge,
}

impl Quantity {
    pub const ONE: Quantity = Quantity(1);

    /// Reads a quantity as typed: digits only, surrounding spaces allowed. Signs,
    /// decimals, exponents and numbers too long for any integer are refused.
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QuantityError::NotAWholeNumber);
        }
        let digits = text.trim_start_matches('0');
        if digits.len() > 6 {
            return Err(QuantityError::TooLarge);
        }
        let value: i64 = digits.parse().unwrap_or(0);
        Quantity::new(value)
    }

    pub fn new(value: i64) -> Result<Quantity, QuantityError> {
        match value {
            v if v < 1 => Err(QuantityError::TooSmall),
            v if v > MAX_PER_LINE => Err(QuantityError::TooLarge),
            v => Ok(Quantity(v)),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The most a line may hold of a product with `stock` left: the stock, up to the
/// per-line maximum.
pub fn line_limit(stock: i64) -> i64 {
    stock.clamp(0, MAX_PER_LINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_from_one_to_the_maximum_are_accepted() {
        assert_eq!(Quantity::parse("1").map(Quantity::get), Ok(1));
        assert_eq!(Quantity::parse(" 7 ").map(Quantity::get), Ok(7));
        assert_eq!(Quantity::parse("007").map(Quantity::get), Ok(7));
        assert_eq!(Quantity::parse("99").map(Quantity::get), Ok(99));
    }

    #[test]
    fn a_quantity_of_zero_is_rejected() {
        assert_eq!(Quantity::parse("0"), Err(QuantityError::TooSmall));
        assert_eq!(Quantity::parse("000"), Err(QuantityError::TooSmall));
    }

    #[test]
    fn signs_decimals_and_exponents_are_not_whole_numbers() {
        for text in [
            "-1", "+1", "1.5", "1e3", "1,000", "", " ", "one", "0x10", "１",
        ] {
            assert_eq!(
                Quantity::parse(text),
                Err(QuantityError::NotAWholeNumber),
                "{text:?}"
            );
        }
    }

    #[test]
    fn numbers_beyond_the_maximum_or_any_integer_are_too_large() {
        assert_eq!(Quantity::parse("100"), Err(QuantityError::TooLarge));
        assert_eq!(
            Quantity::parse("99999999999999999999"),
            Err(QuantityError::TooLarge)
        );
    }

    #[test]
    fn a_line_holds_at_most_the_stock_and_never_more_than_the_maximum() {
        assert_eq!(line_limit(3), 3);
        assert_eq!(line_limit(500), MAX_PER_LINE);
        assert_eq!(line_limit(-2), 0);
    }
}
