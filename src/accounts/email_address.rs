//! Email addresses as accounts use them: validated once, normalised, compared by key.

use std::fmt;

/// A syntactically valid address, trimmed, with its domain lower-cased. Holds no
/// whitespace or control character, so it is safe in a mail header.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress {
    address: String,
}

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("Enter your email address.".into());
        }
        let invalid = || "Enter a valid email address, such as name@example.com.".to_owned();
        if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = text.rsplit_once('@').ok_or_else(invalid)?;
        let domain = domain.to_ascii_lowercase();
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if local.is_empty()
            || local.len() > 64
            || local.contains(['@', '"', '(', ')', ',', ':', ';', '<', '>', '[', ']', '\\'])
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || !domain.contains('.')
            || !domain.split('.').all(label_ok)
        {
            return Err(invalid());
        }
        lettre::Address::new(local, &domain).map_err(|_| invalid())?;
        Ok(EmailAddress {
            address: format!("{local}@{domain}"),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The form two addresses are compared in: `Jane@Example.com` and
    /// `jane@example.com` are one account.
    pub fn key(&self) -> String {
        self.address.to_lowercase()
    }
}

/// Addresses are personal data: debug output shows only the domain.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.address.rsplit_once('@').map_or("", |(_, d)| d);
        write!(f, "EmailAddress(…@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_their_domain_lower_cased() {
        let email = EmailAddress::parse("  Jane.Doe@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "Jane.Doe@example.com");
        assert_eq!(email.key(), "jane.doe@example.com");
    }

    #[test]
    fn header_injection_and_malformed_addresses_are_refused() {
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@localhost",
            "jane@example.com\r\nBcc: all@evil.example",
            "jane@example.com\nBcc:x@y.z",
            "jane doe@example.com",
            "<jane@example.com>",
            "jane..doe@example.com",
            "jane@-example.com",
            "jane@exa_mple.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_local_part() {
        let email = EmailAddress::parse("jane@example.com").expect("valid");
        assert_eq!(format!("{email:?}"), "EmailAddress(…@example.com)");
    }
}
