//! Card details as typed at checkout, checked before they reach the gateway.

use std::fmt;

/// The card networks the shop recognises by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Other,
}

impl CardBrand {
    fn of(digits: &str) -> CardBrand {
        let prefix = |n: usize| {
            digits
                .get(..n)
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(0)
        };
        match (prefix(1), prefix(2), prefix(4)) {
            (4, _, _) => CardBrand::Visa,
            (_, 51..=55, _) | (_, _, 2221..=2720) => CardBrand::Mastercard,
            (_, 34 | 37, _) => CardBrand::Amex,
            (_, 65, _) | (_, _, 6011) => CardBrand::Discover,
            _ => CardBrand::Other,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "American Express",
            CardBrand::Discover => "Discover",
            CardBrand::Other => "Card",
        }
    }
}

/// What is wrong with a card field, for the message beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("Enter the card number as it appears on the card.")]
    NumberMalformed,
    #[error("This card number is not valid. Check it and try again.")]
    NumberInvalid,
    #[error("Enter the expiry date as MM/YY, for example 08/29.")]
    ExpiryMalformed,
    #[error("This card has expired.")]
    Expired,
    #[error("Enter the 3 or 4 digit security code from the back of the card.")]
    CvcMalformed,
}

/// A card number, its expiry and security code. Deliberately not `Clone`, not
/// `Serialize`, and its `Debug` shows only the brand and last four digits.
pub struct CardDetails {
    digits: String,
    expiry_month: u32,
    expiry_year: u32,
    cvc: String,
}

impl CardDetails {
    /// Checks the three fields. `today` is `(year, month)`, e.g. `(2026, 12)`; a card
    /// is valid through the last day of its expiry month.
    pub fn parse(
        number: &str,
        expiry: &str,
        cvc: &str,
        today: (u32, u32),
    ) -> Result<CardDetails, Vec<(&'static str, CardError)>> {
        let mut errors = Vec::new();
        let digits = parse_number(number)
            .map_err(|e| errors.push(("card_number", e)))
            .ok();
        let expiry = parse_expiry(expiry, today)
            .map_err(|e| errors.push(("expiry", e)))
            .ok();
        let cvc = parse_cvc(cvc).map_err(|e| errors.push(("cvc", e))).ok();
        match (digits, expiry, cvc) {
            (Some(digits), Some((expiry_month, expiry_year)), Some(cvc)) if errors.is_empty() => {
                Ok(CardDetails {
                    digits,
                    expiry_month,
                    expiry_year,
                    cvc,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn brand(&self) -> CardBrand {
        CardBrand::of(&self.digits)
    }

    pub fn last4(&self) -> String {
        self.digits[self.digits.len() - 4..].to_owned()
    }

    /// The full number, for the gateway only.
    pub fn number(&self) -> &str {
        &self.digits
    }

    pub fn expiry(&self) -> (u32, u32) {
        (self.expiry_month, self.expiry_year)
    }

    pub fn cvc(&self) -> &str {
        &self.cvc
    }
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CardDetails({} ending {})",
            self.brand().name(),
            self.last4()
        )
    }
}

fn parse_number(text: &str) -> Result<String, CardError> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardError::NumberMalformed);
    }
    if luhn_valid(&digits) {
        Ok(digits)
    } else {
        Err(CardError::NumberInvalid)
    }
}

/// The Luhn checksum every card number carries in its last digit.
fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn parse_expiry(text: &str, (year, month): (u32, u32)) -> Result<(u32, u32), CardError> {
    let (mm, yy) = text
        .trim()
        .split_once('/')
        .ok_or(CardError::ExpiryMalformed)?;
    let (mm, yy) = (mm.trim(), yy.trim());
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(mm) || !two_digits(yy) {
        return Err(CardError::ExpiryMalformed);
    }
    let expiry_month: u32 = mm.parse().map_err(|_| CardError::ExpiryMalformed)?;
    let expiry_year = 2000 + yy.parse::<u32>().map_err(|_| CardError::ExpiryMalformed)?;
    if !(1..=12).contains(&expiry_month) {
        return Err(CardError::ExpiryMalformed);
    }
    if (expiry_year, expiry_month) < (year, month) {
        return Err(CardError::Expired);
    }
    Ok((expiry_month, expiry_year))
}

fn parse_cvc(text: &str) -> Result<String, CardError> {
    let text = text.trim();
    if (3..=4).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(CardError::CvcMalformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (u32, u32) = (2026, 12);

    fn card(number: &str) -> Result<CardDetails, Vec<(&'static str, CardError)>> {
        CardDetails::parse(number, "08/29", "123", TODAY)
    }

    #[test]
    fn test_cards_pass_luhn_with_spaces_or_dashes() {
        for number in [
            "4242 4242 4242 4242",
            "4000-0000-0000-0002",
            "5555555555554444",
            "378282246310005",
        ] {
            assert!(card(number).is_ok(), "{number}");
        }
    }

    #[test]
    fn a_number_failing_luhn_or_of_the_wrong_shape_is_refused() {
        assert_eq!(
            card("4242 4242 4242 4241").err(),
            Some(vec![("card_number", CardError::NumberInvalid)])
        );
        for bad in [
            "",
            "4242",
            "4242 4242 4242 424x",
            "42424242424242424242",
            "<script>",
        ] {
            assert_eq!(
                card(bad).err(),
                Some(vec![("card_number", CardError::NumberMalformed)]),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn brands_and_last_four_come_from_the_number() {
        let visa = card("4242424242424242").expect("valid");
        assert_eq!(
            (visa.brand(), visa.last4().as_str()),
            (CardBrand::Visa, "4242")
        );
        assert_eq!(
            card("5555555555554444").expect("valid").brand(),
            CardBrand::Mastercard
        );
        assert_eq!(
            card("2223003122003222").expect("valid").brand(),
            CardBrand::Mastercard
        );
        assert_eq!(
            card("378282246310005").expect("valid").brand(),
            CardBrand::Amex
        );
        assert_eq!(
            card("6011111111111117").expect("valid").brand(),
            CardBrand::Discover
        );
    }

    #[test]
    fn a_card_is_valid_through_its_expiry_month() {
        assert!(CardDetails::parse("4242424242424242", "12/26", "123", TODAY).is_ok());
        let expired = CardDetails::parse("4242424242424242", "11/26", "123", TODAY).err();
        assert_eq!(expired, Some(vec![("expiry", CardError::Expired)]));
        for bad in ["1226", "13/27", "00/27", "1/27", "12/2027", "ab/cd", ""] {
            let err = CardDetails::parse("4242424242424242", bad, "123", TODAY).err();
            assert_eq!(
                err,
                Some(vec![("expiry", CardError::ExpiryMalformed)]),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_security_code_has_three_or_four_digits() {
        assert!(CardDetails::parse("4242424242424242", "08/29", "1234", TODAY).is_ok());
        for bad in ["12", "12345", "12a", ""] {
            let err = CardDetails::parse("4242424242424242", "08/29", bad, TODAY).err();
            assert_eq!(err, Some(vec![("cvc", CardError::CvcMalformed)]), "{bad:?}");
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = CardDetails::parse("1234", "13/99", "1", TODAY).expect_err("errors");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["card_number", "expiry", "cvc"]);
    }

    #[test]
    fn debug_output_never_shows_the_number_or_the_code() {
        let details = CardDetails::parse("4242424242424242", "08/29", "987", TODAY).expect("valid");
        let shown = format!("{details:?}");
        assert_eq!(shown, "CardDetails(Visa ending 4242)");
        assert!(!shown.contains("42424242") && !shown.contains("987"));
    }
}
