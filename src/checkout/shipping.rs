//! Where an order goes: the shipping details a customer types, checked field by field.

use serde::Deserialize;

use crate::web::form::FieldErrors;

/// The countries the shop delivers to, by ISO 3166-1 code, in the order the form lists.
pub const COUNTRIES: [(&str, &str); 16] = [
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("DK", "Denmark"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("LU", "Luxembourg"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("PT", "Portugal"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("GB", "United Kingdom"),
];

/// The name of the country with `code`, if the shop delivers there.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Shipping details as typed; every field is text so nothing is lost on an error.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq, sqlx::FromRow)]
#[serde(default)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

impl Address {
    /// Trims every field and checks it; returns the tidy address or a message per
    /// field that is wrong.
    pub fn validate(&self) -> Result<Address, FieldErrors> {
        let tidy = Address {
            name: squash(&self.name),
            line1: squash(&self.line1),
            line2: squash(&self.line2),
            city: squash(&self.city),
            postal_code: squash(&self.postal_code).to_uppercase(),
            country: self.country.trim().to_uppercase(),
        };

        let mut errors = FieldErrors::default();
        check_text(
            &mut errors,
            "name",
            &tidy.name,
            true,
            100,
            "Enter the name of the person receiving the order.",
        );
        check_text(
            &mut errors,
            "line1",
            &tidy.line1,
            true,
            200,
            "Enter the street and house number.",
        );
        check_text(&mut errors, "line2", &tidy.line2, false, 200, "");
        check_text(
            &mut errors,
            "city",
            &tidy.city,
            true,
            100,
            "Enter the town or city.",
        );
        let postal_ok = (2..=10).contains(&tidy.postal_code.len())
            && tidy
                .postal_code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
        if !postal_ok {
            errors.add(
                "postal_code",
                "Enter the postal code, for example 1011 AB or SW1A 1AA.",
            );
        }
        if country_name(&tidy.country).is_none() {
            errors.add("country", "Choose a country we deliver to.");
        }

        if errors.is_empty() {
            Ok(tidy)
        } else {
            Err(errors)
        }
    }

    pub fn country_name(&self) -> &str {
        country_name(&self.country).unwrap_or(&self.country)
    }
}

/// Trims and folds runs of whitespace (including line breaks) into single spaces.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_text(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    required: bool,
    max_chars: usize,
    missing: &'static str,
) {
    if required && value.is_empty() {
        errors.add(field, missing);
    } else if value.chars().count() > max_chars {
        errors.add(field, format!("Use at most {max_chars} characters."));
    } else if value.chars().any(char::is_control) {
        errors.add(field, "Remove the special characters from this field.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Address {
        Address {
            name: "  Ada   Lovelace ".into(),
            line1: "Keizersgracht 1".into(),
            line2: String::new(),
            city: "Amsterdam".into(),
            postal_code: "1015 cj".into(),
            country: "nl".into(),
        }
    }

    #[test]
    fn a_complete_address_is_tidied_and_accepted() {
        let tidy = address().validate().expect("valid");
        assert_eq!(tidy.name, "Ada Lovelace");
        assert_eq!(tidy.postal_code, "1015 CJ");
        assert_eq!(tidy.country, "NL");
        assert_eq!(tidy.country_name(), "Netherlands");
    }

    #[test]
    fn each_missing_field_gets_its_own_message() {
        let errors = Address::default().validate().expect_err("empty");
        for field in ["name", "line1", "city", "postal_code", "country"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert!(errors.get("line2").is_none(), "the second line is optional");
    }

    #[test]
    fn a_country_the_shop_does_not_deliver_to_is_refused() {
        let mut other = address();
        other.country = "XX".into();
        assert!(
            other
                .validate()
                .expect_err("unknown")
                .get("country")
                .is_some()
        );
    }

    #[test]
    fn overlong_fields_and_odd_postal_codes_are_refused() {
        let mut long = address();
        long.name = "x".repeat(101);
        long.postal_code = "<script>".into();
        let errors = long.validate().expect_err("invalid");
        assert!(errors.get("name").is_some() && errors.get("postal_code").is_some());
    }
}
