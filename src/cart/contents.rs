//! What a cart holds, priced from the database, and whether it can be checked out.

use crate::cart::quantity::MAX_PER_LINE;
use crate::money::Money;

/// One product in a cart, with the product's current price and stock.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CartLine {
    pub product_id: i64,
    pub slug: String,
    pub sku: String,
    pub name: String,
    pub image: Option<String>,
    pub price_minor: i64,
    pub stock: i64,
    pub active: i64,
    pub quantity: i64,
}

/// Whether a line can be bought as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    Available,
    /// The product was withdrawn from sale.
    Withdrawn,
    SoldOut,
    /// Fewer are left than the line asks for.
    Short {
        left: i64,
    },
}

impl LineState {
    /// What the cart says about a line that cannot be bought.
    pub fn problem(self) -> Option<String> {
        match self {
            LineState::Available => None,
            LineState::Withdrawn => Some("No longer available. Please remove it.".to_owned()),
            LineState::SoldOut => Some("Sold out. Please remove it.".to_owned()),
            LineState::Short { left } => Some(format!(
                "Only {left} left. Please lower the quantity to {left} or fewer."
            )),
        }
    }
}

impl CartLine {
    pub fn price(&self) -> Money {
        Money::from_minor(self.price_minor)
    }

    /// Price times quantity, or `None` if that overflows (it cannot with real prices).
    pub fn line_total(&self) -> Option<Money> {
        self.price().checked_mul(self.quantity)
    }

    pub fn state(&self) -> LineState {
        match (self.active, self.stock) {
            (0, _) => LineState::Withdrawn,
            (_, s) if s <= 0 => LineState::SoldOut,
            (_, s) if s < self.quantity => LineState::Short { left: s },
            _ => LineState::Available,
        }
    }

    /// The most the quantity field offers.
    pub fn max_quantity(&self) -> i64 {
        self.stock.clamp(1, MAX_PER_LINE)
    }

    pub fn image_url(&self) -> String {
        match &self.image {
            Some(path) => format!("/media/{path}"),
            None => format!("/media/art/{}.svg", self.slug),
        }
    }
}

/// A cart's lines, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Cart {
    pub lines: Vec<CartLine>,
}

impl Cart {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// How many items, counting each unit.
    pub fn item_count(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    /// The sum of the line totals; `None` only on an overflow no real cart reaches.
    pub fn subtotal(&self) -> Option<Money> {
        self.lines
            .iter()
            .try_fold(Money::ZERO, |sum, line| sum.checked_add(line.line_total()?))
    }

    /// Whether every line can be bought as it stands.
    pub fn can_check_out(&self) -> bool {
        !self.is_empty()
            && self.subtotal().is_some()
            && self.lines.iter().all(|l| l.state() == LineState::Available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(price_minor: i64, quantity: i64, stock: i64, active: i64) -> CartLine {
        CartLine {
            product_id: 1,
            slug: "mug".into(),
            sku: "MUG-1".into(),
            name: "Mug".into(),
            image: None,
            price_minor,
            stock,
            active,
            quantity,
        }
    }

    #[test]
    fn totals_are_price_times_quantity_summed_over_lines() {
        let cart = Cart {
            lines: vec![line(1250, 2, 10, 1), line(399, 3, 10, 1)],
        };
        assert_eq!(cart.subtotal(), Some(Money::from_minor(2500 + 1197)));
        assert_eq!(cart.item_count(), 5);
        assert!(cart.can_check_out());
    }

    #[test]
    fn a_withdrawn_sold_out_or_short_line_blocks_checkout() {
        for (stock, active, state) in [
            (10, 0, LineState::Withdrawn),
            (0, 1, LineState::SoldOut),
            (1, 1, LineState::Short { left: 1 }),
        ] {
            let cart = Cart {
                lines: vec![line(100, 2, 10, 1), line(100, 2, stock, active)],
            };
            assert_eq!(cart.lines[1].state(), state);
            assert!(state.problem().is_some());
            assert!(!cart.can_check_out());
        }
    }

    #[test]
    fn an_empty_cart_cannot_be_checked_out() {
        assert!(!Cart::default().can_check_out());
    }

    #[test]
    fn an_overflowing_total_is_caught_not_wrapped() {
        let cart = Cart {
            lines: vec![line(i64::MAX / 2, 3, 10, 1)],
        };
        assert_eq!(cart.subtotal(), None);
        assert!(!cart.can_check_out());
    }
}
