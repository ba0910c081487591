//! Slugs: the readable, URL-safe part of a product or category address.

/// The longest slug we make; longer names are cut at a word boundary.
const MAX_LEN: usize = 80;

/// Lower-case ASCII letters and digits joined by single hyphens: `"Oak & Ash Board"`
/// becomes `"oak-ash-board"`. Accented Latin letters lose their accents; other
/// characters separate words. Returns an empty string when nothing is left.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len().min(MAX_LEN));
    let mut pending_hyphen = false;
    for c in text.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                if slug.len() + 1 >= MAX_LEN {
                    break;
                }
                slug.push('-');
            }
            if slug.len() >= MAX_LEN {
                break;
            }
            slug.push(c.to_ascii_lowercase());
            pending_hyphen = false;
        } else if c != '\'' {
            pending_hyphen = true;
        }
    }
    slug
}

/// Whether `text` could be a slug we made, checked before it reaches a query.
pub fn is_valid(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_LEN + 40
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// The common accented Latin letters as their base letter; anything else unchanged.
fn fold_accent(c: char) -> impl Iterator<Item = char> {
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        _ => "",
    };
    let keep = folded.is_empty().then_some(c);
    folded.chars().chain(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_cased_and_joined_by_single_hyphens() {
        assert_eq!(slugify("Walnut Serving Board"), "walnut-serving-board");
        assert_eq!(slugify("  Oak & Ash -- Board!  "), "oak-ash-board");
        assert_eq!(slugify("Coffee & Tea"), "coffee-tea");
    }

    #[test]
    fn apostrophes_do_not_split_words() {
        assert_eq!(slugify("Maker's Mug"), "makers-mug");
    }

    #[test]
    fn accents_are_folded_and_other_scripts_dropped() {
        assert_eq!(slugify("Crème Brûlée Torch"), "creme-brulee-torch");
        assert_eq!(slugify("Größe"), "grosse");
        assert_eq!(slugify("茶"), "");
    }

    #[test]
    fn markup_and_sql_leave_only_safe_characters() {
        assert_eq!(
            slugify("<script>alert(1)</script>"),
            "script-alert-1-script"
        );
        assert_eq!(
            slugify("x'; DROP TABLE products; --"),
            "x-drop-table-products"
        );
    }

    #[test]
    fn long_names_are_cut_without_a_trailing_hyphen() {
        let slug = slugify(&"word ".repeat(40));
        assert!(slug.len() <= MAX_LEN, "{}", slug.len());
        assert!(!slug.ends_with('-'));
    }

    #[test]
    fn only_well_formed_slugs_are_valid() {
        assert!(is_valid("walnut-board-2"));
        for bad in ["", "-a", "a-", "A", "a b", "../etc", "a%2e", "é"] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }
}
