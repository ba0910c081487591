//! Order references: what customers see and quote instead of a row id.

/// Crockford's base32 alphabet: no I, L, O or U, so a reference read aloud or typed
/// by hand is hard to get wrong.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a reference: 13 × 5 = 65 random bits, so references cannot be
/// guessed or counted.
pub const LENGTH: usize = 13;

/// A new random reference, e.g. `7K2QXM9D4RT8N`.
pub fn new_reference() -> String {
    let mut bits: u128 = rand::random();
    (0..LENGTH)
        .map(|_| {
            let c = ALPHABET[(bits & 31) as usize] as char;
            bits >>= 5;
            c
        })
        .collect()
}

/// Whether `text` could be a reference; anything else is not looked up.
pub fn looks_valid(text: &str) -> bool {
    text.len() == LENGTH && text.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_thirteen_unambiguous_characters() {
        let reference = new_reference();
        assert_eq!(reference.len(), LENGTH);
        assert!(looks_valid(&reference), "{reference}");
        assert!(!reference.contains(['I', 'L', 'O', 'U']));
    }

    #[test]
    fn references_do_not_repeat() {
        let many: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_reference()).collect();
        assert_eq!(many.len(), 10_000);
    }

    #[test]
    fn text_that_is_not_a_reference_is_recognised() {
        assert!(!looks_valid("12"));
        assert!(!looks_valid("7K2QXM9D4RT8n"));
        assert!(!looks_valid("7K2QXM9D4RT8I"));
        assert!(!looks_valid("../etc/passwd"));
    }
}
