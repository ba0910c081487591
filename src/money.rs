//! Money: an integer number of minor units (cents), never a float.
//!
//! The shop has one currency. Amounts parse from and print as decimal text with two
//! fraction digits ("19.99"); arithmetic is checked so an overflow is an error, not a
//! wrapped total.

use std::fmt;

/// An amount in the shop's currency, in minor units. Never negative when it is a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(i64);

/// Why a decimal amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("enter an amount such as 19.99")]
    Malformed,
    #[error("use at most two digits after the decimal point")]
    TooPrecise,
    #[error("the amount cannot be negative")]
    Negative,
    #[error("the amount is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Parses a non-negative decimal price: `19`, `19.9`, `19.99`. Signs, exponents,
    /// thousands separators and more than two fraction digits are refused.
    pub fn parse_price(text: &str) -> Result<Self, MoneyError> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(MoneyError::Malformed);
        }
        if text.ends_with('.') {
            return Err(MoneyError::Malformed);
        }
        if fraction.len() > 2 {
            return Err(MoneyError::TooPrecise);
        }

        let whole: i64 = whole.parse().map_err(|_| MoneyError::TooLarge)?;
        let cents: i64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| MoneyError::Malformed)? * 10,
            _ => fraction.parse().map_err(|_| MoneyError::Malformed)?,
        };
        whole
            .checked_mul(100)
            .and_then(|minor| minor.checked_add(cents))
            .map(Money)
            .ok_or(MoneyError::TooLarge)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_mul(self, quantity: i64) -> Option<Money> {
        self.0.checked_mul(quantity).map(Money)
    }
}

/// Prints the amount as plain decimal text, e.g. `19.99` or `-0.50`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// The shop's currency: its ISO code and how amounts are shown to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    code: String,
}

impl Currency {
    /// Accepts a three-letter ISO 4217 code such as `EUR`.
    pub fn new(code: &str) -> Result<Self, String> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency { code })
        } else {
            Err(format!(
                "`{code}` is not a three-letter currency code such as EUR"
            ))
        }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    /// The amount as a shopper reads it: `€1,249.00`, `$5.00`, or `19.99 CHF`.
    pub fn format(&self, amount: &Money) -> String {
        let amount = grouped(*amount);
        match self.code.as_str() {
            "EUR" => format!("€{amount}"),
            "USD" => format!("${amount}"),
            "GBP" => format!("£{amount}"),
            other => format!("{amount} {other}"),
        }
    }
}

/// The amount with thousands separated by commas: `1,249.00`.
fn grouped(amount: Money) -> String {
    let plain = amount.to_string();
    let (sign, digits) = plain.split_at(usize::from(plain.starts_with('-')));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut out = String::with_capacity(plain.len() + whole.len() / 3);
    out.push_str(sign);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out.push('.');
    out.push_str(fraction);
    out
}

impl Default for Currency {
    fn default() -> Self {
        Currency {
            code: "EUR".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_fractional_prices_parse_to_minor_units() {
        assert_eq!(Money::parse_price("19.99"), Ok(Money(1999)));
        assert_eq!(Money::parse_price("19.9"), Ok(Money(1990)));
        assert_eq!(Money::parse_price("19"), Ok(Money(1900)));
        assert_eq!(Money::parse_price("0.05"), Ok(Money(5)));
        assert_eq!(Money::parse_price(" 7.00 "), Ok(Money(700)));
    }

    #[test]
    fn a_negative_price_is_rejected() {
        assert_eq!(Money::parse_price("-1.00"), Err(MoneyError::Negative));
    }

    #[test]
    fn malformed_prices_are_rejected() {
        for text in [
            "", ".5", "5.", "1e3", "1,000.00", "abc", "1.2.3", "+1", "NaN", "٣",
        ] {
            assert_eq!(
                Money::parse_price(text),
                Err(MoneyError::Malformed),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_third_fraction_digit_is_rejected() {
        assert_eq!(Money::parse_price("1.999"), Err(MoneyError::TooPrecise));
    }

    #[test]
    fn an_amount_beyond_i64_is_rejected_not_wrapped() {
        assert_eq!(
            Money::parse_price("99999999999999999999"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Money::parse_price("92233720368547758.07"),
            Ok(Money(i64::MAX))
        );
        assert_eq!(
            Money::parse_price("92233720368547758.08"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn amounts_print_with_two_fraction_digits() {
        assert_eq!(Money(1999).to_string(), "19.99");
        assert_eq!(Money(5).to_string(), "0.05");
        assert_eq!(Money(-50).to_string(), "-0.50");
        assert_eq!(Money(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(Money(i64::MAX).checked_add(Money(1)), None);
        assert_eq!(Money(i64::MAX / 2 + 1).checked_mul(2), None);
        assert_eq!(Money(250).checked_mul(3), Some(Money(750)));
    }

    #[test]
    fn currencies_format_with_their_symbol_or_code() {
        let eur = Currency::default();
        assert_eq!(eur.format(&Money(1999)), "€19.99");
        assert_eq!(
            Currency::new("chf").map(|c| c.format(&Money(100))),
            Ok("1.00 CHF".into())
        );
        assert_eq!(eur.format(&Money(99_999_999)), "€999,999.99");
        assert_eq!(eur.format(&Money(100_000)), "€1,000.00");
        assert_eq!(eur.format(&Money(-123_456)), "€-1,234.56");
        assert!(Currency::new("EURO").is_err());
        assert!(Currency::new("E1R").is_err());
    }
}
